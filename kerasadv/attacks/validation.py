"""The argument checks of kerasadv's attacks, training wrappers and analyses, in one place.

Each check returns the value in its canonical type or raises the project's error (an
`AttackInputError` unless `error=` says otherwise: training recipes pass `RecipeError`),
naming the bad value and what was expected. Conversions kerasadv documents: one-hot labels
become sparse (argmax); labels of shape (n, 1) are flattened.
"""

import math
import numbers

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


def _named(name, meaning):
    return f"{name} ({meaning})" if meaning else name


def check_integer(value, name, low=1, meaning=None, error=AttackInputError):
    """`value` as an int >= `low` (bools refused).

    Example:
    >>> check_integer(3, "steps")
    3
    >>> check_integer(0, "steps")
    Traceback (most recent call last):
    ...
    kerasadv.errors.AttackInputError: steps must be an integer >= 1, got 0.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise error(f"{_named(name, meaning)} must be an integer >= {low}, got {value!r}.")
    return int(value)


def check_number(value, name, low=-math.inf, high=math.inf, low_open=False, meaning=None, error=AttackInputError):
    """`value` as a finite float in [low, high] ((low, high] when `low_open`); bools and strings refused.

    Example:
    >>> check_number(0.5, "beta", 0.0, 1.0, low_open=True)
    0.5
    >>> check_number(-1, "beta", 0.0, meaning="the weight of the robust term")
    Traceback (most recent call last):
    ...
    kerasadv.errors.AttackInputError: beta (the weight of the robust term) must be a finite number in [0, inf), got -1.
    """
    number = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else math.nan
    if not (low < number if low_open else low <= number) or not number <= high or not math.isfinite(number):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{']' if math.isfinite(high) else ')'}"
        raise error(f"{_named(name, meaning)} must be a finite number in {interval}, got {value!r}.")
    return number


def check_choice(value, name, allowed, error=AttackInputError):
    """`value` if it is one of `allowed`.

    Example:
    >>> check_choice("l1", "norm", ("linf", "l2"))
    Traceback (most recent call last):
    ...
    kerasadv.errors.AttackInputError: norm must be one of ('linf', 'l2'), got 'l1'.
    """
    if value not in allowed:
        raise error(f"{name} must be one of {tuple(allowed)}, got {value!r}.")
    return value


def check_step_size(step_size, rel_step_size):
    """At most one of an absolute and a relative step size, each > 0 when given."""
    if step_size is not None and rel_step_size is not None:
        raise AttackInputError(
            f"give step_size (absolute) or rel_step_size (times eps), not both; got "
            f"step_size={step_size!r} and rel_step_size={rel_step_size!r}."
        )
    return tuple(
        None if value is None else check_number(value, name, 0.0, low_open=True)
        for name, value in (("step_size", step_size), ("rel_step_size", rel_step_size))
    )


def check_random_start(random_start):
    """`random_start` as True, False or "normal"; other strings raise an AttackInputError."""
    if isinstance(random_start, str):
        return check_choice(random_start, "random_start", (True, False, "normal"))
    return bool(random_start)


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


def sparse_labels(y):
    """Int32 class ids of sparse, (n, 1) or one-hot labels, inside a graph too (`check_labels` checks them eagerly).

    Example:
    >>> sparse_labels(tf.constant([[0.0, 1.0], [1.0, 0.0]])).numpy()
    array([1, 0], dtype=int32)
    """
    y = tf.convert_to_tensor(y)
    if y.shape.rank is not None and y.shape.rank >= 2 and y.shape[-1] != 1:
        return tf.argmax(y, -1, output_type=tf.int32)
    return tf.cast(tf.reshape(y, [-1]), tf.int32)


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
