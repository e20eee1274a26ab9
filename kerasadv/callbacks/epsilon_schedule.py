"""`EpsilonSchedule`: ramps the attack radius of a training recipe over epochs, without retracing."""

import keras

from kerasadv.attacks.validation import check_eps
from kerasadv.errors import AttackInputError


def linear_ramp(start, end, ramp_epochs):
    """Schedule function: eps goes linearly from `start` to `end` over `ramp_epochs` epochs.

    Example:
    >>> [round(linear_ramp(0.0, 0.03, 4)(epoch), 3) for epoch in range(5)]
    [0.0, 0.01, 0.02, 0.03, 0.03]
    """

    def schedule(epoch):
        fraction = min(epoch / max(ramp_epochs - 1, 1), 1.0) if ramp_epochs > 1 else 1.0
        return start + (end - start) * fraction

    return schedule


class EpsilonSchedule(keras.callbacks.Callback):
    """Sets the attack radius of the model being fit to `schedule(epoch)` at each epoch's start.

    Modelled on `keras.callbacks.LearningRateScheduler`: it finds what it drives through
    `self.model`, the kerasadv training wrapper (`AdversarialModel`, `FreeAdversarialModel`,
    `AdvPropModel`, `ContrastiveModel` with an attack), and assigns the wrapper's
    `attack_eps` variable, which the compiled train step reads at every step (no retracing).
    The user's attack object is never modified. The current eps is written to `logs["eps"]`.

    Args:
        schedule: function `(epoch)` or `(epoch, eps)` (0-based epoch, current eps) -> new eps.
        verbose: 1 prints the new eps at each epoch.

    Raises:
        AttackInputError: the model has no attack radius, or the schedule returns a value that
            is not a valid radius for the attack's norm.

    Example:
    >>> import numpy as np, kerasadv
    >>> model = kerasadv.training.AdversarialModel(kerasadv.models.simple_cnn(), "fgsm")
    >>> cb = EpsilonSchedule(linear_ramp(0.0, 0.03, 4))
    >>> cb.set_model(model)
    >>> cb.on_epoch_begin(3); round(float(model.attack_eps.numpy()), 4)
    0.03
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def _variable(self):
        variable = getattr(self.model, "attack_eps", None)
        if variable is None:
            raise AttackInputError(
                f"EpsilonSchedule drives the attack radius of a kerasadv training wrapper "
                f"(AdversarialModel, FreeAdversarialModel, AdvPropModel, ContrastiveModel with an attack); "
                f"got a {type(self.model).__name__} without one."
            )
        return variable

    def on_epoch_begin(self, epoch, logs=None):
        variable = self._variable()
        try:
            eps = self.schedule(epoch, float(variable.numpy()))
        except TypeError:  # one-argument schedule
            eps = self.schedule(epoch)
        if not isinstance(eps, (int, float)) or isinstance(eps, bool):
            eps = getattr(eps, "numpy", lambda: eps)()
        try:
            eps = check_eps(float(eps), self.model.attack.norm, name="scheduled eps")
        except (TypeError, ValueError) as error:
            raise AttackInputError(f"EpsilonSchedule: schedule({epoch}) returned {eps!r}: {error}") from None
        variable.assign(eps)
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: EpsilonSchedule setting attack eps to {eps:.6g}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["eps"] = float(self._variable().numpy())
