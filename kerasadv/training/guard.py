"""`InputGuard`: the checks of a training wrapper's batches, raised as kerasadv's own errors.

A check inside the compiled train step can only fail as a TensorFlow error
(`InvalidArgumentError`), which names neither the bad value nor the fix. So the step records
what it saw (the smallest and largest pixel value, the largest batch) in one small variable,
and the wrapper reads it eagerly after each call of its train function (`fit`,
`train_on_batch`): three numbers a step, against an attack's many passes. The step that saw a
bad batch has run; `fit` stops with the error right after it. What is known when the step is
traced (integer images, several image tensors) is refused before any step runs.
"""

import math

import tensorflow as tf

from kerasadv.data.pixels import PIXEL_TOLERANCE
from kerasadv.errors import AttackInputError, RecipeError

PIXEL_FIX = (
    "divide 0..255 images by 255 (uint8 ones: kerasadv.data.to_unit_float(images)), or load them with "
    "kerasadv.data, whose data sets yield [0, 1]"
)


def training_images(x, owner):
    """The images of a training batch as float32, refusing what the traced step can tell is wrong.

    Args:
        x: the `x` of a batch (inside the compiled train step).
        owner: who trains (for the message), e.g. "AdversarialModel".

    Returns:
        `x` as a float32 tensor.

    Raises:
        AttackInputError: `x` is a dict / list of tensors, or integer (uint8: 0..255) images.

    Example:
    >>> training_images(tf.zeros((1, 2, 2, 3), tf.uint8), "AdversarialModel")
    Traceback (most recent call last):
    ...
    kerasadv.errors.AttackInputError: AdversarialModel trains on float32 pixels in [0, 1], got uint8 images ...
    """
    if isinstance(x, (dict, list, tuple)):
        raise AttackInputError(
            f"{owner} trains on one batch of images, got a {type(x).__name__} of {len(x)} inputs; "
            "give (images, labels) batches to a single-input classifier."
        )
    x = tf.convert_to_tensor(x)
    if not x.dtype.is_floating:
        raise AttackInputError(
            f"{owner} trains on float32 pixels in [0, 1], got {x.dtype.name} images (0..255 pixel values?); "
            f"{PIXEL_FIX}."
        )
    return tf.cast(x, tf.float32)


class InputGuard:
    """Records, inside the compiled step, the pixel range and batch size seen; `check` raises eagerly.

    Args:
        owner: who trains (for the messages).

    Example:
    >>> guard = InputGuard("AdversarialModel")
    >>> _ = guard.observe(tf.fill((2, 4, 4, 3), 255.0))
    >>> guard.check()
    Traceback (most recent call last):
    ...
    kerasadv.errors.AttackInputError: AdversarialModel trains on pixels in [0, 1], got values in [255, 255]: ...
    """

    def __init__(self, owner):
        self.owner = owner
        self.seen = tf.Variable(  # [smallest pixel, largest pixel, largest batch]; first replica's batches
            self._nothing_seen(),
            trainable=False,
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
            name="input_guard",
        )

    @staticmethod
    def _nothing_seen():
        return tf.constant([math.inf, -math.inf, 0.0], tf.float32)

    def observe(self, x):
        """Records the range (NaN counts as +inf) and size of float32 batch `x` (in the graph)."""
        x = tf.where(tf.math.is_nan(x), tf.constant(math.inf, x.dtype), x)
        batch = tf.cast(tf.shape(x)[0], tf.float32)
        seen = tf.convert_to_tensor(self.seen)
        low, high = tf.minimum(seen[0], tf.reduce_min(x)), tf.maximum(seen[1], tf.reduce_max(x))
        return self.seen.assign(tf.stack([low, high, tf.maximum(seen[2], batch)]))

    def check(self, largest_batch=None):
        """Raises (and forgets what was seen) if a batch was outside [0, 1] or larger than `largest_batch`.

        Raises:
            AttackInputError: pixels outside [0, 1] (0..255 values, NaN, inf).
            RecipeError: a batch larger than `largest_batch`.
        """
        low, high, batch = (float(v) for v in self.seen.numpy())
        if low < -PIXEL_TOLERANCE or high > 1 + PIXEL_TOLERANCE:
            self.seen.assign(self._nothing_seen())
            hint = " (NaN or inf among them)" if math.isinf(low) or math.isinf(high) else ""
            raise AttackInputError(
                f"{self.owner} trains on pixels in [0, 1], got values in [{low:.4g}, {high:.4g}]{hint}: attacks "
                f"clip to [0, 1], so the model would learn from near-white images. {PIXEL_FIX[0].upper()}"
                f"{PIXEL_FIX[1:]}."
            )
        if largest_batch is not None and batch > largest_batch:
            self.seen.assign(self._nothing_seen())
            raise RecipeError(
                f"{self.owner} got a batch of {int(batch)} examples, its perturbation buffer holds "
                f"{largest_batch}; pass batch_size={int(batch)} (or more) to it, or to "
                "kerasadv.training.wrap(..., batch_size=...)."
            )
