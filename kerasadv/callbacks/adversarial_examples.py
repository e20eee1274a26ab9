"""`AdversarialExamples`: a TensorBoard image grid of clean / adversarial / perturbation."""

import os

import keras
import numpy as np
import tensorflow as tf

from kerasadv import attacks
from kerasadv.attacks import validation
from kerasadv.callbacks.robust_accuracy import classifier_of
from kerasadv.constants import TINY
from kerasadv.errors import AttackInputError
from kerasadv.models.logits import check_logits, num_classes
from kerasadv.models.structure import check_structure


def example_grid(x, x_adv):
    """One image (1, 3h, n*w, c): rows clean, adversarial, perturbation (rescaled to [0, 1])."""
    x, x_adv = np.asarray(x, np.float32), np.asarray(x_adv, np.float32)
    delta = x_adv - x
    scale = max(float(np.abs(delta).max()), TINY)
    rows = [x, x_adv, 0.5 + 0.5 * delta / scale]
    return np.concatenate([np.concatenate(list(row), axis=1) for row in rows], axis=0)[None]


class AdversarialExamples(keras.callbacks.Callback):
    """Logs a grid of clean, adversarial and (amplified) perturbation images to TensorBoard.

    Args:
        attack: any kerasadv attack, or an identifier for `kerasadv.attacks.get`.
        images: a few clean images (n, h, w, c) in [0, 1].
        labels: their labels.
        log_dir: TensorBoard log directory (the grid goes to `log_dir/adversarial`).
        every: log every this many epochs.

    Raises:
        AttackInputError: bad images, labels or `every` (at construction), or images the
            model cannot take (when training begins), not at the end of the first epoch.

    Example:
    >>> import tempfile
    >>> from kerasadv import models, training
    >>> x = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    >>> model = training.compile_classifier(models.simple_cnn(), "adam")
    >>> cb = AdversarialExamples("fgsm", x, np.arange(4), tempfile.mkdtemp())
    >>> _ = model.fit(x, np.arange(4), epochs=1, verbose=0, callbacks=[cb])
    """

    def __init__(self, attack, images, labels, log_dir, every=1):
        super().__init__()
        self.attack = attacks.get(attack)
        self.images = validation.check_images(images).numpy()
        self.labels = np.asarray(labels)
        if self.labels.shape[:1] != self.images.shape[:1]:
            raise AttackInputError(
                f"AdversarialExamples: {len(self.images)} images but labels of shape {self.labels.shape}; "
                "give one label per image."
            )
        self.every = validation.check_integer(every, "every")
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "adversarial"))

    def on_train_begin(self, logs=None):
        """Checks the images and labels against the model now, not after the first epoch."""
        model = classifier_of(self.model)
        check_structure(model)
        check_logits(model)
        validation.check_model_input(model, self.images)
        validation.check_labels(self.labels, len(self.images), num_classes(model, self.images))

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        x_adv = self.attack(classifier_of(self.model), self.images, self.labels)
        with self.writer.as_default():
            tf.summary.image("clean / adversarial / perturbation", example_grid(self.images, x_adv), step=epoch)
        self.writer.flush()
