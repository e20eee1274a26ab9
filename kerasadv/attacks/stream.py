"""The one streaming helper: run an attack over a whole data set, batch by batch.

Memory stays bounded by one batch: results are yielded (or handed to a consumer that
writes them) and never collected here.
"""

import keras
import tensorflow as tf

from kerasadv.errors import AttackInputError


def as_batches(data, batch_size=256):
    """A batched `(images, labels)` data set from a data set or an `(x, y)` pair of arrays."""
    if isinstance(data, tf.data.Dataset):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return tf.data.Dataset.from_tensor_slices(tuple(data)).batch(batch_size)
    raise AttackInputError(
        f"data must be a tf.data.Dataset of (images, labels) batches or an (x, y) pair, got {type(data).__name__}.")


def _num_batches(dataset):
    count = int(dataset.cardinality())
    return count if count >= 0 else None


def stream(attack, model, data, eps=None, batch_size=256, progress=True):
    """Yields, per batch, `{"x", "y", "x_adv", ...}` with the attack's extras (steps, targets).

    Args:
        attack: a `kerasadv.attacks.Attack`.
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
    dataset = as_batches(data, batch_size)
    bar = keras.utils.Progbar(_num_batches(dataset), unit_name="batch") if progress else None
    for index, (x, y) in enumerate(dataset):
        out = attack.run(model, x, y, eps)
        yield {"x": x, "y": y, **out}
        if bar is not None:
            bar.update(index + 1)
