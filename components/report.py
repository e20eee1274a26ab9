"""Report: evaluations -> report.md + report.html with PNG plots and CSV tables."""

import html
import json
import os

import pandas as pd

from kerasadv import io
from kerasadv.orchestration import BaseComponent, ComponentSpec, Input, Parameter

NAMES = ("baseline_evaluation", "candidate_evaluation")


def _plot(tables, sweeps, directory):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    figure, ax = plt.subplots(figsize=(7, 4))
    tables.plot.bar(ax=ax, rot=20, ylim=(0, 1), ylabel="accuracy", title="Accuracy by example set")
    paths.append(io.save_figure(figure, os.path.join(directory, "accuracy.png")))
    figure, ax = plt.subplots(figsize=(6, 4))
    for name, sweep in sweeps.items():
        ax.plot(sweep["eps"], sweep["adversarial_accuracy"], marker="o", label=name)
    ax.set(xlabel="eps", ylabel="accuracy under FGSM", title="FGSM eps sweep", ylim=(0, 1))
    ax.legend()
    paths.append(io.save_figure(figure, os.path.join(directory, "fgsm_eps_sweep.png")))
    return [os.path.basename(p) for p in paths]


def _attack_rows(evaluation):
    """Attack configurations behind an evaluation: the pre-generated set's and the live ones."""
    rows = {}
    if evaluation.get("adversarial_examples_attack"):
        rows["adversarial_examples (AttackGen)"] = evaluation["adversarial_examples_attack"]
    for label, config in (evaluation.get("attacks") or {}).items():
        rows[f"robust_accuracy_{label} (Evaluator)"] = config
    return rows


def _attack_lines(attack_configs):
    lines = ["## Attack configurations", ""]
    for where, config in attack_configs.items():
        lines.append(f"- {where}: `{json.dumps(config, sort_keys=True)}`")
    return lines + [""]


class ReportExecutor:
    def Do(self, input_dict, output_dict, exec_properties):
        report = output_dict["report"]
        metrics, sweeps, checks, attack_configs = {}, {}, {}, {}
        for name in NAMES:
            if name in input_dict:
                label = name.replace("_evaluation", "")
                with open(input_dict[name].path("evaluation.json")) as f:
                    evaluation = json.load(f)
                metrics[label], checks[label] = evaluation["metrics"], evaluation["checks"]
                attack_configs.update(_attack_rows(evaluation))
                sweeps[label] = pd.read_csv(input_dict[name].path("fgsm_eps_sweep.csv"))
        table = pd.DataFrame(metrics)
        table.to_csv(report.path("metrics.csv"))
        sweep_table = pd.concat({k: v.set_index("eps")["adversarial_accuracy"] for k, v in sweeps.items()}, axis=1)
        sweep_table.to_csv(report.path("fgsm_eps_sweep.csv"))
        plots = _plot(table, sweeps, report.uri)
        pushed = None
        if "pushed_model" in input_dict:
            with open(input_dict["pushed_model"].path("push.json")) as f:
                pushed = json.load(f)
        lines = [
            f"# {exec_properties['title']}",
            "",
            "## Accuracy",
            "",
            table.round(4).to_markdown(),
            "",
            "![accuracy](accuracy.png)",
            "",
            "## FGSM eps sweep (accuracy)",
            "",
            sweep_table.round(4).to_markdown(),
            "",
            "![sweep](fgsm_eps_sweep.png)",
            "",
            *_attack_lines(attack_configs),
            "## Blessing",
            "",
        ]
        for label, items in checks.items():
            lines += [
                f"- {label}: "
                + "; ".join(f"{c['check']}: {c['value']:.4f} {'passed' if c['passed'] else 'FAILED'}" for c in items)
            ]
        if pushed is not None:
            lines += [
                "",
                "## Push",
                "",
                f"- pushed: {pushed['pushed']}"
                + (f", version {pushed['version']} at `{pushed['path']}`" if pushed["pushed"] else ""),
            ]
        markdown = "\n".join(lines) + "\n"
        with io.atomic_path(report.path("report.md")) as tmp, open(tmp, "w") as f:
            f.write(markdown)
        page = (
            f"<html><head><meta charset='utf-8'><title>{html.escape(exec_properties['title'])}</title></head>"
            f"<body><h1>{html.escape(exec_properties['title'])}</h1><h2>Accuracy</h2>{table.round(4).to_html()}"
            f"<img src='accuracy.png'><h2>FGSM eps sweep</h2>{sweep_table.round(4).to_html()}"
            f"<img src='fgsm_eps_sweep.png'><h2>Attack configurations</h2><ul>"
            + "".join(
                f"<li>{html.escape(where)}: <code>{html.escape(json.dumps(config, sort_keys=True))}</code></li>"
                for where, config in attack_configs.items()
            )
            + "</ul></body></html>"
        )
        with io.atomic_path(report.path("report.html")) as tmp, open(tmp, "w") as f:
            f.write(page)
        report.properties.update(
            files=["report.md", "report.html", "metrics.csv", "fgsm_eps_sweep.csv", *plots], metrics=metrics
        )


class Report(BaseComponent):
    """Collects one or two evaluations (baseline, candidate) and the push record into a report."""

    SPEC = ComponentSpec(
        inputs={
            "baseline_evaluation": Input("ModelEvaluation"),
            "candidate_evaluation": Input("ModelEvaluation", optional=True),
            "pushed_model": Input("PushedModel", optional=True),
        },
        outputs={"report": "Report"},
        parameters={"title": Parameter(str, "kerasadv robustness report")},
    )
    EXECUTOR = ReportExecutor
