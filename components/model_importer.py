"""ModelImporter: a user's `.keras` file -> a Model artifact (as TFX's Importer), with its fingerprint.

    importer = ModelImporter(path="my_classifier.keras", examples=gen.outputs["examples"])
    Evaluator(model=importer.outputs["model"], ...); Pusher(model=importer.outputs["model"], ...)

The file's SHA-256 is part of the cache key: a changed file is imported again, an unchanged
one is served from the cache. The model is loaded in Keras's safe mode (a `Lambda` layer runs
arbitrary code: `safe_mode=False` is the user's explicit opt-in), checked against the
Examples it will meet (input shape, number of classes) and must output logits, or be converted
with `convert_softmax=True`.
"""

import numpy as np

from kerasadv import io, models
from kerasadv.data import tfrecords
from kerasadv.errors import ModelError
from kerasadv.models.logits import num_classes
from kerasadv.orchestration import (
    BaseComponent,
    BaseExecutor,
    ComponentSpec,
    Input,
    Parameter,
    SpecError,
    filesystem,
    writer,
)


def _image_shape(model):
    """The model's (height, width, channels), or None when Keras does not know it (subclassed)."""
    try:
        shape = model.inputs[0].shape
    except (AttributeError, IndexError, TypeError, ValueError):
        return None
    return [int(d) if d is not None else None for d in shape[1:]]


def check_against_schema(model, path, schema):
    """Raises ModelError when `model` cannot read the Examples of `schema` or has another class count."""
    expected_shape, expected_classes = list(schema["image_shape"]), len(schema["class_names"])
    shape = _image_shape(model)
    if shape is not None and any(m is not None and m != e for m, e in zip(shape, expected_shape)):
        raise ModelError(
            f"{path}: the model takes images of shape {shape}, the Examples hold {expected_shape}; "
            "resize the data (or rebuild the model's input) so they agree."
        )
    classes = num_classes(model, np.zeros([1, *expected_shape], np.float32))
    if classes != expected_classes:
        raise ModelError(
            f"{path}: the model has {classes} output classes, the Examples {expected_classes} "
            f"({schema['class_names'][:5]}...); import a model trained for these classes."
        )


class ModelImporterExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        p, out = exec_properties, output_dict["model"]
        model = io.load_model(p["path"], safe_mode=p["safe_mode"])
        converted = False
        if models.ends_in_softmax(model):
            if not p["convert_softmax"]:
                raise ModelError(
                    f"{p['path']} ends in a softmax; attacks and losses need logits. Pass "
                    "convert_softmax=True to import kerasadv.models.logits_model(model) instead."
                )
            model, converted = models.logits_model(model), True
        classes = None
        if "examples" in input_dict:
            schema = tfrecords.read_schema(input_dict["examples"].uri)
            check_against_schema(model, p["path"], schema)
            classes = len(schema["class_names"])
        target = out.path("model.keras")
        if converted:
            io.save_model(model, target)
        else:
            writer.copy_file(p["path"], target)
        out.properties.update(
            model="imported",
            source_path=p["path"],
            source_sha256=p["sha256"],
            converted_from_softmax=converted,
            safe_mode=p["safe_mode"],  # the user's opt-out reaches every component that loads it
            image_shape=_image_shape(model),
            num_classes=classes if classes is not None else num_classes(model),
            file="model.keras",
        )


class ModelImporter(BaseComponent):
    """Brings an existing `.keras` classifier into a pipeline as a Model artifact.

    Args:
        path: the `.keras` file (checked to exist when the component is built).
        examples: optional Examples the model will be evaluated on: its input shape and
            class count must match them.
        safe_mode: Keras's safe mode (default True); False loads `Lambda` layers, i.e. runs
            the file's Python code: only for a file you trust.
        convert_softmax: import a model ending in softmax as its logits model (weights shared).

    Raises:
        SpecError: `path` is not an existing `.keras` file (before anything runs).

    Example:
    >>> ModelImporter(path="/nonexistent/model.keras")
    Traceback (most recent call last):
    ...
    kerasadv.orchestration.component.SpecError: ModelImporter: path '/nonexistent/model.keras' is not a file; ...
    """

    SPEC = ComponentSpec(
        inputs={"examples": Input("Examples", optional=True)},
        outputs={"model": "Model"},
        parameters={
            "path": Parameter(str),
            "safe_mode": Parameter(bool, True),
            "convert_softmax": Parameter(bool, False),
        },
    )
    EXECUTOR = ModelImporterExecutor

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        path = self.parameters["path"]
        if not path.endswith(".keras") or not filesystem.isfile(path):
            problem = "is not a file" if not filesystem.isfile(path) else "does not end in .keras"
            raise SpecError(f"{self.id}: path {path!r} {problem}; expected an existing .keras model.")
        self.parameters["path"] = path = filesystem.normalize(path)
        self.parameters["sha256"] = writer.sha256_file(path)  # in the cache key: a changed file re-imports
