"""Example sets as arrays for the analysis components: a split beside its adversarial version, attacks at an eps."""

import numpy as np

from kerasadv import attacks
from kerasadv.components.evaluation_engine import first_examples
from kerasadv.data import tfrecords
from kerasadv.errors import DataSourceError
from kerasadv.orchestration import Input, Parameter
from kerasadv.orchestration.component import one_of

SIZES = r"\d+(,\d+)*"
"""Pattern of a comma-separated list of data-set sizes ("5,10,50")."""
PAIRED_INPUTS = {
    "model": Input("Model"),
    "examples": Input("Examples"),
    "adversarial_examples": Input("AdversarialExamples"),
}
"""The inputs of an analysis of a model on clean examples and their adversarial versions."""
SPLIT = Parameter(str, "eval", one_of("train", "eval"))
"""The analysed split of such an analysis."""


def visible_perturbation(x, x_adv):
    """Each image's perturbation `x_adv - x` stretched to [0, 1] for display (0.5: unchanged pixel).

    Example:
    >>> x = np.zeros((1, 2, 2, 1), np.float32)
    >>> visible_perturbation(x, x + np.array([0.0, 0.01, -0.02, 0.0]).reshape(1, 2, 2, 1)).ravel().tolist()
    [0.5, 0.75, 0.0, 0.5]
    """
    delta = np.asarray(x_adv, np.float32) - np.asarray(x, np.float32)
    scale = np.maximum(np.abs(delta).max(axis=tuple(range(1, delta.ndim)), keepdims=True), 1e-12)
    return 0.5 + 0.5 * delta / scale


def paired_examples(examples, adversarial, split):
    """`(x, x_adv, y)` of a split and its adversarial version (AttackGen keeps the order).

    Raises:
        DataSourceError: the labels of the two sets differ (not one set and its attacked version).
    """
    count = tfrecords.split_size(adversarial.uri, split)
    x, y = first_examples(examples.uri, split, count)
    x_adv, y_adv = first_examples(adversarial.uri, split, count)
    if not np.array_equal(y, y_adv):
        raise DataSourceError(
            f"the adversarial {split} split ({adversarial.uri}) is not the attacked version of {examples.uri}: "
            "expected the same labels in the same order."
        )
    return x, x_adv, y


def attacked(attack, model, x, y, eps):
    """`attack` at radius `eps` on `(x, y)`, as one array (`attacks.stream`'s batches, reseeded).

    Example:
    >>> import numpy as np, kerasadv
    >>> x = np.full((3, 32, 32, 3), 0.5, np.float32)
    >>> x_adv = attacked(kerasadv.attacks.FGSM(0.0), kerasadv.models.simple_cnn(), x, np.zeros(3, int), 0.1)
    >>> x_adv.shape, float(np.abs(x_adv - x).max()) <= 0.1 + 1e-6
    ((3, 32, 32, 3), True)
    """
    return np.concatenate([b["x_adv"].numpy() for b in attacks.stream(attack, model, (x, y), eps, progress=False)])
