"""AdvProp (Xie et al., 2020): adversarial examples normalised by auxiliary BatchNorm layers.

Clean examples go through the classifier with its own (main) BatchNorm layers; adversarial
examples go through a twin graph that shares every weight except BatchNorm, which has its
own auxiliary layers. Inference and the saved model use the main BatchNorm only.
"""

import keras
import tensorflow as tf

from kerasadv.errors import ModelError
from kerasadv.models.graph import functional_view, layer_output, leaf_layers
from kerasadv.training.wrapper import TrainingWrapper


def _auxiliary_twin(classifier):
    """A functional model sharing `classifier`'s layers, with fresh copies of its BatchNorms."""
    classifier = functional_view(classifier)  # Sequential (also from .keras) included; subclassed: ModelError
    if not any(isinstance(l, keras.layers.BatchNormalization) for l in classifier.layers):
        nested = [path for path, l in leaf_layers(classifier) if isinstance(l, keras.layers.BatchNormalization)]
        if nested:
            raise ModelError(
                f"AdvProp gives auxiliary twins to the BatchNormalization layers of the model's top level; those of "
                f"{classifier.name!r} sit inside a nested model ({nested[0]!r}, ...). Build the classifier from the "
                "backbone's output tensors (keras.Model(backbone.input, head(backbone.output))) so they are top-level."
            )
        raise ModelError(f"AdvProp needs BatchNormalization layers; {classifier.name!r} has none.")

    def swap(layer):
        if not isinstance(layer, keras.layers.BatchNormalization):
            return layer  # shared: same instance, same weights
        twin = keras.layers.BatchNormalization.from_config({**layer.get_config(), "name": f"{layer.name}_aux"})
        twin.build(layer_output(classifier, layer.name).shape)  # BN keeps its input's shape
        twin.set_weights(layer.get_weights())
        return twin

    return keras.models.clone_model(classifier, clone_function=swap)


@keras.saving.register_keras_serializable(package="kerasadv")
class AdvPropModel(TrainingWrapper):
    """Trains on clean examples (main BN) plus their adversarial versions (auxiliary BN).

    The loss is the mean of the clean loss and the adversarial loss; the attack runs against
    the auxiliary graph, as in the paper. `save` writes the classifier with its main BN.

    Args:
        classifier: a functional Keras logits classifier with BatchNormalization layers.
        attack: any kerasadv attack or identifier.

    Example:
    >>> import numpy as np, kerasadv
    >>> clf = kerasadv.models.resnet18(width=4)
    >>> adv = AdvPropModel(clf, kerasadv.attacks.PGD(0.03, steps=1, seed=0))
    >>> adv.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> x = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
    >>> _ = adv.fit(x, np.arange(8) % 10, epochs=1, verbose=0)
    """

    def __init__(self, classifier, attack, **kwargs):
        kwargs.pop("adversarial_training_mode", None)  # both graphs train in training mode
        super().__init__(classifier, attack, **kwargs)
        self.auxiliary = _auxiliary_twin(classifier)

    def recipe_config(self):
        config = super().recipe_config()
        config.pop("adversarial_training_mode")  # both graphs always train in training mode
        return config

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        x = self.images(x)
        x_adv = self.adversarial(self.auxiliary, x, y)
        with tf.GradientTape() as tape:
            y_pred = self.classifier(x, training=True)
            clean_loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)
            adv_pred = self.auxiliary(x_adv, training=True)
            adv_loss = self.compute_loss(x=x_adv, y=y, y_pred=adv_pred, sample_weight=sample_weight)
            loss = 0.5 * (clean_loss + adv_loss)
        self.apply_loss_gradients(tape, loss)
        return self.update_logs(loss, x, y, y_pred, sample_weight)
