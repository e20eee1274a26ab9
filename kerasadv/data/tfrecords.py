"""Example sets on disk: TFRecord shards per split plus a `schema.json`, as pipeline artifacts use.

Clean images are stored as uint8 (lossless for 8-bit sources); adversarial images as float32
so that small perturbations survive. Per-example extras (attack success, steps, norms) ride
along as float features. The directory may be on any filesystem TensorFlow knows (`gs://`,
`ram://`...): files go through the artifact writer and the filesystem seam.
"""

import contextlib
import os

import numpy as np
import tensorflow as tf

from kerasadv import filesystems  # noqa: F401  (registers tf.io.gfile for scheme-qualified paths)
from kerasadv.constants import DEFAULT_BATCH_SIZE
from kerasadv.data.load import holds_in_memory
from kerasadv.data.pixels import to_unit_float
from kerasadv.errors import DataSourceError
from kerasadv.orchestration import filesystem, writer

SCHEMA = "schema.json"
MAX_SHUFFLE_RECORDS = 100_000  # shuffle buffer cap (serialized records): ~300 MB of uint8 CIFAR


def _feature(value):
    if isinstance(value, bytes):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
    if isinstance(value, (int, np.integer)):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))
    return tf.train.Feature(float_list=tf.train.FloatList(value=[float(value)]))


def write_split(batches, directory, split, image_dtype="uint8", shard_size=10000, first_shard=0):
    """Writes batches `{"image": [0, 1] floats, "label": ints, <extra>: floats}` as TFRecord shards.

    Args:
        batches: iterable of dicts of equal-length arrays / tensors.
        directory: the example set's directory.
        split: split name (file prefix).
        image_dtype: "uint8" (images rounded to 8 bits) or "float32" (exact).
        shard_size: examples per shard.
        first_shard: number of the first shard file (`<split>-<number>.tfrecord`); a
            distributed writer gives each part its own range, in the split's order.

    Returns:
        `(count, extras)`: examples written and the names of the extra features.
    """
    writer.make_dirs(directory)
    count, shard, records, extras = 0, first_shard, None, []
    with contextlib.ExitStack() as open_shard:  # a shard appears under its name once complete
        for batch in batches:
            images = np.asarray(batch["image"], np.float32)
            if image_dtype == "uint8":
                images = np.round(images * 255.0).astype(np.uint8)
            extras = sorted(k for k in batch if k not in ("image", "label"))
            columns = {k: np.asarray(batch[k]).reshape(len(images), -1)[:, 0] for k in extras}
            for i, image in enumerate(images):
                if records is None or count % shard_size == 0:
                    open_shard.close()
                    path = os.path.join(directory, f"{split}-{shard:05d}.tfrecord")
                    records = open_shard.enter_context(
                        tf.io.TFRecordWriter(open_shard.enter_context(writer.atomic_path(path)))
                    )
                    shard += 1
                label = int(np.asarray(batch["label"])[i])
                features = {"image": _feature(image.tobytes()), "label": _feature(label)}
                features.update({k: _feature(float(columns[k][i])) for k in extras})
                records.write(tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString())
                count += 1
    return count, extras


def write_schema(directory, image_shape, image_dtype, class_names, split_counts, extras=(), order=None):
    """Writes `schema.json`: image shape and dtype, class names, split sizes, extras, order.

    `order` records how the examples were ordered when written (e.g. `{"shuffled": True,
    "seed": 0}` at ingest); None means "as the producer streamed them".
    """
    writer.write_json(
        {
            "image_shape": list(image_shape),
            "image_dtype": image_dtype,
            "class_names": list(class_names),
            "splits": split_counts,
            "extras": list(extras),
            "order": order,
        },
        os.path.join(directory, SCHEMA),
    )


def read_schema(directory):
    path = os.path.join(directory, SCHEMA)
    if not filesystem.isfile(path):
        raise DataSourceError(f"{directory} is not an example set: {SCHEMA} is missing.")
    return filesystem.read_json(path)


