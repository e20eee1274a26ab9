"""Activation probes: a model that returns chosen layers' outputs beside the logits."""

import weakref

import keras
import tensorflow as tf

from kerasadv.attacks.stream import as_batches
from kerasadv.models.graph import functional_view, layer_output
from kerasadv.models.logits import ends_in_softmax

_ACTIVATION_LAYERS = (keras.layers.ReLU, keras.layers.Activation, keras.layers.LeakyReLU, keras.layers.ELU)


def default_probe_layers(model):
    """Names of every conv / dense activation: activation layers, and Conv / Dense layers
    with a non-linear activation of their own (the logits layer excluded)."""
    names = []
    for layer in model.layers[:-1]:
        own = getattr(layer, "activation", None)
        if isinstance(layer, _ACTIVATION_LAYERS) or (
            isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
            and own is not None
            and getattr(own, "__name__", "") != "linear"
        ):
            names.append(layer.name)
    return names


def probe_model(model, layer_names=None):
    """A model returning `{"logits": ..., <layer>: activation, ...}` for the same input.

    The probe shares the model's layers, so predictions are unchanged; use it with
    `predict`, inside a callback (`ToggleActivityMonitor`) or in the analyses.

    Args:
        model: a functional or Sequential Keras model.
        layer_names: layers to expose (default: `default_probe_layers(model)`).

    Returns:
        A functional `keras.Model` with a dict output.

    Example:
    >>> import kerasadv
    >>> probe = probe_model(kerasadv.models.simple_cnn())
    >>> sorted(probe.output)[:3]
    ['conv1', 'conv2', 'conv3']
    """
    model = functional_view(model)  # Sequential (also from .keras) included; subclassed: ModelError
    names = list(layer_names or default_probe_layers(model))
    outputs = {name: layer_output(model, name) for name in names}
    outputs["logits"] = model.output
    probe = keras.Model(model.input, outputs, name=f"{model.name}_probe")
    probe.outputs_softmax = ends_in_softmax(model)  # analyses that need logits check this
    return probe


_COMPILED = weakref.WeakKeyDictionary()


def probe_outputs(probe, images):
    """The probe's outputs (inference mode) for a batch, through a tf.function compiled once per probe."""
    if probe not in _COMPILED:
        _COMPILED[probe] = tf.function(lambda x: probe(x, training=False), reduce_retracing=True)
    return _COMPILED[probe](tf.convert_to_tensor(images, tf.float32))


def image_batches(data, batch_size=128):
    """Image batches of an images array, an `(x, y)` pair or a batched `(images, labels)` data set."""
    if isinstance(data, (tf.data.Dataset, tuple, list)):
        for x, _ in as_batches(data, batch_size):
            yield x
    else:
        for start in range(0, len(data), batch_size):
            yield data[start : start + batch_size]
