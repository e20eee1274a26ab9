"""TRADES (Zhang et al., 2019): clean cross-entropy plus beta times KL to the adversarial point.

trades = TRADESModel(classifier)                   # KL-PGD-10, eps 0.031, step 0.007, beta 6
trades.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
trades.fit(train_ds, epochs=..., callbacks=[EpsilonSchedule(...), ...])
"""

import keras
import tensorflow as tf

from kerasadv.attacks import KLPGD, kl_divergence, validation
from kerasadv.errors import RecipeError
from kerasadv.training import distribute
from kerasadv.training.wrapper import TrainingWrapper

TRADES_BETA = 6.0


def check_beta(beta):
    """`beta` as a float >= 0, else a RecipeError naming it."""
    return validation.check_number(beta, "beta", 0.0, meaning="the weight of the robust term", error=RecipeError)


def trades_loss(wrapper, x, x_adv, y, sample_weight, beta):
    """TRADES' outer loss and the clean logits: CE(f(x), y) + beta * batch-mean KL(f(x) || f(x')).

    The cross-entropy is the compiled loss (`wrapper.compute_loss`); the KL term is summed over
    classes and averaged over the batch (the reference's `(1 / batch_size) * KLDivLoss(sum)`).
    """
    training = wrapper.adversarial_training_mode
    logits = wrapper.classifier(x, training=training)
    adversarial_logits = wrapper.classifier(x_adv, training=training)
    natural = wrapper.compute_loss(x=x, y=y, y_pred=logits, sample_weight=sample_weight)
    robust = distribute.batch_mean(kl_divergence(logits, adversarial_logits), sample_weight)
    return tf.cast(natural, tf.float32) + beta * robust, logits


class RobustLossModel(TrainingWrapper):
    """Base of TRADES and MART: attack the batch, then descend `outer_loss`, a loss with a term weighted by `beta`.

    Subclasses implement `outer_loss(x, x_adv, y, sample_weight) -> (loss, x_logged, logits)`:
    the logged metrics are those of `logits`, the predictions on `x_logged`. The attack runs on
    the whole batch, the model in inference mode.
    """

    hyperparameter_checks = {"beta": check_beta}

    def __init__(self, classifier, attack=None, beta=TRADES_BETA, adversarial_training_mode=True, **kwargs):
        super().__init__(classifier, attack, adversarial_training_mode, **kwargs)
        self.beta = check_beta(beta)

    def attacked(self, x, y):
        return self.adversarial(self.classifier, x, y)

    def recipe_config(self):
        return {**super().recipe_config(), "beta": self.beta}


@keras.saving.register_keras_serializable(package="kerasadv")
class TRADESModel(RobustLossModel):
    """TRADES training of `classifier` inside `model.fit`.

    Each step: the attack (a `KLPGD`, model in inference mode) finds x' maximising
    KL(f(x) || f(x')) from x + 0.001 N(0, I); the weights then descend
    CE(f(x), y) + beta * KL(f(x) || f(x')) with the KL summed over classes and averaged over the
    batch. The logged metrics are those of the clean predictions f(x).

    Where this differs from the reference (yaodongyu/TRADES `trades.py`): the clean batch goes
    through the classifier once in the outer loss (the reference computes f(x) twice, so its
    BatchNorm moving statistics take one more clean update per step); the compiled loss stands
    for the cross-entropy (use `SparseCategoricalCrossentropy(from_logits=True)` for the
    paper's), and sample weights, when given, weight both terms.

    Args:
        classifier: a Keras logits classifier.
        attack: a `KLPGD` (or its identifier); default `KLPGD()`: eps 0.031, 10 steps of 0.007.
        beta: weight of the KL term (6.0, the paper's CIFAR-10 setting).
        adversarial_training_mode: the `training` flag of the outer forward passes.

    Example:
    >>> import numpy as np, kerasadv
    >>> trades = TRADESModel(kerasadv.models.simple_cnn(), KLPGD(steps=2, seed=0))
    >>> trades.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> x = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
    >>> _ = trades.fit(x, np.arange(8) % 10, epochs=1, verbose=0)
    """

    default_attack = KLPGD

    @classmethod
    def check_attack(cls, attack):
        if not isinstance(attack, KLPGD):
            raise RecipeError(
                f"TRADES maximises KL(f(x) || f(x')): its attack is a KLPGD (attacks.KLPGD or 'kl_pgd'), "
                f"got {attack!r}."
            )

    def outer_loss(self, x, x_adv, y, sample_weight):
        loss, logits = trades_loss(self, x, x_adv, y, sample_weight, self.beta)
        return loss, x, logits
