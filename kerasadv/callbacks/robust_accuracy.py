"""`RobustAccuracy`: adversarial accuracy on validation data, each epoch, into `logs`."""

import keras

from kerasadv import attacks
from kerasadv.attacks.metrics import evaluate_attack


def classifier_of(model):
    """The plain classifier inside a kerasadv training wrapper (or the model itself)."""
    return getattr(model, "classifier", model)


class RobustAccuracy(keras.callbacks.Callback):
    """Evaluates `attack` on `validation_data` at the end of every `every`-th epoch.

    Writes `val_robust_accuracy` (adversarial accuracy) and `val_attack_success_rate` into
    the epoch's `logs`, so callbacks listed *after* it (EarlyStopping, ModelCheckpoint,
    ReduceLROnPlateau, TensorBoard) can monitor and record them.

    Args:
        attack: any kerasadv attack, or an identifier for `kerasadv.attacks.get`.
        validation_data: batched `(images, labels)` data set or an `(x, y)` pair.
        every: evaluate every this many epochs (logs hold the last value in between).
        prefix: key prefix of the logs.

    Example:
    >>> import numpy as np
    >>> from kerasadv import models, training
    >>> x, y = np.random.default_rng(0).random((16, 32, 32, 3), dtype=np.float32), np.arange(16) % 10
    >>> model = training.compile_classifier(models.simple_cnn(), "adam")
    >>> cb = RobustAccuracy("fgsm", (x, y))
    >>> stop = keras.callbacks.EarlyStopping("val_robust_accuracy", mode="max")
    >>> history = model.fit(x, y, epochs=1, verbose=0, callbacks=[cb, stop])
    >>> bool(0.0 <= history.history["val_robust_accuracy"][0] <= 1.0)
    True
    """

    def __init__(self, attack, validation_data, every=1, prefix="val_"):
        super().__init__()
        self.attack, self.validation_data = attacks.get(attack), validation_data
        self.every, self.prefix = max(int(every), 1), prefix
        self.last = None

    def on_epoch_end(self, epoch, logs=None):
        if self.last is None or (epoch + 1) % self.every == 0:
            self.last = evaluate_attack(self.attack, classifier_of(self.model), self.validation_data, progress=False)
        if logs is not None:
            logs[f"{self.prefix}robust_accuracy"] = self.last["adversarial_accuracy"]
            logs[f"{self.prefix}attack_success_rate"] = self.last["success_rate"]
