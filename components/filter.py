"""Filter: Examples -> Examples by a transform (Gaussian filter) and predicates (correct, successful, classes)."""

import numpy as np

from kerasadv import attacks, io
from kerasadv.constants import DEFAULT_BATCH_SIZE
from kerasadv.data import tfrecords
from kerasadv.layers import gaussian_filter
from kerasadv.orchestration import BaseComponent, BaseExecutor, ComponentSpec, Input, Parameter, SpecError
from kerasadv.orchestration.component import at_least, matches

KEEP = ("all", "correct", "successful")


def _filtered(dataset, model, keep_rule, classes, sigma):
    """Yields the kept records of `dataset`, Gaussian-filtered with std `sigma`."""
    for x, y, extras in dataset:
        x, y = x.numpy(), y.numpy()
        keep = np.ones(len(y), bool)
        if keep_rule == "correct":
            keep &= attacks.predict_labels(model, x).numpy() == y
        if keep_rule == "successful":
            keep &= extras["success"].numpy() > 0.5
        if classes is not None:
            keep &= np.isin(y, list(classes))
        images = gaussian_filter(x[keep], sigma)
        yield {"image": images, "label": y[keep], **{k: v.numpy()[keep] for k, v in extras.items()}}


class FilterExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        p, examples, out = exec_properties, input_dict["examples"], output_dict["examples"]
        schema = tfrecords.read_schema(examples.uri)
        model = io.load_model_artifact(input_dict["model"]) if "model" in input_dict else None
        classes = None if p["classes"] is None else {int(c) for c in p["classes"].split(",")}
        counts = {}
        for split in schema["splits"]:
            ds = tfrecords.read_split(examples.uri, split, DEFAULT_BATCH_SIZE, with_extras=True)
            batches = _filtered(ds, model, p["keep"], classes, p["gaussian_sigma"])
            counts[split], _ = tfrecords.write_split(batches, out.uri, split, schema["image_dtype"])
        tfrecords.write_schema(
            out.uri, schema["image_shape"], schema["image_dtype"], schema["class_names"], counts, schema["extras"]
        )
        out.properties.update(
            gaussian_sigma=p["gaussian_sigma"],
            keep=p["keep"],
            classes=p["classes"],
            splits=counts,
            source_type=examples.type_name,
        )


class Filter(BaseComponent):
    """Filters and transforms an example set (clean or adversarial).

    Args:
        examples: Examples or AdversarialExamples.
        model: a Model, needed by keep="correct".
        gaussian_sigma: std of the Gaussian filter applied to every kept image (0: none).
        keep: "all", "correct" (the model classifies it correctly) or "successful" (the
            attack succeeded; adversarial sets only).
        classes: comma-separated class ids to keep (None: all).
    """

    SPEC = ComponentSpec(
        inputs={"examples": Input(("Examples", "AdversarialExamples")), "model": Input("Model", optional=True)},
        outputs={"examples": "Examples"},
        parameters={
            "gaussian_sigma": Parameter(float, 0.0, at_least(0)),
            "keep": Parameter(str, "all"),
            "classes": Parameter(str, None, matches(r"\d+(,\d+)*", "comma-separated class indices")),
        },
    )
    EXECUTOR = FilterExecutor

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        keep = self.parameters["keep"]
        if keep not in KEEP:
            raise SpecError(f"{self.id}: keep must be one of {KEEP}, got {keep!r}.")
        if keep == "correct" and "model" not in self.inputs:
            raise SpecError(f"{self.id}: keep='correct' needs the model input.")
        if keep == "successful" and self.inputs["examples"].type_name != "AdversarialExamples":
            raise SpecError(f"{self.id}: keep='successful' needs AdversarialExamples.")
