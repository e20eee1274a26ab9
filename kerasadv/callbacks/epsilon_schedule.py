"""`EpsilonSchedule`: ramps an attack's eps over epochs without retracing the train step."""

import keras
import tensorflow as tf

from kerasadv.attacks.validation import check_eps


def linear_ramp(start, end, ramp_epochs):
    """Schedule function: eps goes linearly from `start` to `end` over `ramp_epochs` epochs."""
    def schedule(epoch):
        fraction = min(epoch / max(ramp_epochs - 1, 1), 1.0) if ramp_epochs > 1 else 1.0
        return start + (end - start) * fraction
    return schedule


class EpsilonSchedule(keras.callbacks.Callback):
    """Sets `attack.eps = schedule(epoch)` at the start of each epoch.

    The attack's eps becomes a `tf.Variable`, read by the compiled train step at every step,
    so changing it does not retrace. The current eps is written to `logs["eps"]`.

    Args:
        attack: the attack used by the training wrapper.
        schedule: function epoch (0-based) -> eps, e.g. `linear_ramp(0.0, 8 / 255, 5)`.

    Example:
    >>> import kerasadv
    >>> attack = kerasadv.attacks.FGSM(0.0)
    >>> cb = EpsilonSchedule(attack, linear_ramp(0.0, 0.03, 4))
    >>> cb.on_epoch_begin(3); round(float(attack.eps.numpy()), 4)
    0.03
    """

    def __init__(self, attack, schedule):
        super().__init__()
        self.attack, self.schedule = attack, schedule
        if not isinstance(attack.eps, tf.Variable):
            attack.eps = tf.Variable(float(attack.eps), trainable=False, dtype=tf.float32, name="eps")

    def on_epoch_begin(self, epoch, logs=None):
        self.attack.eps.assign(check_eps(self.schedule(epoch), self.attack.norm))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["eps"] = float(self.attack.eps.numpy())
