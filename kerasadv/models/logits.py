"""Detecting models that end in softmax, and turning them into logits models."""

import weakref

import keras
import numpy as np

from kerasadv.errors import ModelError
from kerasadv.models.graph import functional_view, layer_output
from kerasadv.models.structure import check_output, check_structure

_SOFTMAX_NAMES = ("softmax", "softmax_v2")
_CHECKED = weakref.WeakKeyDictionary()


def _softmax_layer(model):
    """The layer that applies a final softmax (looking into nested models), and how."""
    last = model.layers[-1] if getattr(model, "layers", None) else None
    if isinstance(last, keras.Model):
        return _softmax_layer(last)
    activation = getattr(last, "activation", None)
    if activation is not None and getattr(activation, "__name__", "") in _SOFTMAX_NAMES:
        return last, "activation"
    if isinstance(last, keras.layers.Softmax):
        return last, "layer"
    return None, None


def _outputs_look_like_probabilities(model):
    """One forward pass on random inputs: non-negative rows summing to 1 (a hidden softmax, e.g. a Lambda)."""
    shape = getattr(model, "input_shape", None)
    if not isinstance(shape, tuple) or any(d is None for d in shape[1:]):
        return False  # unknown input shape (subclassed, unbuilt): the structural check is all we have
    x = np.random.default_rng(0).random((3, *shape[1:]), dtype=np.float32)
    out = np.asarray(keras.ops.convert_to_numpy(model(x, training=False)), np.float64)
    return out.ndim == 2 and out.shape[1] > 1 and out.min() >= 0.0 and np.allclose(out.sum(1), 1.0, atol=1e-4)


def ends_in_softmax(model):
    """True when `model` ends in softmax: a Softmax layer or softmax activation (also inside a
    nested model, also `tf.nn.softmax`), or outputs that are probabilities (checked once per model).

    Raises:
        ModelError: the model is no classifier of images kerasadv can read (`check_structure`).
    """
    check_structure(model)
    if _softmax_layer(model)[0] is not None:
        return True
    try:
        if model not in _CHECKED:
            _CHECKED[model] = _outputs_look_like_probabilities(model)
        return _CHECKED[model]
    except TypeError:  # not weak-referenceable
        return _outputs_look_like_probabilities(model)


def num_classes(model, x=None):
    """Number of outputs of a classifier: its output shape, else (subclassed) one forward on `x[:1]`.

    Raises:
        ModelError: the shape is unknown and no `x` is given; the model has several inputs or
            outputs (`check_structure`); or it has a single logit: a softmax over one logit is
            constant, so no attack could move it and every robust accuracy would read 1.0.

    Example:
    >>> num_classes(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]))
    3
    >>> num_classes(keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)]))
    Traceback (most recent call last):
    ...
    kerasadv.errors.ModelError: Sequential 'sequential...' has 1 output; ...
    """
    check_structure(model)
    count = _known_count(model)
    if count is None and x is None:
        raise ModelError(f"{type(model).__name__} {model.name!r} has no known output shape; call it on a batch once.")
    if count is None:
        output = model(x[:1], training=False)
        check_output(output, model)  # a subclassed model's outputs show only when it runs
        count = int(output.shape[-1])
    _check_count(model, count)
    return count


def _known_count(model):
    """The last dimension of the model's output shape, or None where the graph does not say it."""
    try:
        shape = model.output_shape
    except (AttributeError, ValueError):
        return None
    return int(shape[-1]) if isinstance(shape, tuple) and shape and shape[-1] is not None else None


def _check_count(model, count):
    if count < 2:
        raise ModelError(
            f"{type(model).__name__} {model.name!r} has {count} output; expected one logit per class (at least 2): "
            "a softmax over a single logit is constant, so attacks cannot move it. For a binary classifier "
            "with one logit z, end the model in Dense(2) (or output the logits [0, z])."
        )


def check_logits(model):
    """Raises `ModelError` unless `model` gives logits of at least two classes for one batch of images.

    Raises:
        ModelError: the model ends in softmax (gradients through it saturate), has a single logit
            (`num_classes`), or is no single-input, single-output classifier (`check_structure`).

    Example:
    >>> check_logits(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]))
    >>> check_logits(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, "softmax")]))
    Traceback (most recent call last):
    ...
    kerasadv.errors.ModelError: Model '...' ends in softmax ...
    """
    if ends_in_softmax(model):
        layer = _softmax_layer(model)[0]
        where = f"layer {layer.name!r}" if layer is not None else "its outputs are probabilities"
        raise ModelError(
            f"Model {model.name!r} ends in softmax ({where}); kerasadv "
            "attacks and losses need logits. Convert it with "
            "kerasadv.models.logits_model(model), which shares its weights."
        )
    count = _known_count(model)
    if count is not None:
        _check_count(model, count)


def logits_model(model):
    """Returns a model computing `model`'s logits, sharing its weights.

    Args:
        model: a functional `keras.Model` ending in a softmax Dense / Activation / Softmax layer.

    Returns:
        The same model if it already ends in logits, else a new functional model.
    """
    layer, kind = _softmax_layer(model)
    if layer is None:
        return model
    inputs, features = _softmax_input(model, layer)
    if kind == "layer" or isinstance(layer, keras.layers.Activation):
        return keras.Model(inputs, features, name=f"{model.name}_logits")
    if not isinstance(layer, keras.layers.Dense):
        raise ModelError(f"Cannot strip softmax from layer type {type(layer).__name__}; pass a logits model.")
    head = keras.layers.Dense(layer.units, use_bias=layer.use_bias, name=f"{layer.name}_logits")
    outputs = head(features)
    head.set_weights(layer.get_weights())
    return keras.Model(inputs, outputs, name=f"{model.name}_logits")


def _softmax_input(model, layer):
    """`(model inputs, the softmax layer's input)` as symbolic tensors of one graph.

    A `Sequential` (also one loaded from `.keras`, whose graph is undefined until called) is
    read through a fresh functional trace of its layers.
    """
    if isinstance(model, keras.Sequential) and layer is model.layers[-1]:
        view = functional_view(model)
        if len(model.layers) == 1:
            return view.inputs[0], view.inputs[0]
        return view.inputs[0], layer_output(view, model.layers[-2].name)
    return model.input, layer.input
