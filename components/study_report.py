"""StudyReport: a study's analyses -> report.md + report.html with our figures beside the paper's.

A study pipeline subclasses `StudyReport` and names its analysis inputs in `ANALYSES`; the
report shows the run's configuration (data, model and its accuracy, attack, profile), the
comparison with the paper (`paper` rows: a finding, the paper's figure, the key of our number
among the analyses' findings), what differs in protocol, example images, then every analysis's
tables and plots in order, and the lineage command.
"""

import json
import os

import numpy as np
import pandas as pd

from kerasadv import attacks, io
from kerasadv.components.blessing import check_line
from kerasadv.components.evaluation_engine import first_examples
from kerasadv.components.example_arrays import visible_perturbation
from kerasadv.components.sections import (
    artifact_sections,
    image_section,
    list_section,
    read_sections,
    table_section,
    write_report,
)
from kerasadv.data import tfrecords
from kerasadv.orchestration import BaseComponent, ComponentSpec, Input, Parameter, SpecError
from kerasadv.orchestration.component import Rule

PAPER_KEYS = ("finding", "paper", "key")
BASE_INPUTS = ("model", "examples", "adversarial_examples", "blessing", "pushed_model")


def paper_rows():
    """Rule: a list of `{"finding": ..., "paper": ..., "key": ...}` dicts (strings)."""
    return Rule(
        f"a list of dicts with string keys {list(PAPER_KEYS)}",
        lambda rows: all(isinstance(r, dict) and all(isinstance(r.get(k), str) for k in PAPER_KEYS) for r in rows),
    )


def comparison_table(paper, findings):
    """Finding | paper | ours (the analysis's number, by key).

    Raises:
        SpecError: a row's key is not among the analyses' findings (names the known keys).
    """
    missing = [row["key"] for row in paper if row["key"] not in findings]
    if missing:
        raise SpecError(
            f"the paper rows name findings no analysis produced: {missing}; expected keys among {sorted(findings)}."
        )
    return pd.DataFrame(
        [{"finding": row["finding"], "paper": row["paper"], "ours": findings[row["key"]]} for row in paper]
    )


class StudyReportExecutor:
    def Do(self, input_dict, output_dict, exec_properties):
        p, report = exec_properties, output_dict["report"]
        model_artifact, examples = input_dict["model"], input_dict["examples"]
        adversarial = input_dict.get("adversarial_examples")
        analyses = [artifact for name, artifact in input_dict.items() if name not in BASE_INPUTS]
        findings = {}
        for artifact in analyses:
            findings.update(read_sections(artifact)["findings"])
        comparison = comparison_table(p["paper"], findings)
        comparison.to_csv(report.path("paper_comparison.csv"), index=False)
        model = io.load_model_artifact(model_artifact)
        class_names = tfrecords.read_schema(examples.uri)["class_names"]
        sections = [
            list_section("Configuration", configuration_lines(p, model_artifact, examples, adversarial)),
            table_section(
                "Ours beside the paper",
                comparison,
                "ours: this run's number for the paper's finding, in the finding's units (the tables below hold "
                "every cell; paper_comparison.csv this table).",
            ),
            list_section("What differs from the paper's protocol", p["protocol"]),
        ]
        if adversarial is not None:
            grid = example_grid(model, examples, adversarial, class_names, report.path("examples.png"))
            sections.append(
                image_section(
                    "Example images",
                    grid,
                    "Clean image, its adversarial version and the perturbation (scaled to the full range), with the "
                    "model's prediction and softmax confidence: the first eval images the attack changed.",
                )
            )
        for artifact in analyses:
            sections += artifact_sections(artifact, report.uri)
        if "pushed_model" in input_dict:
            sections.append(
                list_section("Blessing and push", push_lines(input_dict["blessing"], input_dict["pushed_model"]))
            )
        sections.append(list_section("Lineage", lineage_lines(report, input_dict)))
        write_report(report, p["title"], sections)
        report.properties.update(findings=findings, paper_rows=len(comparison))


def print_report(report, heading):
    """Prints a study's `heading`, its report.md and where report.html is (the pipelines' last words)."""
    print(f"\n{heading}")
    with open(report.path("report.md")) as f:
        print(f.read())
    print(f"report: {report.path('report.html')}")


def lineage_lines(report, input_dict):
    """The lineage command of each input artifact (what produced the model, the examples, each analysis)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(report.uri)))  # root/<component>/report/<execution>
    return [
        f"{name}: python -m kerasadv.orchestration.lineage --pipeline_root {root} --artifact_id {artifact.id}"
        for name, artifact in input_dict.items()
    ]


def push_lines(blessing, pushed):
    """The blessing's checks and where the model was pushed (or why not)."""
    lines = [f"blessed: {blessing.properties.get('blessed')}"]
    lines += [check_line(check) for check in blessing.properties.get("checks", [])]
    where = pushed.properties.get("path") or pushed.properties.get("reason", "")
    lines.append(f"pushed: {pushed.properties.get('pushed')} {where}")
    return lines


