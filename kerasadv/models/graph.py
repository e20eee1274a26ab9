"""A functional view of any Keras classifier, for code that needs intermediate layer outputs.

Layers are addressed by name, and layers inside a nested model (a `keras.applications`
backbone called as one layer of a fine-tuned classifier) by their path: the nested model's
name, a slash, the layer's name (`"mobilenetv2_1.00_224/block_1_expand"`; deeper nesting adds
more parts).
"""

import keras

from kerasadv.errors import ModelError

SEPARATOR = "/"
"""Joins a nested model's name and the name of a layer inside it (Keras layer names cannot contain it)."""


def has_graph(model):
    """True for a model with a layer graph (functional, or a built Sequential); False for a subclassed one."""
    try:
        model.input  # noqa: B018 (the attribute access is the test)
        return True
    except (AttributeError, ValueError):
        return False


def opens(layer):
    """True for a layer that is itself a model with a layer graph (a nested functional or Sequential model)."""
    return isinstance(layer, keras.Model) and (isinstance(layer, keras.Sequential) or has_graph(layer))


def leaf_layers(model, prefix=""):
    """`[(path, layer)]` of `model`'s layers in order, nested functional / Sequential models opened.

    Example:
    >>> inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d")], name="inner")
    >>> outer = keras.Sequential([keras.Input((4,)), inner, keras.layers.Dense(2, name="head")])
    >>> [path for path, _ in leaf_layers(outer)]
    ['inner/d', 'head']
    """
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if opens(layer):
            found += leaf_layers(layer, f"{prefix}{layer.name}{SEPARATOR}")
        else:
            found.append((f"{prefix}{layer.name}", layer))
    return found


def functional_view(model):
    """A functional model over `model`'s own layers (shared weights), every layer's output addressable.

    A flat functional model comes back as it is. A `Sequential` model (also one loaded from
    `.keras`, whose symbolic input is undefined until it is called) and a model with nested
    models inside are traced afresh on a new `keras.Input`; each nested model runs as one layer
    that also returns its inner layers' outputs, so `layer_output(view, "backbone/conv1")` is a
    tensor of the view's own graph. A subclassed model has no layer graph to read.

    Args:
        model: a Keras model.

    Returns:
        A functional `keras.Model` computing the same outputs.

    Raises:
        ModelError: `model` is subclassed or its input shape is unknown.

    Example:
    >>> seq = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d")])
    >>> layer_output(functional_view(seq), "d").shape
    (None, 3)
    """
    if getattr(model, "kerasadv_layer_outputs", None) is not None:
        return model  # already a view
    if isinstance(model, keras.Sequential):
        return _traced(model, [keras.Input(_sequential_input_shape(model)[1:], name=f"{model.name}_input")])
    if not has_graph(model):
        raise ModelError(
            f"{type(model).__name__} {model.name!r} is a subclassed model: its layers form no graph whose "
            "intermediate outputs can be read. Layer-level analyses need a functional or Sequential "
            "model; rebuild it with the functional API (attacks and training work on it as it is)."
        )
    if not any(opens(layer) for layer in model.layers):
        return model
    inputs = [
        keras.Input(tuple(t.shape[1:]), dtype=t.dtype, name=f"{model.name}_input_{i}")
        for i, t in enumerate(model.inputs)
    ]
    return _traced(model, inputs)


def _sequential_input_shape(model):
    try:
        shape = model.input_shape
    except (AttributeError, ValueError):
        shape = None
    if not isinstance(shape, tuple):
        raise ModelError(
            f"Sequential model {model.name!r} has no known input shape; start it with "
            "keras.Input(shape) or call it on a batch once."
        )
    return shape


def _traced(model, inputs):
    """A fresh functional trace of `model` on `inputs`, with `kerasadv_layer_outputs` = {path: tensor}."""
    named = {}

    def apply(layer):
        def call(*args, **kwargs):
            return _apply(layer, named, *args, **kwargs)

        return call

    if isinstance(model, keras.Sequential):
        # A fresh trace: a Sequential's layers may carry several graph nodes (one from building,
        # one from loading), so `layer.output` can belong to another graph. Keep this trace's.
        outputs = inputs[0]
        for layer in model.layers:
            outputs = apply(layer)(outputs)
    else:  # Keras's own graph runner, each layer called on this trace's tensors
        outputs = model._run_through_graph(inputs, operation_fn=apply)
    view = keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs, name=model.name)
    view.kerasadv_layer_outputs = named
    return view


def _apply(layer, named, *args, **kwargs):
    """Calls `layer` on symbolic tensors, recording its output (and a nested model's inner outputs) in `named`."""
    if not opens(layer):
        named[layer.name] = layer(*args, **kwargs)
        return named[layer.name]
    inner = functional_view(layer)
    paths = layer_outputs(inner)
    tap = keras.Model(inner.input, [inner.output, *paths.values()], name=layer.name)
    result, *tapped = tap(*args, **kwargs)
    named[layer.name] = result
    named.update({f"{layer.name}{SEPARATOR}{path}": tensor for path, tensor in zip(paths, tapped)})
    return result


def layer_outputs(view):
    """`{path: symbolic output}` of every layer of a `functional_view` (nested models' layers included).

    Outputs come from the view's own graph: a layer shared with another model (called there
    too) has several outputs, and `layer.output` may be the other model's.
    """
    named = getattr(view, "kerasadv_layer_outputs", None)
    if named is not None:
        return dict(named)
    own = {}
    for nodes in view._nodes_by_depth.values():  # Keras's own record of this graph's calls
        for node in nodes:
            if node.operation is not None and not node.is_input:
                own[node.operation.name] = node.outputs[0] if len(node.outputs) == 1 else node.outputs
    return own


def layer_output(view, name):
    """The symbolic output of layer `name` (a path inside nested models) in a `functional_view`.

    Raises:
        ModelError: no layer has that name or path.
    """
    named = layer_outputs(view)
    if name not in named:
        raise ModelError(
            f"Model {view.name!r} has no layer {name!r}; expected one of {_shortened(list(named))}. A layer inside "
            f"a nested model is addressed by its path, e.g. 'backbone{SEPARATOR}conv1'."
        )
    return named[name]


def _shortened(names, limit=12):
    return repr(names) if len(names) <= limit else f"{names[:limit]!r} and {len(names) - limit} more"
