"""The transfer study's components: TransferAnalysis (how a source's examples transfer to a target) and its report."""

import pandas as pd

from kerasadv import io
from kerasadv.analysis import transfer
from kerasadv.components.study_report import StudyReport
from kerasadv.data.paired import paired_examples
from kerasadv.errors import DataSourceError
from kerasadv.orchestration import BaseComponent, BaseExecutor, ComponentSpec, Input, Parameter
from kerasadv.orchestration.component import one_of
from kerasadv.orchestration.executor import output
from kerasadv.pipelines.efficientnet_transfer import paper
from kerasadv.reporting import Sections


class TransferAnalysisExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        out, adversarial, split = output(output_dict), input_dict["adversarial_examples"], exec_properties["split"]
        attacked_splits = sorted(adversarial.properties["splits"])
        if split not in attacked_splits:
            raise DataSourceError(f"split {split!r} was not attacked: the AdversarialExamples hold {attacked_splits}.")
        x, x_adv, y = paired_examples(input_dict["examples"].uri, adversarial.uri, split)
        models = {name: io.load_model_artifact(input_dict[f"{name}_model"]) for name in transfer.NETWORKS}
        sections = Sections(out, TransferAnalysis.findings(exec_properties, input_dict))
        budget = adversarial.properties["attack"]["config"].get("steps")
        seconds = adversarial.properties.get("seconds_per_example", {})
        rows = {
            s: transfer.attack_summary(adversarial.uri, s, budget, seconds.get(s))
            for s in adversarial.properties["splits"]
        }
        sections.table(
            "attack",
            "The attack on the source network",
            pd.DataFrame(list(rows.values())),
            f"{adversarial.properties['attack_label']} against the source until each image is misclassified "
            "(failed_at_budget: images whose step budget ran out first; seconds_per_image: the split's wall "
            "time over its images, reading and writing records included).",
        )
        table, probabilities = transfer.transfer_table(models, x, x_adv, y)
        sections.table(
            "transfer",
            "Transfer to the target network: accuracy and loss",
            table,
            "The target before (original) and after retraining on the adversarial training set, on the original "
            "and the adversarial test set.",
        )
        confidence = transfer.confidence_table(
            probabilities["original", "original"], probabilities["original", "adversarial"], y
        )
        sections.table(
            "confidence",
            "Original confidence where the transferred attack succeeds or fails",
            confidence,
            "Mean softmax confidence of the original network on the clean image, over the images it classifies "
            "correctly, split by whether it misclassifies the adversarial version.",
        )
        sections.update(transfer.transfer_findings(rows[split], table, confidence))
        sections.save()


class TransferAnalysis(BaseComponent):
    """How adversarial examples made on a source network transfer to a target network.

    Tables: the attack's record on the source per split (success, steps, time per image), the
    target's accuracy and loss on the original and adversarial test sets before and after
    retraining, and the target's original confidence where the transferred attack succeeds or
    fails; each number is also a finding for the study report.

    Args:
        original_model: the target network.
        retrained_model: the target retrained on the adversarial training set.
        examples: the clean Examples.
        adversarial_examples: their AdversarialExamples (made on the source by AttackGen).
        split: the evaluated split ("eval").
    """

    CODE_MODULES = (transfer,)
    SPEC = ComponentSpec(
        inputs={
            "original_model": Input("Model"),
            "retrained_model": Input("Model"),
            "examples": Input("Examples"),
            "adversarial_examples": Input("AdversarialExamples"),
        },
        outputs={"analysis": "Analysis"},
        parameters={"split": Parameter(str, "eval", one_of("train", "eval"))},
    )
    EXECUTOR = TransferAnalysisExecutor

    @staticmethod
    def findings(parameters, inputs):
        """The source's attack record, both networks' accuracy and loss per set, the confidences."""
        return list(transfer.FINDINGS)


class TransferStudyReport(StudyReport):
    """The study's report: the transfer analysis, the filter sweep and the push, beside the paper's figures."""

    ANALYSES = ("transfer", "filter_sweep")
    PUSHES = True
    TITLE, PAPER, PROTOCOL = paper.TITLE, paper.PAPER, paper.PROTOCOL
