"""Mixed precision for training and attacks: a copy of a classifier that computes in bfloat16.

Keras fixes a layer's dtype policy when the layer is built, so a classifier is switched by
cloning its layers under the policy and copying its weights. Under "mixed_bfloat16" the
variables stay float32 (the master weights the optimizer updates) and each layer casts its
inputs to bfloat16; images and perturbations stay float32 (attacks take gradients with respect
to the float32 input), and losses and attack objectives cast the logits to float32. Saved and
served models are float32 again (`with_dtype_policy(model, "float32")`).
"""

import keras

from kerasadv.attacks import validation
from kerasadv.errors import ModelError
from kerasadv.models.graph import has_graph

POLICIES = ("float32", "mixed_bfloat16")
BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")  # CPU flags of native bfloat16 arithmetic


def native_bfloat16(cpuinfo="/proc/cpuinfo"):
    """Whether this machine computes bfloat16 natively: a GPU, or a CPU with AVX-512 BF16 or AMX.

    Elsewhere `mixed_bfloat16` is emulated and several times slower than float32.

    Example:
    >>> isinstance(native_bfloat16(), bool)
    True
    """
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return True
    try:
        with open(cpuinfo) as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    return any(flag in flags for flag in BFLOAT16_FLAGS)


def dtype_policy_name(classifier):
    """The dtype policy of the classifier's layers with weights ("float32" when it has none)."""
    for layer in _leaf_layers(classifier):
        if layer.weights:
            return layer.dtype_policy.name
    return "float32"


def _leaf_layers(model):
    """The layers of `model`, nested models opened."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer


def with_dtype_policy(classifier, policy):
    """`classifier` computing under `policy`, with the same (float32) weights.

    Args:
        classifier: a functional or Sequential Keras classifier (also loaded from `.keras`).
        policy: "float32" or "mixed_bfloat16".

    Returns:
        `classifier` itself when it already runs under `policy`, else a clone that shares no
        variables with it.

    Raises:
        ModelError: unknown policy, or a subclassed model (its layers cannot be rebuilt).

    Example:
    >>> import kerasadv
    >>> fast = with_dtype_policy(kerasadv.models.simple_cnn(), "mixed_bfloat16")
    >>> dtype_policy_name(fast), fast.layers[-1].compute_dtype
    ('mixed_bfloat16', 'bfloat16')
    """
    validation.check_choice(policy, "dtype policy", POLICIES, error=ModelError)
    if dtype_policy_name(classifier) == policy:
        return classifier
    if not isinstance(classifier, keras.Sequential) and not has_graph(classifier):
        raise ModelError(
            f"{type(classifier).__name__} is a subclassed model: its layers cannot be rebuilt under "
            f"{policy!r}. Build it under keras.config.set_dtype_policy({policy!r}) instead, or use a "
            "functional / Sequential model."
        )
    clone = keras.models.clone_model(classifier, clone_function=_rebuilt_under(policy), recursive=True)
    clone.set_weights(classifier.get_weights())
    return clone


def _rebuilt_under(policy):
    def rebuild(layer):
        config = layer.get_config()
        if not isinstance(layer, keras.layers.InputLayer):
            config["dtype"] = policy
        return type(layer).from_config(config)

    return rebuild
