"""Evaluation of models under attack: clean / adversarial accuracy, success, perturbation size."""

import math
from statistics import NormalDist

import numpy as np
import tensorflow as tf

from kerasadv.attacks.predictions import predict_labels, predict_with_confidence
from kerasadv.attacks.registry import get
from kerasadv.attacks.stream import as_batches, stream
from kerasadv.attacks.validation import check_images, check_labels, check_model_input, check_not_empty
from kerasadv.constants import DEFAULT_BATCH_SIZE
from kerasadv.errors import AttackInputError
from kerasadv.models.logits import num_classes

# The entries of `batch_sums`, in order: counts, then sums over examples.
SUMS = (
    "examples",
    "clean_correct",
    "adversarial_correct",
    "correct_both",
    "successes",
    "linf",
    "l2",
    "clean_confidence",
    "adversarial_confidence",
)


CONFIDENCE = 0.95
"""The level of the intervals kerasadv reports beside accuracies (Wilson score intervals)."""


def wilson_interval(successes, n, confidence=CONFIDENCE):
    """The Wilson score interval of a proportion `successes / n` (an accuracy over `n` examples).

    Unlike the normal approximation `p +- z sqrt(p (1 - p) / n)` it stays inside [0, 1] and
    does not shrink to a point at p = 0 or 1 (Wilson, 1927; Brown, Cai & DasGupta, 2001).

    Args:
        successes: the count (e.g. examples still correct under attack), 0 <= successes <= n.
        n: the number of examples (0: no information, the interval is (0, 1)).
        confidence: the coverage, in (0, 1).

    Returns:
        `(low, high)` floats.

    Raises:
        AttackInputError: counts out of range, or a confidence outside (0, 1).

    Example:
    >>> [round(v, 4) for v in wilson_interval(50, 100)]
    [0.4038, 0.5962]
    >>> wilson_interval(0, 20)[0]
    0.0
    """
    if not 0 < confidence < 1:
        raise AttackInputError(f"confidence must be in (0, 1), got {confidence!r}; expected e.g. 0.95.")
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise AttackInputError(f"successes must lie in [0, n] with n >= 0, got successes={successes} and n={n}.")
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p, ratio = successes / n, z * z / n
    centre = (p + ratio / 2) / (1 + ratio)
    half = z / (1 + ratio) * math.sqrt(p * (1 - p) / n + ratio / (4 * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def accuracy_figure(accuracy, n, interval=None, digits=3):
    """An accuracy as reports show it: "0.480 (n=200, 95% CI 0.411-0.550)".

    Args:
        accuracy: the proportion.
        n: its sample size.
        interval: `(low, high)`; default: the Wilson interval of `accuracy` over `n`.
        digits: decimals.

    Returns:
        The text.

    Example:
    >>> accuracy_figure(0.5, 100)
    '0.500 (n=100, 95% CI 0.404-0.596)'
    """
    low, high = wilson_interval(round(accuracy * n), n) if interval is None else interval
    return f"{accuracy:.{digits}f} (n={n}, {CONFIDENCE:.0%} CI {low:.{digits}f}-{high:.{digits}f})"


def clean_accuracy(model, data, batch_size=DEFAULT_BATCH_SIZE):
    """Accuracy of `model` on `data` (an `(x, y)` pair or a data set: `kerasadv.data.forms`)."""
    correct = total = 0
    for x, y in as_batches(data, batch_size):
        x = check_images(x)
        check_model_input(model, x)
        y = check_labels(y, len(x), num_classes(model, x))  # one-hot / (n, 1) -> sparse
        correct += int(tf.reduce_sum(tf.cast(predict_labels(model, x) == y, tf.int32)))
        total += int(tf.shape(y)[0])
    check_not_empty(total)
    return correct / total


def batch_sums(batch, model):
    """Per-batch counts behind `evaluate_attack`: a float64 vector that sums over batches.

    `batch` is one `attacks.stream` item; the entries (`SUMS`) are the number of examples,
    clean-correct, adversarial-correct, correct in both, successes, the sums of Linf and L2
    perturbations and of the predicted class's softmax probability on clean and adversarial
    images.
    """
    y = check_labels(batch["y"], len(batch["x"]), num_classes(model, batch["x"]))  # as the attack read them
    clean_labels, clean_confidence = predict_with_confidence(model, batch["x"])
    adversarial, adversarial_confidence = predict_with_confidence(model, batch["x_adv"])
    clean = clean_labels == y
    if "targets" in batch:
        success = adversarial == batch["targets"]
    else:
        success = clean & (adversarial != y)
    delta = tf.reshape(batch["x_adv"] - tf.cast(batch["x"], tf.float32), [tf.shape(y)[0], -1])
    return np.array(
        [
            int(tf.shape(y)[0]),
            int(tf.reduce_sum(tf.cast(clean, tf.int32))),
            int(tf.reduce_sum(tf.cast(adversarial == y, tf.int32))),
            int(tf.reduce_sum(tf.cast(clean & (adversarial == y), tf.int32))),
            int(tf.reduce_sum(tf.cast(success, tf.int32))),
            float(tf.reduce_sum(tf.reduce_max(tf.abs(delta), axis=1))),
            float(tf.reduce_sum(tf.norm(delta, axis=1))),
            float(tf.reduce_sum(clean_confidence)),
            float(tf.reduce_sum(adversarial_confidence)),
        ],
        dtype=np.float64,
    )


def evaluate_attack(attack, model, data, eps=None, batch_size=DEFAULT_BATCH_SIZE, progress=True):
    """Streams `attack` over `data` and summarises what it did.

    Success is, untargeted, the fraction of clean-correct examples that the attack makes
    misclassified; targeted, the fraction of examples classified as their target.

    Args:
        attack: a kerasadv attack, or an identifier for `kerasadv.attacks.get`.
        model: the logits model.
        data: an `(x, y)` pair or a `tf.data.Dataset` of `(images, labels)` (any form
            `kerasadv.data.forms.as_batches` accepts).
        eps: override of the attack's eps.
        batch_size: batch size of array pairs and of unbatched data sets.
        progress: show a progress bar.

    Returns:
        dict with `num_examples`, `clean_accuracy`, `adversarial_accuracy`,
        `accuracy_on_correct` (adversarial accuracy on the clean-correct subset),
        `success_rate`, `mean_linf`, `mean_l2`, `mean_clean_confidence` and
        `mean_adversarial_confidence` (softmax probability of the predicted class), and
        `clean_accuracy_interval` and `adversarial_accuracy_interval`: the 95% Wilson score
        intervals `(low, high)` of those accuracies over `num_examples`. An
        ensemble that reports which of its attacks broke each point (`AutoAttack`) adds
        `per_attack` (`attacks.per_attack_table`), and
        its adversarial accuracy is the ensemble's per-point worst case (for "rand": points
        that survived all its passes).

    Example:
    >>> import numpy as np, kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> x = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
    >>> r = evaluate_attack(kerasadv.attacks.FGSM(0.03), model, (x, np.zeros(8, int)), progress=False)
    >>> bool(r["mean_linf"] <= 0.03 + 1e-6), r["num_examples"], len(r["adversarial_accuracy_interval"])
    (True, 8, 2)
    """
    attack = get(attack)
    totals, broken_by = np.zeros(len(SUMS)), []
    for batch in stream(attack, model, data, eps, batch_size, progress):
        totals += batch_sums(batch, model)
        if "broken_by" in batch:
            broken_by.append(np.asarray(batch["broken_by"]))
    return summarise(attack, totals, np.concatenate(broken_by) if broken_by else None)


def summarise(attack, totals, broken_by=None):
    """`evaluate_attack`'s result from summed `batch_sums` (and the ensemble's `broken_by`)."""
    n, clean, adv, adv_on_clean, success, linf, l2, clean_confidence, adversarial_confidence = totals
    check_not_empty(n)
    targeted = getattr(attack, "targeted", False)
    result = {
        "num_examples": int(n),
        "clean_accuracy": clean / max(n, 1),
        "adversarial_accuracy": adv / max(n, 1),
        "accuracy_on_correct": adv_on_clean / max(clean, 1),
        "success_rate": success / max(n if targeted else clean, 1),
        "mean_linf": linf / max(n, 1),
        "mean_l2": l2 / max(n, 1),
        "mean_clean_confidence": clean_confidence / max(n, 1),
        "mean_adversarial_confidence": adversarial_confidence / max(n, 1),
    }
    if broken_by is not None:
        result["per_attack"] = per_attack_table(broken_by, attack.names)
        result["adversarial_accuracy"] = result["per_attack"][-1]["robust_accuracy"]
    for name in ("clean_accuracy", "adversarial_accuracy"):  # counts over n: their 95% Wilson intervals
        result[f"{name}_interval"] = wilson_interval(round(result[name] * n), int(n))
    return result


def per_attack_table(broken_by, names):
    """Rows `{"attack", "broken", "robust_accuracy"}`: what each attack of an ensemble broke, and accuracy after it.

    Args:
        broken_by: `AutoAttack.run`'s per-example indices (any array; -1 is robust).
        names: the attack's `names` ("clean" first).

    Returns:
        list of dicts, one per name, in order; the last `robust_accuracy` is the worst case.

    Example:
    >>> per_attack_table([0, 1, -1, -1], ("clean", "apgd-ce"))[-1]
    {'attack': 'apgd-ce', 'broken': 1, 'robust_accuracy': 0.5}
    """
    broken_by = np.asarray(broken_by)
    total, remaining, rows = max(len(broken_by), 1), len(broken_by), []
    for index, name in enumerate(names):
        broken = int(np.sum(broken_by == index))
        remaining -= broken
        rows.append({"attack": name, "broken": broken, "robust_accuracy": remaining / total})
    return rows
