"""Non-differentiable preprocessing defenses, and BPDA to attack through them (Athalye et al. 2018).

`Preprocessing` runs a defense in front of a classifier as deployed: scipy's Gaussian filter,
JPEG compression or bit-depth reduction. None of them has a useful gradient (NumPy code, an
encoder, rounding), so a plain white-box attack cannot see through them: kerasadv's attacks
refuse such a model with a `ModelError` rather than report a falsely robust number.

BPDA (backward pass differentiable approximation) keeps the exact forward pass and replaces
the backward pass: "identity" (the preprocessing is close to x, so d f(g(x)) / dx ~ f'(g(x))),
or "differentiable" (the gradient of a differentiable twin, e.g. the in-graph `GaussianBlur`).
`with_bpda(model)` returns the model with every `Preprocessing` layer switched to BPDA,
sharing all weights, so any attack runs end to end against the real defense.
"""

import keras
import tensorflow as tf

from kerasadv.errors import ModelError
from kerasadv.layers.gaussian_blur import GaussianBlur, gaussian_filter

KINDS = ("gaussian_filter", "jpeg", "bit_depth")
APPROXIMATIONS = (None, "identity", "differentiable")
_OPTIONS = {"gaussian_filter": {"sigma": 0.5}, "jpeg": {"quality": 75}, "bit_depth": {"bits": 4}}


def _forward(kind, options):
    """The defense's forward pass on a float32 NHWC batch in [0, 1] (no gradient)."""
    if kind == "gaussian_filter":

        def scipy_filter(images):
            return tf.numpy_function(lambda a: gaussian_filter(a, options["sigma"]), [images], tf.float32)

        return scipy_filter
    if kind == "jpeg":

        def jpeg(images):
            return tf.map_fn(lambda image: tf.image.adjust_jpeg_quality(image, options["quality"]), images)

        return jpeg
    levels = float(2 ** options["bits"] - 1)
    return lambda images: tf.round(images * levels) / levels


@keras.saving.register_keras_serializable(package="kerasadv")
class Preprocessing(keras.layers.Layer):
    """A non-differentiable input defense; with `bpda=` its backward pass is approximated.

    Args:
        kind: "gaussian_filter" (scipy, option `sigma`), "jpeg" (option `quality`, 1..100) or
            "bit_depth" (option `bits`, 1..8).
        bpda: None (the deployed defense: no gradient), "identity" or "differentiable" (the
            gradient of the in-graph twin; only "gaussian_filter" has one, `GaussianBlur`).
        **options: the kind's options (defaults: sigma 0.5, quality 75, bits 4), then Keras
            layer arguments.

    Raises:
        ValueError: unknown kind, approximation or option.

    Example:
    >>> import numpy as np
    >>> x = np.full((1, 8, 8, 3), 0.3, np.float32)
    >>> float(Preprocessing("bit_depth", bits=1)(x).numpy().max())
    0.0
    >>> x = tf.constant(x)
    >>> with tf.GradientTape() as tape:
    ...     tape.watch(x)
    ...     total = tf.reduce_sum(Preprocessing("bit_depth", bpda="identity", bits=1)(x))
    >>> float(tape.gradient(total, x).numpy().min())  # identity backward
    1.0
    """

    def __init__(self, kind, bpda=None, **options):
        layer_args = {k: options.pop(k) for k in list(options) if k not in _OPTIONS.get(kind, {})}
        super().__init__(**layer_args)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}.")
        if bpda not in APPROXIMATIONS:
            raise ValueError(f"bpda must be one of {APPROXIMATIONS}, got {bpda!r}.")
        if bpda == "differentiable" and kind != "gaussian_filter":
            raise ValueError(f"bpda='differentiable' needs an in-graph twin; {kind!r} has none: use 'identity'.")
        self.kind, self.bpda, self.options = kind, bpda, {**_OPTIONS[kind], **options}
        self._forward = _forward(kind, self.options)
        self._twin = GaussianBlur(self.options["sigma"]) if bpda == "differentiable" else None

    def build(self, input_shape):
        if self._twin is not None:
            self._twin.build(input_shape)
        super().build(input_shape)

    def call(self, inputs):
        inputs = tf.cast(inputs, tf.float32)
        if self.bpda is None:  # as deployed: no gradient at all (JPEG's ops would pass zeros)
            outputs = tf.stop_gradient(self._forward(inputs))
        else:
            outputs = self._approximated(inputs)
        return tf.ensure_shape(outputs, inputs.shape)

    def _approximated(self, inputs):
        @tf.custom_gradient
        def forward(x):
            def backward(upstream):
                if self._twin is None:
                    return upstream
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    smooth = self._twin(x)
                return tape.gradient(smooth, x, output_gradients=upstream)

            return self._forward(x), backward

        return forward(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "bpda": self.bpda, **self.options}


def with_bpda(model, approximation="identity"):
    """`model` with every `Preprocessing` layer replaced by its BPDA version (weights shared).

    Args:
        model: a functional or Sequential model containing `Preprocessing` layers.
        approximation: "identity" or "differentiable".

    Returns:
        A model with the same forward pass whose gradient flows through the defenses.

    Raises:
        ModelError: the model has no `Preprocessing` layer (nothing to approximate).

    Example:
    >>> inner = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(2)])
    >>> defended = keras.Sequential([keras.Input((8, 8, 3)), Preprocessing("jpeg"), inner])
    >>> [type(layer).__name__ for layer in with_bpda(defended).layers]
    ['Preprocessing', 'Sequential']
    """
    if not any(isinstance(layer, Preprocessing) for layer in model.layers):
        raise ModelError(f"Model {model.name!r} has no kerasadv.layers.Preprocessing layer for BPDA to approximate.")

    def clone(layer):
        if isinstance(layer, Preprocessing):
            return Preprocessing(layer.kind, bpda=approximation, name=f"{layer.name}_bpda", **layer.options)
        return layer  # the same layer object: weights shared

    return keras.models.clone_model(model, clone_function=clone)
