"""The base CNN of the FGSM/PGD/defenses setup: conv blocks, two dropout layers, logits."""

import keras
from keras import layers

from kerasadv.errors import ModelError
from kerasadv.layers.gaussian_noise_defense import GaussianNoiseDefense
from kerasadv.models.normalization import input_normalization

NOISE_POSITIONS = ("first_conv", "dense")


def _conv_block(x, filters, index, noise):
    for j in (1, 2):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{index}_{j}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"bn{index}_{j}")(x)
        x = layers.ReLU(name=f"relu{index}_{j}")(x)
        if noise is not None and (index, j) == (1, 1):
            x = noise(x)
    return layers.MaxPooling2D(name=f"pool{index}")(x)


def base_cnn(
    input_shape=(32, 32, 3), num_classes=10, dropout=0.3, noise_stddev=0.0, noise_position="first_conv", noise_seed=None
):
    """Builds the base CNN: three conv blocks (32/64/128), Dense 256, two dropout layers.

    Trained with SGD + a learning-rate schedule and random flip / crop augmentation (see
    `kerasadv.training.TRAINING_DEFAULTS["base_cnn"]`).

    Args:
        input_shape: (height, width, channels) of [0, 1] pixel inputs.
        num_classes: number of logits.
        dropout: rate of both dropout layers (0.3: the rate `TRAINING_DEFAULTS["base_cnn"]` was measured with).
        noise_stddev: std of a `GaussianNoiseDefense` layer (0: none), active at inference too.
        noise_position: "first_conv" (after the first convolution) or "dense" (between
            the two dense layers).
        noise_seed: seed of the noise layer.

    Returns:
        An uncompiled `keras.Model` from [0, 1] pixels to logits.

    Example:
    >>> base_cnn().get_layer("dense1").units
    256
    """
    if noise_position not in NOISE_POSITIONS:
        raise ModelError(f"noise_position must be one of {NOISE_POSITIONS}, got {noise_position!r}.")
    noise = GaussianNoiseDefense(noise_stddev, seed=noise_seed, name="gaussian_noise") if noise_stddev else None
    inputs = keras.Input(input_shape, name="image")
    x = input_normalization(input_shape[-1])(inputs)
    for index, filters in enumerate((32, 64, 128), start=1):
        x = _conv_block(x, filters, index, noise if noise_position == "first_conv" else None)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="dropout1")(x)
    x = layers.Dense(256, activation="relu", name="dense1")(x)
    if noise is not None and noise_position == "dense":
        x = noise(x)
    x = layers.Dropout(dropout, name="dropout2")(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name="base_cnn")
