"""The one gradient every white-box attack takes: d loss / d input, model in inference mode."""

import tensorflow as tf

from kerasadv.errors import ModelError


def per_example_loss(logits, labels):
    """Sparse cross-entropy of `logits` (float32) against int `labels`, one value per example."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=tf.cast(logits, tf.float32))


def expected_loss(model, x, labels, loss_fn, training=False):
    """Per-example `loss_fn(logits, labels)` and the logits of `x`.

    For a randomized model wrapped by `attacks.EOT` (it carries `eot_samples` and
    `eot_model`), both are expectations over the model's randomness: the batch is tiled
    `eot_samples` times through one forward pass and the per-sample losses and logits are
    averaged, so the gradient is the mean of the samples' gradients (Athalye et al. 2018).
    """
    samples = getattr(model, "eot_samples", None)
    if samples is None:
        logits = model(x, training=training)
        return loss_fn(logits, labels), logits
    logits = model.eot_model(tf.tile(x, [samples, 1, 1, 1]), training=training)
    losses = loss_fn(logits, tf.tile(labels, [samples] + [1] * (labels.shape.rank - 1)))  # (n,) or (n, 2)
    mean_logits = tf.reduce_mean(tf.reshape(logits, [samples, -1, tf.shape(logits)[-1]]), axis=0)
    return tf.reduce_mean(tf.reshape(losses, [samples, -1]), axis=0), mean_logits


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
        loss, logits = expected_loss(model, x, labels, per_example_loss, training)
        objective = -tf.reduce_sum(loss) if targeted else tf.reduce_sum(loss)
    return checked_gradient(tape.gradient(objective, x), model), logits


def checked_gradient(gradient, model):
    """`gradient`, or a ModelError when the model has none with respect to its input.

    A missing input gradient means a non-differentiable step (`tf.numpy_function`, rounding,
    JPEG compression...): a gradient attack would silently report the model as robust.
    """
    if gradient is None:
        raise ModelError(
            f"Model {getattr(model, 'name', model)!r} has no gradient with respect to its input: it contains "
            "a non-differentiable step (tf.numpy_function, rounding, JPEG...), so a gradient attack would "
            "report false robustness. Attack kerasadv.layers.with_bpda(model) (BPDA), or use a score-based attack."
        )
    return gradient
