"""TransferAnalysis: a source's attack record, and how its examples transfer to a target and its retrained version."""

import numpy as np
import pandas as pd

from kerasadv import io
from kerasadv.attacks.metrics import clean_accuracy
from kerasadv.components.example_arrays import SPLIT, paired_examples
from kerasadv.components.sections import Sections
from kerasadv.constants import DEFAULT_BATCH_SIZE
from kerasadv.data import tfrecords
from kerasadv.errors import DataSourceError
from kerasadv.orchestration import BaseComponent, ComponentSpec, Input

NETWORKS = ("original", "retrained")
SETS = ("original", "adversarial")


def accuracy_and_loss(model, x, y, batch_size=DEFAULT_BATCH_SIZE):
    """Accuracy (the one counter, `clean_accuracy`) and mean cross-entropy of a logits model on
    `(x, y)`, and its softmax outputs.

    Returns:
        `(accuracy, loss, probabilities)`.

    Example:
    >>> import numpy as np, kerasadv
    >>> x = np.zeros((4, 32, 32, 3), np.float32)
    >>> accuracy, loss, probabilities = accuracy_and_loss(kerasadv.models.simple_cnn(), x, np.arange(4))
    >>> probabilities.shape, 0.0 <= accuracy <= 1.0, loss > 0
    ((4, 10), True, True)
    """
    logits = model.predict(x, batch_size=batch_size, verbose=0).astype(np.float64)
    shifted = logits - logits.max(1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    labels = np.asarray(y, int)
    loss = -log_probabilities[np.arange(len(labels)), labels].mean()
    return clean_accuracy(model, (x, labels), batch_size), float(loss), np.exp(log_probabilities)


def attack_table(adversarial):
    """Per attacked split: examples, success, steps (mean, max, spent budget without success), Linf, seconds."""
    budget = adversarial.properties["attack"]["config"].get("steps")
    rows = []
    for split, count in adversarial.properties["splits"].items():
        facts = {"steps": [], "success": [], "linf": []}
        for _, _, extras in tfrecords.read_split(adversarial.uri, split, DEFAULT_BATCH_SIZE, with_extras=True):
            for name in facts:
                facts[name].append(extras[name].numpy())
        steps, success, linf = (np.concatenate(facts[n]) for n in ("steps", "success", "linf"))
        rows.append(
            {
                "split": split,
                "examples": count,
                "success_rate": float(success.mean()),
                "mean_steps": float(steps.mean()),
                "max_steps": int(steps.max()),
                "step_budget": budget,
                "failed_at_budget": int(((success < 0.5) & (steps >= (budget or np.inf))).sum()),
                "mean_linf": float(linf.mean()),
                "seconds_per_image": adversarial.properties.get("seconds_per_example", {}).get(split),
            }
        )
    return pd.DataFrame(rows)


def transfer_table(models, x, x_adv, y):
    """Accuracy and loss of each network on the original and the adversarial set; also the probabilities."""
    rows, probabilities = [], {}
    for network, model in models.items():
        for set_name, images in zip(SETS, (x, x_adv)):
            accuracy, loss, probabilities[network, set_name] = accuracy_and_loss(model, images, y)
            rows.append({"network": network, "set": set_name, "accuracy": accuracy, "loss": loss})
    return pd.DataFrame(rows), probabilities


def confidence_table(original, adversarial, y):
    """Mean original-image confidence of the target where the transferred attack succeeds / fails.

    Counted on the examples the target classifies correctly: the attack succeeds when the
    target misclassifies the adversarial version.
    """
    correct = original.argmax(1) == y
    fooled = adversarial.argmax(1) != y
    confidence = original.max(1)
    rows = []
    for outcome, subset in (("succeeds", correct & fooled), ("fails", correct & ~fooled)):
        mean = float(confidence[subset].mean()) if subset.any() else float("nan")
        rows.append({"transferred attack": outcome, "examples": int(subset.sum()), "mean_original_confidence": mean})
    return pd.DataFrame(rows)


class TransferAnalysisExecutor:
    def Do(self, input_dict, output_dict, exec_properties):
        out, adversarial = output_dict["analysis"], input_dict["adversarial_examples"]
        split = exec_properties["split"]
        attacked_splits = sorted(adversarial.properties["splits"])
        if split not in attacked_splits:
            raise DataSourceError(f"split {split!r} was not attacked: the AdversarialExamples hold {attacked_splits}.")
        x, x_adv, y = paired_examples(input_dict["examples"], adversarial, split)
        models = {name: io.load_model_artifact(input_dict[f"{name}_model"]) for name in NETWORKS}
        sections = Sections(out)
        attack = attack_table(adversarial)
        sections.table(
            "attack",
            "The attack on the source network",
            attack,
            f"{adversarial.properties['attack_label']} against the source until each image is misclassified "
            "(failed_at_budget: images whose step budget ran out first; seconds_per_image: the split's wall "
            "time over its images, reading and writing records included).",
        )
        transfer, probabilities = transfer_table(models, x, x_adv, y)
        sections.table(
            "transfer",
            "Transfer to the target network: accuracy and loss",
            transfer,
            "The target before (original) and after retraining on the adversarial training set, on the original "
            "and the adversarial test set.",
        )
        confidence = confidence_table(
            probabilities["original", "original"], probabilities["original", "adversarial"], y
        )
        sections.table(
            "confidence",
            "Original confidence where the transferred attack succeeds or fails",
            confidence,
            "Mean softmax confidence of the original network on the clean image, over the images it classifies "
            "correctly, split by whether it misclassifies the adversarial version.",
        )
        eval_attack = attack.set_index("split").loc[exec_properties["split"]]
        sections.finding("source_success_rate", eval_attack["success_rate"])
        sections.finding("source_mean_steps", eval_attack["mean_steps"])
        sections.finding("source_seconds_per_image", eval_attack["seconds_per_image"])
        for row in transfer.itertuples():
            sections.finding(f"{row.network}_{row.set}_accuracy", row.accuracy)
            sections.finding(f"{row.network}_{row.set}_loss", row.loss)
        for network in NETWORKS:
            drop = transfer.query(f"network == '{network}'").set_index("set")["accuracy"]
            sections.finding(f"{network}_accuracy_drop", drop["original"] - drop["adversarial"])
        for outcome, value in zip(confidence["transferred attack"], confidence["mean_original_confidence"]):
            sections.finding(f"confidence_where_transfer_{outcome}", value)
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

    SPEC = ComponentSpec(
        inputs={
            "original_model": Input("Model"),
            "retrained_model": Input("Model"),
            "examples": Input("Examples"),
            "adversarial_examples": Input("AdversarialExamples"),
        },
        outputs={"analysis": "Analysis"},
        parameters={"split": SPLIT},
    )
    EXECUTOR = TransferAnalysisExecutor
