"""1-NN classification in a latent space (the base-CNN setup's contrastive defense).

A model trained with the contrastive loss maps images to latent codes; an image takes the
class of its nearest neighbour among given training images. `nearest_neighbour_model` makes
that 1-NN a differentiable Keras model (minus the distance to the nearest given image of each
class), so attacks run on it unchanged.
"""

import keras
import numpy as np

from kerasadv.layers.contrastive import NearestPrototypes


def predict(model, x, batch_size=256):
    """`model(x)` in inference mode, batch by batch, as one numpy array.

    Example:
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="ones")])
    >>> predict(model, np.ones((3, 2), np.float32), batch_size=2).ravel().tolist()
    [2.0, 2.0, 2.0]
    """
    return np.concatenate([model(x[i : i + batch_size], training=False).numpy() for i in range(0, len(x), batch_size)])


def nearest_neighbour_model(latent_model, codes, num_classes, per_class):
    """Images -> minus the distance to the nearest given image of each class (argmax: the 1-NN class).

    Args:
        latent_model: images -> latent codes.
        codes: the given images' codes, `per_class` of class 0 first, then of class 1, ...
        num_classes: the number of classes.
        per_class: given images per class.

    Returns:
        A Keras model named "one_nn".

    Example:
    >>> inputs = keras.Input((2,))
    >>> latent = keras.Model(inputs, keras.layers.Identity()(inputs))
    >>> one_nn = nearest_neighbour_model(latent, np.array([[0.0, 0.0], [5.0, 5.0]]), 2, 1)
    >>> predict(one_nn, np.array([[4.0, 4.0]], np.float32)).argmax(1).tolist()
    [1]
    """
    layer = NearestPrototypes(num_classes, per_class, name="given_images")
    model = keras.Model(latent_model.input, layer(latent_model.output), name="one_nn")
    layer.set_prototypes(np.reshape(codes, (num_classes, per_class, -1)))
    return model


def one_nn_row(scores, scores_attacked, y):
    """1-NN accuracy and mean distance to the nearest given image, clean and attacked.

    Args:
        scores, scores_attacked: `nearest_neighbour_model`'s outputs on the clean and the attacked images.
        y: the labels.

    Returns:
        A dict: accuracy_clean, accuracy_fgsm, mean_distance_to_1nn_clean, mean_distance_to_1nn_attacked.

    Example:
    >>> one_nn_row(np.array([[-1.0, -3.0]]), np.array([[-2.0, -0.5]]), np.array([0]))["accuracy_fgsm"]
    0.0
    """
    return {
        "accuracy_clean": float((scores.argmax(1) == y).mean()),
        "accuracy_fgsm": float((scores_attacked.argmax(1) == y).mean()),
        "mean_distance_to_1nn_clean": float(-scores.max(1).mean()),
        "mean_distance_to_1nn_attacked": float(-scores_attacked.max(1).mean()),
    }
