"""Target selection for targeted attacks: given labels, a random other class, or least likely."""

import tensorflow as tf

TARGET_MODES = ("given", "random", "least_likely")


def select_targets(mode, labels, logits, num_classes, seed):
    """Returns int32 target classes.

    Args:
        mode: "given" (the labels passed are the targets), "random" (uniform over the
            classes other than the label) or "least_likely" (argmin of the clean logits).
        labels: int32 labels passed to the attack.
        logits: clean logits (used by "least_likely").
        num_classes: number of classes.
        seed: shape-[2] int seed of the stateless random draw ("random").

    Returns:
        int32 tensor with the shape of `labels`.
    """
    if mode == "given":
        return labels
    if mode == "least_likely":
        return tf.argmin(logits, axis=-1, output_type=tf.int32)
    offset = tf.random.stateless_uniform(tf.shape(labels), seed, 1, num_classes, dtype=tf.int32)
    return (labels + offset) % num_classes
