"""Retraining on a fixed, pre-generated adversarial data set: one mixed `tf.data` pipeline."""

import tensorflow as tf

MAX_SHUFFLE_EXAMPLES = 20_000  # per input: ~240 MB of float32 32x32x3 images


def mix_datasets(clean, adversarial, batch_size=128, adversarial_fraction=None, seed=0, sizes=None):
    """Interleaves a clean and an adversarial data set into one shuffled, batched data set.

    The "retrained network" of the EfficientNet setup is then a plain
    `model.fit(mix_datasets(clean_ds, adv_ds), epochs=...)`. Each input is shuffled on its
    own (a buffer that covers it, up to `MAX_SHUFFLE_EXAMPLES` examples) before the draw, so
    the batches mix classes and both sets whatever order the inputs come in (a class-sorted
    folder, an attack output in input order); the order changes every epoch.

    Args:
        clean: batched `(images, labels)` data set.
        adversarial: batched `(adversarial images, labels)` data set (e.g. from `attacks.stream`
            or the AttackGen component).
        batch_size: batch size of the result.
        adversarial_fraction: expected fraction of adversarial examples per batch; None
            draws in proportion to the two data sets' sizes (when known), else 0.5.
        seed: seed of the draw and of the shuffles.
        sizes: `(clean, adversarial)` example counts when known (tf.data cannot count a
            batched set's examples); None counts them in one pass over the labels. They size
            the shuffle buffers, the default fraction and the result's cardinality, so `fit`
            knows each epoch's length (no "input ran out of data" first epoch).

    Returns:
        A batched `(images, labels)` data set that draws from both until both are exhausted
        (its cardinality is set when both sizes are known).

    Example:
    >>> a = tf.data.Dataset.from_tensors((tf.zeros((4, 2, 2, 1)), tf.zeros(4, tf.int32)))
    >>> b = tf.data.Dataset.from_tensors((tf.ones((4, 2, 2, 1)), tf.ones(4, tf.int32)))
    >>> x, y = next(iter(mix_datasets(a, b, batch_size=8)))
    >>> int(tf.reduce_sum(y))
    4
    """
    if sizes is None:
        sizes = [
            int(part.reduce(0, lambda count, batch: count + tf.shape(batch[1])[0])) for part in (clean, adversarial)
        ]
    if adversarial_fraction is None:
        adversarial_fraction = sizes[1] / sum(sizes) if min(sizes) > 0 else 0.5
    buffers = [max(1, min(n, MAX_SHUFFLE_EXAMPLES)) for n in sizes]
    clean, adversarial = (
        part.unbatch().shuffle(buffer, seed=seed + i, reshuffle_each_iteration=True)
        for i, (part, buffer) in enumerate(zip((clean, adversarial), buffers))
    )
    mixed = tf.data.Dataset.sample_from_datasets(
        [clean, adversarial], [1.0 - adversarial_fraction, adversarial_fraction], seed=seed
    )
    mixed = mixed.batch(batch_size).apply(tf.data.experimental.assert_cardinality(-(-sum(sizes) // batch_size)))
    return mixed.prefetch(tf.data.AUTOTUNE)
