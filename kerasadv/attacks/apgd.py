"""APGD (Croce & Hein, 2020): step-size-free PGD with momentum, checkpoints and best-point tracking.

The step size starts at 2 eps and is halved at checkpoints (at 22 % of the iterations, then
at intervals shrinking by 3 % down to 6 %) when fewer than `rho` = 75 % of the steps since
the last checkpoint raised the loss, or when the step was not halved last time and the best
loss did not improve; the iterate then restarts from the best point. Each step mixes the
projected gradient step with the previous move (momentum 0.75). Losses: cross-entropy ("ce")
or the difference of logits ratio ("dlr", needs >= 3 classes).

With `early_exit` (default) an example stops costing forward / backward passes once it is
misclassified (or, targeted, reaches its target): it leaves the active batch, as in
`IterativeFGS`. The reported image of a fooled example is the first one that fooled the
model; of the others, the highest-loss point found.
"""

import tensorflow as tf

from kerasadv.attacks import validation
from kerasadv.attacks.base import GradientAttack, register
from kerasadv.attacks.gradients import checked_gradient, expected_loss, per_example_loss
from kerasadv.attacks.masks import per_image, select
from kerasadv.attacks.pgd import ascent_direction, project
from kerasadv.constants import DEFAULT_LINF_EPS, TINY
from kerasadv.errors import AttackInputError
from kerasadv.models.logits import num_classes

LOSSES = ("ce", "dlr")
MOMENTUM = 0.75  # weight of the new projected step (Croce & Hein's alpha)
RHO = 0.75  # fraction of loss-raising steps below which the step size is halved


def dlr_loss(logits, labels):
    """Difference of logits ratio: -(z_y - max_{i != y} z_i) / (z_(1) - z_(3)), per example."""
    logits = tf.cast(logits, tf.float32)
    true = tf.gather(logits, labels, batch_dims=1)
    others = tf.reduce_max(logits - 1e9 * tf.one_hot(labels, tf.shape(logits)[-1]), axis=-1)
    ranked = tf.sort(logits, axis=-1, direction="DESCENDING")
    return -(true - others) / (ranked[:, 0] - ranked[:, 2] + 1e-12)


def targeted_dlr_loss(logits, pairs):
    """Targeted DLR: -(z_y - z_t) / (z_(1) - (z_(3) + z_(4)) / 2); `pairs` holds (true, target) rows."""
    logits = tf.cast(logits, tf.float32)
    true = tf.gather(logits, pairs[:, 0], batch_dims=1)
    target = tf.gather(logits, pairs[:, 1], batch_dims=1)
    ranked = tf.sort(logits, axis=-1, direction="DESCENDING")
    return -(true - target) / (ranked[:, 0] - 0.5 * (ranked[:, 2] + ranked[:, 3]) + 1e-12)


def check_dlr_classes(count, needed, attack):
    """Refuses a DLR loss on a model with fewer than `needed` classes (it reads the 3rd / 4th largest logit).

    Example:
    >>> check_dlr_classes(2, 3, "APGD(loss='dlr')")
    Traceback (most recent call last):
    ...
    kerasadv.errors.AttackInputError: APGD(loss='dlr') needs >= 3 classes ...
    """
    if count is not None and count < needed:
        raise AttackInputError(
            f"{attack} needs >= {needed} classes (the DLR loss divides by a gap to the "
            f"{'third' if needed == 3 else 'fourth'} largest logit), the model has {count}. "
            "Attack a model with fewer classes with APGD(loss='ce'), or run "
            "AutoAttack(version='custom', attacks=['apgd', 'square']) instead of the standard version."
        )


def checkpoint_windows(steps):
    """Per iteration, the length of the window ending there if it is a checkpoint, else 0.

    Example:
    >>> [i for i, w in enumerate(checkpoint_windows(100)) if w]
    [21, 40, 56, 69, 79, 86, 92, 98]
    """
    window = max(int(0.22 * steps), 1)
    shrink, smallest = max(int(0.03 * steps), 1), max(int(0.06 * steps), 1)
    windows, since = [0] * steps, 0
    for i in range(steps):
        since += 1
        if since == window:
            windows[i], since = window, 0
            window = max(window - shrink, smallest)
    return windows


def start_point(x, eps, norm, seed):
    """A random point at distance eps (Linf: max |delta| = eps; L2: ||delta|| = eps), clipped to [0, 1]."""
    if norm == "linf":
        t = tf.random.stateless_uniform(tf.shape(x), seed, -1.0, 1.0)
        t = t / (tf.reduce_max(tf.abs(t), axis=[1, 2, 3], keepdims=True) + TINY)
    else:
        t = tf.random.stateless_normal(tf.shape(x), seed)
        t = t / tf.sqrt(tf.reduce_sum(tf.square(t), axis=[1, 2, 3], keepdims=True) + TINY)
    return tf.clip_by_value(x + eps * t, 0.0, 1.0)


