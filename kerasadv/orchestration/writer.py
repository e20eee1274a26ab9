"""The one writer of artifacts: every file and directory a component or the runner publishes goes through here.

A file appears complete under its final name or not at all (`atomic_path`), and a directory
appears whole (`publish_directory`). Examples shards, models, JSON, CSV, figures, reports,
manifests and the Pusher's versions are all written with these functions, on any filesystem
the seam knows (`kerasadv.orchestration.filesystem`: local paths, and `gs://`, `ram://`,
`hdfs://`... once `kerasadv.filesystems` registered `tf.io.gfile`). It imports no ML module:
a writer that needs a library (Keras's `model.save`, matplotlib's `savefig`, a
`TFRecordWriter`) is passed in as a function of a temporary local path (`write_with`).

The commit protocol follows the filesystem (`atomic_rename`), as TFX and Beam's
`FileBasedSink` do:

- **rename is atomic** (local disk, HDFS): a file is written under a temporary name beside
  its final one and renamed; a staging directory is renamed to the artifact's name.
- **rename is not** (object stores, where it is copy + delete; TensorFlow's `ram://`): a file
  is uploaded under its final name (an object appears whole when its upload closes); a
  directory's files are moved to the final name and then an empty `_SUCCESS` marker is
  written last. `is_published` is False without the marker: readers (the cache, the Pusher's
  versions) treat such a directory as absent.
"""

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import uuid

from kerasadv.errors import StorageError
from kerasadv.orchestration import filesystem

