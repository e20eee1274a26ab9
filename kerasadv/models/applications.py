"""VGG-16 and EfficientNet-B0 from `keras.applications`, taking [0, 1] pixels, ending in logits."""

import keras
from keras import layers

from kerasadv.errors import ModelError
from kerasadv.layers.imagenet_preprocessing import ImageNetPreprocessing

_BACKBONES = {
    "vgg16": (keras.applications.VGG16, "caffe"),
    "efficientnet_b0": (keras.applications.EfficientNetB0, "raw255"),
}


def _backbone(name, x, weights, **head):
    """Builds the backbone on tensor `x` so its layers join the outer model under Keras's names.

    `head`: the constructor's head arguments (default: no top, average pooling).
    """
    constructor, _ = _BACKBONES[name]
    if weights not in (None, "imagenet") and not str(weights).endswith(".h5"):
        raise ModelError(f"weights must be None, 'imagenet' or a .h5 file path, got {weights!r}.")
    try:
        return constructor(weights=weights, input_tensor=x, **(head or {"include_top": False, "pooling": "avg"}))
    except Exception as error:  # keras raises a bare Exception on failed downloads
        if weights != "imagenet" or "fetch failure" not in str(error).lower():
            raise
        raise ModelError(
            f"Cannot download ImageNet weights for {name} ({error}). Offline, build with "
            "weights=None (train from scratch) or put the weights file into ~/.keras/models/."
        ) from error


VGG16_BLOCKS = ((1, 2), (2, 2), (4, 3), (8, 3), (8, 3))
"""(channels as a multiple of the width, conv layers) of VGG-16's five blocks."""


def _narrow_vgg16(x, width):
    """VGG-16's conv blocks with `width` channels in block 1 (64: Keras's), under Keras's layer names."""
    for block, (multiple, convs) in enumerate(VGG16_BLOCKS, start=1):
        for conv in range(1, convs + 1):
            x = layers.Conv2D(width * multiple, 3, padding="same", activation="relu", name=f"block{block}_conv{conv}")(
                x
            )
        x = layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)
    return layers.GlobalAveragePooling2D(name="avg_pool")(x)


def _imagenet_classifier(name, x, num_classes, weights):
    """The backbone with its own classifier head (`include_top`), ending in logits."""
    if tuple(x.shape[1:3]) != (224, 224):
        raise ModelError(
            f"include_top=True needs 224x224 inputs to the backbone, got {tuple(x.shape[1:3])}; "
            "pass image_size=(224, 224)."
        )
    if weights == "imagenet" and num_classes != 1000:
        raise ModelError(f"the ImageNet head has 1000 classes, got num_classes={num_classes}.")
    return _backbone(name, x, weights, include_top=True, classes=num_classes, classifier_activation=None).output


def _application(name, input_shape, num_classes, weights, image_size, width=64, include_top=False):
    height, width_px = image_size or input_shape[:2]
    if min(height, width_px) < 32:  # five stride-2 stages
        raise ModelError(
            f"{name} halves its input five times: it needs images of at least 32x32, got {height}x{width_px}; "
            "pass image_size=(32, 32) to resize inside the model, or ingest with ImageExampleGen(image_size=32)."
        )
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    if input_shape[-1] == 1:
        x = layers.Concatenate(name="grey_to_rgb")([x, x, x])
    if image_size is not None and tuple(image_size) != tuple(input_shape[:2]):
        x = layers.Resizing(*image_size, name="resize")(x)
    x = ImageNetPreprocessing(_BACKBONES[name][1], name="imagenet_preprocessing")(x)
    if include_top:
        if width != 64:
            raise ModelError(f"include_top=True is the real VGG-16 head: width must be 64, got {width}.")
        return keras.Model(inputs, _imagenet_classifier(name, x, num_classes, weights), name=name)
    if width != 64:
        if weights is not None:
            raise ModelError(f"pretrained weights exist only for width 64, got width={width} with weights={weights!r}.")
        features = _narrow_vgg16(x, width)
    else:
        features = _backbone(name, x, weights).output
    logits = layers.Dense(num_classes, name="logits")(features)
    return keras.Model(inputs, logits, name=name)


def vgg16(input_shape=(32, 32, 3), num_classes=10, weights=None, image_size=None, width=64, include_top=False):
    """VGG-16 (`keras.applications`) with Keras's layer names (`block4_conv1`, ...) and logits.

    Args:
        input_shape: (height, width, channels) of [0, 1] pixel inputs.
        num_classes: number of logits (a new Dense head on global average pooling).
        weights: None (random), "imagenet" (downloads; the real online path) or a file path.
        image_size: (height, width) the inputs are resized to inside the model, e.g. (224, 224).
        width: channels of block 1 (64, Keras's VGG-16; 16 keeps the 13 conv layers and their
            names at 1/16 of the computation, for CPU runs; random weights only).
        include_top: keep VGG-16's own fully connected head (`fc1`, `fc2`, `predictions`, as
            logits) instead of a new Dense head: the ImageNet classifier with
            weights="imagenet", num_classes=1000 and 224x224 inputs (image_size=(224, 224)).

    Returns:
        An uncompiled `keras.Model` from [0, 1] pixels to logits.

    Raises:
        ModelError: images smaller than 32x32 (after `image_size`); include_top without 224x224
            inputs, or the ImageNet head with other than 1000 classes; pretrained weights with
            width other than 64.

    Example:
    >>> vgg16().get_layer("block4_conv1").filters, vgg16(width=16).get_layer("block4_conv1").filters
    (512, 128)
    """
    return _application("vgg16", input_shape, num_classes, weights, image_size, width, include_top)


KERAS_DROP_CONNECT_RATE = 0.2
"""`keras.applications.EfficientNetB0`'s stochastic depth (block b of B skips its branch with probability 0.2 b / B)."""


def efficientnet_b0(input_shape=(32, 32, 3), num_classes=10, weights=None, image_size=None, drop_connect_rate=0.2):
    """EfficientNet-B0 (`keras.applications`) taking [0, 1] pixels, ending in logits.

    Args:
        input_shape, num_classes, weights, image_size: as `vgg16`'s.
        drop_connect_rate: stochastic depth: block b of B skips its residual branch with
            probability `drop_connect_rate * b / B` in training (Keras's `EfficientNet` argument:
            0.2 in EfficientNet-B0; 0 turns it off).

    Returns:
        An uncompiled `keras.Model` from [0, 1] pixels to logits.

    Raises:
        ModelError: as `vgg16`'s, and `drop_connect_rate` outside [0, 1).

    Example:
    >>> model = efficientnet_b0(drop_connect_rate=0.0)
    >>> model.output_shape, model.get_layer("block6d_drop").rate
    ((None, 10), 0.0)
    """
    if not 0 <= drop_connect_rate < 1:
        raise ModelError(f"drop_connect_rate must be in [0, 1), got {drop_connect_rate!r}.")
    model = _application("efficientnet_b0", input_shape, num_classes, weights, image_size)
    for layer in model.layers:  # the blocks' stochastic depth: Dropout with one draw per example
        if isinstance(layer, layers.Dropout) and layer.name.endswith("_drop"):
            # Dropout reads `rate` at each call and saves it in its config: the model keeps the new rate.
            layer.rate = layer.rate * drop_connect_rate / KERAS_DROP_CONNECT_RATE
    return model
