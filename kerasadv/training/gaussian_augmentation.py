"""Training for randomized smoothing: Gaussian noise on every training input (Cohen et al., 2019).

smoothed_ready = GaussianAugmentationModel(classifier, sigma=0.25)
smoothed_ready.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
smoothed_ready.fit(train_ds, epochs=...)        # then kerasadv.certify.Smoothed(classifier, 0.25)

As locuslab/smoothing `code/train.py`: each training image becomes `x + sigma * N(0, I)`, not
clipped to [0, 1], the whole batch, every step; evaluation stays on clean images.
"""

import keras
import tensorflow as tf

from kerasadv.attacks import validation
from kerasadv.errors import RecipeError
from kerasadv.training.wrapper import TrainingWrapper


def check_sigma(sigma):
    """`sigma` as a float > 0, else a RecipeError naming it."""
    return validation.check_number(
        sigma, "sigma", 0.0, low_open=True, meaning="the noise standard deviation", error=RecipeError
    )


@keras.saving.register_keras_serializable(package="kerasadv")
class GaussianAugmentationModel(TrainingWrapper):
    """Trains `classifier` on Gaussian-noise copies of its inputs, the training of a smoothed classifier.

    The noise of step t is drawn from a stateless generator keyed by `(seed, t)` (t: the
    optimizer's iteration count), so a seeded run is reproducible and resumes with the same
    noise after a crash.

    Args:
        classifier: a Keras logits classifier (its weights are the ones trained).
        sigma: noise standard deviation in [0, 1] pixel units: the sigma the model will be
            certified with.
        seed: seed of the noise (None: 0; a recipe's unset seed takes the pipeline's).
        adversarial_training_mode: the `training` flag of the forward pass on noisy inputs.

    Raises:
        RecipeError: sigma not > 0.

    Example:
    >>> import numpy as np, kerasadv
    >>> model = GaussianAugmentationModel(kerasadv.models.simple_cnn(), sigma=0.25)
    >>> model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> x = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
    >>> _ = model.fit(x, np.arange(8) % 10, epochs=1, verbose=0)
    >>> noisy = model.noisy(tf.constant(x))
    >>> round(float(tf.math.reduce_std(noisy - x)), 2)
    0.25
    """

    hyperparameter_checks = {"sigma": check_sigma}

    def __init__(self, classifier, sigma=0.25, seed=None, adversarial_training_mode=True, **kwargs):
        super().__init__(classifier, None, adversarial_training_mode, **kwargs)
        self.sigma = check_sigma(sigma)
        self.seed = int(seed or 0)

    def attacked(self, x, y):
        return self.noisy(x)

    def noisy(self, x):
        """`x + sigma * N(0, I)`, keyed by the seed and the optimizer's step."""
        step = tf.cast(self.optimizer.iterations, tf.int64) if self.optimizer is not None else tf.constant(0, tf.int64)
        seed = tf.stack([tf.constant(self.seed, tf.int64), step])
        return x + self.sigma * tf.random.stateless_normal(tf.shape(x), seed, dtype=x.dtype)

    def recipe_config(self):
        config = {**super().recipe_config(), "sigma": self.sigma, "seed": self.seed}
        config.pop("attack")  # noise, not an attack: the recipe has none
        return config
