"""MART (Wang et al., 2020): boosted cross-entropy on the adversarial example plus a KL term
weighted by how unsure the model is of the clean example.

    mart = MARTModel(classifier)          # PGD-10 from x + 0.001 N(0, I), eps 0.031, step 0.007, beta 6
    mart.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    mart.fit(train_ds, epochs=...)
"""

import keras
import tensorflow as tf

from kerasadv.attacks import PGD, kl_divergence
from kerasadv.attacks.kl_pgd import TRADES_EPS, TRADES_STEP_SIZE
from kerasadv.attacks.validation import sparse_labels
from kerasadv.errors import RecipeError
from kerasadv.training import distribute
from kerasadv.training.trades import RobustLossModel

MARGIN_FLOOR = 1.0001  # the reference's log(1.0001 - p) and (1.0000001 - p_y)
CONFIDENCE_FLOOR = 1.0000001
LOG_FLOOR = 1e-12


def mart_attack(eps=TRADES_EPS, steps=10, step_size=TRADES_STEP_SIZE, seed=None):
    """MART's inner attack: cross-entropy PGD from x + 0.001 N(0, I) (YisenWang/MART `mart.py`)."""
    return PGD(eps, steps=steps, step_size=step_size, random_start="normal", seed=seed)


def boosted_margin(adversarial_probs, labels):
    """Per-example -log(1.0001 - p_k(x')): k is the most likely class of x' other than the label."""
    top2 = tf.math.top_k(adversarial_probs, k=2).indices
    other = tf.where(top2[:, 0] == labels, top2[:, 1], top2[:, 0])
    return -tf.math.log(MARGIN_FLOOR - tf.gather(adversarial_probs, other, batch_dims=1) + LOG_FLOOR)


def mart_terms(logits, adversarial_logits, y):
    """Per-example MART terms: `(boosted margin, KL(f(x) || f(x')) * (1 - p_y(x)))`, float32."""
    labels = sparse_labels(y)
    adversarial_probs = tf.nn.softmax(tf.cast(adversarial_logits, tf.float32))
    clean_probs = tf.nn.softmax(tf.cast(logits, tf.float32))
    true_probs = tf.gather(clean_probs, labels, batch_dims=1)
    weighted_kl = kl_divergence(logits, adversarial_logits) * (CONFIDENCE_FLOOR - true_probs)
    return boosted_margin(adversarial_probs, labels), weighted_kl


@keras.saving.register_keras_serializable(package="kerasadv")
class MARTModel(RobustLossModel):
    """MART training of `classifier` inside `model.fit`.

    Each step: the attack (cross-entropy PGD, model in inference mode) finds x'; the weights
    then descend BCE(f(x'), y) + beta * mean(KL(f(x) || f(x')) * (1 - p_y(x))), where the
    boosted cross-entropy BCE is CE(f(x'), y) - log(1 - max_{k != y} p_k(x')). The logged
    metrics are those of the adversarial predictions f(x').

    Where this differs from the reference (YisenWang/MART `mart.py`): the KL uses the
    log-softmax of the adversarial logits where the reference takes log(p + 1e-12) (the same
    value wherever p > 1e-12, and finite gradients); the compiled loss stands for the
    cross-entropy (`SparseCategoricalCrossentropy(from_logits=True)` for the paper's), and
    sample weights, when given, weight every term.

    Args:
        classifier: a Keras logits classifier.
        attack: any attack (or identifier); default `mart_attack()`: PGD-10 from
            x + 0.001 N(0, I), eps 0.031, step 0.007, as the reference.
        beta: weight of the KL term (6.0; the paper uses 5.0 for ResNet-18).
        adversarial_training_mode: the `training` flag of the outer forward passes.

    Example:
    >>> import kerasadv
    >>> mart = MARTModel(kerasadv.models.simple_cnn(), beta=5.0)
    >>> mart.attack.random_start, mart.recipe_config()["beta"]
    ('normal', 5.0)
    """

    default_attack = staticmethod(mart_attack)

    @classmethod
    def check_attack(cls, attack):
        if getattr(attack, "targeted", False):
            raise RecipeError(f"MART trains against untargeted attacks, got {attack!r}.")

    def outer_loss(self, x, x_adv, y, sample_weight):
        loss, adversarial_logits = mart_loss(self, x, x_adv, y, sample_weight, self.beta)
        return loss, x_adv, adversarial_logits


def mart_loss(wrapper, x, x_adv, y, sample_weight, beta):
    """MART's outer loss and the adversarial logits (see `MARTModel`)."""
    training = wrapper.adversarial_training_mode
    logits = wrapper.classifier(x, training=training)
    adversarial_logits = wrapper.classifier(x_adv, training=training)
    cross_entropy = wrapper.compute_loss(x=x_adv, y=y, y_pred=adversarial_logits, sample_weight=sample_weight)
    margin, weighted_kl = mart_terms(logits, adversarial_logits, y)
    boosted = tf.cast(cross_entropy, tf.float32) + distribute.batch_mean(margin, sample_weight)
    return boosted + beta * distribute.batch_mean(weighted_kl, sample_weight), adversarial_logits
