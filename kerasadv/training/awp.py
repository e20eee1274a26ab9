"""Adversarial weight perturbation (AWP, Wu et al., 2020) on top of PGD-AT and of TRADES.

Each step, after the inner attack, the weights are pushed a relative distance `gamma` (per
layer, ||v_l|| = gamma ||w_l||) up the gradient of the adversarial loss, the optimizer's
step is computed at the perturbed weights, and the perturbation is taken back:

    AWPModel(classifier)          # PGD-10 AT, eps 8/255, step 2/255, gamma 0.01, no warm-up
    TRADESAWPModel(classifier)    # TRADES, beta 6, gamma 0.005, AWP from epoch 10

Both are Keras models like the other recipes (callbacks, `EpsilonSchedule`, strategies,
`mixed_bfloat16`); the current epoch, which the warm-up reads, comes from `fit` itself.
"""

import keras
import tensorflow as tf

from kerasadv.attacks import PGD, kl_divergence, validation
from kerasadv.attacks.gradients import per_example_loss
from kerasadv.constants import DEFAULT_LINF_EPS
from kerasadv.errors import RecipeError
from kerasadv.training import distribute
from kerasadv.training.adversarial import AdversarialModel
from kerasadv.training.trades import TRADES_BETA, TRADESModel

WEIGHT_EPS = 1e-20  # the reference's EPS in diff_in_weights


def check_gamma(gamma):
    """`gamma` as a float >= 0 (0: no weight perturbation), else a RecipeError."""
    meaning = "relative size of the weight perturbation"
    return validation.check_number(gamma, "awp_gamma", 0.0, meaning=meaning, error=RecipeError)


def check_warmup(epochs):
    """`epochs` as an int >= 0, else a RecipeError."""
    return validation.check_integer(epochs, "awp_warmup", 0, meaning="epochs before AWP starts", error=RecipeError)


def perturbed_weights(classifier):
    """The weights AWP perturbs: trainable kernels (rank > 1), not biases or BatchNorm scales."""
    return [w for w in classifier.trainable_weights if len(w.shape) > 1]


def proxy_gradients(classifier, proxy_loss):
    """Gradients of `proxy_loss` with respect to the kernels AWP perturbs (this replica's share).

    `proxy_loss(logits_fn)` gets a function `x -> logits` that runs the classifier in training
    mode on the watched weights without touching its state (`stateless_call`: BatchNorm's
    moving statistics stay as they are, like the reference's separate proxy model).
    """
    trainable = [w.value for w in classifier.trainable_variables]
    non_trainable = [w.value for w in classifier.non_trainable_variables]
    kernels = [i for i, w in enumerate(classifier.trainable_variables) if len(w.shape) > 1]
    with tf.GradientTape() as tape:
        for i in kernels:
            tape.watch(trainable[i])
        loss = proxy_loss(lambda x: classifier.stateless_call(trainable, non_trainable, x, training=True)[0])
    return [tf.cast(g, tf.float32) for g in tape.gradient(loss, [trainable[i] for i in kernels])]


def weight_perturbation(classifier, gradients, gamma):
    """Per-layer AWP perturbations `gamma * ||w|| * g / ||g||` of the kernels, from their gradients.

    The reference's one SGD step of the proxy moves w by lr * g; its normalisation cancels lr.
    Under a distribution strategy the replicas' gradients are summed first (the global batch's).
    """
    context = tf.distribute.get_replica_context()
    if context is not None and tf.distribute.get_strategy().num_replicas_in_sync > 1:
        gradients = context.all_reduce("SUM", gradients)
    weights = perturbed_weights(classifier)
    return [
        gamma * tf.norm(tf.cast(w.value, tf.float32)) / (tf.norm(g) + WEIGHT_EPS) * g
        for w, g in zip(weights, gradients)
    ]


def add_to_weights(weights, deltas, sign=1.0):
    """`weights += sign * deltas`, in a replica's step under any strategy (all replicas alike)."""

    def update(distribution, deltas):
        for weight, delta in zip(weights, deltas):
            distribution.extended.update(
                weight.value, lambda v, d: v.assign_add(tf.cast(sign * d, v.dtype)), args=(delta,), group=False
            )

    tf.__internal__.distribute.interim.maybe_merge_call(update, tf.distribute.get_strategy(), deltas)


class EpochCounter(keras.callbacks.Callback):
    """Writes the epoch `fit` begins into a variable the compiled step reads (AWP's warm-up)."""

    def __init__(self, variable):
        super().__init__()
        self.variable = variable

    def on_epoch_begin(self, epoch, logs=None):
        self.variable.assign(epoch)


