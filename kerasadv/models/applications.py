"""VGG-16 and EfficientNet-B0 from `keras.applications`, taking [0, 1] pixels, ending in logits."""

import keras
from keras import layers

from kerasadv.errors import ModelError
from kerasadv.layers.imagenet_preprocessing import ImageNetPreprocessing

_BACKBONES = {
    "vgg16": (keras.applications.VGG16, "caffe"),
    "efficientnet_b0": (keras.applications.EfficientNetB0, "raw255"),
}


def _backbone(name, x, weights):
    """Builds the backbone on tensor `x` so its layers join the outer model under Keras's names."""
    constructor, _ = _BACKBONES[name]
    if weights not in (None, "imagenet") and not str(weights).endswith(".h5"):
        raise ModelError(f"weights must be None, 'imagenet' or a .h5 file path, got {weights!r}.")
    try:
        return constructor(include_top=False, weights=weights, input_tensor=x, pooling="avg")
    except Exception as error:  # keras raises a bare Exception on failed downloads
        if weights != "imagenet" or "fetch failure" not in str(error).lower():
            raise
        raise ModelError(
            f"Cannot download ImageNet weights for {name} ({error}). Offline, build with "
            "weights=None (train from scratch) or put the weights file into ~/.keras/models/."
        ) from error


def _application(name, input_shape, num_classes, weights, image_size):
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    if input_shape[-1] == 1:
        x = layers.Concatenate(name="grey_to_rgb")([x, x, x])
    if image_size is not None and tuple(image_size) != tuple(input_shape[:2]):
        x = layers.Resizing(*image_size, name="resize")(x)
    x = ImageNetPreprocessing(_BACKBONES[name][1], name="imagenet_preprocessing")(x)
    features = _backbone(name, x, weights).output
    logits = layers.Dense(num_classes, name="logits")(features)
    return keras.Model(inputs, logits, name=name)


def vgg16(input_shape=(32, 32, 3), num_classes=10, weights=None, image_size=None):
    """VGG-16 (`keras.applications`) with Keras's layer names (`block4_conv1`, ...) and logits.

    Args:
        input_shape: (height, width, channels) of [0, 1] pixel inputs.
        num_classes: number of logits (a new Dense head on global average pooling).
        weights: None (random), "imagenet" (downloads; the real online path) or a file path.
        image_size: (height, width) the inputs are resized to inside the model, e.g. (224, 224).

    Returns:
        An uncompiled `keras.Model` from [0, 1] pixels to logits.

    Example:
    >>> vgg16().get_layer("block4_conv1").filters
    512
    """
    return _application("vgg16", input_shape, num_classes, weights, image_size)


def efficientnet_b0(input_shape=(32, 32, 3), num_classes=10, weights=None, image_size=None):
    """EfficientNet-B0 (`keras.applications`) taking [0, 1] pixels, ending in logits.

    Args and returns as `vgg16`.

    Example:
    >>> efficientnet_b0().output_shape
    (None, 10)
    """
    return _application("efficientnet_b0", input_shape, num_classes, weights, image_size)
