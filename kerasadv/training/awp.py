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

from kerasadv.attacks import PGD, kl_divergence
from kerasadv.constants import DEFAULT_LINF_EPS
from kerasadv.errors import AttackInputError
from kerasadv.training.adversarial import AdversarialModel
from kerasadv.training.mart import sparse_labels
from kerasadv.training.trades import TRADES_BETA, TRADESModel, trades_loss

WEIGHT_EPS = 1e-20  # the reference's EPS in diff_in_weights


def check_gamma(gamma):
    """`gamma` as a float >= 0 (0: no weight perturbation), else an AttackInputError."""
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not gamma >= 0.0:
        raise AttackInputError(f"awp_gamma (relative size of the weight perturbation) must be >= 0, got {gamma!r}.")
    return float(gamma)


def check_warmup(epochs):
    """`epochs` as an int >= 0, else an AttackInputError."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise AttackInputError(f"awp_warmup (epochs before AWP starts) must be an integer >= 0, got {epochs!r}.")
    return epochs


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
    """What both AWP recipes share: gamma, warm-up, the epoch, and the perturbed step."""

    def _init_awp(self, awp_gamma, awp_warmup):
        self.awp_gamma = check_gamma(awp_gamma)
        if isinstance(awp_warmup, bool) or not isinstance(awp_warmup, int) or awp_warmup < 0:
            raise AttackInputError(
                f"awp_warmup (epochs before AWP starts) must be an integer >= 0, got {awp_warmup!r}."
            )
        self.awp_warmup = awp_warmup
        self.epoch = tf.Variable(0, trainable=False, dtype=tf.int64, name="awp_epoch")

    def fit(self, *args, callbacks=None, **kwargs):
        """Keras's `fit`, which also tells the step the current epoch (for `awp_warmup`)."""
        return super().fit(*args, callbacks=[*(callbacks or []), EpochCounter(self.epoch)], **kwargs)

    def perturbed_step(self, proxy_loss, loss_fn):
        """One optimizer step taken at the AWP-perturbed weights, then the perturbation removed.

        Returns what `loss_fn()` returns: `(loss, logits)` of the step's forward pass.
        """
        weights = perturbed_weights(self.classifier)
        active = tf.logical_and(self.epoch >= self.awp_warmup, self.awp_gamma > 0.0)
        gradients = tf.cond(  # during the warm-up: zeros, and no proxy pass
            active,
            lambda: proxy_gradients(self.classifier, proxy_loss),
            lambda: [tf.zeros(w.shape, tf.float32) for w in weights],
        )
        deltas = weight_perturbation(self.classifier, gradients, self.awp_gamma)
        add_to_weights(weights, deltas)
        with tf.GradientTape() as tape:
            loss, logits = loss_fn()
        self.apply_loss_gradients(tape, loss)
        add_to_weights(weights, deltas, -1.0)
        return loss, logits

    @classmethod
    def check_recipe(cls, config):
        super().check_recipe(config)
        check_gamma(config["awp_gamma"]), check_warmup(config["awp_warmup"])

    def awp_config(self):
        return {"awp_gamma": self.awp_gamma, "awp_warmup": self.awp_warmup}


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
    >>> import numpy as np, kerasadv
    >>> awp = AWPModel(kerasadv.models.simple_cnn(), awp_at_attack(steps=2, seed=0))
    >>> awp.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> x = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
    >>> _ = awp.fit(x, np.arange(8) % 10, epochs=1, verbose=0)
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
        attack = awp_at_attack() if attack is None else attack
        super().__init__(classifier, attack, adv_ratio, adversarial_training_mode, **kwargs)
        self._init_awp(awp_gamma, awp_warmup)

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        x_mixed = self.adversarial_batch(x, y)
        labels = sparse_labels(tf.convert_to_tensor(y))

        def proxy_loss(logits_fn):
            return tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels, tf.cast(logits_fn(x_mixed), tf.float32))
            ) / float(tf.distribute.get_strategy().num_replicas_in_sync)

        def loss_fn():
            y_pred = self.classifier(x_mixed, training=self.adversarial_training_mode)
            return self.compute_loss(x=x_mixed, y=y, y_pred=y_pred, sample_weight=sample_weight), y_pred

        loss, y_pred = self.perturbed_step(proxy_loss, loss_fn)
        return self.update_logs(loss, x_mixed, y, y_pred, sample_weight)

    def recipe_config(self):
        return {**super().recipe_config(), **self.awp_config()}


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
    >>> import numpy as np, kerasadv
    >>> awp = TRADESAWPModel(kerasadv.models.simple_cnn(), kerasadv.attacks.KLPGD(steps=2, seed=0), awp_warmup=0)
    >>> awp.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> x = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
    >>> _ = awp.fit(x, np.arange(8) % 10, epochs=1, verbose=0)
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

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        x = tf.cast(x, tf.float32)
        x_adv = self.adversarial(self.classifier, x, y)
        labels = sparse_labels(tf.convert_to_tensor(y))
        replicas = float(tf.distribute.get_strategy().num_replicas_in_sync)

        def proxy_loss(logits_fn):
            logits = tf.cast(logits_fn(x), tf.float32)
            natural = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
            robust = kl_divergence(logits, logits_fn(x_adv))
            return tf.reduce_mean(natural + self.beta * robust) / replicas

        loss, logits = self.perturbed_step(proxy_loss, lambda: trades_loss(self, x, x_adv, y, sample_weight, self.beta))
        return self.update_logs(loss, x, y, logits, sample_weight)

    def recipe_config(self):
        return {**super().recipe_config(), **self.awp_config()}
