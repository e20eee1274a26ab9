"""The data forms kerasadv's evaluation entry points accept, read as one iterable of `(images, labels)` batches.

`evaluate_attack`, `clean_accuracy`, `attacks.stream`, `eps_sweep` and the analyses that
stream data all read their `data` argument here (`as_batches`), so every entry point accepts
the same forms and refuses the same ones with the same message:

- an `(x, y)` pair of numpy arrays, tensors, `tf.Variable`s or nested Python lists (sliced
  into batches of `batch_size`);
- a `tf.data.Dataset` of `(images, labels)` elements, batched or not (an unbatched one, whose
  images have rank 3, is batched here with `batch_size`);
- a `tf.data.Dataset` of dicts holding "image" and "label" (TFDS's form), or of Keras-style
  `({input_name: images}, labels)` elements with one input;
- `(dataset, None)`: a data set passed where an `(x, y)` pair is expected.

Refused (`AttackInputError`, naming the form given, the forms accepted and the fix):
`(images, labels, sample_weights)` elements (kerasadv's accuracies count each example once; the
weights are not silently dropped), dicts with other keys, several inputs, images without labels.
"""

import numpy as np
import tensorflow as tf

from kerasadv.constants import DEFAULT_BATCH_SIZE
from kerasadv.errors import AttackInputError

ACCEPTED = (
    "an (x, y) pair of numpy arrays, tensors, tf.Variables or lists, or a tf.data.Dataset (batched or not) "
    "of (images, labels) or {'image': ..., 'label': ...} elements"
)
WEIGHTS_FIX = (
    "kerasadv's accuracies count every example once and do not use sample weights: drop them with "
    "dataset.map(lambda x, y, w: (x, y)), or select the examples to count with dataset.filter."
)


def refuse(given, fix=""):
    """Raises the one data-form error: the form given, the forms accepted and the fix."""
    raise AttackInputError(f"data must be {ACCEPTED}; got {given}." + (f" {fix}" if fix else ""))


def _describe(value):
    """The form of `value` in a few words (type, and shape where it has one)."""
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"{type(value).__name__} of shape {tuple(shape)}"
    if isinstance(value, (tuple, list, dict)):
        return f"{type(value).__name__} of {len(value)} items"
    return type(value).__name__


def _sliceable(value, name):
    """`value` as something `len()` and slicing work on: variables become tensors, lists arrays."""
    if value is None:
        refuse(
            f"{name}=None",
            "Evaluation needs the true labels; to attack without them call attack(model, x) on one batch.",
        )
    if isinstance(value, dict):
        if len(value) != 1:
            refuse(f"{name} as a dict with keys {sorted(value)}", "Pass the images of a single-input model.")
        (value,) = value.values()  # Keras-style {input_name: images}
    if isinstance(value, tf.Variable):
        return tf.convert_to_tensor(value)
    if isinstance(value, (list, tuple)):
        try:
            return np.asarray(value)
        except ValueError as error:  # ragged nesting
            refuse(f"{name} as a ragged {type(value).__name__} ({error})", "Give equal-shape images and labels.")
    if not hasattr(value, "__len__") or np.ndim(value) == 0:
        refuse(f"{name} as {_describe(value)}")
    return value


class ArrayBatches:
    """Batches of an `(x, y)` pair, sliced in Python (no tf.data threads).

    Args:
        x: images (array, tensor, variable or nested list).
        y: labels of the same length.
        batch_size: examples per batch (the last batch may be smaller).

    Raises:
        AttackInputError: `x` or `y` is None, not a sequence, ragged, or of another length.
    """

    def __init__(self, x, y, batch_size):
        x, y = _sliceable(x, "x"), _sliceable(y, "y")
        if len(x) != len(y):
            raise AttackInputError(f"x and y must have the same length, got {len(x)} and {len(y)}.")
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        for start in range(0, len(self.x), self.batch_size):
            yield self.x[start : start + self.batch_size], self.y[start : start + self.batch_size]


def _pairs(dataset):
    """`dataset` with `(images, labels)` elements, or the data-form error."""
    spec = dataset.element_spec
    if isinstance(spec, dict):
        if not {"image", "label"} <= set(spec):
            refuse(
                f"a tf.data.Dataset of dicts with keys {sorted(spec)}",
                "Map them to pairs: dataset.map(lambda e: (e[<images key>], e[<labels key>])).",
            )
        return dataset.map(lambda element: (element["image"], element["label"]))
    if isinstance(spec, tuple) and len(spec) == 3:
        refuse("a tf.data.Dataset of (images, labels, sample_weights) elements", WEIGHTS_FIX)
    if not (isinstance(spec, tuple) and len(spec) == 2):
        refuse(f"a tf.data.Dataset of {type(spec).__name__} elements (images without labels?)")
    features = spec[0]
    if isinstance(features, dict):
        if len(features) != 1:
            refuse(
                f"a tf.data.Dataset of ({{{', '.join(sorted(features))}}}, labels) elements: several inputs",
                "kerasadv's attacks and evaluations take single-input image classifiers.",
            )
        (key,) = features
        return dataset.map(lambda inputs, labels: (inputs[key], labels))
    return dataset