def configuration_lines(p, model_artifact, examples, adversarial):
    model = model_artifact.properties
    return [
        f"profile: {p['profile']}",
        f"data: {examples.properties.get('source')} ({json.dumps(examples.properties.get('splits'))})",
        f"model: {model.get('model')} {json.dumps(model.get('model_options') or {})}, "
        f"eval accuracy {model.get('eval_accuracy', float('nan')):.4f}",
    ] + (
        [
            f"attack: {json.dumps(adversarial.properties.get('attack'), sort_keys=True)}",
            f"attack success rate: {json.dumps(adversarial.properties.get('success_rate'))}",
        ]
        if adversarial is not None
        else []
    )


EXAMPLE_POOL = 256  # eval images searched for ones the attack changed


def changed_first(x, x_adv, count):
    """Indices of `count` images: those `x_adv` changed first, then the unchanged, each in order.

    Example:
    >>> x = np.zeros((4, 2, 2, 1), np.float32)
    >>> x_adv = x.copy(); x_adv[2, 0, 0] = 0.1; x_adv[3, 1, 1] = 0.2
    >>> changed_first(x, x_adv, 3).tolist()
    [2, 3, 0]
    """
    changed = np.abs(x_adv - x).reshape(len(x_adv), -1).max(1) > 0
    return np.concatenate([np.flatnonzero(changed), np.flatnonzero(~changed)])[:count]


def example_grid(model, examples, adversarial, class_names, path, count=6):
    """Writes a grid (rows: clean, adversarial, perturbation) of eval images. Returns the file name.

    The images are the first that the attack changed (an attack that stops once an image is
    misclassified leaves those the model already got wrong as they are), then the first others.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, y = first_examples(examples.uri, "eval", EXAMPLE_POOL)
    x_adv, _ = first_examples(adversarial.uri, "eval", EXAMPLE_POOL)
    shown = changed_first(x, x_adv, count)
    x, x_adv, y = x[shown], x_adv[shown], y[shown]
    rows = []
    for images in (x, x_adv):
        labels, confidence = attacks.metrics.predict_with_confidence(model, images)
        rows.append([f"{class_names[int(c)]} {float(p):.2f}" for c, p in zip(labels.numpy(), confidence.numpy())])
    perturbation = visible_perturbation(x, x_adv)
    figure, axes = plt.subplots(3, len(x), figsize=(1.8 * len(x), 6), squeeze=False)
    for column in range(len(x)):
        shown = (x[column], x_adv[column], perturbation[column])
        titles = (f"{class_names[int(y[column])]}\n{rows[0][column]}", rows[1][column], "perturbation")
        for row, (image, title) in enumerate(zip(shown, titles)):
            axes[row, column].imshow(np.squeeze(image), cmap="gray" if image.shape[-1] == 1 else None)
            axes[row, column].set_title(title, fontsize=8)
            axes[row, column].axis("off")
    io.save_figure(figure, path)
    return os.path.basename(path)


class StudyReport(BaseComponent):
    """The report of a study pipeline: configuration, ours beside the paper, analyses, lineage.

    Subclasses set `ANALYSES` (names of Analysis / ActivationThresholds inputs, in report order)
    and `PUSHES = True` where the study pushes a model (inputs `blessing` and `pushed_model`).

    Args:
        model: the studied Model.
        examples: the Examples analysed.
        adversarial_examples: optional AdversarialExamples analysed (example images, attack config;
            an analysis that attacks by itself shows its own).
        <analyses>: one input per name of `ANALYSES`.
        blessing, pushed_model: the pushed model's ModelBlessing and PushedModel (`PUSHES`).
        title: page title.
        profile: the pipeline's profile, shown in the configuration.
        paper: rows `{"finding", "paper", "key"}`: the paper's figure for a finding and the key
            of ours among the analyses' findings.
        protocol: sentences on what differs from the paper's protocol.
    """

    ANALYSES = ()
    PUSHES = False
    EXECUTOR = StudyReportExecutor

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.SPEC = ComponentSpec(
            inputs={
                "model": Input("Model"),
                "examples": Input("Examples"),
                "adversarial_examples": Input("AdversarialExamples", optional=True),
                **{name: Input(("Analysis", "ActivationThresholds")) for name in cls.ANALYSES},
                **({"blessing": Input("ModelBlessing"), "pushed_model": Input("PushedModel")} if cls.PUSHES else {}),
            },
            outputs={"report": "Report"},
            parameters={
                "title": Parameter(str, "kerasadv study report"),
                "profile": Parameter(str, ""),
                "paper": Parameter(list, [], paper_rows()),
                "protocol": Parameter(list, []),
            },
        )
