"""`ToggleActivityMonitor`: total toggle activity on fixed images, each epoch, into `logs`."""

import keras
import numpy as np

from kerasadv.analysis.probes import probe_model
from kerasadv.analysis.thresholds import ActivationStatistics, binary_thresholds
from kerasadv.analysis.toggle import toggle_activity
from kerasadv.callbacks.robust_accuracy import classifier_of


class ToggleActivityMonitor(keras.callbacks.Callback):
    """Writes `toggle_activity` (total, binary KDE thresholds) of `images` into the epoch logs.

    Thresholds are re-estimated each epoch on `images` themselves (the weights change), so the
    figure tracks how many neurons switch state across the set as training goes on.

    Args:
        images: a few hundred [0, 1] images.
        layer_names: probed layers (default: every conv / dense activation).
        every: run every this many epochs.

    Example:
    >>> from kerasadv import models, training
    >>> x = np.random.default_rng(0).random((16, 32, 32, 3), dtype=np.float32)
    >>> model = training.compile_classifier(models.simple_cnn(), "adam")
    >>> history = model.fit(x, np.arange(16) % 10, epochs=1, verbose=0, callbacks=[ToggleActivityMonitor(x[:8])])
    >>> sorted(k for k in history.history if "toggle" in k)[:1]
    ['toggle_activity']
    """

    def __init__(self, images, layer_names=None, every=1):
        super().__init__()
        self.images, self.layer_names, self.every = np.asarray(images), layer_names, max(int(every), 1)
        self.last = None

    def on_epoch_end(self, epoch, logs=None):
        if self.last is None or (epoch + 1) % self.every == 0:
            probe = probe_model(classifier_of(self.model), self.layer_names)
            thresholds = binary_thresholds(ActivationStatistics(probe, self.images, bins=64))
            self.last = toggle_activity(probe, thresholds, self.images)["total"]
        if logs is not None:
            logs["toggle_activity"] = self.last
