"""kerasadv: adversarial robustness for Keras 3 image classifiers.

`import kerasadv` is light: it imports neither Keras nor TensorFlow. The subpackages load
on first use (`kerasadv.attacks.PGD(...)` imports `kerasadv.attacks` then), as
`import kerasadv.attacks` would. `kerasadv.components` and `kerasadv.pipelines` (the TFX-style
layer above the library) are imported explicitly.

Keras must run on TensorFlow: another backend (`KERAS_BACKEND`, `~/.keras/keras.json`, or a
Keras imported before) is refused here, before Keras is imported (`check_backend`), with a
`BackendError` that names the fix.

Example:
>>> import kerasadv
>>> "attacks" in dir(kerasadv)
True
"""

import importlib
import json
import os
import sys

from kerasadv.errors import BackendError

_SUBMODULES = (
    "analysis",
    "attacks",
    "beam",
    "callbacks",
    "certify",
    "configs",
    "constants",
    "data",
    "errors",
    "evaluation",
    "filesystems",
    "io",
    "layers",
    "losses",
    "models",
    "orchestration",
    "registry",
    "reporting",
    "serving",
    "testing",
    "training",
)


def configured_backend():
    """The Keras backend of this process, read without importing Keras (before it is imported).

    Once Keras is imported, `keras.config.backend()`; before, what Keras will read: a non-empty
    `KERAS_BACKEND`, else "backend" in `keras.json` under `KERAS_HOME` (default `~/.keras`,
    or `/tmp/.keras` when the home directory is not writable), else "tensorflow".

    Example:
    >>> configured_backend()
    'tensorflow'
    """
    keras = sys.modules.get("keras")
    if getattr(keras, "config", None) is not None:
        return keras.config.backend()
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.path.expanduser("~")
    folder = os.environ.get("KERAS_HOME") or os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    try:
        with open(os.path.join(os.path.expanduser(folder), "keras.json")) as f:
            return json.load(f).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):  # no file, not JSON, not an object: Keras's default
        return "tensorflow"


def check_backend(backend=None):
    """Raises a `BackendError` unless Keras runs (or will run) on TensorFlow.

    Args:
        backend: the backend name to check; None: `configured_backend()`.

    Raises:
        BackendError: the backend is not "tensorflow"; the message names the fix.

    Example:
    >>> check_backend("tensorflow")
    >>> check_backend("jax")
    Traceback (most recent call last):
    ...
    kerasadv.errors.BackendError: kerasadv needs Keras on the TensorFlow backend, got 'jax'; ...
    """
    backend = configured_backend() if backend is None else backend
    if backend != "tensorflow":
        raise BackendError(
            f"kerasadv needs Keras on the TensorFlow backend, got {backend!r}; set KERAS_BACKEND=tensorflow "
            '(or leave it unset, with "backend": "tensorflow" in ~/.keras/keras.json) before starting Python.'
        )


def __getattr__(name):
    if name == "__version__":
        return _version()
    if name not in _SUBMODULES:
        raise AttributeError(f"module 'kerasadv' has no attribute {name!r}")
    return importlib.import_module(f"kerasadv.{name}")


def __dir__():
    return sorted(["__version__", "check_backend", "configured_backend", *_SUBMODULES])


def _version():
    """The installed distribution's version (setup.cfg's, the one place it is written)."""
    from importlib import metadata

    try:
        return metadata.version("kerasadv")
    except metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
        return "0+unknown"


check_backend()  # before Keras loads a backend kerasadv cannot use
