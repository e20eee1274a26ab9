"""A model's predicted classes and their confidence (inference mode), compiled once per model."""

import tensorflow as tf

from kerasadv.attacks.compiled import PerModelFunction


def _predict(model, images):
    logits = tf.cast(model(images, training=False), tf.float32)
    return tf.argmax(logits, -1, output_type=tf.int32), tf.reduce_max(tf.nn.softmax(logits), -1)


_PREDICT = PerModelFunction(_predict)


def predict_with_confidence(model, x):
    """Predicted class ids of `x` and their softmax probabilities (inference mode).

    Example:
    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, kernel_initializer="ones")])
    >>> labels, confidence = predict_with_confidence(model, np.ones((1, 2)))
    >>> int(labels[0]), round(float(confidence[0]), 3)
    (0, 0.333)
    """
    x = tf.convert_to_tensor(x, tf.float32)
    if x.shape[0] == 0:  # TensorFlow's CPU convolutions fail on an empty batch inside a graph
        return tf.zeros([0], tf.int32), tf.zeros([0], tf.float32)
    return _PREDICT(model, x)


def predict_labels(model, x):
    """Predicted class ids of `x` (model in inference mode)."""
    return predict_with_confidence(model, x)[0]
