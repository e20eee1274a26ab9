"""Eager checks of what users hand to attacks, and the conversions kerasadv documents.

Conversions: one-hot labels become sparse (argmax); labels of shape (n, 1) are flattened.
Everything else that is off raises `AttackInputError` naming the value and what was expected.
"""

import math

import numpy as np
import tensorflow as tf

from kerasadv.data.pixels import check_unit_range
from kerasadv.errors import AttackInputError, KerasAdvError


def check_eps(eps, norm="linf", image_size=None, name="eps"):
    """Checks an attack radius: >= 0, and <= 1 for Linf (<= sqrt(pixels) for L2)."""
    if isinstance(eps, (tf.Tensor, tf.Variable)) and not tf.executing_eagerly():
        return eps
    value = float(eps)
    limit = 1.0 if norm == "linf" else math.sqrt(image_size or float("inf"))
    if not 0.0 <= value <= limit:
        raise AttackInputError(
            f"{name} must be in [0, {limit:g}] ({norm} radius of [0, 1] images"
            f"{'' if norm == 'linf' else ': at most sqrt(height * width * channels)'}), got {value:g}."
        )
    return value


def check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise AttackInputError(f"{name} must be an integer >= 1, got {value!r}.")
    return int(value)


def check_images(x):
    """Float32 [0, 1] NHWC images (uint8 and other ranges are refused, with a hint)."""
    try:
        x = check_unit_range(x)
    except KerasAdvError as error:
        raise AttackInputError(str(error)) from None
    if x.shape.rank != 4:
        raise AttackInputError(
            f"images must be a batch of shape (n, height, width, channels), got shape {tuple(x.shape)}."
        )
    return x


def check_model_input(model, x):
    """Refuses images whose (height, width, channels) differ from the model's known input shape."""
    try:
        expected = tuple(model.input_shape[1:])
    except (AttributeError, ValueError, TypeError):  # subclassed, not built: Keras will tell
        return
    got = tuple(x.shape[1:])
    if len(expected) == len(got) and any(e is not None and e != g for e, g in zip(expected, got)):
        raise AttackInputError(
            f"images have shape {got} per example, the model {model.name!r} expects {expected}; "
            "resize the images or use a model built for them."
        )


def check_not_empty(count, what="data"):
    """Refuses a data set that yielded no example (an accuracy over nothing means nothing)."""
    if count == 0:
        raise AttackInputError(f"{what} is empty: 0 examples; expected at least one (image, label) pair.")


def check_labels(y, num_examples, num_classes, name="labels"):
    """Sparse int32 labels of length `num_examples`; accepts one-hot and (n, 1) labels."""
    y = np.asarray(y.numpy() if hasattr(y, "numpy") else y)
    if y.ndim == 2 and y.shape[1] == num_classes and num_classes > 1:
        y = y.argmax(axis=1)  # one-hot (or probabilities) -> class ids
    elif y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != num_examples:
        raise AttackInputError(
            f"{name} must have shape ({num_examples},) (sparse) or ({num_examples}, {num_classes}) "
            f"(one-hot), got shape {y.shape}."
        )
    fractional = y[np.mod(y, 1) != 0] if y.size and np.issubdtype(y.dtype, np.floating) else []
    if len(fractional):
        raise AttackInputError(f"{name} must be integer class ids in [0, {num_classes - 1}], got {fractional[0]}.")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise AttackInputError(
            f"{name} must be class ids in [0, {num_classes - 1}], got values in [{y.min()}, {y.max()}]."
        )
    return tf.convert_to_tensor(y.astype(np.int32))
