"""Training: baseline training, per-model defaults, augmentation (adversarial training later)."""

from kerasadv.training.augment import augment
from kerasadv.training.baseline import compile_classifier, train
from kerasadv.training.defaults import TRAINING_DEFAULTS, TrainingDefaults, training_defaults

__all__ = ["augment", "compile_classifier", "train", "TRAINING_DEFAULTS", "TrainingDefaults",
           "training_defaults"]
