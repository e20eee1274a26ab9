"""FGSM: one signed-gradient step, `x + eps * sign(grad_x loss)`, clipped to [0, 1]."""

import tensorflow as tf

from kerasadv.attacks.base import Attack
from kerasadv.attacks.gradients import input_gradient


class FGSM(Attack):
    """Fast gradient sign method (Goodfellow et al., 2015).

    Untargeted, it increases the loss of the true label; targeted, it decreases the loss of
    the target label (`x - eps * sign(grad)`).

    Args:
        eps: Linf radius in [0, 1] pixel units.
        **kwargs: `targeted`, `target`, `seed`, `training`, `jit_compile` (see `Attack`).

    Example:
    >>> import numpy as np, kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> x = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    >>> x_adv = FGSM(eps=0.03)(model, x, np.arange(4))
    >>> bool(np.abs(x_adv - x).max() <= 0.03 + 1e-6)
    True
    """

    def perturb(self, model, x, labels, eps):
        grad, _ = input_gradient(model, x, labels, self.targeted, self.training)
        return {"x_adv": tf.clip_by_value(x + eps * tf.sign(grad), 0.0, 1.0)}
