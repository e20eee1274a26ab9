"""Counting a classifier's predictions on Gaussian-noise copies of one image, at the floor.

`NoiseSampler` compiles one function per sampler (hence per model): it tiles the image into a
batch of `batch_size` copies, adds `sigma * N(0, I)` noise drawn from a stateless generator,
runs the classifier in inference mode and adds the batch's argmax counts, in a graph loop over
as many batches as asked. Memory is one batch whatever the number of samples; the draws depend
only on the key, the batch size and the batch's position, so a seeded count is the same on
any machine and runner that keeps the batch size.
"""

import numpy as np
import tensorflow as tf

from kerasadv.attacks import validation
from kerasadv.errors import CertificationError
from kerasadv.models.logits import num_classes


class NoiseSampler:
    """Class counts of `classifier(x + sigma * N(0, I))` over n draws of one image.

    Args:
        classifier: a Keras classifier (logits or probabilities: only the argmax is used).
        sigma: noise standard deviation, in pixel units of [0, 1] images (> 0).
        batch_size: noise draws per forward pass (>= 1).

    Example:
    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(),
    ...                           keras.layers.Dense(2, kernel_initializer="zeros", bias_initializer="ones")])
    >>> sampler = NoiseSampler(model, sigma=0.25, batch_size=64)
    >>> sampler.counts(np.zeros((2, 2, 1), np.float32), n=100, key=(0, 0)).tolist()
    [100, 0]
    """

    def __init__(self, classifier, sigma, batch_size=1000):
        self.classifier = classifier
        self.sigma = validation.check_number(
            sigma, "sigma", 0.0, low_open=True, meaning="the noise standard deviation", error=CertificationError
        )
        self.batch_size = validation.check_integer(batch_size, "batch_size", error=CertificationError)
        self.num_classes = None
        self._count = tf.function(self._count_batches, reduce_retracing=True)

    def counts(self, image, n, key):
        """int64 counts per class of the classifier's predictions on `n` noisy copies of `image`.

        Args:
            image: one float32 image (height, width, channels).
            n: number of noise draws (>= 1).
            key: two integers seeding the draws (e.g. `(seed, example key)`).
        """
        n = validation.check_integer(n, "n", error=CertificationError)
        image = tf.convert_to_tensor(image, tf.float32)
        if self.num_classes is None:
            self.num_classes = num_classes(self.classifier, image[None])
        key = tf.constant(key, tf.int64)
        full, rest = divmod(n, self.batch_size)
        total = np.zeros(self.num_classes, np.int64)
        if full:
            total += self._count(image, key, tf.constant(self.batch_size), tf.constant(full), tf.constant(0)).numpy()
        if rest:  # the last, smaller batch: its own position after the full ones
            total += self._count(image, key, tf.constant(rest), tf.constant(1), tf.constant(full)).numpy()
        return total

    def _count_batches(self, image, key, draws, batches, first):
        copies = tf.repeat(image[None], draws, axis=0)
        sigma, num_classes = tf.constant(self.sigma, tf.float32), self.num_classes

        def step(index, counts):
            seed = tf.random.experimental.stateless_fold_in(key, tf.cast(first + index, tf.int64))
            noisy = copies + sigma * tf.random.stateless_normal(tf.shape(copies), seed)
            logits = self.classifier(noisy, training=False)
            labels = tf.argmax(tf.cast(logits, tf.float32), -1, output_type=tf.int32)
            batch = tf.math.bincount(labels, minlength=num_classes, maxlength=num_classes, dtype=tf.int64)
            return index + 1, counts + batch

        _, counts = tf.while_loop(lambda i, _: i < batches, step, [tf.constant(0), tf.zeros([num_classes], tf.int64)])
        return counts