@register
class APGD(GradientAttack):
    """Auto-PGD (Croce & Hein, 2020), Linf or L2, cross-entropy or DLR loss, with restarts.

    Args:
        eps: radius of the ball ([0, 1] pixel units for Linf).
        steps: iterations per restart (100 in AutoAttack's standard version).
        loss: "ce" (cross-entropy) or "dlr" (difference of logits ratio; untargeted only).
        restarts: random restarts; each runs on the examples not fooled yet.
        norm: "linf" or "l2".
        early_exit: fooled examples leave the active batch (no further passes on them).
        **kwargs: `targeted`, `target`, `seed`, `training`, `jit_compile` (see `GradientAttack`).

    Raises:
        AttackInputError: unknown loss, targeted DLR, or steps / restarts < 1.

    Example:
    >>> import numpy as np, kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> x = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    >>> out = APGD(eps=0.03, steps=10, seed=0).run(model, x, np.arange(4))
    >>> bool(np.abs(out["x_adv"] - x).max() <= 0.03 + 1e-6), sorted(out)
    (True, ['success', 'x_adv'])
    """

    def __init__(self, eps=DEFAULT_LINF_EPS, steps=100, loss="ce", restarts=1, norm="linf", early_exit=True, **kwargs):
        super().__init__(eps, norm, **kwargs)
        validation.check_choice(loss, "loss", LOSSES)
        if loss == "dlr" and self.targeted:
            raise AttackInputError("loss='dlr' is untargeted; use loss='ce' with targeted=True.")
        self.steps = validation.check_integer(steps, "steps")
        self.restarts = validation.check_integer(restarts, "restarts")
        self.loss, self.early_exit = loss, bool(early_exit)

    def _loss_and_gradient(self, model, x, labels):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss_fn = dlr_loss if self.loss == "dlr" else per_example_loss
            loss, logits = expected_loss(model, x, labels, loss_fn, self.training)
            loss = -loss if self.targeted else loss
            total = tf.reduce_sum(loss)  # summed: each example's gradient is its own
        predicted = tf.argmax(logits, -1, output_type=tf.int32)
        fooled = tf.equal(predicted, labels) if self.targeted else tf.not_equal(predicted, labels)
        return loss, checked_gradient(tape.gradient(total, x), model), fooled

    def _project(self, x, x_adv, eps):
        return tf.clip_by_value(x + project(x_adv - x, eps, self.norm), 0.0, 1.0)

    def perturb(self, model, x, labels, eps):
        if self.loss == "dlr":
            check_dlr_classes(num_classes(model, x), 3, "APGD(loss='dlr')")
        x_best_adv, success = x, tf.zeros(tf.shape(labels), tf.bool)
        for _ in range(self.restarts):  # the last restart's best-loss point stands for unfooled examples
            x_best_adv, success, x_best = self._restart(model, x, labels, eps, x_best_adv, success)
        return {"x_adv": select(per_image(success), x_best_adv, x_best), "success": success}

    def _restart(self, model, x, labels, eps, x_best_adv, success):
        x0 = start_point(x, eps, self.norm, self._seed())
        loss0, grad0, fooled0 = self._loss_and_gradient(model, x0, labels)
        x_best_adv = select(per_image(fooled0 & ~success), x0, x_best_adv)
        success = success | fooled0
        step = tf.fill(tf.shape(loss0), 2.0 * eps)
        windows = tf.constant(checkpoint_windows(self.steps), tf.float32)
        state = {
            "x_adv": x0, "x_prev": x0, "grad": grad0, "loss": loss0, "step": step,
            "x_best": x0, "grad_best": grad0, "loss_best": loss0, "loss_best_last": loss0,
            "reduced_last": tf.ones(tf.shape(loss0), tf.bool), "increases": tf.zeros(tf.shape(loss0)),
            "x_best_adv": x_best_adv, "success": success,
        }  # fmt: skip

        def body(i, state):
            if not self.early_exit:  # every example, every step: no gather / scatter
                return i + 1, self._iteration(model, i, x, labels, eps, windows[i], state)
            active = tf.where(~state["success"])[:, 0]
            subset = {k: tf.gather(v, active) for k, v in state.items()}
            new = self._iteration(model, i, tf.gather(x, active), tf.gather(labels, active), eps, windows[i], subset)
            index = active[:, None]
            return i + 1, {k: tf.tensor_scatter_nd_update(state[k], index, new[k]) for k in state}

        def running(i, state):
            if not self.early_exit:
                return i < self.steps
            return tf.logical_and(i < self.steps, tf.reduce_any(~state["success"]))

        _, state = tf.while_loop(running, body, (tf.constant(0), state))
        return state["x_best_adv"], state["success"], state["x_best"]

    def _iteration(self, model, i, x, labels, eps, window, s):
        """One APGD step on the active examples' state rows `s`; returns their new rows."""
        alpha = tf.where(i == 0, 1.0, MOMENTUM)
        z = self._project(x, s["x_adv"] + per_image(s["step"]) * ascent_direction(s["grad"], self.norm), eps)
        x_new = self._project(
            x, s["x_adv"] + alpha * (z - s["x_adv"]) + (1.0 - alpha) * (s["x_adv"] - s["x_prev"]), eps
        )
        loss, grad, fooled = self._loss_and_gradient(model, x_new, labels)
        increases = s["increases"] + tf.cast(loss > s["loss"], tf.float32)
        better = loss > s["loss_best"]
        x_best = select(per_image(better), x_new, s["x_best"])
        grad_best = select(per_image(better), grad, s["grad_best"])
        loss_best = tf.where(better, loss, s["loss_best"])
        at_checkpoint = window > 0
        oscillating = increases <= window * RHO
        stalled = ~s["reduced_last"] & (s["loss_best_last"] >= loss_best)
        halve = at_checkpoint & (oscillating | stalled)
        return {
            "x_adv": select(per_image(halve), x_best, x_new),
            "x_prev": s["x_adv"],
            "grad": select(per_image(halve), grad_best, grad),
            "loss": loss,
            "step": tf.where(halve, s["step"] / 2.0, s["step"]),
            "x_best": x_best,
            "grad_best": grad_best,
            "loss_best": loss_best,
            "loss_best_last": tf.where(at_checkpoint, loss_best, s["loss_best_last"]),
            "reduced_last": tf.where(at_checkpoint, halve, s["reduced_last"]),
            "increases": tf.where(at_checkpoint, tf.zeros_like(increases), increases),
            "x_best_adv": select(per_image(fooled & ~s["success"]), x_new, s["x_best_adv"]),
            "success": s["success"] | fooled,
        }

    def get_config(self):
        return {
            **super().get_config(),
            "steps": self.steps,
            "loss": self.loss,
            "restarts": self.restarts,
            "early_exit": self.early_exit,
        }


