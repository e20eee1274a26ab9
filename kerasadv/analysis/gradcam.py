"""Grad-CAM heatmaps for every conv layer: via tf-keras-vis, and a fast all-layers path.

The fast path takes one forward and one backward pass for all layers together and then
applies tf-keras-vis's own steps (channel weights = spatial mean of the gradient, ReLU,
bilinear zoom to the input size, per-image min-max normalisation), so the two agree.
"""

import keras
import numpy as np
import scipy.ndimage
import tensorflow as tf

from kerasadv.models.graph import functional_view, layer_output
from kerasadv.models.logits import check_logits

_EPSILON = 1e-7  # keras.backend.epsilon(), as tf-keras-vis normalises


def conv_layer_names(model):
    """Names of the model's 2-D convolution layers, input to output."""
    return [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def _expand_and_normalize(cams, image_shape):
    factor = (1.0, image_shape[0] / cams.shape[1], image_shape[1] / cams.shape[2])
    cams = scipy.ndimage.zoom(cams, factor, order=1)
    low = cams.min(axis=(1, 2), keepdims=True)
    high = cams.max(axis=(1, 2), keepdims=True)
    return (cams - low) / (high - low + _EPSILON)


def gradcam_tfkerasvis(model, images, classes, layer_name):
    """Heatmaps of one layer with `tf_keras_vis.gradcam.Gradcam` (logits model expected)."""
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.utils.scores import CategoricalScore

    check_logits(model)
    if isinstance(model, keras.Sequential):  # tf-keras-vis reads `layer.output`: give it one-graph layers
        copy = keras.models.clone_model(functional_view(model))
        copy.set_weights(model.get_weights())
        model = copy
    model = functional_view(model)
    cams = Gradcam(model, clone=False)(
        CategoricalScore(list(np.asarray(classes))),
        np.asarray(images),
        penultimate_layer=layer_name,
        seek_penultimate_conv_layer=False,
    )
    return np.asarray(cams, np.float32)


class AllLayerGradcam:
    """Grad-CAM for many conv layers from one forward / backward pass.

    Args:
        model: a functional or Sequential logits model.
        layer_names: conv layers (default: all, see `conv_layer_names`).

    Example:
    >>> import kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> cams = AllLayerGradcam(model)(np.zeros((2, 32, 32, 3), np.float32), [0, 1])
    >>> sorted(cams), cams["conv1"].shape
    (['conv1', 'conv2', 'conv3', 'conv4'], (2, 32, 32))
    """

    def __init__(self, model, layer_names=None):
        check_logits(model)
        model = functional_view(model)  # Sequential (also from .keras) included; subclassed: ModelError
        self.model = model
        self.layer_names = list(layer_names or conv_layer_names(model))
        self.image_shape = model.input_shape[1:3]
        outputs = [model.output] + [layer_output(model, n) for n in self.layer_names]
        self._model = keras.Model(model.input, outputs)
        self._step = tf.function(self._gradients, reduce_retracing=True)

    def _gradients(self, images, classes):
        with tf.GradientTape() as tape:
            logits, *activations = self._model(images, training=False)
            score = tf.reduce_sum(tf.gather(logits, classes, axis=1, batch_dims=1))
        return activations, tape.gradient(score, activations)

    def __call__(self, images, classes):
        """Returns `{layer: heatmaps (n, height, width) in [0, 1]}`."""
        activations, grads = self._step(
            tf.convert_to_tensor(images, tf.float32), tf.convert_to_tensor(classes, tf.int32)
        )
        cams = {}
        for name, activation, grad in zip(self.layer_names, activations, grads):
            weights = tf.reduce_mean(grad, axis=(1, 2), keepdims=True)
            cam = tf.nn.relu(tf.reduce_sum(activation * weights, axis=-1)).numpy()
            cams[name] = _expand_and_normalize(cam, self.image_shape).astype(np.float32)
        return cams


class TfKerasVisGradcam:
    """`AllLayerGradcam`'s interface over `gradcam_tfkerasvis`, one layer at a time (the reference path).

    Args:
        model: a functional or Sequential logits model.
        layer_names: conv layers (default: all).

    Example:
    >>> import kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    >>> reference, fast = TfKerasVisGradcam(model, ["conv4"]), AllLayerGradcam(model, ["conv4"])
    >>> bool(np.abs(reference(x, [0, 1])["conv4"] - fast(x, [0, 1])["conv4"]).max() < 1e-4)
    True
    """

    def __init__(self, model, layer_names=None):
        check_logits(model)
        self.model = functional_view(model)
        self.layer_names = list(layer_names or conv_layer_names(self.model))

    def __call__(self, images, classes):
        """Returns `{layer: heatmaps (n, height, width) in [0, 1]}`."""
        images, classes = np.asarray(images, np.float32), np.asarray(classes)
        return {name: gradcam_tfkerasvis(self.model, images, classes, name) for name in self.layer_names}
