"""A functional view of any Keras classifier, for code that needs intermediate layer outputs."""

import keras

from kerasadv.errors import ModelError


def functional_view(model):
    """A functional model over `model`'s own layers (shared weights), with a defined graph.

    Functional models come back as they are. A `Sequential` model (also one loaded from
    `.keras`, whose symbolic input is undefined until it is called) is traced layer by layer
    on a fresh `keras.Input`, so `get_layer(name).output` works. A subclassed model has no
    layer graph to read.

    Args:
        model: a Keras model.

    Returns:
        A functional `keras.Model` computing the same outputs.

    Raises:
        ModelError: `model` is subclassed or its input shape is unknown.

    Example:
    >>> seq = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d")])
    >>> functional_view(seq).get_layer("d").output.shape
    (None, 3)
    """
    if isinstance(model, keras.Sequential):
        try:
            shape = model.input_shape
        except (AttributeError, ValueError):
            shape = None
        if not isinstance(shape, tuple):
            raise ModelError(
                f"Sequential model {model.name!r} has no known input shape; start it with "
                "keras.Input(shape) or call it on a batch once."
            ) from None
        # A fresh trace: a Sequential's layers may carry several graph nodes (one from building,
        # one from loading), so `layer.output` can belong to another graph. Keep this trace's.
        inputs = x = keras.Input(shape[1:], name=f"{model.name}_input")
        outputs = {}
        for layer in model.layers:
            x = outputs[layer.name] = layer(x)
        view = keras.Model(inputs, x, name=model.name)
        view.kerasadv_layer_outputs = outputs
        return view
    if has_graph(model):
        return model
    raise ModelError(
        f"{type(model).__name__} {model.name!r} is a subclassed model: its layers form no graph whose "
        "intermediate outputs can be read. Layer-level analyses need a functional or Sequential "
        "model; rebuild it with the functional API (attacks and training work on it as it is)."
    )


def layer_output(view, name):
    """The symbolic output of layer `name` in a `functional_view` (its own graph's, not another's)."""
    outputs = getattr(view, "kerasadv_layer_outputs", None)
    if outputs is not None and name in outputs:
        return outputs[name]
    return view.get_layer(name).output


def has_graph(model):
    """True for a model with a layer graph (functional, or a built Sequential); False for a subclassed one."""
    try:
        model.input  # noqa: B018 (the attribute access is the test)
        return True
    except (AttributeError, ValueError):
        return False
