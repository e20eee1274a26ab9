"""The filesystem seam: every artifact path is opened, listed and renamed through here.

A plain path (`pipeline_root/run`, `/data/run`) goes to `LocalFileSystem` (`os`, `shutil`):
today's behaviour and speed. A path with a scheme (`gs://bucket/run`, `s3://`, `hdfs://`,
`ram://`) goes to the filesystem registered for that scheme, or to the default one for every
scheme: `kerasadv.filesystems` registers TensorFlow's `tf.io.gfile` there when it is imported
(importing `kerasadv.io`, `kerasadv.data` or any component does). The orchestration core
imports no ML module, so it never registers TensorFlow itself.

A path that looks like a URL but is not one (`gs:/bucket`, one slash) or whose scheme has
no filesystem is refused with a `StorageError`: it never silently becomes a local folder.

Each filesystem says whether its `rename` is atomic (`atomic_rename(path)`): the writer
publishes by temporary-name-then-rename where it is, and by write-then-`_SUCCESS`-marker
where it is not (`kerasadv.orchestration.writer`).
"""

import contextlib
import fnmatch
import hashlib
import json
import os
import re
import shutil
import tempfile

from kerasadv.errors import StorageError

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_MALFORMED_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/*(?!/)")
_REGISTRY = {}
_DEFAULT = {"remote": None}


class LocalFileSystem:
    """Plain paths on the local disk: `os` and `shutil`; rename is atomic (POSIX)."""

    def atomic_rename(self, path):
        return True

    def exists(self, path):
        return os.path.exists(path)

    def isdir(self, path):
        return os.path.isdir(path)

    def listdir(self, path):
        return os.listdir(path)

    def glob(self, pattern):
        import glob

        return glob.glob(pattern)

    def walk(self, top):
        return os.walk(top)

    def makedirs(self, path):
        os.makedirs(path, exist_ok=True)

    def open(self, path, mode="r"):
        return open(path, mode)

    def size(self, path):
        return os.path.getsize(path)

    def remove(self, path):
        os.remove(path)

    def rmtree(self, path):
        shutil.rmtree(path, ignore_errors=True)

    def rename(self, source, target):
        os.replace(source, target)

    def copy(self, source, target):
        """Copies a file; either side may be a local path (the other filesystem's too)."""
        shutil.copyfile(source, target)


LOCAL = LocalFileSystem()


def scheme(path):
    """The scheme of a URL-style path (`"gs"`), or None for a local path.

    Example:
    >>> scheme("gs://bucket/run"), scheme("/data/run")
    ('gs', None)
    """
    match = _URL.match(str(path))
    return match.group(1).lower() if match else None


def is_remote(path):
    """True for a scheme-qualified path (`ram://x`), which goes to a registered filesystem."""
    return scheme(path) is not None


def register(name, filesystem):
    """Registers `filesystem` for paths `<name>://...`; `name=None` makes it the default for every scheme.

    Args:
        name: a scheme ("gs") or None.
        filesystem: an object with `LocalFileSystem`'s methods.

    Example:
    >>> register("demo", LOCAL); get("demo://x") is LOCAL
    True
    """
    if name is None:
        _DEFAULT["remote"] = filesystem
    else:
        _REGISTRY[name.lower()] = filesystem


def check_path(path):
    """Refuses a path that looks like a URL but is not one (`gs:/bucket`), naming the expected form.

    Args:
        path: a path or URL.

    Returns:
        `path` as a string.

    Raises:
        StorageError: one slash after the scheme (what `os.path` makes of `gs://` once normalised).

    Example:
    >>> check_path("gs:/bucket/run")
    Traceback (most recent call last):
    ...
    kerasadv.errors.StorageError: 'gs:/bucket/run' looks like a URL with one slash; expected 'gs://bucket/run' ...
    """
    path = str(path)
    match = None if is_remote(path) else _MALFORMED_URL.match(path)
    if match and len(match.group(1)) > 1:  # "C:/x" stays a path
        fixed = f"{match.group(1)}://{path[match.end() :]}"
        raise StorageError(
            f"{path!r} looks like a URL with one slash; expected {fixed!r} (scheme://bucket/path). "
            "It is not used as a local folder."
        )
    return path


def get(path):
    """The filesystem of `path`.

    Raises:
        StorageError: a malformed URL, or a scheme with no registered filesystem (names the fix).
    """
    name = scheme(check_path(path))
    if name is None:
        return LOCAL
    filesystem = _REGISTRY.get(name) or _DEFAULT["remote"]
    if filesystem is None:
        raise StorageError(
            f"No filesystem is registered for {name}:// (path {path!r}). Import kerasadv.filesystems (importing "
            "kerasadv.io, kerasadv.data or any component does): it registers TensorFlow's tf.io.gfile for every "
            f"scheme TensorFlow knows; or register one with kerasadv.orchestration.filesystem.register({name!r}, fs)."
        )
    return filesystem


def normalize(path):
    """An absolute local path, or the URL checked and without a trailing slash.

    Example:
    >>> import kerasadv.filesystems  # registers TensorFlow's schemes, ram:// among them
    >>> normalize("ram://run/"), normalize("/tmp/x/../y")
    ('ram://run', '/tmp/y')
    """
    path = check_path(path)
    get(path)
    return path.rstrip("/") if is_remote(path) else os.path.abspath(path)


def is_absolute(path):
    """True for a URL or an absolute local path."""
    return is_remote(path) or os.path.isabs(str(path))


def exists(path):
    return get(path).exists(path)


def isdir(path):
    return get(path).isdir(path)


def isfile(path):
    filesystem = get(path)
    return filesystem.exists(path) and not filesystem.isdir(path)


def listdir(path):
    """Names in a directory ([] when it is missing)."""
    filesystem = get(path)
    return [name.rstrip("/") for name in filesystem.listdir(path)] if filesystem.isdir(path) else []


def glob(pattern):
    return sorted(get(pattern).glob(pattern))


def glob_names(directory, pattern):
    """Full paths of the entries of `directory` whose name matches `pattern` (hidden names too)."""
    return [os.path.join(directory, n) for n in sorted(listdir(directory)) if fnmatch.fnmatch(n, pattern)]


def walk(top):
    return get(top).walk(top)


def size(path):
    return get(path).size(path)


def open_file(path, mode="r"):
    """Opens a file for reading (a file object pandas, json and zipfile accept)."""
    return get(path).open(path, mode)


def read_text(path):
    with open_file(path) as f:
        return f.read()


def read_json(path):
    """Parses a JSON file.

    Example:
    >>> _ = open("/tmp/kerasadv-doc-read.json", "w").write('{"a": 1}')
    >>> read_json("/tmp/kerasadv-doc-read.json")
    {'a': 1}
    """
    return json.loads(read_text(path))


@contextlib.contextmanager
def local_copy(path):
    """Yields a local path holding `path`'s bytes: `path` itself when local, else a temporary copy.

    For libraries that read only local files (Keras's `.keras` loader, `np.load`, a subprocess).
    """
    if not is_remote(path):
        yield path
        return
    folder = tempfile.mkdtemp(prefix="kerasadv-read-")
    try:
        local = os.path.join(folder, os.path.basename(path))
        get(path).copy(path, local)
        yield local
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def local_state_dir(root):
    """The local directory that holds a remote root's metadata store and run lock.

    SQLite and `fcntl` locks need a local disk: for `gs://bucket/run` they live in
    `$XDG_CACHE_HOME/kerasadv/roots/gs-bucket-run-<hash>` (default `~/.cache`), beside the launcher.
    A local root keeps them in itself.

    Example:
    >>> local_state_dir("/data/run")
    '/data/run'
    >>> os.path.basename(local_state_dir("gs://bucket/run")).startswith("gs-bucket-run-")
    True
    """
    root = check_path(root)
    if not is_remote(root):
        return os.path.abspath(root)
    root = root.rstrip("/")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "-", root).strip("-")[:80]
    digest = hashlib.sha256(root.encode()).hexdigest()[:10]
    return os.path.join(cache, "kerasadv", "roots", f"{readable}-{digest}")
