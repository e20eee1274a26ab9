"""ActivationThresholds: Model + Examples -> per-neuron binary (KDE valley) and ternary thresholds."""

import pandas as pd

from kerasadv import analysis, io
from kerasadv.analysis import thresholds
from kerasadv.data import tfrecords
from kerasadv.data.tfrecords import first_examples
from kerasadv.orchestration import BaseComponent, BaseExecutor, ComponentSpec, Input, Parameter, SpecError
from kerasadv.orchestration.component import at_least, between, one_of
from kerasadv.orchestration.executor import output
from kerasadv.reporting import Sections


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


class ActivationThresholdsExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        p, out = exec_properties, output(output_dict)
        model = io.load_model_artifact(input_dict["model"])
        count = min(p["num_examples"], tfrecords.split_size(input_dict["examples"].uri, p["split"]))
        x, _ = first_examples(input_dict["examples"].uri, p["split"], count)
        probe = analysis.probe_model(model)
        print(f"  activation statistics of {len(probe.output) - 1} layers over {count} {p['split']} images")
        stats = analysis.ActivationStatistics(probe, x, bins=p["bins"])
        binary, bimodal = analysis.binary_thresholds(stats, with_bimodal=True)
        ternary = analysis.ternary_thresholds(stats, p["low_fraction"], p["high_fraction"])
        thresholds.save_thresholds(out.uri, binary, ternary)
        table = threshold_table(stats, binary, bimodal)
        sections = Sections(out, ActivationThresholds.findings(p, input_dict))
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

    The thresholds are read back with `kerasadv.analysis.thresholds.load_thresholds(artifact.uri)`.

    Args:
        model: the Model.
        examples: Examples whose `split` gives the activation statistics.
        split: "train" (the data the model saw) or "eval".
        num_examples: images streamed (the first of the split).
        bins: histogram bins per neuron of the binned KDE.
        low_fraction, high_fraction: ternary thresholds as fractions of each neuron's maximum.

    Raises:
        SpecError: `low_fraction` is not below `high_fraction`.
    """

    CODE_MODULES = (thresholds,)
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

    @staticmethod
    def findings(parameters, inputs):
        """The share of neurons whose KDE has two peaks."""
        return ["bimodal_share"]
