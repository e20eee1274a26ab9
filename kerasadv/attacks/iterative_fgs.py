"""Iterative fast gradient sign "until misclassified" (the EfficientNet / CIFAR-10 setup)."""

import tensorflow as tf

from kerasadv.attacks import validation
from kerasadv.attacks.base import Attack
from kerasadv.attacks.gradients import input_gradient


class IterativeFGS(Attack):
    """Signed-gradient steps per example until it is misclassified (or hits its target).

    Each step costs one forward + backward pass over the examples still standing: those
    already fooled leave the batch. The logits of that pass also tell which examples the
    previous step fooled, so no extra forward pass is spent on the stopping test.

    `run` reports per example `steps` (updates applied) and `success` (fooled at the end).

    Args:
        eps: Linf budget of the total perturbation ([0, 1] pixel units); 1.0 means none.
        step_size: size of each signed step (0.01 in the published setup).
        max_steps: step budget per example.
        **kwargs: `targeted`, `target`, `seed`, `training`, `jit_compile` (see `Attack`).

    Example:
    >>> import numpy as np, kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> x = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    >>> out = IterativeFGS(max_steps=3).run(model, x, np.arange(4))
    >>> sorted(out)
    ['steps', 'success', 'x_adv']
    """

    def __init__(self, eps=1.0, step_size=0.01, max_steps=100, **kwargs):
        super().__init__(eps, **kwargs)
        self.step_size = validation.check_eps(step_size, name="step_size")
        self.max_steps = validation.check_positive_int(max_steps, "max_steps")

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
            stop = fooled | (tf.gather(steps, active) >= self.max_steps)
            moved = x_orig + tf.clip_by_value(x_act + self.step_size * tf.sign(grad) - x_orig, -eps, eps)
            x_new = tf.where(stop[:, None, None, None], x_act, tf.clip_by_value(moved, 0.0, 1.0))
            return (i + 1,
                    tf.tensor_scatter_nd_update(x_adv, index, x_new),
                    tf.tensor_scatter_nd_add(steps, index, tf.cast(~stop, tf.int32)),
                    tf.tensor_scatter_nd_update(done, index, stop),
                    tf.tensor_scatter_nd_update(success, index, fooled))

        def running(i, x_adv, steps, done, success):
            return tf.logical_and(i <= self.max_steps, tf.reduce_any(~done))

        false = tf.zeros(tf.shape(labels), tf.bool)
        state = (tf.constant(0), x, tf.zeros(tf.shape(labels), tf.int32), false, false)
        # After max_steps + 1 passes every example has stopped, its last state checked.
        _, x_adv, steps, _, success = tf.while_loop(running, step_once, state)
        return {"x_adv": x_adv, "steps": steps, "success": success}

    def get_config(self):
        return {**super().get_config(), "step_size": self.step_size, "max_steps": self.max_steps}
