"""Report: evaluations -> report.md + report.html with PNG plots and CSV tables."""

import html
import json
import os

import pandas as pd

from kerasadv.evaluation import blessing
from kerasadv.evaluation.engine import LIVE_ATTACK_COLUMNS
from kerasadv.orchestration import BaseComponent, BaseExecutor, ComponentSpec, Input, Parameter, filesystem, writer
from kerasadv.reporting import plots
from kerasadv.reporting.sections import table_section, write_report

NAMES = ("baseline_evaluation", "candidate_evaluation")


LIVE_ATTACK_HEADERS = {
    "num_examples": "n",
    "clean_accuracy": "clean",
    "adversarial_accuracy": "adversarial",
    "accuracy_on_correct": "on correct",
    "success_rate": "success",
    "mean_linf": "mean Linf",
    "mean_l2": "mean L2",
    "mean_clean_confidence": "conf clean",
    "mean_adversarial_confidence": "conf adv",
    "adversarial_accuracy_ci_low": "adv 95% CI low",
    "adversarial_accuracy_ci_high": "adv 95% CI high",
}


def _plot(tables, sweeps, directory):
    paths = [
        plots.bar_plot(tables, os.path.join(directory, "accuracy.png"), "accuracy", "Accuracy by example set", (0, 1)),
        plots.line_plot(
            {name: (sweep["eps"], sweep["adversarial_accuracy"]) for name, sweep in sweeps.items()},
            os.path.join(directory, "fgsm_eps_sweep.png"),
            "eps",
            "accuracy under FGSM",
            "FGSM eps sweep",
        ),
    ]
    return [os.path.basename(p) for p in paths]


def _attack_rows(evaluation):
    """Attack configurations behind an evaluation: the pre-generated set's and the live ones."""
    rows = {}
    if evaluation.get("adversarial_examples_attack"):
        rows["adversarial_examples (AttackGen)"] = evaluation["adversarial_examples_attack"]
    for label, config in (evaluation.get("attacks") or {}).items():
        rows[f"robust_accuracy_{label} (Evaluator)"] = config
    return rows


def _per_attack_table(evaluations):
    """One row per (model, AutoAttack label, attack): what it broke and the accuracy left after it."""
    rows = [
        {"model": model, "evaluation": label, **row}
        for model, evaluation in evaluations.items()
        for label, table in (evaluation.get("per_attack") or {}).items()
        for row in table
    ]
    return pd.DataFrame(rows)


def _live_attack_table(evaluations):
    """One row per (model, live attack): accuracies (also on the clean-correct examples) and confidences."""
    rows = [{"model": model, **row} for model, ev in evaluations.items() for row in ev.get("live_attacks") or []]
    return pd.DataFrame(rows, columns=["model", "attack", *LIVE_ATTACK_COLUMNS]) if rows else pd.DataFrame()


def _self_check_lines(evaluations):
    lines = []
    for model, evaluation in evaluations.items():
        for label, results in (evaluation.get("self_checks") or {}).items():
            failed = [r for r in results if not r["passed"]]
            lines.append(f"{model}, {label}: {len(results) - len(failed)}/{len(results)} passed")
            lines += [f"{model}, {label}: WARNING {r['check']}: {r['detail']}" for r in failed]
    return lines


def _blessing_section(evaluations):
    """`(title, markdown, html)`: per evaluation, the verdict, the table of its rules and the failed self-checks."""
    markdown, page = [], []
    for model in sorted(evaluations, key=lambda name: name != "candidate"):  # the pushed model's first
        checks = evaluations[model]["checks"]
        failed = [c for c in checks if not c["passed"]]
        blocked = [c["check"] for c in failed if c.get("blocking", True)]
        verdict = f"NOT blessed (failed: {'; '.join(blocked)})" if blocked else "blessed (every blocking rule passed)"
        summary = f"{model}: {verdict}"
        _, table_md, table_html = table_section("", blessing.blessing_table(checks))
        messages = [f"{c['check']}: {c['detail']}" for c in failed if c.get("detail")]
        listed = "\n".join(f"- {m}" for m in messages)
        markdown.append(f"**{summary}**\n\n{table_md}" + (f"\n\n{listed}" if messages else ""))
        page.append(
            f"<p><b>{html.escape(summary)}</b></p>{table_html}"
            + ("<ul>" + "".join(f"<li>{html.escape(m)}</li>" for m in messages) + "</ul>" if messages else "")
        )
    note = (
        "Each rule of a model's blessing with its value, the baseline evaluation's value where compared, the "
        "margin, the robust subset size n and the standard error SE = sqrt(p(1-p)/n) of each robust accuracy. "
        "A model is blessed when every blocking rule passes; the messages of failed self-checks follow the table."
    )
    return "Blessing", note + "\n\n" + "\n\n".join(markdown), f"<p>{html.escape(note)}</p>" + "".join(page)


