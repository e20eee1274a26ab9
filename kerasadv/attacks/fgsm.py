"""FGSM: one signed-gradient step, `x + eps * sign(grad_x loss)`, clipped to [0, 1]."""

import tensorflow as tf

from kerasadv.attacks.base import GradientAttack, register
from kerasadv.attacks.gradients import input_gradient
from kerasadv.attacks.pgd import ascent_direction
from kerasadv.constants import DEFAULT_LINF_EPS


@register
class FGSM(GradientAttack):
    """Fast gradient sign method (Goodfellow et al., 2015); the fast gradient method for L2.

    Untargeted, it increases the loss of the true label; targeted, it decreases the loss of
    the target label (`x - eps * sign(grad)`). With `norm="l2"` the step is
    `eps * grad / ||grad||_2`.

    Args:
        eps: radius ([0, 1] pixel units).
        norm: "linf" (sign of the gradient) or "l2".
        **kwargs: `targeted`, `target`, `seed`, `training`, `jit_compile` (see `GradientAttack`).

    Example:
    >>> import numpy as np, kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> x = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    >>> x_adv = FGSM(eps=0.03)(model, x, np.arange(4))
    >>> bool(np.abs(x_adv - x).max() <= 0.03 + 1e-6)
    True
    """

    def __init__(self, eps=DEFAULT_LINF_EPS, norm="linf", **kwargs):
        super().__init__(eps, norm, **kwargs)

    def perturb(self, model, x, labels, eps):
        grad, _ = input_gradient(model, x, labels, self.targeted, self.training)
        return {"x_adv": tf.clip_by_value(x + eps * ascent_direction(grad, self.norm), 0.0, 1.0)}
