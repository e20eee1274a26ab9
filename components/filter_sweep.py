"""FilterSweep: accuracy of one or more models on clean and adversarial sets under each Gaussian-filter std."""

import pandas as pd

from kerasadv import analysis, io
from kerasadv.components.example_arrays import SPLIT, paired_examples
from kerasadv.components.sections import Sections
from kerasadv.orchestration import BaseComponent, ComponentSpec, Input, Parameter
from kerasadv.orchestration.component import number_list

DEFAULT_SIGMAS = ",".join(str(s) for s in analysis.filter_sweep.DEFAULT_SIGMAS)


def plot_sweep(table, path):
    """Accuracy against std, one line per network and set. Returns `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(7, 4))
    for network, rows in table.groupby("network", sort=False):
        for column, style in (("clean_accuracy", "-o"), ("adversarial_accuracy", "--s")):
            ax.plot(rows["sigma"], rows[column], style, label=f"{network}, {column.split('_')[0]} set")
    ax.set(xlabel="Gaussian filter std (pixels)", ylabel="accuracy", title="Gaussian filter sweep")
    ax.legend(fontsize=8)
    return io.save_figure(figure, path)


def sweep_findings(sections, table):
    """Findings per network: adversarial accuracy unfiltered, at std 0.5, at the best std, and that std."""
    for network, rows in table.groupby("network", sort=False):
        rows = rows.set_index("sigma")
        sections.finding(f"filter_{network}_adversarial_unfiltered", rows["adversarial_accuracy"].get(0.0))
        sections.finding(f"filter_{network}_adversarial_sigma_0.5", rows["adversarial_accuracy"].get(0.5))
        sections.finding(f"filter_{network}_clean_sigma_0.5", rows["clean_accuracy"].get(0.5))
        sections.finding(f"filter_{network}_best_adversarial_sigma", rows["adversarial_accuracy"].idxmax())
        sections.finding(f"filter_{network}_best_adversarial_accuracy", rows["adversarial_accuracy"].max())


class FilterSweepExecutor:
    def Do(self, input_dict, output_dict, exec_properties):
        p, out = exec_properties, output_dict["analysis"]
        x, x_adv, y = paired_examples(input_dict["examples"], input_dict["adversarial_examples"], p["split"])
        sigmas = [float(s) for s in p["sigmas"].split(",")]
        tables = []
        for name in ("model", "retrained_model"):
            if name in input_dict:
                model = io.load_model_artifact(input_dict[name])
                sweep = analysis.gaussian_filter_sweep(model, (x, y), (x_adv, y), sigmas)
                tables.append(sweep.assign(network="original" if name == "model" else "retrained"))
        table = pd.concat(tables)[["network", "sigma", "clean_accuracy", "adversarial_accuracy"]]
        sections = Sections(out)
        sections.table(
            "filter_sweep",
            "Gaussian filter sweep",
            table,
            "Accuracy on the clean and the adversarial test set after a Gaussian filter of each std (0: none).",
        )
        sections.plot(plot_sweep(table, out.path("filter_sweep.png")), "Gaussian filter sweep (plot)")
        sweep_findings(sections, table)
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

    SPEC = ComponentSpec(
        inputs={
            "model": Input("Model"),
            "retrained_model": Input("Model", optional=True),
            "examples": Input("Examples"),
            "adversarial_examples": Input("AdversarialExamples"),
        },
        outputs={"analysis": "Analysis"},
        parameters={"sigmas": Parameter(str, DEFAULT_SIGMAS, number_list(0, 10)), "split": SPLIT},
    )
    EXECUTOR = FilterSweepExecutor
