"""Free adversarial training (Shafahi et al., 2019): each minibatch replayed m times.

Every replay is one forward/backward pass that yields the weight gradient and the input
gradient together: the weights take a step, and the perturbation, carried over from replay to
replay and batch to batch, takes a signed step. Run `epochs / replays` epochs to spend what
`epochs` standard epochs cost.
"""

import keras
import tensorflow as tf

from kerasadv.attacks import validation
from kerasadv.training.adversarial import AdversarialModel


class FreeAdversarialModel(AdversarialModel):
    """Free AT wrapper around `classifier` (saves the plain classifier, like `AdversarialModel`).

    Args:
        classifier: a Keras logits classifier.
        eps: Linf radius of the perturbation, [0, 1] pixel units.
        replays: how many times each minibatch is replayed (m).
        batch_size: the largest batch the data set yields (sizes the perturbation buffer).

    Example:
    >>> import numpy as np, kerasadv
    >>> free = FreeAdversarialModel(kerasadv.models.simple_cnn(), eps=0.03, replays=2, batch_size=8)
    >>> free.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> x = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
    >>> _ = free.fit(x, np.arange(8) % 10, batch_size=8, epochs=1, verbose=0)
    """

    def __init__(self, classifier, eps, replays=4, batch_size=128, **kwargs):
        super().__init__(classifier, attack=None, adv_ratio=1.0, **kwargs)
        self.eps = validation.check_eps(eps)
        self.replays = validation.check_positive_int(replays, "replays")
        shape = (validation.check_positive_int(batch_size, "batch_size"), *classifier.input_shape[1:])
        self.delta = tf.Variable(tf.zeros(shape), trainable=False, name="free_at_delta")

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        x = tf.cast(x, tf.float32)
        n = tf.shape(x)[0]
        weights = self.trainable_weights
        for _ in range(self.replays):  # unrolled: m is small and the optimiser must not build in a loop
            delta = self.delta[:n]
            with tf.GradientTape() as tape:
                x_adv = tf.clip_by_value(x + delta, 0.0, 1.0)
                tape.watch(x_adv)
                y_pred = self.classifier(x_adv, training=self.adversarial_training_mode)
                loss = self.compute_loss(x=x_adv, y=y, y_pred=y_pred, sample_weight=sample_weight)
                scaled = self.optimizer.scale_loss(loss)
            *grads, grad_x = tape.gradient(scaled, [*weights, x_adv])
            self.optimizer.apply_gradients(zip(grads, weights))
            new_delta = tf.clip_by_value(delta + self.eps * tf.sign(grad_x), -self.eps, self.eps)
            self.delta.assign(tf.concat([new_delta, self.delta[n:]], axis=0))
        return self.update_logs(loss, y, y_pred, sample_weight)
