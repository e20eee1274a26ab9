"""The study's certified robustness: its smoothed classifiers side by side, with the reference figures.

Paper 001 measures its Gaussian-noise defense with attacks only. Certified as a smoothed
classifier (randomized smoothing, `kerasadv.certify`), a model gets a guarantee instead: the
models trained with noise on their inputs (sigma 0.12 and 0.25, the training randomized
smoothing asks for) and the paper's feature-noise models smoothed at sigma 0.05 of the input.
"""

import numpy as np
import pandas as pd

from kerasadv import certify
from kerasadv.certify import accuracy
from kerasadv.orchestration import BaseComponent, BaseExecutor, ComponentSpec, Input, filesystem
from kerasadv.orchestration.executor import output
from kerasadv.pipelines.attack_defense_study import paper
from kerasadv.reporting import Sections, plots

CERTIFIED_MODELS = {
    "input_noise_012": "input noise sigma 0.12",
    "input_noise_025": "input noise sigma 0.25",
    "noise_first_conv": "feature noise after conv1 (smoothed at 0.05)",
    "noise_dense": "feature noise between dense (smoothed at 0.05)",
}
"""The Certifier inputs by role, and their rows in the table."""


def finding_key(role, radius):
    """`certified_<role>_r<radius>`: a model's certified accuracy at an L2 radius.

    Example:
    >>> finding_key("input_noise_025", 0.5)
    'certified_input_noise_025_r0.5'
    """
    return f"certified_{role}_r{radius:g}"


def _read(artifact):
    """`(rows, summary)` of a Certification artifact: its per-example table and certification.json."""
    summary = filesystem.read_json(artifact.path("certification.json"))
    with filesystem.open_file(artifact.path("certification.csv")) as f:
        return pd.read_csv(f), summary


def _row(role, rows, summary):
    result = {"predictions": rows["prediction"].to_numpy(), "radius": rows["radius"].to_numpy()}
    table = certify.certified_accuracy(result, rows["label"].to_numpy())
    row = {"model": CERTIFIED_MODELS[role], "sigma": summary["sigma"]}
    row.update({f"r = {r:g}": a for r, a in zip(table["radius"], table["certified_accuracy"])})
    row.update(
        {
            "abstained": float(np.mean(rows["prediction"] == certify.ABSTAIN)),
            "max radius": summary["max_radius"],
            "images": len(rows),
            "n": summary["n"],
            "dtype": summary["dtype"],
        }
    )
    return row, table


class CertifiedRobustnessExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        out = output(output_dict)
        sections = Sections(out, CertifiedRobustness.findings(exec_properties, input_dict))
        rows, curves = [], {}
        for role in CERTIFIED_MODELS:
            if role not in input_dict:
                continue
            per_example, summary = _read(input_dict[role])
            row, table = _row(role, per_example, summary)
            rows.append(row)
            sections.update({finding_key(role, r): a for r, a in zip(table["radius"], table["certified_accuracy"])})
            result = {"predictions": per_example["prediction"], "radius": per_example["radius"]}
            curve = certify.certified_accuracy_curve(result, per_example["label"], max_radius=1.0, points=41)
            curves[row["model"]] = (curve["radius"], curve["certified_accuracy"], "-")
        reference = {"model": paper.COHEN_MODEL, "sigma": 0.25}
        reference.update({f"r = {r:g}": paper.COHEN_SIGMA_025.get(r, np.nan) for r in certify.RADII})
        table = pd.DataFrame([*rows, reference]).astype({"images": "Int64", "n": "Int64"})  # blank, not NaN
        sections.table(
            "certified_accuracy",
            "Certified robustness (randomized smoothing, L2)",
            table,
            paper.CERTIFIED_NOTE,
        )
        title = "Certified accuracy of the smoothed classifiers"
        path = plots.line_plot(curves, out.path("certified_accuracy.png"), "L2 radius", "certified accuracy", title)
        sections.plot(path, title, "Share of the certified images classified correctly with a radius >= r.")
        sections.save()


class CertifiedRobustness(BaseComponent):
    """The study's Certifications in one table (ours beside Cohen et al.'s figures) and one plot.

    Args:
        input_noise_012, input_noise_025, noise_first_conv, noise_dense: optional
            Certifications of the models in those roles (`CERTIFIED_MODELS`).
    """

    CODE_MODULES = (accuracy,)
    SPEC = ComponentSpec(
        inputs={role: Input("Certification", optional=True) for role in CERTIFIED_MODELS},
        outputs={"analysis": "Analysis"},
        parameters={},
    )
    EXECUTOR = CertifiedRobustnessExecutor

    @staticmethod
    def findings(parameters, inputs):
        """The certified accuracy of each given model at `certify.RADII`."""
        return [finding_key(role, r) for role in CERTIFIED_MODELS if role in inputs for r in certify.RADII]
