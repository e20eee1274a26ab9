"""The one conversion of images to kerasadv's pixel convention: float32 in [0, 1], NHWC."""

import numpy as np
import tensorflow as tf

from kerasadv.errors import KerasAdvError

# Float images may exceed [0, 1] by rounding (JPEG decode, resizing) by this much.
PIXEL_TOLERANCE = 1e-4


def to_unit_float(images):
    """Converts uint8 images in [0, 255] to float32 in [0, 1]; float images pass through.

    Works on tensors inside `tf.data` and `tf.function` (no value checks there); use
    `check_unit_range` to validate eager inputs.

    Args:
        images: uint8 or floating tensor / array, NHWC or HWC.

    Returns:
        A float32 tensor of the same shape.

    Example:
    >>> float(to_unit_float(np.full((1, 2, 2, 3), 255, np.uint8)).numpy().max())
    1.0
    """
    images = tf.convert_to_tensor(images)
    if images.dtype == tf.uint8:
        return tf.cast(images, tf.float32) / 255.0
    if not images.dtype.is_floating:
        raise KerasAdvError(f"images must be uint8 in [0, 255] or float in [0, 1], got dtype {images.dtype.name}.")
    return tf.cast(images, tf.float32)


def check_unit_range(images, name="images"):
    """Raises a clear error unless `images` are float pixels in [0, 1].

    Args:
        images: eager tensor or numpy array.
        name: what to call the value in the message.

    Returns:
        The images as a float32 tensor.

    Raises:
        KerasAdvError: uint8, non-float, non-finite or out-of-range pixels, or a whole
            `tf.data.Dataset` where one batch is expected (names the fix).

    Example:
    >>> check_unit_range(tf.data.Dataset.range(3))
    Traceback (most recent call last):
    ...
    kerasadv.errors.KerasAdvError: images are a tf.data.Dataset (...), but one batch of images was expected: ...
    """
    if isinstance(images, tf.data.Dataset):
        raise KerasAdvError(
            f"{name} are a tf.data.Dataset ({type(images).__name__}), but one batch of images was expected: an array, "
            "tensor, variable or nested list of shape (n, height, width, channels). For a whole data set use "
            "kerasadv.attacks.stream(attack, model, dataset) or evaluate_attack, or loop: for x, y in dataset: ..."
        )
    array = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
    if array.dtype == np.uint8:
        raise KerasAdvError(
            f"{name} are uint8 (0..255); kerasadv expects float32 pixels in [0, 1]. "
            "Convert with kerasadv.data.to_unit_float(images)."
        )
    if not np.issubdtype(array.dtype, np.floating):
        raise KerasAdvError(
            f"{name} must be float pixels in [0, 1], got {type(images).__name__} of dtype {array.dtype}; "
            "expected an array, tensor, variable or nested list of numbers."
        )
    if array.size and not np.isfinite(array).all():
        nan, inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
        raise KerasAdvError(
            f"{name} hold non-finite values ({nan} NaN, {inf} inf); expected finite float pixels in [0, 1]."
        )
    if array.size:
        low, high = float(array.min()), float(array.max())
        if low < -PIXEL_TOLERANCE or high > 1 + PIXEL_TOLERANCE:
            hint = " (they look like 0..255 values: divide by 255)" if high > 2 else ""
            raise KerasAdvError(f"{name} must lie in [0, 1], got values in [{low:.4g}, {high:.4g}]{hint}.")
    return tf.convert_to_tensor(array, tf.float32)
