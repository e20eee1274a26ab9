"""Training-time augmentation of batched `(images, labels)` data sets: random flip and crop."""

import tensorflow as tf


def augment(dataset, flip=True, crop_padding=0, seed=0):
    """Applies per-image random horizontal flips and padded random crops to a batched data set.

    Randomness comes from one seeded generator, so a seeded run is reproducible and each
    epoch sees new crops and flips.

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

    def flip_and_crop(image, image_seed):
        if flip:
            image = tf.image.stateless_random_flip_left_right(image, image_seed)
        if crop_padding:
            size = tf.shape(image)
            padded = tf.pad(image, [[crop_padding] * 2, [crop_padding] * 2, [0, 0]], "REFLECT")
            image = tf.image.stateless_random_crop(padded, size, image_seed + 1)
        return image

    def apply(images, labels):
        seeds = tf.transpose(generator.make_seeds(tf.shape(labels)[0]))
        images = tf.map_fn(lambda args: flip_and_crop(*args), (images, seeds), fn_output_signature=images.dtype)
        return images, labels

    # Sequential map: the generator's state advances in a fixed order (determinism).
    return dataset.map(apply)
