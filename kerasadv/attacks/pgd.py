"""PGD / BIM: iterated gradient steps projected onto the eps-ball (Linf or L2) and [0, 1]."""

import tensorflow as tf

from kerasadv.attacks import validation
from kerasadv.attacks.base import Attack
from kerasadv.attacks.gradients import input_gradient
from kerasadv.errors import AttackInputError

NORMS = ("linf", "l2")
_TINY = 1e-12


def _l2(v):
    return tf.sqrt(tf.reduce_sum(tf.square(v), axis=[1, 2, 3], keepdims=True) + _TINY)


def project(delta, eps, norm):
    """Projects perturbations `delta` (NHWC) onto the `norm` ball of radius `eps`."""
    if norm == "linf":
        return tf.clip_by_value(delta, -eps, eps)
    return delta * tf.minimum(1.0, eps / _l2(delta))


def ascent_direction(grad, norm):
    """The steepest-ascent unit step for `norm`: sign for Linf, grad / ||grad||_2 for L2."""
    return tf.sign(grad) if norm == "linf" else grad / _l2(grad)


def random_start(x, eps, norm, seed):
    """A uniform point of the `norm` ball around `x` (L2: uniform direction and volume)."""
    if norm == "linf":
        delta = tf.random.stateless_uniform(tf.shape(x), seed, -1.0, 1.0) * eps
    else:
        direction = tf.random.stateless_normal(tf.shape(x), seed)
        dims = tf.cast(tf.reduce_prod(tf.shape(x)[1:]), tf.float32)
        radius = tf.random.stateless_uniform(tf.concat([tf.shape(x)[:1], [1, 1, 1]], 0), seed + 1)
        delta = direction / _l2(direction) * eps * radius ** (1.0 / dims)
    return tf.clip_by_value(x + delta, 0.0, 1.0)


class PGD(Attack):
    """Projected gradient descent (Madry et al., 2018); BIM when `random_start=False`.

    Each step moves by `step_size` along the steepest-ascent direction of the norm, then
    projects onto the eps-ball around `x` and onto [0, 1].

    Args:
        eps: radius of the ball ([0, 1] pixel units for Linf).
        steps: number of gradient steps (>= 1).
        step_size: size of each step; None uses `2.5 * eps / steps`, relative to eps so an
            eps sweep keeps the schedule.
        norm: "linf" or "l2".
        random_start: start from a uniform point of the ball instead of `x`.
        **kwargs: `targeted`, `target`, `seed`, `training`, `jit_compile` (see `Attack`).

    Example:
    >>> import numpy as np, kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> x = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    >>> x_adv = PGD(eps=0.03, steps=5, seed=0)(model, x, np.arange(4))
    >>> bool(np.abs(x_adv - x).max() <= 0.03 + 1e-6)
    True
    """

    def __init__(self, eps, steps=10, step_size=None, norm="linf", random_start=True, **kwargs):
        if norm not in NORMS:
            raise AttackInputError(f"norm must be one of {NORMS}, got {norm!r}.")
        self.norm = norm
        super().__init__(eps, **kwargs)
        self.steps = validation.check_positive_int(steps, "steps")
        if step_size is not None and not float(step_size) > 0:
            raise AttackInputError(f"step_size must be > 0 or None, got {step_size!r}.")
        self.step_size, self.random_start = step_size, bool(random_start)

    def perturb(self, model, x, labels, eps):
        step = 2.5 * eps / self.steps if self.step_size is None else tf.constant(self.step_size, tf.float32)
        x_adv = random_start(x, eps, self.norm, self._seed()) if self.random_start else x

        def step_once(i, x_adv):
            grad, _ = input_gradient(model, x_adv, labels, self.targeted, self.training)
            x_adv = x_adv + step * ascent_direction(grad, self.norm)
            return i + 1, tf.clip_by_value(x + project(x_adv - x, eps, self.norm), 0.0, 1.0)

        if self.steps == 1:  # fast AT's single step: no loop machinery
            return {"x_adv": step_once(0, x_adv)[1]}
        # An explicit while_loop: Keras traces train_step without AutoGraph.
        _, x_adv = tf.while_loop(lambda i, _: i < self.steps, step_once, (tf.constant(0), x_adv))
        return {"x_adv": x_adv}

    def get_config(self):
        return {**super().get_config(), "steps": self.steps, "step_size": self.step_size,
                "norm": self.norm, "random_start": self.random_start}


class BIM(PGD):
    """Basic iterative method (Kurakin et al., 2017): PGD from `x`, no random start.

    Args as `PGD` (without `random_start`).
    """

    def __init__(self, eps, steps=10, step_size=None, norm="linf", **kwargs):
        super().__init__(eps, steps, step_size, norm, random_start=False, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("random_start")
        return config
