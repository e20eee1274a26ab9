"""Iterative fast gradient sign "until misclassified" (the EfficientNet / CIFAR-10 setup)."""

import tensorflow as tf

from kerasadv.attacks import validation
from kerasadv.attacks.base import GradientAttack, register
from kerasadv.attacks.gradients import input_gradient
from kerasadv.attacks.masks import per_image, select
from kerasadv.attacks.pgd import ascent_direction, project


@register
class IterativeFGS(GradientAttack):
    """Signed-gradient steps per example until it is misclassified (or hits its target).

    Each step costs one forward + backward pass over the examples still standing: those
    already fooled leave the batch. The logits of that pass also tell which examples the
    previous step fooled, so no extra forward pass is spent on the stopping test.

    `run` reports per example `steps` (updates applied) and `success` (fooled at the end).

    Args:
        eps: budget of the total perturbation ([0, 1] pixel units); 1.0 (Linf) means none.
        step_size: absolute size of each step (0.01 in the published setup).
        steps: step budget per example (the default 100 lets 0.01-steps reach Linf 1.0).
        norm: "linf" (signed steps) or "l2" (normalised gradient steps).
        **kwargs: `targeted`, `target`, `seed`, `training`, `jit_compile` (see `GradientAttack`).

    Example:
    >>> import numpy as np, kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> x = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    >>> out = IterativeFGS(steps=3).run(model, x, np.arange(4))
    >>> sorted(out)
    ['steps', 'success', 'x_adv']
    """

    def __init__(self, eps=1.0, step_size=0.01, steps=100, norm="linf", **kwargs):
        super().__init__(eps, norm, **kwargs)
        self.step_size = validation.check_eps(step_size, norm, name="step_size")
        self.steps = validation.check_integer(steps, "steps")

    def _fooled(self, logits, labels):
        predicted = tf.argmax(logits, -1, output_type=tf.int32)
        return tf.equal(predicted, labels) if self.targeted else tf.not_equal(predicted, labels)

    def perturb(self, model, x, labels, eps):
        def step_once(i, x_adv, steps, done, success):
            active = tf.where(~done)[:, 0]
            index = active[:, None]
            x_act, x_orig, y_act = tf.gather(x_adv, active), tf.gather(x, active), tf.gather(labels, active)
            grad, logits = input_gradient(model, x_act, y_act, self.targeted, self.training)
            fooled = self._fooled(logits, y_act)
            # An example stops when fooled, or once its step budget is spent (that pass only
            # checks its last step).
            stop = fooled | (tf.gather(steps, active) >= self.steps)
            moved = x_orig + project(
                x_act + self.step_size * ascent_direction(grad, self.norm) - x_orig, eps, self.norm
            )
            x_new = select(per_image(stop), x_act, tf.clip_by_value(moved, 0.0, 1.0))
            return (
                i + 1,
                tf.tensor_scatter_nd_update(x_adv, index, x_new),
                tf.tensor_scatter_nd_add(steps, index, tf.cast(~stop, tf.int32)),
                tf.tensor_scatter_nd_update(done, index, stop),
                tf.tensor_scatter_nd_update(success, index, fooled),
            )

        def running(i, x_adv, steps, done, success):
            return tf.logical_and(i <= self.steps, tf.reduce_any(~done))

        false = tf.zeros(tf.shape(labels), tf.bool)
        state = (tf.constant(0), x, tf.zeros(tf.shape(labels), tf.int32), false, false)
        # After steps + 1 passes every example has stopped, its last state checked.
        _, x_adv, steps, _, success = tf.while_loop(running, step_once, state)
        return {"x_adv": x_adv, "steps": steps, "success": success}

    def get_config(self):
        return {**super().get_config(), "step_size": self.step_size, "steps": self.steps}
