"""ActivationThresholds: Model + Examples -> per-neuron binary (KDE valley) and ternary thresholds."""

import json

import numpy as np
import pandas as pd

from kerasadv import analysis, io
from kerasadv.components.evaluation_engine import first_examples
from kerasadv.components.sections import Sections
from kerasadv.data import tfrecords
from kerasadv.orchestration import BaseComponent, ComponentSpec, Input, Parameter, SpecError
from kerasadv.orchestration.component import at_least, between, one_of

THRESHOLDS_FILE = "thresholds.npz"


def save_thresholds(artifact, binary, ternary):
    """Writes `{layer: thresholds}` and `{layer: (low, high)}` into the artifact (one .npz)."""
    arrays = {f"binary/{n}": v for n, v in binary.items()}
    arrays.update({f"low/{n}": low for n, (low, _) in ternary.items()})
    arrays.update({f"high/{n}": high for n, (_, high) in ternary.items()})
    with io.atomic_path(artifact.path(THRESHOLDS_FILE)) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    io.write_json(list(binary), artifact.path("layers.json"))


def load_thresholds(artifact):
    """`(binary, ternary)` threshold dicts of an ActivationThresholds artifact, in layer order.

    Example:
    >>> import tempfile, numpy as np
    >>> from kerasadv.orchestration import Artifact
    >>> out = Artifact("ActivationThresholds", tempfile.mkdtemp())
    >>> save_thresholds(out, {"relu": np.ones(3)}, {"relu": (np.zeros(3), np.ones(3))})
    >>> binary, ternary = load_thresholds(out)
    >>> list(binary), ternary["relu"][1].tolist()
    (['relu'], [1.0, 1.0, 1.0])
    """
    with open(artifact.path("layers.json")) as f:
        layers = json.load(f)
    with np.load(artifact.path(THRESHOLDS_FILE)) as stored:
        binary = {n: stored[f"binary/{n}"] for n in layers}
        ternary = {n: (stored[f"low/{n}"], stored[f"high/{n}"]) for n in layers}
    return binary, ternary


def threshold_table(stats, binary, bimodal):
    """Per layer: neurons, share with a two-peak KDE valley (the rest fall back to the mean), mean threshold."""
    rows = []
    for name in stats.layers:
        rows.append(
            {
                "layer": name,
                "neurons": binary[name].size,
                "bimodal_share": float(bimodal[name].mean()),
                "mean_binary_threshold": float(binary[name].mean()),
                "mean_max_activation": float(stats.high[name].mean()),
            }
        )
    return pd.DataFrame(rows)


class ActivationThresholdsExecutor:
    def Do(self, input_dict, output_dict, exec_properties):
        p, out = exec_properties, output_dict["thresholds"]
        model = io.load_model_artifact(input_dict["model"])
        count = min(p["num_examples"], tfrecords.split_size(input_dict["examples"].uri, p["split"]))
        x, _ = first_examples(input_dict["examples"].uri, p["split"], count)
        probe = analysis.probe_model(model)
        print(f"  activation statistics of {len(probe.output) - 1} layers over {count} {p['split']} images")
        stats = analysis.ActivationStatistics(probe, x, bins=p["bins"])
        binary, bimodal = analysis.binary_thresholds(stats, with_bimodal=True)
        ternary = analysis.ternary_thresholds(stats, p["low_fraction"], p["high_fraction"])
        save_thresholds(out, binary, ternary)
        table = threshold_table(stats, binary, bimodal)
        sections = Sections(out)
        sections.table(
            "thresholds",
            "Activation thresholds per layer",
            table,
            f"From {count} {p['split']} images. Binary: minimum of each neuron's KDE between its two highest "
            "peaks (bimodal_share: neurons with two peaks; the others get their mean). Ternary: "
            f"{p['low_fraction']} and {p['high_fraction']} of each neuron's historical maximum.",
        )
        sections.finding("bimodal_share", float((table.bimodal_share * table.neurons).sum() / table.neurons.sum()))
        sections.save()
        out.properties.update(
            layers=list(binary),
            neurons=int(table.neurons.sum()),
            num_examples=count,
            split=p["split"],
            low_fraction=p["low_fraction"],
            high_fraction=p["high_fraction"],
        )


class ActivationThresholds(BaseComponent):
    """Per-neuron activation thresholds of every activation layer of a model, for toggle activity.

    Args:
        model: the Model.
        examples: Examples whose `split` gives the activation statistics.
        split: "train" (the data the model saw) or "eval".
        num_examples: images streamed (the first of the split).
        bins: histogram bins per neuron of the binned KDE.
        low_fraction, high_fraction: ternary thresholds as fractions of each neuron's maximum.
    """

    SPEC = ComponentSpec(
        inputs={"model": Input("Model"), "examples": Input("Examples")},
        outputs={"thresholds": "ActivationThresholds"},
        parameters={
            "split": Parameter(str, "train", one_of("train", "eval")),
            "num_examples": Parameter(int, 1000, at_least(2)),
            "bins": Parameter(int, 128, at_least(8)),
            "low_fraction": Parameter(float, 0.25, between(0, 1)),
            "high_fraction": Parameter(float, 0.75, between(0, 1)),
        },
    )
    EXECUTOR = ActivationThresholdsExecutor

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        low, high = self.parameters["low_fraction"], self.parameters["high_fraction"]
        if low >= high:
            raise SpecError(f"{self.id}: low_fraction must be below high_fraction, got {low} and {high}.")
