"""`ImageNetPreprocessing`: the keras.applications input modes as a serializable layer."""

import keras
from keras import ops

_MODES = ("caffe", "torch", "tf", "raw255")
_CAFFE_MEAN_RGB = (123.68, 116.779, 103.939)
_TORCH_MEAN, _TORCH_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@keras.saving.register_keras_serializable(package="kerasadv")
class ImageNetPreprocessing(keras.layers.Layer):
    """Maps [0, 1] pixels to what a `keras.applications` backbone expects.

    Lets a model take kerasadv's [0, 1] pixels while its backbone keeps ImageNet's input
    convention, so epsilons stay in pixel units and gradients flow through preprocessing.

    Args:
        mode: "caffe" (RGB->BGR, 0..255 minus ImageNet means; VGG, ResNet50), "torch"
            ((x - mean) / std), "tf" (-1..1) or "raw255" (0..255; EfficientNet, which
            normalises inside).

    Example:
    >>> layer = ImageNetPreprocessing("tf")
    >>> float(layer(ops.ones((1, 2, 2, 3)))[0, 0, 0, 0])
    1.0
    """

    def __init__(self, mode="caffe", **kwargs):
        super().__init__(**kwargs)
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {mode!r}.")
        self.mode = mode

    def call(self, inputs):
        if self.mode == "raw255":
            return inputs * 255.0
        if self.mode == "tf":
            return inputs * 2.0 - 1.0
        if self.mode == "torch":
            return (inputs - ops.array(_TORCH_MEAN, inputs.dtype)) / ops.array(_TORCH_STD, inputs.dtype)
        centred = inputs * 255.0 - ops.array(_CAFFE_MEAN_RGB, inputs.dtype)  # bfloat16 under mixed_bfloat16
        return ops.flip(centred, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
