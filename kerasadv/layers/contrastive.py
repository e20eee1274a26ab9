"""Contrastive latent defense: a projection head, the pairwise contrastive loss, prototypes.

The base-CNN setup adds to cross-entropy the pairwise loss
`1[y1 = y2] d^2 + 1[y1 != y2] max(0, alpha - d)^2` (d: Euclidean distance of the two latent
codes, alpha = 2), then classifies by the nearest of a few prototypes per class (1-NN).
"""

import keras
from keras import ops

from kerasadv.constants import TINY


def pairwise_contrastive_loss(latent, labels, margin=2.0):
    """Mean over all pairs i < j of a batch of the contrastive loss of their latent codes.

    Args:
        latent: (n, d) latent codes.
        labels: (n,) int labels.
        margin: alpha, the distance beyond which different classes cost nothing.

    Returns:
        Scalar loss.

    Example:
    >>> z = ops.convert_to_tensor([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    >>> round(float(pairwise_contrastive_loss(z, ops.convert_to_tensor([0, 0, 1]))), 4)
    0.3333
    """
    latent = ops.cast(latent, "float32")
    squared = ops.sum(ops.square(latent[:, None, :] - latent[None, :, :]), axis=-1)
    distance = ops.sqrt(ops.maximum(squared, TINY))
    labels = ops.reshape(labels, (-1,))
    same = ops.cast(ops.equal(labels[:, None], labels[None, :]), "float32")
    pair_loss = same * squared + (1.0 - same) * ops.square(ops.relu(margin - distance))
    n = ops.shape(latent)[0]
    upper = ops.cast(ops.triu(ops.ones((n, n)), k=1), "float32")
    return ops.sum(pair_loss * upper) / ops.maximum(ops.sum(upper), 1.0)


@keras.saving.register_keras_serializable(package="kerasadv")
class ContrastiveHead(keras.layers.Layer):
    """Projects features to a `latent_dim`-dimensional latent space (a linear map).

    Args:
        latent_dim: dimension of the latent codes (2 lets you plot them directly).

    Example:
    >>> tuple(ContrastiveHead(2)(ops.zeros((3, 16))).shape)
    (3, 2)
    """

    def __init__(self, latent_dim=2, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.projection = keras.layers.Dense(self.latent_dim, name="projection")

    def build(self, input_shape):
        self.projection.build(input_shape)

    def call(self, features):
        return self.projection(features)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.latent_dim)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim}


@keras.saving.register_keras_serializable(package="kerasadv")
class NearestPrototypes(keras.layers.Layer):
    """Scores each class by minus the distance to its nearest prototype (1-NN as logits).

    The prototypes are non-trainable weights, set with `set_prototypes`; argmax of the
    output is the 1-NN class, and the output is differentiable, so attacks apply unchanged.

    Args:
        num_classes: number of classes.
        per_class: prototypes per class.

    Example:
    >>> layer = NearestPrototypes(2, per_class=1)
    >>> layer.build((None, 2)); layer.set_prototypes([[[0.0, 0.0]], [[5.0, 5.0]]])
    >>> int(ops.argmax(layer(ops.convert_to_tensor([[4.0, 4.0]])), -1)[0])
    1
    """

    def __init__(self, num_classes, per_class=5, **kwargs):
        super().__init__(**kwargs)
        self.num_classes, self.per_class = int(num_classes), int(per_class)

    def build(self, input_shape):
        self.prototypes = self.add_weight(
            shape=(self.num_classes, self.per_class, input_shape[-1]),
            initializer="zeros",
            trainable=False,
            name="prototypes",
        )

    def set_prototypes(self, prototypes):
        """Sets the (num_classes, per_class, latent_dim) prototype array."""
        self.prototypes.assign(ops.convert_to_tensor(prototypes, "float32"))

    def call(self, latent):
        diff = latent[:, None, None, :] - self.prototypes[None]
        distance = ops.sqrt(ops.sum(ops.square(diff), axis=-1) + TINY)
        return -ops.min(distance, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "per_class": self.per_class}
