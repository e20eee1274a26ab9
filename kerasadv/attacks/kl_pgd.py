"""KL-PGD: the inner maximisation of TRADES (Zhang et al., 2019).

PGD whose objective is KL(f(x) || f(x')), the divergence of the prediction on the adversarial
point x' from the prediction on the clean image x, started from x + 0.001 N(0, I): the attack
TRADES trains against, and its adversarial weight perturbation (AWP) variant.
"""

import tensorflow as tf

from kerasadv.attacks.base import register
from kerasadv.attacks.pgd import PGD, random_start
from kerasadv.errors import AttackInputError

TRADES_EPS = 0.031
TRADES_STEP_SIZE = 0.007


def kl_divergence(clean_logits, adversarial_logits):
    """Per-example KL(softmax(clean) || softmax(adversarial)), in float32.

    Example:
    >>> logits = tf.constant([[1.0, 2.0, 3.0]])
    >>> float(kl_divergence(logits, logits)[0]), round(float(kl_divergence(logits, logits[:, ::-1])[0]), 4)
    (0.0, 1.1504)
    """
    clean_log = tf.nn.log_softmax(tf.cast(clean_logits, tf.float32))
    adversarial_log = tf.nn.log_softmax(tf.cast(adversarial_logits, tf.float32))
    return tf.reduce_sum(tf.exp(clean_log) * (clean_log - adversarial_log), axis=-1)


@register
class KLPGD(PGD):
    """PGD ascending KL(f(x) || f(x')) from x + 0.001 N(0, I) (TRADES' inner maximisation).

    Labels are not used: the attack moves away from the model's own clean prediction. The
    model runs in inference mode (`training=False`), as in the reference code
    (yaodongyu/TRADES `trades.py`: `model.eval()` while the attack runs). The reference takes
    `steps` signed steps of `step_size` and projects onto the Linf ball and [0, 1] after each;
    this attack does the same. For `norm="l2"` the step is the L2-normalised gradient
    (the reference's SGD on a renormalised gradient, with a PGD projection).

    Args:
        eps: radius (TRADES' CIFAR-10 default 0.031).
        steps: gradient steps (10).
        step_size: absolute step (0.007); None with `rel_step_size` for a step that follows
            an `EpsilonSchedule`.
        rel_step_size: step as a multiple of eps (give `step_size=None`).
        norm: "linf" or "l2".
        random_start: "normal" (x + 0.001 N(0, I), the reference), True (uniform in the
            ball) or False.
        **kwargs: `seed`, `training`, `jit_compile` (see `GradientAttack`); a targeted KL-PGD
            is refused.

    Example:
    >>> import numpy as np, kerasadv
    >>> model, x, _ = kerasadv.testing.contract_bench()  # a small CNN and four images
    >>> start = KLPGD(steps=1, step_size=1e-9, seed=0)(model, x)  # no labels; one negligible step
    >>> 0.0 < float(np.abs(start - x).max()) < 0.01  # from x + 0.001 N(0, I)
    True
    """

    def __init__(
        self,
        eps=TRADES_EPS,
        steps=10,
        step_size=TRADES_STEP_SIZE,
        rel_step_size=None,
        norm="linf",
        random_start="normal",
        **kwargs,
    ):
        if kwargs.get("targeted") or kwargs.get("early_exit"):
            raise AttackInputError(
                "KLPGD moves away from the model's clean prediction: it has no targeted or early-exit form; "
                f"got targeted={kwargs.get('targeted')!r}, early_exit={kwargs.get('early_exit')!r}."
            )
        kwargs.pop("early_exit", None)
        super().__init__(eps, steps, step_size, rel_step_size, norm, random_start, False, **kwargs)

    def perturb(self, model, x, labels, eps):
        clean_logits = tf.stop_gradient(model(x, training=self.training))
        start = random_start(x, eps, self.norm, self._seed(), self.random_start) if self.random_start else x

        def gradient(x_adv):
            with tf.GradientTape() as tape:
                tape.watch(x_adv)
                divergence = tf.reduce_sum(kl_divergence(clean_logits, model(x_adv, training=self.training)))
            return tape.gradient(divergence, x_adv)

        return {"x_adv": self.ascend(x, start, eps, self.step_length(eps), gradient)}

    def get_config(self):
        config = super().get_config()
        config.pop("targeted"), config.pop("target"), config.pop("early_exit")
        return config
