"""Retraining on a fixed, pre-generated adversarial data set: one mixed `tf.data` pipeline."""

import tensorflow as tf


def mix_datasets(clean, adversarial, batch_size=128, adversarial_fraction=None, seed=0):
    """Interleaves a clean and an adversarial data set into one shuffled, batched data set.

    The "retrained network" of the EfficientNet setup is then a plain
    `model.fit(mix_datasets(clean_ds, adv_ds), epochs=...)`.

    Args:
        clean: batched `(images, labels)` data set.
        adversarial: batched `(adversarial images, labels)` data set (e.g. from `attacks.stream`
            or the AttackGen component).
        batch_size: batch size of the result.
        adversarial_fraction: expected fraction of adversarial examples per batch; None
            draws in proportion to the two data sets' sizes (when known), else 0.5.
        seed: seed of the draw and of the shuffle.

    Returns:
        A batched `(images, labels)` data set that draws from both until both are exhausted.

    Example:
    >>> a = tf.data.Dataset.from_tensors((tf.zeros((4, 2, 2, 1)), tf.zeros(4, tf.int32)))
    >>> b = tf.data.Dataset.from_tensors((tf.ones((4, 2, 2, 1)), tf.ones(4, tf.int32)))
    >>> x, y = next(iter(mix_datasets(a, b, batch_size=8)))
    >>> int(tf.reduce_sum(y))
    4
    """
    clean, adversarial = clean.unbatch(), adversarial.unbatch()
    if adversarial_fraction is None:
        sizes = [int(clean.cardinality()), int(adversarial.cardinality())]
        adversarial_fraction = sizes[1] / sum(sizes) if min(sizes) > 0 else 0.5
    mixed = tf.data.Dataset.sample_from_datasets(
        [clean, adversarial], [1.0 - adversarial_fraction, adversarial_fraction], seed=seed)
    return mixed.shuffle(10 * batch_size, seed=seed).batch(batch_size).prefetch(tf.data.AUTOTUNE)
