"""The one streaming helper: run an attack over a whole data set, batch by batch.

Memory stays bounded by one batch: results are yielded (or handed to a consumer that
writes them) and never collected here. The data forms accepted (arrays, tensors, variables,
lists, `tf.data` batched or not, TFDS dicts) are `kerasadv.data.forms`'.
"""

import keras

from kerasadv.attacks.registry import get
from kerasadv.constants import DEFAULT_BATCH_SIZE
from kerasadv.data.forms import as_batches, num_batches

__all__ = ["as_batches", "attack_batch", "stream"]  # as_batches: the data forms every entry point accepts


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
        data: an `(x, y)` pair or a `tf.data.Dataset` of `(images, labels)` (any form
            `kerasadv.data.forms.as_batches` accepts).
        eps: override of the attack's eps for this pass.
        batch_size: batch size of array pairs and of unbatched data sets.
        progress: show a Keras progress bar (one step per batch).

    Yields:
        dicts of eager tensors, one per batch.

    Raises:
        AttackInputError: `data` is of a form no entry point accepts (names it and the fix).

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
    bar = keras.utils.Progbar(num_batches(dataset), unit_name="batch") if progress else None
    for index, (x, y) in enumerate(dataset):
        yield attack_batch(attack, model, x, y, index, eps)
        if bar is not None:
            bar.update(index + 1)