def dataset_batches(dataset, batch_size=DEFAULT_BATCH_SIZE):
    """`(images, labels)` batches of a data set in any accepted form (see the module docstring).

    Args:
        dataset: a `tf.data.Dataset`.
        batch_size: batch size of an unbatched data set (images of rank 3).

    Returns:
        A `tf.data.Dataset` of `(images, labels)` batches.

    Raises:
        AttackInputError: elements of a refused form.

    Example:
    >>> images = np.zeros((5, 8, 8, 3), np.float32)
    >>> unbatched = tf.data.Dataset.from_tensor_slices({"image": images, "label": np.arange(5)})
    >>> [int(x.shape[0]) for x, _ in dataset_batches(unbatched, batch_size=2)]
    [2, 2, 1]
    """
    dataset = _pairs(dataset)
    if dataset.element_spec[0].shape.rank == 3:  # one (height, width, channels) image per element
        dataset = dataset.batch(batch_size)
    return dataset


def as_batches(data, batch_size=DEFAULT_BATCH_SIZE):
    """An iterable of `(images, labels)` batches from any accepted data form.

    Args:
        data: an `(x, y)` pair or a `tf.data.Dataset` (see the module docstring), or
            `(dataset, None)`.
        batch_size: batch size of array pairs and of unbatched data sets.

    Returns:
        `ArrayBatches` (sized) or a batched `tf.data.Dataset`.

    Raises:
        AttackInputError: `data` is not of an accepted form; names the form and the fix.

    Example:
    >>> [len(x) for x, _ in as_batches(([[[[0.5]]]] * 3, [0, 1, 0]), batch_size=2)]
    [2, 1]
    >>> as_batches(np.zeros((4, 8, 8, 3)))
    Traceback (most recent call last):
    ...
    kerasadv.errors.AttackInputError: data must be an (x, y) pair ...; got ndarray of shape (4, 8, 8, 3). ...
    """
    if isinstance(data, tf.data.Dataset):
        return dataset_batches(data, batch_size)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
        if isinstance(x, tf.data.Dataset):
            if y is not None:
                refuse("a tf.data.Dataset as x and labels y beside it", "Its elements carry the labels: pass it alone.")
            return dataset_batches(x, batch_size)
        return ArrayBatches(x, y, batch_size)
    if isinstance(data, (tuple, list)) and len(data) == 3:
        refuse("an (x, y, sample_weights) triple", WEIGHTS_FIX)
    hint = "Pair the images with their labels: (x, y)." if getattr(data, "shape", None) is not None else ""
    refuse(_describe(data), hint)


def num_batches(batches):
    """The number of batches `as_batches` will yield, or None where unknown (an infinite or filtered data set)."""
    count = len(batches) if isinstance(batches, ArrayBatches) else int(batches.cardinality())
    return count if count >= 0 else None


def fit_data(x, y=None, batch_size=None):
    """`model.fit`'s `x` and `y` from the forms above, for kerasadv's training wrappers.

    Keras takes arrays and batched data sets of `(x, y)` or `(x, y, sample_weight)`; the wrappers also
    take lists (as arrays), TFDS dicts and unbatched data sets (batched with `batch_size`, Keras's
    default 32 when None). Sample weights stay: `fit` weighs the loss with them.

    Args:
        x: images, or a `tf.data.Dataset` carrying the labels.
        y: labels (None with a data set).
        batch_size: batch size of an unbatched data set.

    Returns:
        `(x, y)` for `keras.Model.fit`.

    Raises:
        AttackInputError: a data set with labels beside it, an empty array, or a refused element form.

    Example:
    >>> unbatched = tf.data.Dataset.from_tensor_slices({"image": np.zeros((3, 8, 8, 3)), "label": [0, 1, 0]})
    >>> [tuple(t.shape) for t in next(iter(fit_data(unbatched, batch_size=2)[0]))]
    [(2, 8, 8, 3), (2,)]
    """
    if isinstance(x, tf.data.Dataset):
        if y is not None:
            refuse("a tf.data.Dataset as x and labels y beside it", "Its elements carry the labels: pass it alone.")
        spec = x.element_spec
        weighted = isinstance(spec, tuple) and len(spec) == 3
        dataset = x if weighted else _pairs(x)
        if dataset.element_spec[0].shape.rank == 3:  # one (height, width, channels) image per element
            dataset = dataset.batch(batch_size or 32)
        return dataset, None
    if isinstance(x, (list, tuple)):
        x = _sliceable(x, "x")
    if isinstance(y, (list, tuple)):
        y = _sliceable(y, "y")
    if x is not None and hasattr(x, "shape") and len(x.shape) and x.shape[0] == 0:
        refuse("0 examples (an empty x)", "Give at least one (image, label) pair.")
    return x, y
