"""Per-model training defaults: optimiser, schedule, augmentation, batch size, epochs."""

import dataclasses

import keras

from kerasadv.errors import ModelError

SCHEDULES = ("constant", "cosine", "warmup_cosine")


@dataclasses.dataclass(frozen=True)
class TrainingDefaults:
    """How `kerasadv.training.train` trains a model unless told otherwise.

    Attributes:
        optimizer: "adam" or "sgd" (momentum 0.9, Nesterov).
        learning_rate: initial learning rate.
        schedule: "constant", "cosine" (cosine decay over all steps) or "warmup_cosine"
            (linear warm-up from 0 over the first tenth of the steps, then cosine decay).
        weight_decay: decoupled weight decay of the optimiser (0 disables).
        flip: random horizontal flips.
        crop_padding: padded random crops (0 disables).
        batch_size: training batch size.
        epochs: epochs of a full training run.
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    schedule: str = "constant"
    weight_decay: float = 0.0
    flip: bool = False
    crop_padding: int = 0
    batch_size: int = 128
    epochs: int = 5

    def make_optimizer(self, total_steps):
        """Builds the optimiser, with the schedule spread over `total_steps`."""
        rate, total_steps = self.learning_rate, max(total_steps, 1)
        if self.schedule == "cosine":
            rate = keras.optimizers.schedules.CosineDecay(rate, total_steps)
        elif self.schedule == "warmup_cosine":
            warmup = max(total_steps // 10, 1)
            rate = keras.optimizers.schedules.CosineDecay(
                0.0, max(total_steps - warmup, 1), warmup_target=rate, warmup_steps=warmup
            )
        elif self.schedule != "constant":
            raise ModelError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}.")
        decay = self.weight_decay or None
        if self.optimizer == "adam":
            return keras.optimizers.Adam(rate, weight_decay=decay)
        if self.optimizer == "sgd":
            return keras.optimizers.SGD(rate, momentum=0.9, nesterov=True, weight_decay=decay)
        raise ModelError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}.")


TRAINING_DEFAULTS = {
    # Batch 32 as in the Keras CIFAR-10 example: in short CPU runs it learns faster per epoch
    # (3 epochs on 10,000 CIFAR-10 images: 53.5 % at batch 32, 51.3 % at 64, 44.2 % at 128).
    "simple_cnn": TrainingDefaults(batch_size=32),
    "base_cnn": TrainingDefaults("sgd", 0.05, "cosine", 5e-4, True, 4, 128, 60),
    "resnet18": TrainingDefaults("sgd", 0.1, "cosine", 5e-4, True, 4, 128, 100),
    "vgg16": TrainingDefaults("sgd", 0.01, "cosine", 5e-4, True, 4, 128, 60),
    "efficientnet_b0": TrainingDefaults("adam", 1e-3, "cosine", 0.0, True, 0, 128, 30),
}


def training_defaults(model_name, **overrides):
    """The defaults of `model_name` with `overrides` (None values ignored) applied."""
    base = TRAINING_DEFAULTS.get(model_name, TrainingDefaults())
    return dataclasses.replace(base, **{k: v for k, v in overrides.items() if v is not None})
