"""ResNet-18, CIFAR variant (3x3 stem, no max-pool), ending in logits."""

import keras
from keras import layers

from kerasadv.models.normalization import input_normalization


def _basic_block(x, filters, stride, name):
    shortcut = x
    y = layers.Conv2D(filters, 3, stride, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn1")(y)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn2")(y)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, stride, use_bias=False, name=f"{name}_proj")(x)
        shortcut = layers.BatchNormalization(momentum=0.9, name=f"{name}_proj_bn")(shortcut)
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.ReLU(name=f"{name}_out")(y)


def resnet18(input_shape=(32, 32, 3), num_classes=10, width=64):
    """Builds ResNet-18 for small images: stem conv 3x3, four stages of two basic blocks.

    Layer names are stable: `stem_conv`, `stage{1..4}_block{1,2}_{conv1,conv2,...,out}`.
    BatchNorm momentum is 0.9 (PyTorch's 0.1): with Keras's 0.99 the moving statistics of a
    short CPU run lag far behind the weights and inference-mode accuracy collapses.

    Args:
        input_shape: (height, width, channels) of [0, 1] pixel inputs.
        num_classes: number of logits.
        width: filters of the first stage (64 in the paper; doubled per stage).

    Returns:
        An uncompiled `keras.Model` from [0, 1] pixels to logits.

    Example:
    >>> resnet18(width=8).output_shape
    (None, 10)
    """
    inputs = keras.Input(input_shape, name="image")
    x = input_normalization(input_shape[-1])(inputs)
    x = layers.Conv2D(width, 3, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for stage in range(1, 5):
        filters = width * 2 ** (stage - 1)
        for block in (1, 2):
            stride = 2 if stage > 1 and block == 1 else 1
            x = _basic_block(x, filters, stride, f"stage{stage}_block{block}")
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name="resnet18")
