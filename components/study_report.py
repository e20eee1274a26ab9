"""StudyReport: a study's analyses -> report.md + report.html with our figures beside the paper's.

A study pipeline subclasses `StudyReport`, names its analysis inputs in `ANALYSES` and sets its
paper (`PAPER` rows: a finding, the paper's figure, the key of our number among the analyses'
findings), `PROTOCOL` and `TITLE`; the report shows the run's configuration (data, model and
its accuracy, attack, profile), the comparison with the paper, what differs in protocol,
example images, then every analysis's tables and plots in order, and the lineage command.

An analysis component declares the findings it records with a static method
`findings(parameters, inputs) -> list of keys`; a StudyReport checks at construction that its
analyses declare every key its paper rows name, so a study wired without the component that
produces a finding fails when the pipeline is built, not after the run.
"""

import json
import os

from kerasadv import attacks, io, reporting
from kerasadv.analysis.perturbation import changed_first
from kerasadv.data import tfrecords
from kerasadv.data.tfrecords import first_examples
from kerasadv.evaluation.blessing import check_line
from kerasadv.orchestration import BaseComponent, BaseExecutor, ComponentSpec, Input, Parameter, SpecError, writer
from kerasadv.orchestration.component import Rule
from kerasadv.reporting import plots
from kerasadv.reporting.paper import PAPER_KEYS, comparison_table, missing_findings

BASE_INPUTS = ("model", "examples", "adversarial_examples", "blessing", "pushed_model")
EXAMPLE_POOL = 256  # eval images searched for ones the attack changed


def _paper_rule():
    """Rule: a list of `{"finding": ..., "paper": ..., "key": ...}` dicts (strings)."""
    return Rule(
        f"a list of dicts with string keys {list(PAPER_KEYS)}",
        lambda rows: all(isinstance(r, dict) and all(isinstance(r.get(k), str) for k in PAPER_KEYS) for r in rows),
    )


class StudyReportExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        p, report = exec_properties, output_dict["report"]
        model_artifact, examples = input_dict["model"], input_dict["examples"]
        adversarial = input_dict.get("adversarial_examples")
        analyses = [artifact for name, artifact in input_dict.items() if name not in BASE_INPUTS]
        findings = {}
        for artifact in analyses:
            findings.update(reporting.read_sections(artifact)["findings"])
        comparison = comparison_table(p["paper"], findings)  # checked again: an artifact may predate its declaration
        writer.write_csv(comparison, report.path("paper_comparison.csv"), index=False)
        sections = [
            reporting.list_section("Configuration", configuration_lines(p, model_artifact, examples, adversarial)),
            reporting.table_section(
                "Ours beside the paper",
                comparison,
                "ours: this run's number for the paper's finding, in the finding's units (the tables below hold "
                "every cell; paper_comparison.csv this table).",
            ),
            reporting.list_section("What differs from the paper's protocol", p["protocol"]),
        ]
        if adversarial is not None:
            model = io.load_model_artifact(model_artifact)
            grid = example_grid(model, examples, adversarial, report.path("examples.png"))
            sections.append(
                reporting.image_section(
                    "Example images",
                    grid,
                    "Clean image, its adversarial version and the perturbation (scaled to the full range), with the "
                    "model's prediction and softmax confidence: the first eval images the attack changed.",
                )
            )
        for artifact in analyses:
            sections += reporting.artifact_sections(artifact, report.uri)
        if "pushed_model" in input_dict:
            pushed = push_lines(input_dict["blessing"], input_dict["pushed_model"])
            sections.append(reporting.list_section("Blessing and push", pushed))
        sections.append(reporting.list_section("Lineage", lineage_lines(report, input_dict)))
        reporting.write_report(report, p["title"], sections)
        report.properties.update(findings=findings, paper_rows=len(comparison))


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
    """The profile, data, model and its accuracy, and the attack with its success rate."""
    model = model_artifact.properties
    lines = [
        f"profile: {p['profile']}",
        f"data: {examples.properties.get('source')} ({json.dumps(examples.properties.get('splits'))})",
        f"model: {model.get('model')} {json.dumps(model.get('model_options') or {})}, "
        f"eval accuracy {model.get('eval_accuracy', float('nan')):.4f}",
    ]
    if adversarial is not None:
        lines.append(f"attack: {json.dumps(adversarial.properties.get('attack'), sort_keys=True)}")
        lines.append(f"attack success rate: {json.dumps(adversarial.properties.get('success_rate'))}")
    return lines