def count_records(path):
    """Number of records in a TFRecord file, walking the length headers (no payload is read).

    Raises:
        DataSourceError: the file ends inside a record (truncated, e.g. by a full disk or a
            killed writer), naming the file and the byte where it stops.
    """
    size, position, count = filesystem.size(path), 0, 0
    with filesystem.open_file(path, "rb") as f:
        while position < size:
            header = f.read(8)
            length = int.from_bytes(header, "little") if len(header) == 8 else None
            end = position + 16 + length if length is not None else None  # length, CRC, payload, CRC
            if end is None or end > size:
                raise DataSourceError(
                    f"TFRecord shard {path} is truncated: it ends at byte {size}, inside record {count} "
                    f"(which starts at byte {position}). Re-create the example set (re-run the component "
                    "that wrote it)."
                )
            position, count = end, count + 1
            f.seek(position)
    return count


def check_shards(files, expected, directory, split):
    """Refuses shards that are truncated or hold another number of records than the schema says."""
    found = sum(count_records(path) for path in files)
    if found != expected:
        raise DataSourceError(
            f"Split {split!r} of {directory} holds {found} records in {len(files)} shard(s), its schema "
            f"says {expected}: a shard is missing or was cut on a record boundary. Re-create the example set."
        )


def read_split(directory, split, batch_size=128, with_extras=False, shuffle_seed=None, in_memory=False):
    """Reads a split back as batches of `(float32 images in [0, 1], int32 labels)`.

    Args:
        directory: the example set's directory.
        split: split name.
        batch_size: batch size.
        with_extras: also yield a dict of the extra features as a third element.
        shuffle_seed: None reads in the written order; an int shuffles **examples** (not
            batches) with a buffer that covers the split (up to `MAX_SHUFFLE_RECORDS`
            serialized records), seeded and reshuffled every epoch.
        in_memory: decode the split once and hold it in memory in its stored dtype (uint8
            clean images: 150 MB for 50,000 CIFAR-10 images), so an epoch parses no record:
            the same batches in the same order as the streamed read. For splits read many
            times (training). True, False or "auto" (held when it fits in
            `data.load.IN_MEMORY_LIMIT` bytes).

    Returns:
        A `tf.data.Dataset` of `ceil(n / batch_size)` batches.

    Raises:
        DataSourceError: unknown split, a shard is truncated or missing (checked from the
            record headers before reading), or `in_memory` is not True, False or "auto".

    Example:
    >>> import tempfile, numpy as np
    >>> d = tempfile.mkdtemp()
    >>> batch = {"image": np.zeros((6, 2, 2, 1)), "label": np.arange(6)}
    >>> count, _ = write_split([batch], d, "train")
    >>> write_schema(d, (2, 2, 1), "uint8", list("abcdef"), {"train": count})
    >>> [int(y) for _, y in read_split(d, "train", batch_size=6).unbatch()]
    [0, 1, 2, 3, 4, 5]
    >>> sorted(int(y) for _, y in read_split(d, "train", shuffle_seed=0).unbatch())
    [0, 1, 2, 3, 4, 5]
    >>> [int(y) for _, y in read_split(d, "train", shuffle_seed=0, in_memory=True).unbatch()] == [
    ...     int(y) for _, y in read_split(d, "train", shuffle_seed=0).unbatch()]
    True
    """
    schema = read_schema(directory)
    files, count, decode, finish = _split_reader(directory, split, with_extras, schema)
    check_shards(files, count, directory, split)
    examples = tf.data.TFRecordDataset(files).apply(
        tf.data.experimental.assert_cardinality(count)
    )  # progress bars know the length
    itemsize = np.dtype(schema["image_dtype"]).itemsize
    in_memory = holds_in_memory(in_memory, count, schema["image_shape"], itemsize) and count > 0
    if in_memory:  # the decoded split as one tensor per feature: a shuffle of them draws the same order
        examples = tf.data.Dataset.from_tensor_slices(examples.batch(count).map(decode).get_single_element())
    if shuffle_seed is not None:
        examples = examples.shuffle(
            max(1, min(count, MAX_SHUFFLE_RECORDS)), seed=shuffle_seed, reshuffle_each_iteration=True
        )
    batches = examples.batch(batch_size)
    return (batches if in_memory else batches.map(decode)).map(finish).prefetch(tf.data.AUTOTUNE)


