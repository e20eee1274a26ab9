"""Losses kerasadv trains with, serializable like Keras's own (`kerasadv.io.load_model` registers them)."""

import keras


@keras.saving.register_keras_serializable("kerasadv")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy of logits against integer labels smoothed towards the uniform distribution.

    Example:
    >>> loss = SmoothedSparseCrossentropy(0.1)
    >>> round(float(loss(keras.ops.array([0]), keras.ops.array([[10.0, 0.0]]))), 3)
    0.5
    """

    def __init__(self, label_smoothing=0.1, name="smoothed_sparse_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        labels = keras.ops.one_hot(keras.ops.cast(keras.ops.reshape(y_true, [-1]), "int32"), y_pred.shape[-1])
        return keras.losses.categorical_crossentropy(
            labels, y_pred, from_logits=True, label_smoothing=self.label_smoothing
        )

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}