def example_grid(model, examples, adversarial, path, count=6):
    """Writes a grid (rows: clean, adversarial, perturbation) of eval images. Returns the file name.

    The images are the first that the attack changed (an attack that stops once an image is
    misclassified leaves those the model already got wrong as they are), then the first others.
    """
    class_names = tfrecords.read_schema(examples.uri)["class_names"]
    x, y = first_examples(examples.uri, "eval", EXAMPLE_POOL)
    x_adv, _ = first_examples(adversarial.uri, "eval", EXAMPLE_POOL)
    shown = changed_first(x, x_adv, count)
    x, x_adv, y = x[shown], x_adv[shown], y[shown]
    predicted = []
    for images in (x, x_adv):
        labels, confidence = attacks.predictions.predict_with_confidence(model, images)
        predicted.append([f"{class_names[int(c)]} {float(p):.2f}" for c, p in zip(labels.numpy(), confidence.numpy())])
    titles = [[f"{class_names[int(label)]}\n{text}" for label, text in zip(y, predicted[0])], predicted[1]]
    titles.append(["perturbation"] * len(x))
    plots.image_grid([x, x_adv, plots.visible_perturbation(x, x_adv)], path, titles, cell=(1.8, 2.0))
    return os.path.basename(path)


class StudyReport(BaseComponent):
    """The report of a study pipeline: configuration, ours beside the paper, analyses, lineage.

    Subclasses set `ANALYSES` (names of Analysis / ActivationThresholds inputs, in report order),
    `PUSHES = True` where the study pushes a model (inputs `blessing` and `pushed_model`), and
    the defaults of the `title`, `paper` and `protocol` parameters (`TITLE`, `PAPER`, `PROTOCOL`).

    Args:
        model: the studied Model.
        examples: the Examples analysed.
        adversarial_examples: optional AdversarialExamples analysed (example images, attack config;
            an analysis that attacks by itself shows its own).
        <analyses>: one input per name of `ANALYSES`.
        blessing, pushed_model: the pushed model's ModelBlessing and PushedModel (`PUSHES`).
        title: page title.
        profile: the pipeline's profile, shown in the configuration.
        paper: rows `{"finding", "paper", "key"}` (`kerasadv.reporting.paper.paper_rows`): the
            paper's figure for a finding and the key of ours among the analyses' findings.
        protocol: sentences on what differs from the paper's protocol.

    Raises:
        SpecError: a paper row's key is among no analysis's declared findings (the component that
            records it is not wired), besides the spec's own checks.
    """

    ANALYSES = ()
    PUSHES = False
    TITLE = "kerasadv study report"
    PAPER = ()
    PROTOCOL = ()
    EXECUTOR = StudyReportExecutor

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        inputs = {
            "model": Input("Model"),
            "examples": Input("Examples"),
            "adversarial_examples": Input("AdversarialExamples", optional=True),
        }
        inputs.update({name: Input(("Analysis", "ActivationThresholds", "Certification")) for name in cls.ANALYSES})
        if cls.PUSHES:
            inputs.update(blessing=Input("ModelBlessing"), pushed_model=Input("PushedModel"))
        parameters = {
            "title": Parameter(str, cls.TITLE),
            "profile": Parameter(str, ""),
            "paper": Parameter(list, list(cls.PAPER), _paper_rule()),
            "protocol": Parameter(list, list(cls.PROTOCOL)),
        }
        cls.SPEC = ComponentSpec(inputs, {"report": "Report"}, parameters)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        declared = self.declared_findings()
        missing = [] if declared is None else missing_findings(self.parameters["paper"], declared)
        if missing:
            analyses = {name: self.inputs[name].producer.id for name in self.ANALYSES}
            raise SpecError(
                f"{self.id}: the paper rows need findings {missing}, which none of its analyses {analyses} "
                f"declares; expected keys among {sorted(declared)}: wire the component that records them."
            )

    def declared_findings(self):
        """The finding keys the analyses' components declare (their `findings`), or None if one declares none."""
        declared = set()
        for name in self.ANALYSES:
            producer = self.inputs[name].producer
            if not hasattr(producer, "findings"):
                return None  # a component of the user's own: its findings are checked when the report runs
            declared.update(producer.findings(producer.parameters, producer.inputs))
        return declared
