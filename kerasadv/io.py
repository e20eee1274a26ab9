"""Models and figures in and out of artifacts; the bytes go through the one artifact writer.

`kerasadv.orchestration.writer` writes every artifact file atomically (JSON, CSV, text,
copies); this module adds what needs Keras or matplotlib: saving and loading `.keras` models
and PNG figures, through the writer's `write_with` and the filesystem seam, so a model can
live on any filesystem TensorFlow knows (`gs://`, `ram://`...). Importing it registers
`tf.io.gfile` for those schemes (`kerasadv.filesystems`).
"""

from kerasadv import filesystems  # noqa: F401  (registers tf.io.gfile for scheme-qualified paths)
from kerasadv.orchestration import filesystem
from kerasadv.orchestration.writer import write_with

__all__ = ["load_model", "load_model_artifact", "model_artifact_file", "save_figure", "save_model"]


def save_model(model, path):
    """Saves a Keras model to `path` (`.keras`) atomically."""
    write_with(path, model.save)


def load_model(path, safe_mode=True):
    """Loads a `.keras` model, turning Keras's errors into a `ModelError` that names the file.

    `safe_mode=True` (the default, always used for pipeline artifacts) refuses models whose
    config holds Python code (`Lambda` layers): loading one runs arbitrary code. Pass
    `safe_mode=False` only for a file you trust.

    Args:
        path: the `.keras` file, local or on any filesystem the seam knows (copied locally first).
        safe_mode: Keras's safe mode.

    Returns:
        The model.

    Raises:
        ModelError: the file is missing, not a `.keras` archive (e.g. truncated), or refused
            by safe mode.

    Example:
    >>> import os, tempfile
    >>> bad = os.path.join(tempfile.mkdtemp(), "model.keras"); _ = open(bad, "w").write("not a zip")
    >>> load_model(bad)
    Traceback (most recent call last):
    ...
    kerasadv.errors.ModelError: Cannot load .../model.keras: ...
    """
    import keras

    from kerasadv import losses  # noqa: F401  (registers the losses a trained model's compile config names)
    from kerasadv.errors import ModelError

    if not filesystem.isfile(path):
        raise ModelError(f"Cannot load {path}: no such file (expected a .keras model).")
    try:
        with filesystem.local_copy(path) as local:
            return keras.saving.load_model(local, safe_mode=safe_mode)
    except Exception as error:  # Keras raises ValueError, zipfile errors, OSError, TypeError...
        hint = (
            " The model holds Python code (e.g. a Lambda layer), which safe mode refuses; load it with "
            "safe_mode=False only if you trust the file."
            if "safe_mode" in str(error)
            else " The file is not a complete .keras archive (truncated or corrupt?); re-create it."
        )
        raise ModelError(f"Cannot load {path}: {type(error).__name__}: {str(error)[:300]}.{hint}") from None


def load_model_artifact(artifact):
    """Loads a pipeline Model artifact's `model.keras` in safe mode, unless the user opted out.

    A `ModelImporter` given `safe_mode=False` (the user trusts the file's Python code, e.g. a
    `Lambda` layer) records `safe_mode: False` in its artifact's properties; every other Model
    artifact is loaded with `safe_mode=True`.

    Args:
        artifact: an object with `path(name)` and `properties` (an `orchestration.Artifact`).

    Returns:
        The model.

    Raises:
        ModelError: as `load_model`.
    """
    return load_model(*model_artifact_file(artifact))


def model_artifact_file(artifact):
    """`(path of the artifact's model.keras, safe_mode)`: what a worker needs to load it itself."""
    return artifact.path("model.keras"), artifact.properties.get("safe_mode", True) is not False


def save_figure(figure, path, dpi=110):
    """Writes a matplotlib figure as PNG to `path` atomically and closes it. Returns `path`."""
    import matplotlib.pyplot as plt

    write_with(path, lambda tmp: figure.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight"))
    plt.close(figure)
    return str(path)