@register
class APGDT(APGD):
    """APGD-T (Croce & Hein 2020): targeted-DLR APGD towards each of the top `targets` classes.

    For the k-th most likely class of the clean logits (k = 2 .. targets + 1), APGD maximises
    the targeted DLR loss on the examples not misclassified yet; success is any
    misclassification, as in AutoAttack. Needs >= 4 classes.

    Args:
        eps: radius of the ball.
        steps: iterations per target and restart (100 in AutoAttack's standard version).
        targets: number of target classes (9 in AutoAttack; at most classes - 1).
        restarts, norm, early_exit, **kwargs: as `APGD` (untargeted configuration only).

    Example:
    >>> import numpy as np, kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    >>> APGDT(eps=0.03, steps=4, targets=2, seed=0).run(model, x, np.arange(2))["x_adv"].shape
    TensorShape([2, 32, 32, 3])
    """

    def __init__(self, eps=DEFAULT_LINF_EPS, steps=100, targets=9, restarts=1, norm="linf", early_exit=True, **kwargs):
        if kwargs.get("targeted"):
            raise AttackInputError("APGDT picks its own targets; leave targeted=False.")
        super().__init__(eps, steps, "dlr", restarts, norm, early_exit, **kwargs)
        self.targets = validation.check_integer(targets, "targets")

    def _loss_and_gradient(self, model, x, pairs):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss, logits = expected_loss(model, x, pairs, targeted_dlr_loss, self.training)
            total = tf.reduce_sum(loss)
        fooled = tf.not_equal(tf.argmax(logits, -1, output_type=tf.int32), pairs[:, 0])
        return loss, checked_gradient(tape.gradient(total, x), model), fooled

    def perturb(self, model, x, labels, eps):
        logits = model(x, training=self.training)
        check_dlr_classes(logits.shape[-1], 4, "APGDT (targeted DLR)")
        ranked = tf.argsort(logits, axis=-1, direction="DESCENDING")
        x_best_adv, success, x_best = x, tf.zeros(tf.shape(labels), tf.bool), x
        for k in range(1, min(self.targets, logits.shape[-1] - 1) + 1):
            pairs = tf.stack([labels, ranked[:, k]], axis=1)
            for _ in range(self.restarts):
                x_best_adv, success, x_best = self._restart(model, x, pairs, eps, x_best_adv, success)
        return {"x_adv": select(per_image(success), x_best_adv, x_best), "success": success}

    def get_config(self):
        config = {**super().get_config(), "targets": self.targets}
        config.pop("loss")
        return config