def _sections(table, sweep_table, per_attack, live, evaluations, attack_configs, pushed):
    """`[(title, markdown, html)]` of the report, the same content in both forms."""

    def listing(items):
        return [
            "\n".join(f"- {item}" for item in items),
            "<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in items) + "</ul>",
        ]

    sections = [
        (
            "Accuracy",
            table.round(4).to_markdown() + "\n\n![accuracy](accuracy.png)",
            table.round(4).to_html() + "<img src='accuracy.png'>",
        ),
        (
            "FGSM eps sweep (accuracy)",
            sweep_table.round(4).to_markdown() + "\n\n![sweep](fgsm_eps_sweep.png)",
            sweep_table.round(4).to_html() + "<img src='fgsm_eps_sweep.png'>",
        ),
    ]
    if not live.empty:
        note = (
            "n: examples attacked; on correct: adversarial accuracy on the examples the model classifies "
            "correctly (clean-correct and still correct / clean-correct); success: share of those the attack "
            "fooled; conf: mean softmax probability of the predicted class on clean / adversarial images; "
            "adv 95% CI: Wilson score interval of the adversarial accuracy over n."
        )
        shown = live.rename(columns=LIVE_ATTACK_HEADERS).round(4)
        sections.append(
            (
                "Live attacks",
                note + "\n\n" + shown.to_markdown(index=False),
                f"<p>{html.escape(note)}</p>" + shown.to_html(index=False),
            )
        )
    if not per_attack.empty:
        robust = {m: ev.get("robust_examples") for m, ev in evaluations.items()}
        note = f"Per-point worst case: each attack runs on the points the earlier ones left. Examples: {robust}."
        sections.append(
            (
                "AutoAttack per attack",
                note + "\n\n" + per_attack.round(4).to_markdown(index=False),
                f"<p>{html.escape(note)}</p>" + per_attack.round(4).to_html(index=False),
            )
        )
    checks = _self_check_lines(evaluations)
    if checks:
        sections.append(("Self-checks", *listing(checks)))
    configs = [f"{where}: {json.dumps(config, sort_keys=True)}" for where, config in attack_configs.items()]
    sections.append(("Attack configurations", *listing(configs)))
    sections.append(_blessing_section(evaluations))
    if pushed is not None:
        where = f", version {pushed['version']} at {pushed['path']}" if pushed["pushed"] else ""
        sections.append(("Push", *listing([f"pushed: {pushed['pushed']}{where}"])))
    return sections


class ReportExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        report = output_dict["report"]
        evaluations, sweeps, attack_configs = {}, {}, {}
        for name in NAMES:
            if name in input_dict:
                label = name.replace("_evaluation", "")
                evaluations[label] = filesystem.read_json(input_dict[name].path("evaluation.json"))
                attack_configs.update(_attack_rows(evaluations[label]))
                with filesystem.open_file(input_dict[name].path("fgsm_eps_sweep.csv")) as f:
                    sweeps[label] = pd.read_csv(f)
        metrics = {label: evaluation["metrics"] for label, evaluation in evaluations.items()}
        table = pd.DataFrame(metrics)
        writer.write_csv(table, report.path("metrics.csv"))
        sweep_table = pd.concat({k: v.set_index("eps")["adversarial_accuracy"] for k, v in sweeps.items()}, axis=1)
        writer.write_csv(sweep_table, report.path("fgsm_eps_sweep.csv"))
        per_attack = _per_attack_table(evaluations)
        files = ["report.md", "report.html", "metrics.csv", "fgsm_eps_sweep.csv", *_plot(table, sweeps, report.uri)]
        if not per_attack.empty:
            writer.write_csv(per_attack, report.path("per_attack.csv"), index=False)
            files.append("per_attack.csv")
        live = _live_attack_table(evaluations)
        if not live.empty:
            writer.write_csv(live, report.path("live_attacks.csv"), index=False)
            files.append("live_attacks.csv")
        pushed = None
        if "pushed_model" in input_dict:
            pushed = filesystem.read_json(input_dict["pushed_model"].path("push.json"))
        sections = _sections(table, sweep_table, per_attack, live, evaluations, attack_configs, pushed)
        write_report(report, exec_properties["title"], sections)
        report.properties.update(files=files, metrics=metrics)


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
