"""Contrastive-latent training in `model.fit` and 1-NN classification by class prototypes."""

import keras
import numpy as np
import scipy.cluster.vq
import tensorflow as tf

from kerasadv.attacks.stream import as_batches
from kerasadv.constants import DEFAULT_BATCH_SIZE
from kerasadv.errors import KerasAdvError
from kerasadv.layers.contrastive import ContrastiveHead, NearestPrototypes, pairwise_contrastive_loss
from kerasadv.models.graph import functional_view, layer_output
from kerasadv.training.wrapper import TrainingWrapper


@keras.saving.register_keras_serializable(package="kerasadv")
class ContrastiveModel(TrainingWrapper):
    """Trains `classifier` with cross-entropy plus the pairwise contrastive loss of a latent head.

    The head projects the features of `feature_layer` (default: the classifier's penultimate
    layer) to `latent_dim` dimensions. After `fit`, `fit_prototypes` places `per_class`
    k-means prototypes per class in the latent space and `prototype_classifier()` returns a
    plain, serializable Keras model that classifies by the nearest prototype (its outputs
    are minus distances, so attacks and evaluation apply unchanged). `save` writes the
    classifier (its softmax head), like the adversarial wrappers.

    Args:
        classifier: a functional logits classifier.
        feature_layer: name of the layer whose output feeds the head.
        latent_dim: latent dimension.
        margin: alpha of the contrastive loss.
        weight: weight of the contrastive loss against cross-entropy.
        per_class: prototypes per class.
        attack: optional attack or identifier; when given, the first half of each batch is
            replaced by its adversarial examples (contrastive adversarial training).

    Example:
    >>> import kerasadv
    >>> contrastive = ContrastiveModel(kerasadv.models.simple_cnn(), latent_dim=2)
    >>> contrastive.latent(np.zeros((1, 32, 32, 3), np.float32)).shape
    TensorShape([1, 2])
    """

    def __init__(
        self, classifier, feature_layer=None, latent_dim=2, margin=2.0, weight=1.0, per_class=5, attack=None, **kwargs
    ):
        super().__init__(classifier, attack, **kwargs)
        graph = functional_view(classifier)  # Sequential (also from .keras) included; subclassed: ModelError
        feature_layer = feature_layer or graph.layers[-2].name  # a path inside a nested model works too
        features = layer_output(graph, feature_layer)  # an unknown name: ModelError listing the known ones
        self.feature_layer, self.latent_dim = feature_layer, int(latent_dim)
        self.margin, self.weight, self.per_class = float(margin), float(weight), int(per_class)
        self.encoder = keras.Model(graph.input, features, name="encoder")
        self.head = ContrastiveHead(latent_dim, name="contrastive_head")
        self.joint = keras.Model(graph.input, [graph.outputs[0], features])
        self.graph = graph
        self.head.build(features.shape)

    def latent(self, x, training=False):
        """Latent codes of images `x`."""
        return self.head(self.encoder(x, training=training))

    def latent_model(self):
        """A functional model sharing the weights: images -> latent codes (saved by the Trainer as `latent.keras`)."""
        return keras.Model(self.graph.input, self.head(self.encoder(self.graph.input)), name="latent")

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        x = self.images(x)
        if self.attack is not None:
            half = tf.shape(x)[0] // 2
            x = tf.concat([self.adversarial(self.classifier, x[:half], y[:half]), x[half:]], axis=0)
        with tf.GradientTape() as tape:
            logits, features = self.joint(x, training=True)
            latent = self.head(features)
            loss = self.compute_loss(x=x, y=y, y_pred=logits, sample_weight=sample_weight)
            loss += self.weight * pairwise_contrastive_loss(latent, y, self.margin)
        self.apply_loss_gradients(tape, loss)
        return self.update_logs(loss, x, y, logits, sample_weight)

    def recipe_config(self):
        config = super().recipe_config()
        config.pop("adversarial_training_mode")  # the joint graph always trains in training mode
        return {
            **config,
            "feature_layer": self.feature_layer,
            "latent_dim": self.latent_dim,
            "margin": self.margin,
            "weight": self.weight,
            "per_class": self.per_class,
        }

    def fit_prototypes(self, data, batch_size=DEFAULT_BATCH_SIZE, seed=0):
        """k-means (`per_class` centres) of the latent codes of each class of `data`.

        Returns:
            (num_classes, per_class, latent_dim) array, also kept for `prototype_classifier`.
        """
        codes, labels = [], []
        for x, y in as_batches(data, batch_size):
            codes.append(self.latent(x).numpy())
            labels.append(np.asarray(y).reshape(-1))
        codes, labels = np.concatenate(codes), np.concatenate(labels)
        num_classes = int(self.graph.output_shape[-1])
        rng = np.random.default_rng(seed)
        self.prototypes = np.stack(
            [
                scipy.cluster.vq.kmeans2(codes[labels == c].astype(np.float64), self.per_class, minit="++", seed=rng)[0]
                for c in range(num_classes)
            ]
        ).astype(np.float32)
        return self.prototypes

    def prototype_classifier(self):
        """A functional model: image -> minus distance to the nearest prototype of each class."""
        if not hasattr(self, "prototypes"):
            raise KerasAdvError("no prototypes yet: call fit_prototypes(data) before prototype_classifier().")
        nearest = NearestPrototypes(*self.prototypes.shape[:2], name="nearest_prototypes")
        outputs = nearest(self.head(self.encoder(self.graph.input)))
        nearest.set_prototypes(self.prototypes)
        return keras.Model(self.graph.input, outputs, name=f"{self.classifier.name}_prototypes")
