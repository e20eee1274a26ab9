"""The structure kerasadv expects of a classifier: one input (a batch of images), one tensor of logits out."""

from kerasadv.errors import ModelError


def _describe(model):
    return f"{type(model).__name__} {model.name!r}"


def check_structure(model):
    """Refuses a model with several inputs, several or named outputs, or outputs not of shape (n, classes).

    Attacks, analyses, certification, training wrappers and the serving signatures feed a
    model one float batch of shape (n, height, width, channels) and read one logits tensor.
    What a model's graph does not say (a subclassed model's outputs) is checked on its first
    call by `num_classes`.

    Args:
        model: a Keras model.

    Raises:
        ModelError: the structure does not fit, with the fix (a functional model over the
            image input and the logits output).

    Example:
    >>> import keras
    >>> image = keras.Input((8, 8, 3))
    >>> features = keras.layers.GlobalAveragePooling2D()(image)
    >>> check_structure(keras.Model(image, keras.layers.Dense(3)(features)))
    >>> check_structure(keras.Model(image, {"logits": keras.layers.Dense(3)(features)}))
    Traceback (most recent call last):
    ...
    kerasadv.errors.ModelError: Functional '...' returns a dict of outputs ...
    """
    try:
        inputs = list(model.inputs or [])
    except (AttributeError, ValueError):  # subclassed, or a Sequential not built yet
        inputs = []
    if len(inputs) > 1:
        raise ModelError(
            f"{_describe(model)} takes {len(inputs)} inputs; kerasadv feeds a classifier one batch of images. "
            "Wrap it in a functional model that takes the image alone and supplies the other inputs "
            "(constants or layers computed from the image), e.g. keras.Model(image, model([image, extra]))."
        )
    output = symbolic_output(model)
    if output is not None:
        check_output(output, model)


def check_output(output, model):
    """Refuses an output (symbolic or computed) that is not one tensor of shape (n, classes).

    Raises:
        ModelError: the output is a dict, a list or a tuple, or a tensor of another rank (a
            per-pixel output), with the fix.
    """
    if isinstance(output, dict):
        raise ModelError(
            f"{_describe(model)} returns a dict of outputs {sorted(output)}; kerasadv needs one logits tensor "
            "(n, classes). Pass a model of the logits alone: "
            "keras.Model(model.input, model.output[KEY]) with KEY the logits' name."
        )
    if isinstance(output, (list, tuple)):
        raise ModelError(
            f"{_describe(model)} returns {len(output)} outputs; kerasadv needs one logits tensor (n, classes). "
            "Pass a model of the logits alone: keras.Model(model.input, model.outputs[INDEX])."
        )
    shape = getattr(output, "shape", None)
    if shape is not None and len(shape) != 2:
        raise ModelError(
            f"{_describe(model)} returns shape {tuple(shape)}; kerasadv needs logits of shape (n, classes), one "
            "per image. End the model in keras.layers.GlobalAveragePooling2D() (or Flatten()) and Dense(classes)."
        )


def symbolic_output(model):
    """The model's symbolic output (a tensor; a dict or list where it has several), or None without a graph.

    A single output given as a list (`keras.Model(x, [logits])`) is that output: Keras unpacks
    it when the model is called.
    """
    try:
        output = model.output
    except (AttributeError, ValueError):
        return None
    return output[0] if isinstance(output, (list, tuple)) and len(output) == 1 else output  # Keras unpacks it
