"""Activation probes: a model that returns chosen layers' outputs beside the logits."""

import keras
import tensorflow as tf

from kerasadv.attacks.compiled import PerModelFunction
from kerasadv.attacks.stream import as_batches
from kerasadv.attacks.validation import check_not_empty
from kerasadv.errors import ModelError
from kerasadv.models.graph import functional_view, layer_output, leaf_layers
from kerasadv.models.logits import ends_in_softmax
from kerasadv.models.structure import check_structure, symbolic_output

_ACTIVATION_LAYERS = (keras.layers.ReLU, keras.layers.Activation, keras.layers.LeakyReLU, keras.layers.ELU)
_NEURON_LAYERS = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D, keras.layers.Dense)


def _nonlinear(layer):
    own = getattr(layer, "activation", None)
    return own is not None and getattr(own, "__name__", "") != "linear"


def default_probe_layers(model):
    """Paths of every conv / dense activation, nested models opened (`"backbone/conv1"`).

    Activation layers, and conv / dense layers with a non-linear activation of their own;
    in a model with neither (all activations outside layers), the conv / dense outputs. The
    logits layer is left out.

    Args:
        model: a functional or Sequential Keras model.

    Returns:
        List of layer paths for `probe_model`.

    Raises:
        ModelError: the model has no conv, dense or activation layer before its logits.

    Example:
    >>> linear = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(2, 3, name="conv"),
    ...                            keras.layers.Flatten(), keras.layers.Dense(3, name="logits")])
    >>> default_probe_layers(linear)
    ['conv']
    """
    layers = leaf_layers(model)[:-1]
    names = [p for p, layer in layers if isinstance(layer, _ACTIVATION_LAYERS) or _nonlinear(layer)]
    names = names or [p for p, layer in layers if isinstance(layer, _NEURON_LAYERS)]
    if not names:
        raise ModelError(
            f"Model {model.name!r} has no conv, dense or activation layer before its logits layer, so there is "
            "no neuron to probe; pass layer_names=[...] (layer names, or paths such as 'backbone/conv1')."
        )
    return names


def probe_model(model, layer_names=None):
    """A model returning `{"logits": ..., <layer>: activation, ...}` for the same input.

    The probe shares the model's layers, so predictions are unchanged; use it with
    `predict`, inside a callback (`ToggleActivityMonitor`) or in the analyses.

    Args:
        model: a functional or Sequential Keras model.
        layer_names: layers to expose, by name or, inside a nested model, by path
            (`"backbone/conv1"`); default: `default_probe_layers(model)`.

    Returns:
        A functional `keras.Model` with a dict output.

    Raises:
        ModelError: a subclassed model, several inputs or outputs, or an unknown layer name.

    Example:
    >>> import kerasadv
    >>> probe = probe_model(kerasadv.models.simple_cnn())
    >>> sorted(probe.output)[:3]
    ['conv1', 'conv2', 'conv3']
    """
    check_structure(model)
    model = functional_view(model)  # Sequential (also from .keras), nested models opened; subclassed: ModelError
    names = list(layer_names or default_probe_layers(model))
    outputs = {name: layer_output(model, name) for name in names}
    outputs["logits"] = symbolic_output(model)
    probe = keras.Model(model.input, outputs, name=f"{model.name}_probe")
    probe.outputs_softmax = ends_in_softmax(model)  # analyses that need logits check this
    return probe


def _inference(probe, images):
    return probe(images, training=False)


_COMPILED = PerModelFunction(_inference)  # one tf.function per probe, holding it weakly


def probe_outputs(probe, images):
    """The probe's outputs (inference mode) for a batch, through a tf.function compiled once per probe."""
    return _COMPILED(probe, tf.convert_to_tensor(images, tf.float32))


def image_batches(data, batch_size=128):
    """Image batches of an images array, an `(x, y)` pair or a batched `(images, labels)` data set.

    Raises:
        AttackInputError: (after the last batch) `data` held no image: a statistic over nothing.
    """
    count = 0
    if isinstance(data, (tf.data.Dataset, tuple, list)):
        for x, _ in as_batches(data, batch_size):
            count += int(tf.shape(x)[0])
            yield x
    else:
        for start in range(0, len(data), batch_size):
            count += len(data[start : start + batch_size])
            yield data[start : start + batch_size]
    check_not_empty(count, "the images")
