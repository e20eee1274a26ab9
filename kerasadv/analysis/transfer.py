"""Transfer of adversarial examples (the EfficientNet-B0 setup): made on a source network, tried on a target.

The source's attack record per split (success, steps, time per image); the target's accuracy
and loss on the original and the adversarial set, before and after retraining; and the target's
original confidence where the transferred attack succeeds or fails.
"""

import numpy as np
import pandas as pd

from kerasadv.attacks.metrics import clean_accuracy
from kerasadv.constants import DEFAULT_BATCH_SIZE
from kerasadv.data import tfrecords
from kerasadv.models.logits import check_logits

NETWORKS = ("original", "retrained")
SETS = ("original", "adversarial")
OUTCOMES = ("succeeds", "fails")


def accuracy_and_loss(model, x, y, batch_size=DEFAULT_BATCH_SIZE):
    """Accuracy (the one counter, `clean_accuracy`) and mean cross-entropy of a logits model on
    `(x, y)`, and its softmax outputs.

    Returns:
        `(accuracy, loss, probabilities)`.

    Raises:
        ModelError: the model ends in softmax (its outputs would be read as logits), has one
            logit, or several inputs or outputs.

    Example:
    >>> import kerasadv
    >>> x = np.zeros((4, 32, 32, 3), np.float32)
    >>> accuracy, loss, probabilities = accuracy_and_loss(kerasadv.models.simple_cnn(), x, np.arange(4))
    >>> probabilities.shape, 0.0 <= accuracy <= 1.0, loss > 0
    ((4, 10), True, True)
    """
    check_logits(model)
    logits = model.predict(x, batch_size=batch_size, verbose=0).astype(np.float64)
    shifted = logits - logits.max(1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    labels = np.asarray(y, int)
    loss = -log_probabilities[np.arange(len(labels)), labels].mean()
    return clean_accuracy(model, (x, labels), batch_size), float(loss), np.exp(log_probabilities)


def attack_summary(directory, split, step_budget=None, seconds_per_image=None):
    """The attack's record on one split of an AdversarialExamples set (its per-example extras).

    Args:
        directory: the AdversarialExamples directory (records with `steps`, `success` and `linf`).
        split: the split.
        step_budget: the attack's step budget (None: unbounded).
        seconds_per_image: the split's wall time over its images, shown as given.

    Returns:
        A dict: split, examples, success_rate, mean_steps, max_steps, step_budget,
        failed_at_budget (unfooled images whose budget ran out), mean_linf, seconds_per_image.
    """
    facts = {"steps": [], "success": [], "linf": []}
    for _, _, extras in tfrecords.read_split(directory, split, DEFAULT_BATCH_SIZE, with_extras=True):
        for name in facts:
            facts[name].append(extras[name].numpy())
    steps, success, linf = (np.concatenate(facts[n]) for n in ("steps", "success", "linf"))
    return {
        "split": split,
        "examples": len(steps),
        "success_rate": float(success.mean()),
        "mean_steps": float(steps.mean()),
        "max_steps": int(steps.max()),
        "step_budget": step_budget,
        "failed_at_budget": int(((success < 0.5) & (steps >= (step_budget or np.inf))).sum()),
        "mean_linf": float(linf.mean()),
        "seconds_per_image": seconds_per_image,
    }


def transfer_table(models, x, x_adv, y):
    """Accuracy and loss of each network on the original and the adversarial set.

    Args:
        models: `{network name: logits model}`.
        x, x_adv, y: the original images, their adversarial versions and the labels.

    Returns:
        `(table, probabilities)`: a DataFrame with columns network, set, accuracy, loss; and
        `{(network, set): softmax outputs}`.
    """
    rows, probabilities = [], {}
    for network, model in models.items():
        for set_name, images in zip(SETS, (x, x_adv)):
            accuracy, loss, probabilities[network, set_name] = accuracy_and_loss(model, images, y)
            rows.append({"network": network, "set": set_name, "accuracy": accuracy, "loss": loss})
    return pd.DataFrame(rows), probabilities


def confidence_table(original, adversarial, y):
    """Mean original-image confidence of the target where the transferred attack succeeds / fails.

    Counted on the examples the target classifies correctly: the attack succeeds when the
    target misclassifies the adversarial version. A mean over no example is NaN.

    Example:
    >>> original = np.array([[0.9, 0.1], [0.6, 0.4]]); adversarial = np.array([[0.2, 0.8], [0.7, 0.3]])
    >>> confidence_table(original, adversarial, np.array([0, 0])).mean_original_confidence.tolist()
    [0.9, 0.6]
    """
    correct = original.argmax(1) == y
    fooled = adversarial.argmax(1) != y
    confidence = original.max(1)
    rows = []
    for outcome, subset in zip(OUTCOMES, (correct & fooled, correct & ~fooled)):
        mean = float(confidence[subset].mean()) if subset.any() else float("nan")
        rows.append({"transferred attack": outcome, "examples": int(subset.sum()), "mean_original_confidence": mean})
    return pd.DataFrame(rows)


FINDINGS = (
    "source_success_rate",
    "source_mean_steps",
    "source_seconds_per_image",
    *(f"{n}_{s}_{m}" for n in NETWORKS for s in SETS for m in ("accuracy", "loss")),
    *(f"{n}_accuracy_drop" for n in NETWORKS),
    *(f"confidence_where_transfer_{outcome}" for outcome in OUTCOMES),
)
"""The keys of `transfer_findings`."""


def transfer_findings(attack, transfer, confidence):
    """The transfer study's numbers (keys: `FINDINGS`).

    Args:
        attack: the evaluated split's `attack_summary`.
        transfer: `transfer_table`'s table.
        confidence: `confidence_table`'s table.

    Returns:
        `{key: value}`: the source's success rate, mean steps and seconds per image; each
        network's accuracy and loss per set and its accuracy drop; the confidences.
    """
    findings = {f"source_{name}": attack[name] for name in ("success_rate", "mean_steps", "seconds_per_image")}
    for row in transfer.itertuples():
        findings[f"{row.network}_{row.set}_accuracy"] = row.accuracy
        findings[f"{row.network}_{row.set}_loss"] = row.loss
    for network, rows in transfer.groupby("network"):
        accuracy = rows.set_index("set")["accuracy"]
        findings[f"{network}_accuracy_drop"] = accuracy["original"] - accuracy["adversarial"]
    for outcome, value in zip(confidence["transferred attack"], confidence["mean_original_confidence"]):
        findings[f"confidence_where_transfer_{outcome}"] = value
    return findings
