"""Where the Evaluator's passes run: in this process ("local") or on Apache Beam ("beam").

Both give the same numbers: clean accuracy from per-class counts, and `evaluate_attack`'s
result for each live attack over the same batches (batch i reseeded with i).
"""

import numpy as np

from kerasadv import attacks, io
from kerasadv.constants import DEFAULT_BATCH_SIZE
from kerasadv.data import tfrecords

RUNNERS = ("local", "beam")
"""Where the passes run: in this process, or on Apache Beam."""

LIVE_ATTACK_COLUMNS = (
    "num_examples",
    "clean_accuracy",
    "adversarial_accuracy",
    "adversarial_accuracy_ci_low",
    "adversarial_accuracy_ci_high",
    "accuracy_on_correct",
    "success_rate",
    "mean_linf",
    "mean_l2",
    "mean_clean_confidence",
    "mean_adversarial_confidence",
)
"""The columns of a live attack's row in evaluation tables (`evaluate_attack`'s figures; the 95% Wilson interval
of the adversarial accuracy over `num_examples` as two columns)."""


def live_row(label, result):
    """A live attack's row of evaluation tables: `{"attack": label, <LIVE_ATTACK_COLUMNS>}`.

    Args:
        label: the attack's table label.
        result: `attacks.evaluate_attack`'s result.

    Returns:
        The row, a dict.

    Example:
    >>> result = {k: 0.5 for k in LIVE_ATTACK_COLUMNS}
    >>> result.update(num_examples=100, adversarial_accuracy_interval=(0.4, 0.6))
    >>> row = live_row("PGD-0.03", result)
    >>> row["attack"], row["num_examples"], row["adversarial_accuracy_ci_low"]
    ('PGD-0.03', 100, 0.4)
    """
    low, high = result["adversarial_accuracy_interval"]
    flat = {**result, "adversarial_accuracy_ci_low": float(low), "adversarial_accuracy_ci_high": float(high)}
    return {"attack": label, **{key: flat[key] for key in LIVE_ATTACK_COLUMNS}}


def local_class_counts(model, directory, split, batch_size=DEFAULT_BATCH_SIZE):
    """Per-class `(correct, total)` counts of the model's predictions on a split, in this process."""
    num_classes = len(tfrecords.read_schema(directory)["class_names"])
    correct, total = np.zeros(num_classes, np.int64), np.zeros(num_classes, np.int64)
    for x, y in tfrecords.read_split(directory, split, batch_size):
        y = y.numpy()
        hit = np.asarray(attacks.predict_labels(model, x)) == y
        correct += np.bincount(y[hit], minlength=num_classes)
        total += np.bincount(y, minlength=num_classes)
    return correct, total


class EvaluationEngine:
    """Runs accuracy and attack passes of one Model artifact, locally or on Beam.

    Args:
        artifact: the Model artifact.
        runner: "local" or "beam".
        beam_options: Beam pipeline flags (runner="beam").
        batch_size: examples per batch (batch i of an attack is reseeded with i).
    """

    def __init__(self, artifact, runner="local", beam_options=(), batch_size=DEFAULT_BATCH_SIZE):
        self.model = io.load_model_artifact(artifact)
        self.path, self.safe_mode = io.model_artifact_file(artifact)
        self.runner, self.beam_options, self.batch_size = runner, list(beam_options), batch_size
        self.engines = set()  # the engines that really ran the Beam passes (`kerasadv.beam.last_run`)

    def accuracy(self, directory, split):
        """`(accuracy, {class: accuracy})` on a split (classes without examples left out)."""
        if self.runner == "beam":
            from kerasadv import beam

            correct, total = beam.class_counts(
                self.path, directory, split, self.batch_size, self.beam_options, self.safe_mode
            )
            self.engines.add(beam.last_run().engine)
        else:
            correct, total = local_class_counts(self.model, directory, split, self.batch_size)
        per_class = {c: float(correct[c] / total[c]) for c in np.flatnonzero(total)}
        return float(correct.sum() / max(total.sum(), 1)), per_class

    def robust(self, config, directory, split, limit=0):
        """`attacks.evaluate_attack`'s result for `config` on a split (its first `limit` examples; 0: all)."""
        if self.runner == "beam":
            from kerasadv import beam

            result = beam.evaluate_attack(
                self.path,
                config,
                directory,
                split,
                DEFAULT_BATCH_SIZE,
                limit or None,
                self.beam_options,
                self.safe_mode,
            )
            self.engines.add(beam.last_run().engine)
            return result
        if limit:
            data = tfrecords.first_examples(directory, split, limit)
        else:
            data = tfrecords.read_split(directory, split, DEFAULT_BATCH_SIZE)
        return attacks.evaluate_attack(attacks.get(config), self.model, data, progress=False)
