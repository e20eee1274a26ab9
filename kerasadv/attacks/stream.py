"""The one streaming helper: run an attack over a whole data set, batch by batch.

Memory stays bounded by one batch: results are yielded (or handed to a consumer that
writes them) and never collected here.
"""

import keras
import tensorflow as tf

from kerasadv.attacks.registry import get
from kerasadv.constants import DEFAULT_BATCH_SIZE
from kerasadv.errors import AttackInputError


class _ArrayBatches:
    """Batches of an `(x, y)` pair of arrays, sliced in Python (no tf.data threads)."""

    def __init__(self, x, y, batch_size):
        if len(x) != len(y):
            raise AttackInputError(f"x and y must have the same length, got {len(x)} and {len(y)}.")
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        for start in range(0, len(self.x), self.batch_size):
            yield self.x[start : start + self.batch_size], self.y[start : start + self.batch_size]


def as_batches(data, batch_size=DEFAULT_BATCH_SIZE):
    """Iterable of `(images, labels)` batches from a batched data set or an `(x, y)` pair."""
    if isinstance(data, tf.data.Dataset):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return _ArrayBatches(data[0], data[1], batch_size)
    raise AttackInputError(
        f"data must be a tf.data.Dataset of (images, labels) batches or an (x, y) pair, got {type(data).__name__}."
    )


def _num_batches(batches):
    count = len(batches) if isinstance(batches, _ArrayBatches) else int(batches.cardinality())
    return count if count >= 0 else None


def attack_batch(attack, model, x, y, index, eps=None):
    """Batch `index` of a data set under `attack`: `{"x", "y", "x_adv", ...}`, reseeded first.

    The one place a batch is attacked, by `stream` here and by a distributed worker
    (`kerasadv.beam`): batch i comes out the same wherever it runs.
    """
    attack.reseed(index)
    return {"x": x, "y": y, **attack.run(model, x, y, eps)}


def stream(attack, model, data, eps=None, batch_size=DEFAULT_BATCH_SIZE, progress=True):
    """Yields, per batch, `{"x", "y", "x_adv", ...}` with the attack's extras (steps, targets).

    A seeded attack is reseeded before batch i (`Attack.reseed(i)`): the same data set gives
    the same adversarial examples on every pass, and on any runner that keeps the batching.

    Args:
        attack: a kerasadv attack, or an identifier for `kerasadv.attacks.get`.
        model: the attacked logits model.
        data: a batched `(images, labels)` data set, or an `(x, y)` pair of arrays.
        eps: override of the attack's eps for this pass.
        batch_size: batch size used when `data` is an array pair.
        progress: show a Keras progress bar (one step per batch).

    Yields:
        dicts of eager tensors, one per batch.

    Example:
    >>> import numpy as np, kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> x = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
    >>> batches = list(stream(kerasadv.attacks.FGSM(0.01), model, (x, np.zeros(8, int)),
    ...                       batch_size=4, progress=False))
    >>> len(batches), batches[0]["x_adv"].shape
    (2, TensorShape([4, 32, 32, 3]))
    """
    attack = get(attack)  # a name or config works too
    dataset = as_batches(data, batch_size)
    bar = keras.utils.Progbar(_num_batches(dataset), unit_name="batch") if progress else None
    for index, (x, y) in enumerate(dataset):
        yield attack_batch(attack, model, x, y, index, eps)
        if bar is not None:
            bar.update(index + 1)
