"""Attacked batches as records: the adversarial images and their per-example facts.

What AttackGen writes and what its Beam job computes per batch, in one place, so that the
local run and the Beam run write the same records.
"""

import numpy as np
import tensorflow as tf

from kerasadv.attacks.predictions import predict_labels
from kerasadv.attacks.stream import stream


def attack_steps(attack):
    """Gradient steps per example of a fixed-step attack (1 for FGSM and noise)."""
    return getattr(attack, "steps", 1)


RECORD_FACTS = ("l2", "linf", "steps", "success")
"""The per-example facts of an AdversarialExamples record, beside `image` and `label`."""


def adversarial_record(attack, model, batch):
    """The AdversarialExamples record of one attacked batch (`attacks.stream` item).

    Returns arrays: `image` (x_adv), `label`, and the per-example facts `success` (the model
    misclassifies x_adv), `steps`, `linf`, `l2`.
    """
    x_adv, y = batch["x_adv"], tf.cast(batch["y"], tf.int32)
    fooled = predict_labels(model, x_adv) != y
    delta = tf.reshape(x_adv - batch["x"], [tf.shape(y)[0], -1])
    steps = batch.get("steps", tf.fill(tf.shape(y), attack_steps(attack)))
    return {
        "image": x_adv.numpy(),
        "label": y.numpy(),
        "success": fooled.numpy().astype(np.float32),
        "steps": np.asarray(steps, np.float32),
        "linf": tf.reduce_max(tf.abs(delta), 1).numpy(),
        "l2": tf.norm(delta, axis=1).numpy(),
    }


def adversarial_batches(attack, model, dataset, successes, out_of_budget=None):
    """Streams the attack over `dataset`, yielding `adversarial_record`s.

    Appends each batch's success flags to `successes`, and to `out_of_budget` (a list) the flags
    of examples an early-stopping attack left unfooled when their step budget ran out.
    """
    for batch in stream(attack, model, dataset, progress=True):
        record = adversarial_record(attack, model, batch)
        successes.append(record["success"] > 0)
        if out_of_budget is not None and "steps" in batch:
            out_of_budget.append((record["success"] == 0) & (record["steps"] >= attack_steps(attack)))
        yield record
