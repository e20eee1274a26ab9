"""PGD / BIM: iterated gradient steps projected onto the eps-ball (Linf or L2) and [0, 1]."""

import tensorflow as tf

from kerasadv.attacks import validation
from kerasadv.attacks.base import GradientAttack, register
from kerasadv.attacks.gradients import input_gradient
from kerasadv.attacks.masks import per_image, select
from kerasadv.constants import DEFAULT_LINF_EPS, TINY

DEFAULT_REL_STEP_SIZE = 2.5  # step = 2.5 * eps / steps (Madry et al.)
# Up to this many steps the loop is unrolled into a straight graph, beyond it a tf.while_loop.
# Measured on 2 AMD Zen 4 cores (simple CNN, batch 256, interleaved medians): PGD-10 ran at 0.85
# of the floor (one forward + backward pass per step) as a while_loop and at 1.01 unrolled, the
# speed of a Python loop over one compiled step (CleverHans' form); PGD-20 0.84 vs 0.99; at 3
# steps and on ResNet-18 the forms tie. Both give the same bits (tests/test_attacks.py).
UNROLLED_STEPS = 20


def _l2(v):
    return tf.sqrt(tf.reduce_sum(tf.square(v), axis=[1, 2, 3], keepdims=True) + TINY)


def project(delta, eps, norm):
    """Projects perturbations `delta` (NHWC) onto the `norm` ball of radius `eps`."""
    if norm == "linf":
        return tf.clip_by_value(delta, -eps, eps)
    return delta * tf.minimum(1.0, eps / _l2(delta))


def ascent_direction(grad, norm):
    """The steepest-ascent unit step for `norm`: sign for Linf, grad / ||grad||_2 for L2."""
    return tf.sign(grad) if norm == "linf" else grad / _l2(grad)


NORMAL_START_STD = 0.001  # TRADES / MART: the search starts at x + 0.001 N(0, I)


def random_start(x, eps, norm, seed, mode=True):
    """A random start around `x`: a uniform point of the `norm` ball (L2: uniform direction and
    volume), or with `mode="normal"` x + 0.001 N(0, I), unclipped (the start of TRADES and MART)."""
    if mode == "normal":
        return x + NORMAL_START_STD * tf.random.stateless_normal(tf.shape(x), seed)
    if norm == "linf":
        delta = tf.random.stateless_uniform(tf.shape(x), seed, -1.0, 1.0) * eps
    else:
        direction = tf.random.stateless_normal(tf.shape(x), seed)
        dims = tf.cast(tf.reduce_prod(tf.shape(x)[1:]), tf.float32)
        radius = tf.random.stateless_uniform(tf.concat([tf.shape(x)[:1], [1, 1, 1]], 0), seed + 1)
        delta = direction / _l2(direction) * eps * radius ** (1.0 / dims)
    return tf.clip_by_value(x + delta, 0.0, 1.0)


