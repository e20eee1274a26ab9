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
from kerasadv.training import hardware

POLICIES = ("float32", "mixed_bfloat16")


def native_bfloat16(cpuinfo="/proc/cpuinfo"):
    """Whether this machine computes bfloat16 natively: a GPU, or a CPU with AVX-512 BF16 or AMX.

    Elsewhere `mixed_bfloat16` is emulated and several times slower than float32.

    Args:
        cpuinfo: the cpuinfo file (tests pass a fake one).

    Returns:
        True where a GPU is visible or `hardware.cpu_info(cpuinfo).bfloat16_unit` names a unit.

    Example:
    >>> isinstance(native_bfloat16(), bool)
    True
    """
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return True
    return hardware.cpu_info(cpuinfo).bfloat16_unit is not None


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
        classifier: a Keras classifier: functional, Sequential (also loaded from `.keras`), or
            subclassed with a config (rebuilt from it, the global policy set to `policy`).
        policy: "float32" or "mixed_bfloat16".

    Returns:
        `classifier` itself when it already runs under `policy`, else a clone that shares no
        variables with it.

    Raises:
        ModelError: unknown policy, or a subclassed model that was never called or has no
            config (its layers cannot be rebuilt).

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
        clone = _subclassed_under(classifier, policy)
    else:
        clone = keras.models.clone_model(classifier, clone_function=_rebuilt_under(policy), recursive=True)
    clone.set_weights(classifier.get_weights())
    return clone


def _subclassed_under(classifier, policy):
    """A subclassed model rebuilt from its config with `policy` as the global policy while its layers are made.

    A subclassed model makes its layers in `__init__` under the global policy, so that is the
    one way to set theirs; it is built from its build config (the shape it was first called on).
    """
    build_config = classifier.get_build_config()
    if not classifier.built or not build_config:
        raise ModelError(
            f"{type(classifier).__name__} {classifier.name!r} is a subclassed model that was never called; "
            "call it on a batch once (or build it with keras.Input) before changing its dtype policy."
        )
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(classifier))
    except (NotImplementedError, TypeError) as error:
        raise ModelError(
            f"{type(classifier).__name__} is a subclassed model whose layers cannot be rebuilt under {policy!r} "
            f"({error}); give it a get_config() (and register it with keras.saving), or build it under "
            f"keras.config.set_dtype_policy({policy!r})."
        ) from error
    finally:
        keras.config.set_dtype_policy(previous)
    clone.dtype_policy = policy  # the model's own: the dtype its call casts inputs to
    clone.build_from_config(build_config)
    return clone


def _rebuilt_under(policy):
    def rebuild(layer):
        config = layer.get_config()
        if not isinstance(layer, keras.layers.InputLayer):
            config["dtype"] = policy
        return type(layer).from_config(config)

    return rebuild
