"""The one gradient every white-box attack takes: d loss / d input, model in inference mode."""

import tensorflow as tf


def per_example_loss(logits, labels):
    """Sparse cross-entropy of `logits` (float32) against int `labels`, one value per example."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=tf.cast(logits, tf.float32))


def input_gradient(model, x, labels, targeted=False, training=False):
    """Gradient of the summed cross-entropy with respect to the input images.

    Untargeted attacks ascend the loss of the true labels; targeted attacks descend the loss
    of the target labels, so the sign is flipped for them. Summing (not averaging) keeps each
    example's gradient independent of the batch size.

    Args:
        model: a Keras model from [0, 1] pixels to logits.
        x: float32 images.
        labels: int32 labels (true labels, or targets when `targeted`).
        targeted: return the gradient of minus the loss.
        training: the mode the model runs in; False keeps BatchNorm statistics untouched.

    Returns:
        `(gradient, logits)`: the gradient with the shape of `x`, and the logits of `x`.
    """
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = model(x, training=training)
        loss = per_example_loss(logits, labels)
        objective = -tf.reduce_sum(loss) if targeted else tf.reduce_sum(loss)
    return tape.gradient(objective, x), logits
