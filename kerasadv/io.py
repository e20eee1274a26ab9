"""Atomic writes: a file appears complete under its final name, or not at all."""

import contextlib
import json
import os
import tempfile


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`; on success it replaces `path` in one rename.

    The temporary name keeps `path`'s extension (Keras checks `.keras`). On error the
    temporary file is removed and `path` is left as it was. The file gets the mode a plain
    `open` would give it (0666 minus the umask), not `mkstemp`'s 0600, so other users (a TF
    Serving process) can read it.

    Example:
    >>> with atomic_path("/tmp/kerasadv-doc.txt") as tmp:
    ...     _ = open(tmp, "w").write("done")
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


def write_json(obj, path):
    """Writes `obj` as indented JSON to `path` atomically."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True, default=float)
        f.write("\n")


def save_model(model, path):
    """Saves a Keras model to `path` (`.keras`) atomically."""
    with atomic_path(path) as tmp:
        model.save(tmp)


def save_figure(figure, path, dpi=110):
    """Writes a matplotlib figure as PNG to `path` atomically and closes it. Returns `path`."""
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return str(path)
