"""The one writer of artifacts: every file and directory a component or the runner publishes goes through here.

A file appears complete under its final name or not at all (`atomic_path`: a temporary name
beside it, then one rename); a directory appears whole (`publish_directory`: a staging
directory renamed into place). Examples shards, models, JSON, CSV, figures, reports,
manifests and the Pusher's versions are all written with these functions, so moving
artifacts to another filesystem changes this module only. It imports no ML module: a
writer that needs a library (Keras's `model.save`, matplotlib's `savefig`, a
`TFRecordWriter`) is passed in as a function of the temporary path (`write_with`).
"""

import contextlib
import hashlib
import json
import os
import shutil
import tempfile


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
    """Copies `source` byte for byte to `path`, atomically. Returns `path`."""
    return write_with(path, lambda tmp: shutil.copyfile(source, tmp))


def touch(path):
    """Creates an empty marker file (`BLESSED`). Returns `path`."""
    return write_bytes(b"", path)


def make_dirs(path):
    """Creates the directory `path` and its parents (no error if it exists). Returns `path`."""
    os.makedirs(path, exist_ok=True)
    return path


def publish_directory(staging, target):
    """Renames a finished staging directory to `target` in one step: the directory appears whole.

    Args:
        staging: the directory holding everything written.
        target: its final name; must not exist (a rename never merges two directories).

    Raises:
        OSError: `target` exists and is not empty, or the rename crosses filesystems.
    """
    make_dirs(os.path.dirname(os.path.abspath(target)))
    os.rename(staging, target)


def remove_tree(path):
    """Removes a directory and everything under it (a stale staging directory); no error if missing."""
    shutil.rmtree(path, ignore_errors=True)


def sha256_file(path):
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks (what manifests and caches compare)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write(path, mode, content):
    with open(path, mode) as f:
        f.write(content)