def _split_reader(directory, split, with_extras, schema=None):
    """`(shard files, record count, decode, finish)` of a split: `decode` maps serialized batches to
    `(images as stored, labels, extras)`, `finish` those to what `read_split` yields. `schema`: the
    directory's, when the caller has read it."""
    schema = schema or read_schema(directory)
    if split not in schema["splits"]:
        raise DataSourceError(f"Unknown split {split!r} in {directory}: expected one of {sorted(schema['splits'])}.")
    files = sorted(tf.io.gfile.glob(os.path.join(directory, f"{split}-*.tfrecord")))
    spec = {"image": tf.io.FixedLenFeature([], tf.string), "label": tf.io.FixedLenFeature([], tf.int64)}
    spec.update({k: tf.io.FixedLenFeature([], tf.float32) for k in schema["extras"]})
    dtype = tf.uint8 if schema["image_dtype"] == "uint8" else tf.float32
    shape = schema["image_shape"]

    def decode(records):
        parsed = tf.io.parse_example(records, spec)
        images = tf.reshape(tf.io.decode_raw(parsed["image"], dtype), [-1, *shape])
        return images, tf.cast(parsed["label"], tf.int32), {k: parsed[k] for k in schema["extras"]}

    def finish(images, labels, extras):
        return (to_unit_float(images), labels, extras) if with_extras else (to_unit_float(images), labels)

    return files, schema["splits"][split], decode, finish


def read_batches(directory, split, batch_size, first, stop, limit=None, shard_sizes=None):
    """Batches `first` .. `stop - 1` of `read_split(directory, split, batch_size)`, nothing else read.

    Only the shards holding those examples are opened (a worker of a distributed run reads its
    own part). `limit` caps the split at its first `limit` examples, as an evaluation subset.
    `shard_sizes` (`shard_sizes(directory, split)`, computed once by whoever hands out the
    parts) spares each call walking every shard's record headers.

    Returns:
        A `tf.data.Dataset` of `(images, labels)` batches, equal to those of `read_split`.

    Example:
    >>> import tempfile, numpy as np
    >>> d = tempfile.mkdtemp()
    >>> count, _ = write_split([{"image": np.zeros((7, 1, 1, 1)), "label": np.arange(7)}], d, "eval", shard_size=3)
    >>> write_schema(d, (1, 1, 1), "uint8", list("abcdefg"), {"eval": count})
    >>> [y.numpy().tolist() for _, y in read_batches(d, "eval", 2, 1, 3)]
    [[2, 3], [4, 5]]
    """
    files, count, decode, finish = _split_reader(directory, split, False)
    count = count if limit is None else min(count, limit)
    start, end = first * batch_size, min(stop * batch_size, count)
    sizes = shard_sizes if shard_sizes is not None else [count_records(path) for path in files]
    chosen, skip, offset = [], 0, 0
    for path, size in zip(files, sizes):
        if offset + size > start and offset < end:
            skip = skip if chosen else start - offset
            chosen.append(path)
        offset += size
    records = tf.data.TFRecordDataset(chosen).skip(skip).take(max(end - start, 0))
    return records.batch(batch_size).map(decode).map(finish)


def shard_sizes(directory, split):
    """Record counts of a split's shards, in reading order."""
    return [count_records(path) for path in _split_reader(directory, split, False)[0]]


def split_size(directory, split):
    """Number of examples of a split, from its schema."""
    return _split_reader(directory, split, False)[1]


def first_examples(directory, split, count):
    """`(x, y)` arrays of the first `count` examples of a split (its order is fixed at ingest).

    Args:
        directory: an Examples artifact's directory.
        split: the split's name.
        count: how many examples (fewer if the split is shorter).

    Returns:
        `(x, y)` numpy arrays.
    """
    xs, ys, held = [], [], 0
    for x, y in read_split(directory, split, DEFAULT_BATCH_SIZE):
        xs.append(x.numpy()[: count - held])
        ys.append(y.numpy()[: count - held])
        held += len(xs[-1])
        if held >= count:
            break
    return np.concatenate(xs), np.concatenate(ys)