@register
class PGD(GradientAttack):
    """Projected gradient descent (Madry et al., 2018); BIM when `random_start=False`.

    Each step moves by the step size along the steepest-ascent direction of the norm, then
    projects onto the eps-ball around `x` and onto [0, 1].

    Args:
        eps: radius of the ball ([0, 1] pixel units for Linf).
        steps: number of gradient steps (>= 1).
        step_size: absolute size of each step.
        rel_step_size: size of each step as a multiple of eps (so an eps sweep or schedule
            keeps the schedule). When neither is given: `2.5 / steps` (2.5 eps over the run).
        norm: "linf" or "l2".
        random_start: True: start from a uniform point of the ball instead of `x`; "normal":
            from x + 0.001 N(0, I) (the start of TRADES and MART); False: from `x`.
        early_exit: for evaluation: an example leaves the batch (no more passes) once it is
            misclassified (targeted: reaches its target), keeping the point that fooled the
            model. Off by default: adversarial training wants the highest-loss point.
        **kwargs: `targeted`, `target`, `seed`, `training`, `jit_compile` (see `GradientAttack`).

    Example:
    >>> import numpy as np, kerasadv
    >>> model, x, y = kerasadv.testing.contract_bench()  # a small CNN and four images
    >>> pgd = PGD(eps=0.5, norm="l2", steps=5, seed=0)
    >>> float(pgd.step_length(0.5))  # 2.5 eps / steps
    0.25
    >>> bool(np.linalg.norm((pgd(model, x, y) - x).numpy().reshape(4, -1), axis=1).max() <= 0.5 + 1e-4)
    True
    """

    def __init__(
        self,
        eps=DEFAULT_LINF_EPS,
        steps=10,
        step_size=None,
        rel_step_size=None,
        norm="linf",
        random_start=True,
        early_exit=False,
        **kwargs,
    ):
        super().__init__(eps, norm, **kwargs)
        self.steps = validation.check_integer(steps, "steps")
        self.step_size, self.rel_step_size = validation.check_step_size(step_size, rel_step_size)
        self.random_start = validation.check_random_start(random_start)
        self.early_exit = bool(early_exit)

    def step_length(self, eps):
        """The absolute step for radius `eps` (a tensor)."""
        if self.step_size is not None:
            return tf.constant(self.step_size, tf.float32)
        relative = DEFAULT_REL_STEP_SIZE / self.steps if self.rel_step_size is None else self.rel_step_size
        return relative * eps

    def perturb(self, model, x, labels, eps):
        step = self.step_length(eps)
        x_adv = random_start(x, eps, self.norm, self._seed(), self.random_start) if self.random_start else x
        if self.early_exit:
            return self._perturb_until_fooled(model, x, labels, eps, step, x_adv)
        return {"x_adv": self.ascend(x, x_adv, eps, step, lambda x_adv: self.gradient(model, x_adv, labels))}

    def gradient(self, model, x_adv, labels):
        """The gradient each step ascends: of the cross-entropy (targeted: of minus it)."""
        return input_gradient(model, x_adv, labels, self.targeted, self.training)[0]

    def ascend(self, x, x_adv, eps, step, gradient):
        """`steps` projected steps of size `step` from `x_adv` along `gradient(x_adv)`'s ascent direction."""

        def step_once(i, x_adv):
            x_adv = x_adv + step * ascent_direction(gradient(x_adv), self.norm)
            return i + 1, tf.clip_by_value(x + project(x_adv - x, eps, self.norm), 0.0, 1.0)

        if self.steps <= UNROLLED_STEPS:  # a straight graph: no loop machinery
            for i in range(self.steps):
                x_adv = step_once(i, x_adv)[1]
            return x_adv
        # An explicit while_loop: Keras traces train_step without AutoGraph.
        return tf.while_loop(lambda i, _: i < self.steps, step_once, (tf.constant(0), x_adv))[1]

    def _perturb_until_fooled(self, model, x, labels, eps, step, x_adv):
        """PGD where fooled examples leave the active batch (the logits of each pass tell)."""

        def step_active(i, x_adv, done):
            active = tf.where(~done)[:, 0]
            x_act, x_orig, y_act = tf.gather(x_adv, active), tf.gather(x, active), tf.gather(labels, active)
            grad, logits = input_gradient(model, x_act, y_act, self.targeted, self.training)
            predicted = tf.argmax(logits, -1, output_type=tf.int32)
            fooled = tf.equal(predicted, y_act) if self.targeted else tf.not_equal(predicted, y_act)
            moved = tf.clip_by_value(
                x_orig + project(x_act + step * ascent_direction(grad, self.norm) - x_orig, eps, self.norm), 0.0, 1.0
            )
            x_new = select(per_image(fooled), x_act, moved)
            index = active[:, None]
            x_adv = tf.tensor_scatter_nd_update(x_adv, index, x_new)
            return i + 1, x_adv, tf.tensor_scatter_nd_update(done, index, fooled)

        def running(i, x_adv, done):
            return tf.logical_and(i < self.steps, tf.reduce_any(~done))

        done = tf.zeros(tf.shape(labels), tf.bool)
        _, x_adv, _ = tf.while_loop(running, step_active, (tf.constant(0), x_adv, done))
        return {"x_adv": x_adv}

    def get_config(self):
        return {
            **super().get_config(),
            "steps": self.steps,
            "step_size": self.step_size,
            "rel_step_size": self.rel_step_size,
            "random_start": self.random_start,
            "early_exit": self.early_exit,
        }


@register
class BIM(PGD):
    """Basic iterative method (Kurakin et al., 2017): PGD from `x`, no random start.

    Args as `PGD` (without `random_start`).

    Example:
    >>> BIM(eps=0.03, steps=10).random_start
    False
    """

    def __init__(self, eps=DEFAULT_LINF_EPS, steps=10, step_size=None, rel_step_size=None, norm="linf", **kwargs):
        super().__init__(eps, steps, step_size, rel_step_size, norm, random_start=False, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("random_start")
        return config
