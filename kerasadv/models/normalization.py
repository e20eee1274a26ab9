"""Per-channel input normalisation carried by the models as their first layer."""

from keras import layers

# CIFAR-10 train-split channel statistics of [0, 1] pixels.
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


def input_normalization(channels, name="normalize"):
    """A fixed `Normalization` layer: CIFAR-10 statistics for RGB, mean .5 / std .5 otherwise."""
    mean, std = (CIFAR10_MEAN, CIFAR10_STD) if channels == 3 else ((0.5,) * channels, (0.5,) * channels)
    return layers.Normalization(mean=mean, variance=[s * s for s in std], name=name)