class WeightPerturbationMixin:
    """What both AWP recipes share: gamma, warm-up, the epoch, and the step at perturbed weights.

    The recipe adds `proxy_losses(logits_fn, x, x_adv, labels)`: the per-example loss whose
    gradient, in training mode, sets the weight perturbation.
    """

    hyperparameter_checks = {"awp_gamma": check_gamma, "awp_warmup": check_warmup}

    def _init_awp(self, awp_gamma, awp_warmup):
        self.awp_gamma, self.awp_warmup = check_gamma(awp_gamma), check_warmup(awp_warmup)
        self.epoch = tf.Variable(0, trainable=False, dtype=tf.int64, name="awp_epoch")

    def fit(self, *args, callbacks=None, **kwargs):
        """Keras's `fit`, which also tells the step the current epoch (for `awp_warmup`)."""
        return super().fit(*args, callbacks=[*(callbacks or []), EpochCounter(self.epoch)], **kwargs)

    def descend(self, x, x_adv, y, sample_weight):
        """The recipe's optimizer step taken at the AWP-perturbed weights, then the perturbation removed."""
        labels = validation.sparse_labels(y)
        weights = perturbed_weights(self.classifier)
        active = tf.logical_and(self.epoch >= self.awp_warmup, self.awp_gamma > 0.0)
        gradients = tf.cond(  # during the warm-up: zeros, and no proxy pass
            active,
            lambda: proxy_gradients(
                self.classifier, lambda logits_fn: distribute.batch_mean(self.proxy_losses(logits_fn, x, x_adv, labels))
            ),
            lambda: [tf.zeros(w.shape, tf.float32) for w in weights],
        )
        deltas = weight_perturbation(self.classifier, gradients, self.awp_gamma)
        add_to_weights(weights, deltas)
        step = super().descend(x, x_adv, y, sample_weight)
        add_to_weights(weights, deltas, -1.0)
        return step

    def recipe_config(self):
        return {**super().recipe_config(), "awp_gamma": self.awp_gamma, "awp_warmup": self.awp_warmup}


def awp_at_attack(eps=DEFAULT_LINF_EPS, steps=10, step_size=2 / 255, seed=None):
    """AT-AWP's attack (csdongxian/AWP `AT_AWP`): Linf PGD-10, step 2/255, uniform random start."""
    return PGD(eps, steps=steps, step_size=step_size, random_start=True, seed=seed)


@keras.saving.register_keras_serializable(package="kerasadv")
class AWPModel(WeightPerturbationMixin, AdversarialModel):
    """PGD adversarial training with adversarial weight perturbation (AT-AWP).

    The proxy loss is the cross-entropy of the adversarial batch (the reference's
    `-cross_entropy(proxy(x_adv), y)`, one SGD step), computed in training mode; the outer
    loss is the compiled loss on the same batch at the perturbed weights.

    Args:
        classifier: a Keras logits classifier.
        attack: the inner attack; default `awp_at_attack()` (PGD-10 at 8/255, step 2/255).
        adv_ratio: fraction of each batch replaced by adversarial examples (1.0, as AT-AWP).
        awp_gamma: relative size of the weight perturbation (0.01; 0 turns AWP off).
        awp_warmup: epochs of plain PGD-AT before AWP starts (0).
        adversarial_training_mode: the `training` flag of the outer forward pass.

    Example:
    >>> import kerasadv
    >>> awp = AWPModel(kerasadv.models.simple_cnn())  # trains like AdversarialModel: compile, fit
    >>> awp.attack.steps, round(awp.attack.step_size * 255, 6), awp.awp_gamma
    (10, 2.0, 0.01)
    """

    def __init__(
        self,
        classifier,
        attack=None,
        adv_ratio=1.0,
        awp_gamma=0.01,
        awp_warmup=0,
        adversarial_training_mode=True,
        **kwargs,
    ):
        super().__init__(classifier, attack, adv_ratio, adversarial_training_mode, **kwargs)
        self._init_awp(awp_gamma, awp_warmup)

    default_attack = staticmethod(awp_at_attack)

    def proxy_losses(self, logits_fn, x, x_mixed, labels):
        return per_example_loss(logits_fn(x_mixed), labels)


@keras.saving.register_keras_serializable(package="kerasadv")
class TRADESAWPModel(WeightPerturbationMixin, TRADESModel):
    """TRADES with adversarial weight perturbation (TRADES-AWP).

    The proxy loss is TRADES' own, CE(f(x), y) + beta * KL(f(x) || f(x')) in training mode
    (csdongxian/AWP `trades_AWP/utils_awp.py`); the outer step is `TRADESModel`'s at the
    perturbed weights.

    Args:
        classifier: a Keras logits classifier.
        attack: a `KLPGD`; default `KLPGD()` (eps 0.031, 10 steps of 0.007; the AWP code uses
            8/255 and 2/255: pass `KLPGD(8 / 255, step_size=2 / 255)` for its setting).
        beta: weight of the KL term (6.0).
        awp_gamma: relative size of the weight perturbation (0.005).
        awp_warmup: epochs of plain TRADES before AWP starts (10).
        adversarial_training_mode: the `training` flag of the outer forward passes.

    Example:
    >>> import kerasadv
    >>> awp = TRADESAWPModel(kerasadv.models.simple_cnn())
    >>> {k: v for k, v in awp.recipe_config().items() if k != "attack"}
    {'adversarial_training_mode': True, 'beta': 6.0, 'awp_gamma': 0.005, 'awp_warmup': 10}
    """

    def __init__(
        self,
        classifier,
        attack=None,
        beta=TRADES_BETA,
        awp_gamma=0.005,
        awp_warmup=10,
        adversarial_training_mode=True,
        **kwargs,
    ):
        super().__init__(classifier, attack, beta, adversarial_training_mode, **kwargs)
        self._init_awp(awp_gamma, awp_warmup)

    def proxy_losses(self, logits_fn, x, x_adv, labels):
        logits = logits_fn(x)
        return per_example_loss(logits, labels) + self.beta * kl_divergence(logits, logits_fn(x_adv))
