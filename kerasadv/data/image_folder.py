"""Image-folder sources: `dir:PATH` (PATH/<split>/<class>/*.jpg|png) and `tar:ARCHIVE`.

The layout is the one `keras.utils.image_dataset_from_directory` reads; labels follow the
alphabetical order of the class folders. An archive is unpacked once into a cache directory
keyed by its SHA-256, atomically, so a crash mid-extraction never leaves a half tree behind.
"""

import os
import shutil
import tarfile
import tempfile
import zlib

import numpy as np
import tensorflow as tf

from kerasadv.data.records import SplitRecords
from kerasadv.errors import DataSourceError
from kerasadv.orchestration.writer import sha256_file

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def cache_dir():
    """kerasadv's cache root: `$KERASADV_CACHE_DIR`, else `~/.cache/kerasadv`."""
    return os.environ.get("KERASADV_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "kerasadv")


def _subdirs(path):
    return sorted(entry.name for entry in os.scandir(path) if entry.is_dir())


def _list_split(split_dir):
    class_names = _subdirs(split_dir)
    paths, labels = [], []
    for label, name in enumerate(class_names):
        files = sorted(
            f.name
            for f in os.scandir(os.path.join(split_dir, name))
            if f.is_file() and f.name.lower().endswith(IMAGE_EXTENSIONS)
        )
        paths += [os.path.join(split_dir, name, f) for f in files]
        labels += [label] * len(files)
    if not paths:
        raise DataSourceError(
            f"No images ({', '.join(IMAGE_EXTENSIONS)}) under {split_dir}/<class>/; "
            "expected the image_dataset_from_directory layout."
        )
    return class_names, paths, np.asarray(labels, np.int32)


def _count_images(split_dir):
    return sum(
        1
        for name in _subdirs(split_dir)
        for f in os.scandir(os.path.join(split_dir, name))
        if f.name.lower().endswith(IMAGE_EXTENSIONS)
    )


def folder_records(root, split, image_size=None):
    """Lists `root/<split>/<class>/*` and returns `SplitRecords` that decode on read.

    Args:
        root: directory holding one folder per split.
        split: split folder name, e.g. "train" or "test".
        image_size: optional (height, width) to resize every image to; by default all
            images must have the size of the first one.

    Returns:
        `SplitRecords`.
    """
    if not os.path.isdir(root):
        raise DataSourceError(f"Image folder {root!r} does not exist or is not a directory.")
    splits = _subdirs(root)
    if split not in splits:
        raise DataSourceError(
            f"Unknown split {split!r} for {root}: expected one of {splits} (folders of <root>/<split>/<class>/)."
        )
    class_names, paths, labels = _list_split(os.path.join(root, split))
    first = tf.io.decode_image(tf.io.read_file(paths[0]), expand_animations=False)
    channels = int(first.shape[-1])
    height, width = image_size or first.shape[:2]
    paths_t, labels_t = tf.constant(paths), tf.constant(labels)

    def read(index):
        data = tf.io.read_file(tf.gather(paths_t, index))
        image = tf.io.decode_image(data, channels=channels, expand_animations=False)
        if image_size is not None:
            image = tf.image.resize(image, (height, width)) / 255.0
        image = tf.ensure_shape(image, (height, width, channels))
        return image, tf.gather(labels_t, index)

    sizes = {name: (len(paths) if name == split else _count_images(os.path.join(root, name))) for name in splits}
    return SplitRecords(labels, class_names, (int(height), int(width), channels), sizes, read)


def _find_root(tree, split):
    """The shallowest directory under `tree` that holds a `split` folder of class folders."""
    level = [tree]
    for _ in range(4):
        for path in level:
            candidate = os.path.join(path, split)
            if os.path.isdir(candidate) and _subdirs(candidate):
                return path
        level = [os.path.join(p, d) for p in level for d in _subdirs(p)]
    return None


def _ends_with_end_marker(archive):
    """A plain tar ends with two zero blocks; one cut on a member boundary does not (gzip catches its own)."""
    with open(archive, "rb") as f:
        head = f.read(6)
        if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ")):  # compressed: truncation raised already
            return True
        f.seek(0, os.SEEK_END)
        if f.tell() < 1024:
            return False
        f.seek(-1024, os.SEEK_END)
        return f.read(1024) == bytes(1024)


def extract_archive(archive):
    """Unpacks `archive` once into `<cache>/archives/<sha256>` and returns that directory."""
    if not os.path.isfile(archive):
        raise DataSourceError(f"Archive {archive!r} does not exist.")
    target = os.path.join(cache_dir(), "archives", sha256_file(archive)[:16])
    if os.path.isdir(target):
        return target
    os.makedirs(os.path.dirname(target), exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".extract-", dir=os.path.dirname(target))
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(staging, filter="data")
            if not _ends_with_end_marker(archive):
                raise tarfile.ReadError("no end-of-archive marker: the archive is truncated")
        os.rename(staging, target)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        shutil.rmtree(staging, ignore_errors=True)
        if os.path.isdir(target):  # another process finished first
            return target
        raise DataSourceError(
            f"Cannot unpack {archive!r} ({type(error).__name__}: {error}); expected a "
            ".tar / .tar.gz of an image-folder tree <split>/<class>/*.jpg."
        ) from error
    return target


def archive_records(archive, split, image_size=None):
    """`SplitRecords` for a `.tar(.gz)` of an image-folder tree (see `folder_records`)."""
    tree = extract_archive(archive)
    root = _find_root(tree, split)
    if root is None:
        found = _find_root(tree, "train") or _find_root(tree, "test")
        splits = _subdirs(found) if found else []
        raise DataSourceError(
            f"Unknown split {split!r} in archive {archive}: expected one of {splits} "
            "(the archive must hold <split>/<class>/ folders)."
        )
    return folder_records(root, split, image_size)


def first_undecodable(root, split):
    """The first image under `root/<split>/` that TensorFlow cannot decode, or None (a slow scan: call on errors)."""
    _, paths, _ = _list_split(os.path.join(root, split))
    for path in paths:
        try:
            tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
        except (tf.errors.InvalidArgumentError, tf.errors.DataLossError):
            return path
    return None


def explain_decode_error(source, split, error):
    """A `DataSourceError` naming the corrupt file behind a decode error of an image-folder source."""
    kind, _, arg = source.partition(":")
    root = arg if kind == "dir" else _find_root(extract_archive(arg), split) if kind == "tar" else None
    bad = first_undecodable(root, split) if root else None
    where = f"corrupt image {bad}" if bad else "an image that cannot be decoded"
    return DataSourceError(
        f"{source} ({split}): {where} ({type(error).__name__}: {str(error).splitlines()[0][:200]}); "
        "remove or replace the file."
    )
