"""Detecting models that end in softmax, and turning them into logits models."""

import keras

from kerasadv.errors import ModelError


def _softmax_layer(model):
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    if activation is not None and getattr(activation, "__name__", "") == "softmax":
        return last, "activation"
    if isinstance(last, keras.layers.Softmax):
        return last, "layer"
    return None, None


def ends_in_softmax(model):
    """True when `model`'s last layer is a Softmax layer or has a softmax activation."""
    return _softmax_layer(model)[0] is not None


def check_logits(model):
    """Raises `ModelError` when `model` ends in softmax (gradients through it saturate)."""
    if ends_in_softmax(model):
        raise ModelError(
            f"Model {model.name!r} ends in softmax (layer {model.layers[-1].name!r}); kerasadv "
            "attacks and losses need logits. Convert it with "
            "kerasadv.models.logits_model(model), which shares its weights."
        )


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
    if kind == "layer" or isinstance(layer, keras.layers.Activation):
        return keras.Model(model.input, layer.input, name=f"{model.name}_logits")
    if not isinstance(layer, keras.layers.Dense):
        raise ModelError(f"Cannot strip softmax from layer type {type(layer).__name__}; pass a logits model.")
    head = keras.layers.Dense(layer.units, use_bias=layer.use_bias, name=f"{layer.name}_logits")
    outputs = head(layer.input)
    head.set_weights(layer.get_weights())
    return keras.Model(model.input, outputs, name=f"{model.name}_logits")
