"""`kerasadv.data.load`: one function from a source string to batches of [0, 1] pixels."""

import dataclasses
import os

import numpy as np
import tensorflow as tf

from kerasadv.data import array_sources, image_folder, tfds_source
from kerasadv.data.pixels import to_unit_float
from kerasadv.errors import DataSourceError

SOURCE_FORMS = ("tfds:NAME", "dir:PATH", "tar:PATH", "npz:PATH", "fashion_mnist")
CIFAR10_ARCHIVE_VARIABLE = "KERASADV_CIFAR10_TAR"
"""The environment variable naming the CIFAR-10 image-folder archive (`default_source`)."""


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What `load` tells about the data it returns.

    Attributes:
        source: the source string.
        split: the split loaded.
        class_names: class names indexed by label.
        image_shape: (height, width, channels).
        num_examples: examples in the returned data set (after `num_examples` selection).
        split_sizes: examples of every split of the source.
    """

    source: str
    split: str
    class_names: tuple
    image_shape: tuple
    num_examples: int
    split_sizes: dict

    @property
    def num_classes(self):
        return len(self.class_names)


def _resized(records, image_size):
    """`records` read at `image_size` (bilinear, [0, 1] floats); unchanged when already that size."""
    height, width, channels = records.image_shape
    if image_size is None or (height, width) == tuple(image_size):
        return records
    inner = records.read

    def read(index):
        image, label = inner(index)
        return tf.image.resize(to_unit_float(image), image_size), label

    return dataclasses.replace(records, image_shape=(*image_size, channels), read=read)


def _records(source, split, image_size, data_dir):
    kind, _, arg = source.partition(":")
    if kind == "tfds" and arg:
        return _resized(tfds_source.tfds_records(arg, split, data_dir), image_size)
    if kind == "dir" and arg:
        return image_folder.folder_records(arg, split, image_size)
    if kind == "tar" and arg:
        return image_folder.archive_records(arg, split, image_size)
    if kind == "npz" and arg:
        return _resized(array_sources.npz_records(arg, split), image_size)
    if source == "fashion_mnist":
        return _resized(array_sources.fashion_mnist_records(split, data_dir), image_size)
    raise DataSourceError(f"Unknown data source {source!r}: expected one of {', '.join(SOURCE_FORMS)}.")


def default_source(environ=None):
    """The default data source: the CIFAR-10 archive named by $KERASADV_CIFAR10_TAR, else "fashion_mnist".

    Unset (or empty), the documented fallback is Fashion-MNIST; set, it must name a file: a
    typo in the path is an error, never a silent switch to another data set.

    Args:
        environ: the environment to read (default `os.environ`).

    Returns:
        "tar:<path>" or "fashion_mnist".

    Raises:
        DataSourceError: the variable is set but names no file (names the path and the fix).

    Example:
    >>> default_source({})
    'fashion_mnist'
    >>> default_source({"KERASADV_CIFAR10_TAR": "/no/such/cifar10.tar.gz"})
    Traceback (most recent call last):
    ...
    kerasadv.errors.DataSourceError: KERASADV_CIFAR10_TAR='/no/such/cifar10.tar.gz' names no file; ...
    """
    archive = (os.environ if environ is None else environ).get(CIFAR10_ARCHIVE_VARIABLE, "")
    if not archive:
        return "fashion_mnist"
    if not os.path.isfile(archive):
        raise DataSourceError(
            f"{CIFAR10_ARCHIVE_VARIABLE}={archive!r} names no file; expected the CIFAR-10 image-folder archive "
            f"(e.g. .../cifar10-jpeg.tar.gz): fix the path, or unset {CIFAR10_ARCHIVE_VARIABLE} to use Fashion-MNIST."
        )
    return f"tar:{archive}"


def select_indices(labels, num_examples=None, seed=0):
    """Stratified, deterministic choice of `num_examples` indices (sorted).

    Each class gets its share of `num_examples` in proportion to its frequency (largest
    remainders round up), drawn without replacement with `seed`.

    Args:
        labels: int array of labels.
        num_examples: how many to keep; None keeps all.
        seed: random seed.

    Returns:
        Sorted int64 array of indices.
    """
    total = len(labels)
    if num_examples is None or num_examples == total:
        return np.arange(total, dtype=np.int64)
    if not 0 < num_examples <= total:
        raise DataSourceError(f"num_examples must be in [1, {total}] for this split, got {num_examples}.")
    classes, counts = np.unique(labels, return_counts=True)
    shares = counts * num_examples / total
    quotas = np.floor(shares).astype(int)
    for i in np.argsort(-(shares - quotas), kind="stable")[: num_examples - quotas.sum()]:
        quotas[i] += 1
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(labels == c), q, replace=False) for c, q in zip(classes, quotas)]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


IN_MEMORY_LIMIT = 2 * 1024**3
"""`in_memory="auto"` holds a split in memory when its decoded pixels take at most this many bytes."""


def load(
    source,
    split="train",
    num_examples=None,
    batch_size=128,
    shuffle=False,
    seed=0,
    image_size=None,
    data_dir=None,
    in_memory=False,
):
    """Loads a data set as batches of `(float32 images in [0, 1], int32 labels)`.

    Args:
        source: "tfds:NAME", "dir:PATH" (PATH/<split>/<class>/*.jpg|png), "tar:PATH" (an
            archive of such a tree), "npz:PATH" (x_train, y_train, x_test, y_test) or
            "fashion_mnist" (Debian's idx files).
        split: "train", "test" or another split the source has.
        num_examples: keep a stratified, seeded subset of this size; None keeps all.
        batch_size: batch size of the returned data set.
        shuffle: shuffle examples (seeded; reshuffled each epoch).
        seed: seed of the subset choice and of the shuffling.
        image_size: (height, width) to resize every image to (bilinear; image folders may then
            hold images of mixed sizes); None keeps the source's size.
        data_dir: tfds data directory, or the folder of the Fashion-MNIST idx files.
        in_memory: decode the chosen examples once and hold their pixels in memory (uint8 as
            decoded; float32 where `image_size` resizes), so an epoch reads no file and decodes
            nothing: the same examples in the same order as the streamed data set (the same
            seeded shuffle). True, False, or "auto": in memory when the decoded pixels take at
            most `IN_MEMORY_LIMIT` bytes (all 50,000 CIFAR-10 training images: 150 MB).

    Returns:
        `(dataset, info)`: a `tf.data.Dataset` and a `DatasetInfo`.

    Example:
    >>> ds, info = load("fashion_mnist", split="test", num_examples=100)
    >>> images, labels = next(iter(ds))
    >>> images.shape, info.num_classes
    (TensorShape([100, 28, 28, 1]), 10)
    >>> load("fashion_mnist", split="test", num_examples=10, image_size=(32, 32))[1].image_shape
    (32, 32, 1)
    """
    if not isinstance(source, str):
        shape = getattr(source, "shape", None)
        raise DataSourceError(
            f"source must be a string like {SOURCE_FORMS}, got {type(source).__name__}"
            + ("" if shape is None else f" of shape {tuple(shape)}")
            + "; data already in memory (arrays, a tf.data.Dataset) goes to model.fit or AdversarialModel.fit."
        )
    records = _records(source, split, image_size, data_dir)
    indices = select_indices(records.labels, num_examples, seed)
    held = holds_in_memory(in_memory, len(indices), records.image_shape)
    dataset = tf.data.Dataset.from_tensor_slices(_decoded(records, indices) if held else indices)
    if shuffle:
        dataset = dataset.shuffle(len(indices), seed=seed, reshuffle_each_iteration=True)
    if not held:  # read and decode each example as it is needed
        dataset = dataset.map(records.read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    dataset = (
        dataset.batch(batch_size).map(lambda x, y: (to_unit_float(x), tf.cast(y, tf.int32))).prefetch(tf.data.AUTOTUNE)
    )
    info = DatasetInfo(
        source, split, tuple(records.class_names), records.image_shape, len(indices), dict(records.split_sizes)
    )
    return dataset, info


def holds_in_memory(in_memory, count, image_shape, itemsize=1):
    """Whether `in_memory` (True, False or "auto") holds `count` images of `itemsize`-byte pixels in memory."""
    if in_memory == "auto":
        return count * int(np.prod(image_shape)) * itemsize <= IN_MEMORY_LIMIT
    if in_memory not in (True, False):
        raise DataSourceError(f"in_memory must be True, False or 'auto', got {in_memory!r}.")
    return in_memory


def _decoded(records, indices):
    """`(pixels, labels)` of the examples at `indices`, decoded once, in their order."""
    reads = tf.data.Dataset.from_tensor_slices(indices).map(
        records.read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    return to_arrays(reads.batch(1024))


def to_arrays(dataset):
    """Concatenates a batched `(images, labels)` data set into two numpy arrays."""
    images, labels = [], []
    for x, y in dataset:
        images.append(x.numpy())
        labels.append(y.numpy())
    return np.concatenate(images), np.concatenate(labels)