MARKER = "_SUCCESS"
"""Written last into a directory published on a filesystem without atomic rename."""


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`; on success it replaces `path` in one rename.

    The temporary name keeps `path`'s extension (Keras checks `.keras`). On error the
    temporary file is removed and `path` is left as it was. The file gets the mode a plain
    `open` would give it (0666 minus the umask), not `mkstemp`'s 0600, so other users (a TF
    Serving process) can read it.

    Args:
        path: the file to write.

    Yields:
        The temporary path to write instead.

    Example:
    >>> with atomic_path("/tmp/kerasadv-doc.txt") as tmp:
    ...     _ = open(tmp, "w").write("done")
    >>> open("/tmp/kerasadv-doc.txt").read()
    'done'
    """
    if filesystem.is_remote(path):
        with _remote_path(path) as tmp:
            yield tmp
        return
    folder, name = os.path.split(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    stem, ext = os.path.splitext(name)
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".tmp{ext}", dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@contextlib.contextmanager
def _remote_path(path):
    """A local temporary file, uploaded to `path` on success (temporary name + rename where atomic)."""
    fs = filesystem.get(path)
    folder, name = os.path.split(path)
    local_folder = tempfile.mkdtemp(prefix="kerasadv-write-")
    try:
        tmp = os.path.join(local_folder, name)
        yield tmp
        fs.makedirs(folder)
        if fs.atomic_rename(path):
            stem, ext = os.path.splitext(name)
            remote_tmp = os.path.join(folder, f".{stem}.{uuid.uuid4().hex[:8]}.tmp{ext}")
            fs.copy(tmp, remote_tmp)
            fs.rename(remote_tmp, path)
        else:
            fs.copy(tmp, path)
    finally:
        shutil.rmtree(local_folder, ignore_errors=True)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_with(path, write):
    """Calls `write(temporary_path)` and publishes what it wrote as `path`, atomically.

    Args:
        path: the file to write.
        write: a function of one path that writes the file (`model.save`, `figure.savefig`, ...).

    Returns:
        `path`, as a string.

    Example:
    >>> write_with("/tmp/kerasadv-doc.csv", lambda tmp: open(tmp, "w").write("a,b\\n"))
    '/tmp/kerasadv-doc.csv'
    """
    with atomic_path(path) as tmp:
        write(tmp)
    return str(path)


def write_bytes(data, path):
    """Writes `data` (bytes) to `path` atomically. Returns `path`."""
    return write_with(path, lambda tmp: _write(tmp, "wb", data))


def write_text(text, path):
    """Writes `text` to `path` atomically. Returns `path`."""
    return write_with(path, lambda tmp: _write(tmp, "w", text))


def write_json(obj, path):
    """Writes `obj` as indented, key-sorted JSON to `path` atomically. Returns `path`.

    Example:
    >>> write_json({"accuracy": 0.5}, "/tmp/kerasadv-doc.json")
    '/tmp/kerasadv-doc.json'
    """
    return write_text(json.dumps(obj, indent=2, sort_keys=True, default=float) + "\n", path)


def write_csv(frame, path, **to_csv_options):
    """Writes a pandas DataFrame as CSV to `path` atomically (`to_csv_options` go to `to_csv`). Returns `path`."""
    return write_with(path, lambda tmp: frame.to_csv(tmp, **to_csv_options))


def copy_file(source, path):
    """Copies `source` (any filesystem) byte for byte to `path`, atomically. Returns `path`."""
    return write_with(path, lambda tmp: filesystem.get(source).copy(source, tmp))


def touch(path):
    """Creates an empty marker file (`BLESSED`). Returns `path`."""
    return write_bytes(b"", path)


def make_dirs(path, what="directory"):
    """Creates the directory `path` and its parents (no error if it exists). Returns `path`.

    A local directory is also checked writable (a file created and removed in it), so a read-only
    pipeline root fails here, naming itself, rather than deep in a component.

    Raises:
        StorageError: `path` cannot be created or written (read-only, a file on its way, no permission).
    """
    try:
        filesystem.get(path).makedirs(path)
        if not filesystem.is_remote(path):
            _probe(path)
    except OSError as error:
        raise StorageError(
            f"The {what} {path!r} cannot be written ({error.strerror or error}): expected a writable directory; "
            "choose another one, or make it writable."
        ) from None
    return path


def _probe(directory):
    handle, probe = tempfile.mkstemp(dir=directory, prefix=".write-check-")
    os.close(handle)
    os.remove(probe)


def publish_directory(staging, target, last=()):
    """Makes a finished staging directory the directory `target`, whole or (to readers) not at all.

    Where `staging` and `target` share a filesystem with atomic rename, one rename. Otherwise
    (another filesystem, or no atomic rename) every file is moved or copied to `target`, the
    files named in `last` after the others, then the `_SUCCESS` marker; `staging` is removed.

    Args:
        staging: the directory holding everything written (any filesystem).
        target: its final name; must not exist or be empty (a publish never merges two directories).
        last: file names (relative to `staging`) written after all others (`saved_model.pb`).

    Raises:
        StorageError: `target` exists and is not empty.
        OSError: the rename fails.

    Example:
    >>> import tempfile
    >>> staging = tempfile.mkdtemp(); _ = write_text("x", os.path.join(staging, "a.txt"))
    >>> target = os.path.join(tempfile.mkdtemp(), "1")
    >>> publish_directory(staging, target); is_published(target)
    True
    """
    source_fs, target_fs = filesystem.get(staging), filesystem.get(target)
    if filesystem.listdir(target):
        raise StorageError(f"{target} exists and is not empty; refusing to publish {staging} over it.")
    make_dirs(os.path.dirname(target.rstrip("/") if filesystem.is_remote(target) else os.path.abspath(target)))
    if source_fs is target_fs and target_fs.atomic_rename(target) and not filesystem.is_remote(target):
        os.rename(staging, target)
        return
    if source_fs is target_fs and target_fs.atomic_rename(target):
        target_fs.rmtree(target)
        target_fs.rename(staging, target)
        return
    files = [
        os.path.relpath(os.path.join(folder, name), staging)
        for folder, _, names in filesystem.walk(staging)
        for name in names
    ]
    for relative in sorted(files, key=lambda name: (name in last, name)):
        destination = os.path.join(target, relative)
        target_fs.makedirs(os.path.dirname(destination))
        if source_fs is target_fs:
            target_fs.rename(os.path.join(staging, relative), destination)
        else:
            target_fs.copy(os.path.join(staging, relative), destination)
    target_fs.makedirs(target)
    with target_fs.open(os.path.join(target, MARKER), "wb") as marker:
        marker.write(b"")  # gfile creates a file on its first write
    remove_tree(staging)


def is_published(directory):
    """True when `directory` was published whole: it exists and, where rename is not atomic, holds `_SUCCESS`.

    Example:
    >>> is_published("/nonexistent/kerasadv/1")
    False
    """
    fs = filesystem.get(directory)
    if not fs.isdir(directory):
        return False
    return fs.atomic_rename(directory) or fs.exists(os.path.join(directory, MARKER))


def remove_tree(path):
    """Removes a directory and everything under it (a stale staging directory); no error if missing."""
    filesystem.get(path).rmtree(path)


def sha256_file(path):
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks (what manifests and caches compare)."""
    digest = hashlib.sha256()
    with filesystem.open_file(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write(path, mode, content):
    with open(path, mode) as f:
        f.write(content)
