"""The Keras CIFAR-10 "simple deep CNN" example, ending in logits."""

import keras
from keras import layers


def simple_cnn(input_shape=(32, 32, 3), num_classes=10):
    """Builds the Keras example CNN: 2x Conv32, pool, dropout, 2x Conv64, pool, dropout, Dense 512.

    Args:
        input_shape: (height, width, channels) of [0, 1] pixel inputs.
        num_classes: number of logits.

    Returns:
        An uncompiled `keras.Model` from [0, 1] pixels to logits.

    Example:
    >>> simple_cnn().output_shape
    (None, 10)
    """
    inputs = keras.Input(input_shape, name="image")
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = layers.Conv2D(32, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(name="pool1")(x)
    x = layers.Dropout(0.25, name="dropout1")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv3")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv4")(x)
    x = layers.MaxPooling2D(name="pool2")(x)
    x = layers.Dropout(0.25, name="dropout2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(512, activation="relu", name="dense1")(x)
    x = layers.Dropout(0.5, name="dropout3")(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name="simple_cnn")
