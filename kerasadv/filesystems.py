"""TensorFlow's `tf.io.gfile` behind the orchestration's filesystem seam, for every `<scheme>://` root.

Importing this module (which `kerasadv.io`, `kerasadv.data` and every component do) registers
`GFileSystem` as the default filesystem of scheme-qualified paths, so a pipeline root can be
any filesystem TensorFlow reads and writes: `gs://` (built in), `ram://` (in-memory, one
process), `hdfs://`, `s3://` (with `tensorflow-io`). TensorFlow is imported on first use, not
here. Local paths keep `LocalFileSystem` (`os`).

How the writer publishes on each (`atomic_rename`):

| scheme | rename | protocol |
| --- | --- | --- |
| local path | atomic (POSIX) | temporary name, then one rename |
| `hdfs://`, `viewfs://` | atomic | temporary name, then one rename |
| `gs://`, `s3://`, others | copy + delete | write the final names, then a `_SUCCESS` marker |
| `ram://` | renames a directory without its files | write the final names, then a `_SUCCESS` marker |
"""

from kerasadv.errors import StorageError
from kerasadv.orchestration import filesystem

__all__ = ["ATOMIC_RENAME_SCHEMES", "GFileSystem", "register_tensorflow_filesystems"]

ATOMIC_RENAME_SCHEMES = ("hdfs", "viewfs")
"""Schemes whose `rename` of a file or a directory is one atomic step."""


def _gfile():
    import tensorflow as tf

    return tf.io.gfile, tf.errors


class GFileSystem:
    """The seam's operations on `tf.io.gfile`; TensorFlow's "scheme not implemented" becomes a `StorageError`.

    Example:
    >>> fs = GFileSystem()
    >>> fs.makedirs("ram://kerasadv-doc/a")
    >>> with fs.open("ram://kerasadv-doc/a/x.txt", "w") as f:
    ...     _ = f.write("hi")
    >>> fs.listdir("ram://kerasadv-doc/a"), fs.atomic_rename("ram://kerasadv-doc")
    (['x.txt'], False)
    """

    def atomic_rename(self, path):
        return filesystem.scheme(path) in ATOMIC_RENAME_SCHEMES

    def _call(self, name, path, *args, **kwargs):
        gfile, errors = _gfile()
        try:
            return getattr(gfile, name)(path, *args, **kwargs)
        except errors.UnimplementedError:
            remote = [p for p in (path, *args) if isinstance(p, str) and filesystem.is_remote(p)]
            scheme, path = filesystem.scheme(remote[0]), remote[0]
            raise StorageError(
                f"TensorFlow has no filesystem for {scheme}:// (path {path!r}); expected a scheme it knows "
                "(gs://, ram://, hdfs://; s3:// and others need `pip install tensorflow-io` and "
                "`import tensorflow_io`) or a local path."
            ) from None

    def exists(self, path):
        return self._call("exists", path)

    def isdir(self, path):
        return self._call("isdir", path)

    def listdir(self, path):
        return self._call("listdir", path)

    def glob(self, pattern):
        return self._call("glob", pattern)

    def walk(self, top):
        return self._call("walk", top)

    def makedirs(self, path):
        self._call("makedirs", path)

    def open(self, path, mode="r"):
        return self._call("GFile", path, mode)

    def size(self, path):
        return self._call("stat", path).length

    def remove(self, path):
        self._call("remove", path)

    def rmtree(self, path):
        if self.exists(path):
            self._call("rmtree", path)

    def rename(self, source, target):
        self._call("rename", source, target, overwrite=True)

    def copy(self, source, target):
        """Copies a file between any two filesystems TensorFlow knows (a local path included)."""
        self._call("copy", source, target, overwrite=True)


def register_tensorflow_filesystems():
    """Makes `GFileSystem` the filesystem of every `<scheme>://` path without one of its own.

    Example:
    >>> register_tensorflow_filesystems()
    >>> type(filesystem.get("gs://bucket/run")).__name__
    'GFileSystem'
    """
    filesystem.register(None, GFileSystem())


register_tensorflow_filesystems()
