"""Training-time augmentation of batched `(images, labels)` data sets: random flip and crop."""

import tensorflow as tf


def augment(dataset, flip=True, crop_padding=0, seed=0):
    """Applies per-image random horizontal flips and padded random crops to a batched data set.

    Randomness comes from one seeded generator, so a seeded run is reproducible and each
    epoch sees new crops and flips. Each batch is augmented by a few batched operations (a
    select for the flips, two gathers for the crops), not image by image: on 2 cores the
    per-image version cost about 4 s of every 50,000-image epoch.

    Args:
        dataset: batched `(images in [0, 1], labels)` data set.
        flip: random left-right flips.
        crop_padding: pad each side by this many pixels (reflect) and crop back to the
            original size at a random offset; 0 disables cropping.
        seed: seed of the generator.

    Returns:
        The augmented data set.

    Example:
    >>> ds = tf.data.Dataset.from_tensors((tf.zeros((4, 8, 8, 3)), tf.zeros(4, tf.int32)))
    >>> next(iter(augment(ds, crop_padding=2)))[0].shape
    TensorShape([4, 8, 8, 3])
    """
    if not flip and not crop_padding:
        return dataset
    generator = tf.random.Generator.from_seed(seed)

    def apply(images, labels):
        flip_seed, crop_seed = tf.unstack(generator.make_seeds(2), axis=1)
        if flip:
            images = _random_flips(images, flip_seed)
        if crop_padding:
            images = _random_crops(images, crop_padding, crop_seed)
        return images, labels

    # Sequential map: the generator's state advances in a fixed order (determinism).
    return dataset.map(apply)


def _random_flips(images, seed):
    """Each image of the batch flipped left-right with probability 1/2 (one batched select)."""
    flipped = tf.random.stateless_uniform(tf.shape(images)[:1], seed) < 0.5
    return tf.where(flipped[:, None, None, None], tf.reverse(images, axis=[2]), images)


def _random_crops(images, padding, seed):
    """Each image reflect-padded by `padding` and cropped back at its own random offset (two batched gathers)."""
    shape = tf.shape(images)
    offsets = tf.random.stateless_uniform([shape[0], 2], seed, 0, 2 * padding + 1, dtype=tf.int32)
    padded = tf.pad(images, [[0, 0], [padding, padding], [padding, padding], [0, 0]], "REFLECT")
    rows = offsets[:, :1] + tf.range(shape[1])[None]
    cols = offsets[:, 1:] + tf.range(shape[2])[None]
    padded = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(padded, cols, axis=2, batch_dims=1)
