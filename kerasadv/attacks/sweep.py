"""Epsilon sweeps as one call: eps -> adversarial accuracy / success rate, as a table.

For FGSM the sweep takes one gradient per batch and one forward pass per eps (the signed
gradient does not depend on eps); other attacks re-run per eps.
"""

import numpy as np
import pandas as pd
import tensorflow as tf

from kerasadv.attacks import validation
from kerasadv.attacks.compiled import PerModelFunction
from kerasadv.attacks.fgsm import FGSM
from kerasadv.attacks.gradients import input_gradient
from kerasadv.attacks.metrics import evaluate_attack
from kerasadv.attacks.stream import as_batches
from kerasadv.constants import DEFAULT_BATCH_SIZE
from kerasadv.models.logits import check_logits, num_classes
from kerasadv.models.structure import check_structure


def _fgsm_counts(model, x, y, eps_values):
    """Counts of [clean correct, adv correct per eps, adv correct & clean] of one batch."""
    grad, logits = input_gradient(model, x, y)
    clean = tf.equal(tf.argmax(logits, -1, output_type=tf.int32), y)
    direction = tf.sign(grad)
    adv_correct, adv_on_clean = [], []
    for i in range(eps_values.shape[0]):  # E is static: one forward per eps
        x_adv = tf.clip_by_value(x + eps_values[i] * direction, 0.0, 1.0)
        correct = tf.equal(tf.argmax(model(x_adv, training=False), -1, output_type=tf.int32), y)
        adv_correct.append(tf.reduce_sum(tf.cast(correct, tf.int32)))
        adv_on_clean.append(tf.reduce_sum(tf.cast(correct & clean, tf.int32)))
    return tf.reduce_sum(tf.cast(clean, tf.int32)), tf.stack(adv_correct), tf.stack(adv_on_clean)


_FGSM_COUNTS = PerModelFunction(_fgsm_counts, batched=(0, 1))


def _fgsm_sweep(attack, model, data, eps_values, batch_size):
    eps_t = tf.constant(eps_values, tf.float32)
    n = clean = 0
    adv = np.zeros(len(eps_values))
    adv_on_clean = np.zeros(len(eps_values))
    for x, y in as_batches(data, batch_size):
        x = validation.check_images(x)
        y = validation.check_labels(y, x.shape[0], num_classes(model, x))
        c, a, ac = _FGSM_COUNTS(model, x, y, eps_t)
        n, clean = n + x.shape[0], clean + int(c)
        adv, adv_on_clean = adv + a.numpy(), adv_on_clean + ac.numpy()
    validation.check_not_empty(n)
    return pd.DataFrame(
        {
            "eps": eps_values,
            "clean_accuracy": clean / max(n, 1),
            "adversarial_accuracy": adv / max(n, 1),
            "accuracy_on_correct": adv_on_clean / max(clean, 1),
            "success_rate": (clean - adv_on_clean) / max(clean, 1),
        }
    )


def eps_sweep(attack, model, data, eps_values, batch_size=DEFAULT_BATCH_SIZE, progress=False):
    """Accuracy of `model` under `attack` for each eps of `eps_values`, as a DataFrame.

    Untargeted FGSM takes the fast path (one gradient, E forward passes per batch); any
    other attack is evaluated once per eps with `evaluate_attack`.

    Args:
        attack: a `kerasadv.attacks.Attack`; its eps is replaced by each value.
        model: the logits model.
        data: a batched `(images, labels)` data set or an `(x, y)` pair.
        eps_values: the radii to sweep.
        batch_size: batch size for array pairs.
        progress: progress bar per eps (slow path).

    Returns:
        DataFrame with columns eps, clean_accuracy, adversarial_accuracy,
        accuracy_on_correct, success_rate (one row per eps).

    Example:
    >>> import numpy as np, kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> x = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
    >>> table = eps_sweep(FGSM(0.0), model, (x, np.zeros(8, int)), [0.0, 0.01, 0.1])
    >>> list(table["eps"].round(2))
    [0.0, 0.01, 0.1]
    """
    check_structure(model)
    check_logits(model)  # the fast path does not go through the attack's own check
    eps_values = [validation.check_eps(e, attack.norm) for e in eps_values]
    if type(attack) is FGSM and not attack.targeted and not attack.training:
        return _fgsm_sweep(attack, model, data, eps_values, batch_size)
    rows = []
    for eps in eps_values:
        result = evaluate_attack(attack, model, data, eps, batch_size, progress)
        rows.append(
            {
                "eps": eps,
                **{
                    k: result[k]
                    for k in ("clean_accuracy", "adversarial_accuracy", "accuracy_on_correct", "success_rate")
                },
            }
        )
    return pd.DataFrame(rows)
