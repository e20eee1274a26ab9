"""Grad-CAM heatmaps for every conv layer: via tf-keras-vis, and a fast all-layers path.

The fast path takes one forward and one backward pass for all layers together and then
applies tf-keras-vis's own steps (channel weights = spatial mean of the gradient, ReLU,
bilinear zoom to the input size, per-image min-max normalisation), so the two agree.
"""

import keras
import numpy as np
import scipy.ndimage
import tensorflow as tf

from kerasadv.errors import ModelError
from kerasadv.models.graph import functional_view, layer_output, leaf_layers
from kerasadv.models.logits import check_logits
from kerasadv.models.structure import symbolic_output

_EPSILON = 1e-7  # keras.backend.epsilon(), as tf-keras-vis normalises


def conv_layer_names(model):
    """Names of the model's 2-D convolution layers, input to output; paths inside nested models.

    Example:
    >>> backbone = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3, name="conv")], name="net")
    >>> conv_layer_names(keras.Sequential([keras.Input((8, 8, 3)), backbone, keras.layers.Conv2D(2, 3, name="top")]))
    ['net/conv', 'top']
    """
    return [path for path, layer in leaf_layers(model) if isinstance(layer, keras.layers.Conv2D)]


def spatial_outputs(view, layer_names):
    """`[symbolic output]` of each layer (name or path) of a `functional_view`, each (n, height, width, channels).

    Raises:
        ModelError: no layers, or a layer whose output has no spatial axes (Grad-CAM weighs feature maps).
    """
    if not layer_names:
        raise ModelError(
            f"Model {view.name!r} has no Conv2D layer to take Grad-CAM heatmaps of; pass layer_names=[...] "
            "with layers whose outputs are feature maps (n, height, width, channels)."
        )
    outputs = [layer_output(view, name) for name in layer_names]
    for name, output in zip(layer_names, outputs):
        if len(output.shape) != 4:
            raise ModelError(
                f"Grad-CAM weighs feature maps (n, height, width, channels), but layer {name!r} of {view.name!r} "
                f"outputs shape {tuple(output.shape)}; pick conv layers, e.g. {conv_layer_names(view)[-3:]}."
            )
    return outputs


class _Penultimate(keras.layers.Layer):
    """What tf-keras-vis reads as its penultimate layer: a layer's output in the view's own graph.

    tf-keras-vis takes `layer.output`, which for a layer of a nested model (or of a Sequential
    model, whose layers belong to several graphs) is a tensor of another graph.
    """

    def __init__(self, tensor, **kwargs):
        super().__init__(**kwargs)
        self._tensor = tensor

    @property
    def output(self):
        return self._tensor


def _expand_and_normalize(cams, image_shape):
    factor = (1.0, image_shape[0] / cams.shape[1], image_shape[1] / cams.shape[2])
    cams = scipy.ndimage.zoom(cams, factor, order=1)
    low = cams.min(axis=(1, 2), keepdims=True)
    high = cams.max(axis=(1, 2), keepdims=True)
    return (cams - low) / (high - low + _EPSILON)


def gradcam_tfkerasvis(model, images, classes, layer_name):
    """Heatmaps of one layer with `tf_keras_vis.gradcam.Gradcam` (logits model expected).

    Args:
        model: a functional or Sequential logits model (nested models included).
        images: float32 [0, 1] images.
        classes: the class of each image whose score is explained.
        layer_name: the layer (a path inside a nested model: `"backbone/conv1"`).

    Returns:
        Heatmaps (n, height, width) in [0, 1].

    Raises:
        ModelError: a softmax / single-logit / subclassed model, or a layer without feature maps.
    """
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.utils.scores import CategoricalScore

    check_logits(model)
    view = functional_view(model)
    (tensor,) = spatial_outputs(view, [layer_name])
    cams = Gradcam(view, clone=False)(
        CategoricalScore(list(np.asarray(classes))),
        np.asarray(images),
        penultimate_layer=_Penultimate(tensor),
        seek_penultimate_conv_layer=False,
    )
    return np.asarray(cams, np.float32)


class AllLayerGradcam:
    """Grad-CAM for many conv layers from one forward / backward pass.

    Args:
        model: a functional or Sequential logits model (nested models included).
        layer_names: conv layers, by name or path (default: all, see `conv_layer_names`).

    Raises:
        ModelError: a softmax / single-logit / subclassed model, no conv layer, or a layer
            without feature maps.

    Example:
    >>> import kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> cams = AllLayerGradcam(model)(np.zeros((2, 32, 32, 3), np.float32), [0, 1])
    >>> sorted(cams), cams["conv1"].shape
    (['conv1', 'conv2', 'conv3', 'conv4'], (2, 32, 32))
    """

    def __init__(self, model, layer_names=None):
        check_logits(model)
        model = functional_view(model)  # Sequential (also from .keras), nested models; subclassed: ModelError
        self.model = model
        self.layer_names = list(layer_names or conv_layer_names(model))
        self.image_shape = model.input_shape[1:3]
        self._model = keras.Model(model.input, [symbolic_output(model), *spatial_outputs(model, self.layer_names)])
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
        spatial_outputs(self.model, self.layer_names)  # refuses a bad layer now, not at the first call

    def __call__(self, images, classes):
        """Returns `{layer: heatmaps (n, height, width) in [0, 1]}`."""
        images, classes = np.asarray(images, np.float32), np.asarray(classes)
        return {name: gradcam_tfkerasvis(self.model, images, classes, name) for name in self.layer_names}
