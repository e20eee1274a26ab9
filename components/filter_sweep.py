"""FilterSweep: accuracy of one or more models on clean and adversarial sets under each Gaussian-filter std."""

import pandas as pd

from kerasadv import analysis, io
from kerasadv.analysis import filter_sweep
from kerasadv.data.paired import SPLIT, paired_examples
from kerasadv.orchestration import BaseComponent, BaseExecutor, ComponentSpec, Input, Parameter
from kerasadv.orchestration.component import number_list
from kerasadv.orchestration.executor import output
from kerasadv.reporting import Sections, plots

DEFAULT_SIGMAS = ",".join(str(s) for s in filter_sweep.DEFAULT_SIGMAS)
NETWORKS = {"model": "original", "retrained_model": "retrained"}
"""The model inputs and the network names the tables give them."""


def sweep_plot(table, path):
    """Accuracy against std, one line per network and set. Returns `path`."""
    curves = {
        f"{network}, {column.split('_')[0]} set": (rows["sigma"], rows[column], style)
        for network, rows in table.groupby("network", sort=False)
        for column, style in (("clean_accuracy", "-o"), ("adversarial_accuracy", "--s"))
    }
    title = "Gaussian filter sweep"
    return plots.line_plot(curves, path, "Gaussian filter std (pixels)", "accuracy", title, figsize=(7, 4))


class FilterSweepExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        p, out = exec_properties, output(output_dict)
        x, x_adv, y = paired_examples(input_dict["examples"].uri, input_dict["adversarial_examples"].uri, p["split"])
        sigmas = [float(s) for s in p["sigmas"].split(",")]
        tables = []
        for name, network in NETWORKS.items():
            if name in input_dict:
                model = io.load_model_artifact(input_dict[name])
                sweep = analysis.gaussian_filter_sweep(model, (x, y), (x_adv, y), sigmas)
                tables.append(sweep.assign(network=network))
        table = pd.concat(tables)[["network", "sigma", "clean_accuracy", "adversarial_accuracy"]]
        sections = Sections(out, FilterSweep.findings(p, input_dict))
        sections.table(
            "filter_sweep",
            "Gaussian filter sweep",
            table,
            "Accuracy on the clean and the adversarial test set after a Gaussian filter of each std (0: none).",
        )
        sections.plot(sweep_plot(table, out.path("filter_sweep.png")), "Gaussian filter sweep (plot)")
        sections.update(filter_sweep.sweep_findings(table))
        sections.save()
        out.properties.update(sigmas=sigmas)


class FilterSweep(BaseComponent):
    """The Gaussian-filter defense swept over stds: the `Filter` component's transform as a table and plot.

    Args:
        model: the network (reported as "original").
        retrained_model: optional second network (reported as "retrained").
        examples: the clean Examples.
        adversarial_examples: their AdversarialExamples.
        sigmas: comma-separated stds in pixels ("0.0,0.1,...,1.0").
        split: the swept split ("eval").
    """

    CODE_MODULES = (filter_sweep,)
    SPEC = ComponentSpec(
        inputs={
            "model": Input("Model"),
            "retrained_model": Input("Model", optional=True),
            "examples": Input("Examples"),
            "adversarial_examples": Input("AdversarialExamples"),
        },
        outputs={"analysis": "Analysis"},
        parameters={
            "sigmas": Parameter(str, DEFAULT_SIGMAS, number_list(0, 10)),
            "split": SPLIT,
        },
    )
    EXECUTOR = FilterSweepExecutor

    @staticmethod
    def findings(parameters, inputs):
        """Per network given (`model`, `retrained_model`): its filter findings (`analysis.filter_sweep`)."""
        return filter_sweep.sweep_finding_keys([network for name, network in NETWORKS.items() if name in inputs])
