"""Adversarial training inside `model.fit`: a wrapper whose `train_step` attacks each batch.

    adv = AdversarialModel(classifier, attacks.PGD(8 / 255, steps=7))
    adv.compile(optimizer="adam", loss=..., metrics=[...])
    adv.fit(train_ds, epochs=10, callbacks=[EarlyStopping(...), ModelCheckpoint(...)])
    adv.save("robust.keras")          # saves the plain classifier, servable as is

Everything else is Keras's own: `evaluate`, `predict`, callbacks and distribution strategies
see an ordinary model whose forward pass is the classifier's.
"""

import keras
import tensorflow as tf

from kerasadv.attacks import PGD, validation
from kerasadv.constants import DEFAULT_LINF_EPS
from kerasadv.errors import RecipeError
from kerasadv.training.wrapper import TrainingWrapper


def check_ratio(adv_ratio):
    """`adv_ratio` as a float in [0, 1], else a RecipeError."""
    return validation.check_number(adv_ratio, "adv_ratio", 0.0, 1.0, error=RecipeError)


@keras.saving.register_keras_serializable(package="kerasadv")
class AdversarialModel(TrainingWrapper):
    """Trains `classifier` on batches in which a fraction is replaced by adversarial examples.

    Each training batch of n examples becomes `round(adv_ratio * n)` adversarial examples
    (made by `attack` from the first examples of the batch) followed by the remaining clean
    ones, so a step costs the attack on that fraction plus one ordinary training step.
    `adv_ratio=1.0` is pure adversarial training (Madry et al.).

    Args:
        classifier: a Keras logits classifier (its weights are the ones trained).
        attack: any kerasadv attack or identifier (traced into the train step).
        adv_ratio: fraction of each batch replaced by adversarial examples, in [0, 1].
        adversarial_training_mode: the `training` flag of the classifier's forward pass on
            the mixed batch (True: BatchNorm and dropout as in normal training).

    Example:
    >>> import numpy as np, kerasadv
    >>> adv = AdversarialModel(kerasadv.models.simple_cnn(), kerasadv.attacks.FGSM(0.03), adv_ratio=0.5)
    >>> adv.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> x = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
    >>> _ = adv.fit(x, np.arange(8) % 10, epochs=1, verbose=0)
    >>> int(np.abs(adv.adversarial_batch(x, np.arange(8)) - x).max(axis=(1, 2, 3)).astype(bool).sum())
    4
    """

    hyperparameter_checks = {"adv_ratio": check_ratio}

    def __init__(self, classifier, attack, adv_ratio=0.5, adversarial_training_mode=True, **kwargs):
        super().__init__(classifier, attack, adversarial_training_mode, **kwargs)
        self.adv_ratio = check_ratio(adv_ratio)

    def attacked(self, x, y):
        return self.adversarial_batch(x, y)

    def adversarial_batch(self, x, y):
        """The mixed batch: adversarial versions of the first `adv_ratio` part, then clean."""
        x = tf.cast(x, tf.float32)
        if self.adv_ratio == 0.0:
            return x
        count = tf.cast(tf.round(self.adv_ratio * tf.cast(tf.shape(x)[0], tf.float32)), tf.int32)
        return tf.concat([self.adversarial(self.classifier, x[:count], y[:count]), x[count:]], axis=0)

    def recipe_config(self):
        return {**super().recipe_config(), "adv_ratio": self.adv_ratio}


def pgd_at_attack(eps=DEFAULT_LINF_EPS, steps=7, seed=None):
    """The attack of PGD adversarial training (Madry et al.): Linf PGD, random start, 2.5 eps / steps."""
    return PGD(eps, steps=steps, random_start=True, seed=seed)


def fast_at_attack(eps=DEFAULT_LINF_EPS, alpha=1.25, seed=None):
    """The attack of "fast" AT (Wong et al., 2020): FGSM from a random start, step alpha * eps."""
    return PGD(eps, steps=1, rel_step_size=alpha, random_start=True, seed=seed)
