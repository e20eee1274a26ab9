"""Gaussian filtering of images: `scipy.ndimage.gaussian_filter` and the same in-graph layer."""

import keras
import numpy as np
import scipy.ndimage
import tensorflow as tf


def gaussian_filter(images, sigma, truncate=4.0):
    """Blurs NHWC images over their spatial axes with `scipy.ndimage.gaussian_filter`.

    Args:
        images: float array (n, height, width, channels).
        sigma: standard deviation of the Gaussian in pixels (0 returns the images).
        truncate: kernel radius in standard deviations.

    Returns:
        float32 array of the same shape (scipy's default "reflect" borders).

    Example:
    >>> float(gaussian_filter(np.ones((1, 8, 8, 3)), 1.0).max())
    1.0
    """
    images = np.asarray(images, np.float32)
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}.")
    if sigma == 0:
        return images
    return scipy.ndimage.gaussian_filter(images, sigma=(0, sigma, sigma, 0), truncate=truncate)


def gaussian_kernel1d(sigma, truncate=4.0):
    """The normalised 1-D kernel scipy uses: radius `int(truncate * sigma + 0.5)`."""
    radius = int(truncate * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    return (kernel / kernel.sum()).astype(np.float32)


@keras.saving.register_keras_serializable(package="kerasadv")
class GaussianBlur(keras.layers.Layer):
    """In-graph Gaussian filter equal to `gaussian_filter` (same kernel, "reflect" borders).

    Two depthwise 1-D convolutions (separable Gaussian) after symmetric padding, so a served
    model can carry the defense. The kernel radius must be smaller than the image size.

    Args:
        sigma: standard deviation in pixels (0 is the identity).
        truncate: kernel radius in standard deviations (scipy's default 4).

    Example:
    >>> x = np.random.default_rng(0).random((2, 16, 16, 3)).astype("float32")
    >>> bool(np.allclose(GaussianBlur(0.8)(x), gaussian_filter(x, 0.8), atol=1e-5))
    True
    """

    def __init__(self, sigma, truncate=4.0, **kwargs):
        super().__init__(**kwargs)
        if not float(sigma) >= 0:
            raise ValueError(f"sigma must be >= 0, got {sigma}.")
        self.sigma, self.truncate = float(sigma), float(truncate)

    def call(self, inputs):
        if self.sigma == 0:
            return inputs
        kernel = tf.constant(gaussian_kernel1d(self.sigma, self.truncate))
        radius = (kernel.shape[0] - 1) // 2
        channels = inputs.shape[-1]
        padded = tf.pad(inputs, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="SYMMETRIC")
        rows = tf.tile(tf.reshape(kernel, (-1, 1, 1, 1)), (1, 1, channels, 1))
        cols = tf.tile(tf.reshape(kernel, (1, -1, 1, 1)), (1, 1, channels, 1))
        blurred = tf.nn.depthwise_conv2d(padded, rows, (1, 1, 1, 1), "VALID")
        return tf.nn.depthwise_conv2d(blurred, cols, (1, 1, 1, 1), "VALID")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "sigma": self.sigma, "truncate": self.truncate}
