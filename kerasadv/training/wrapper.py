"""`TrainingWrapper`: the one base of kerasadv's training recipes inside `model.fit`.

A wrapper holds a plain Keras classifier (whose weights are the ones trained) and, for
adversarial recipes, an attack. It forwards `call` to the classifier; its `train_step`
attacks the batch (`attacked`), descends the recipe's `outer_loss` and ends with the same
apply-gradients tail and metric update (Keras's public `compute_metrics`) in every recipe. It
saves the plain, servable classifier, and serialises like any Keras object: `get_config()`
holds the classifier, the attack's config and the recipe's hyper-parameters;
`recipe_config()` the same without the classifier.

The attack's radius lives in `attack_eps`, a non-trainable variable of the wrapper read by
the compiled train step, so `callbacks.EpsilonSchedule` changes it without retracing and
without touching the user's attack object.
"""

import keras
import tensorflow as tf

from kerasadv import attacks
from kerasadv.data.forms import fit_data
from kerasadv.models.logits import check_logits
from kerasadv.models.structure import check_structure
from kerasadv.training import distribute
from kerasadv.training.guard import InputGuard, training_images
from kerasadv.training.precision import with_dtype_policy


class TrainingWrapper(keras.Model):
    """Base of the training recipes; on its own, plain training of `classifier`.

    Recipes implement `attacked` and `outer_loss` (or a whole `train_step`), may name a
    `default_attack` and refuse attacks they cannot train against (`check_attack`). Every
    wrapper trains under any `tf.distribute` strategy, `MultiWorkerMirroredStrategy` across
    worker processes included (the shim of `kerasadv.training.distribute`):
    `TrainingWrapper(classifier)` is how a classifier without a recipe trains there.

    Args:
        classifier: a Keras logits classifier.
        attack: an attack, or an identifier for `kerasadv.attacks.get`; None: the recipe's
            `default_attack` (none for plain training).
        adversarial_training_mode: the `training` flag of the classifier's forward pass on
            adversarial examples (True: BatchNorm and dropout as in normal training).

    Example:
    >>> import kerasadv
    >>> from kerasadv.training import AdversarialModel
    >>> wrapper = AdversarialModel(kerasadv.models.simple_cnn(), "fgsm")
    >>> wrapper.recipe_config()["attack"]["class_name"]
    'FGSM'
    """

    default_attack = None  # a function giving the recipe's attack when none is given
    hyperparameter_checks = {}  # name -> the check (raising RecipeError) of a constructor argument

    def __init__(self, classifier, attack=None, adversarial_training_mode=True, **kwargs):
        super().__init__(name=kwargs.pop("name", f"{type(self).__name__.lower()}_{classifier.name}"), **kwargs)
        check_structure(classifier)
        check_logits(classifier)
        self.input_guard = InputGuard(type(self).__name__)
        self.classifier = classifier
        self.attack = self.resolve_attack(attack)
        self.adversarial_training_mode = bool(adversarial_training_mode)
        radius = getattr(self.attack, "eps", None)
        self.attack_eps = (
            None if radius is None else tf.Variable(float(radius), trainable=False, dtype=tf.float32, name="attack_eps")
        )
        self.built = True  # all weights live in the (built) classifier

    def call(self, inputs, training=None):
        return self.classifier(inputs, training=training)

    def largest_batch(self):
        """The largest batch a step can take (None: any); checked after each step with the pixel range."""
        return None

    def images(self, x):
        """A batch's images as float32, recorded for the check after the step (`InputGuard`).

        Integer (0..255) images and several image tensors are refused while the step is traced.
        """
        x = training_images(x, type(self).__name__)
        self.input_guard.observe(x)
        return x

    def fit(self, x=None, y=None, batch_size=None, **kwargs):
        """Keras's `fit`, also on lists, TFDS dicts and unbatched data sets (`data.forms.fit_data`)."""
        x, y = fit_data(x, y, batch_size)
        batch_size = None if isinstance(x, tf.data.Dataset) else batch_size  # batched by now
        return super().fit(x, y, batch_size=batch_size, **kwargs)

    def make_train_function(self, force=False):
        """Keras's train function, followed by the eager check of what its steps saw (`InputGuard`)."""
        if self.train_function is not None and not force:
            return self.train_function
        super().make_train_function(force)
        step = self.train_function

        def checked_step(data):
            logs = step(data)
            self.input_guard.check(self.largest_batch())
            return logs

        self.train_function = checked_step
        return checked_step

    @classmethod
    def resolve_attack(cls, attack):
        """The recipe's attack from an identifier (None: `default_attack()`, or no attack), checked."""
        if attack is None and cls.default_attack is not None:
            attack = cls.default_attack()
        if attack is None:
            return None
        attack = attacks.get(attack)
        cls.check_attack(attack)
        return attack

    @classmethod
    def check_attack(cls, attack):
        """Refuses (with a `RecipeError`) an attack the recipe cannot train against; any by default."""

    def train_step(self, data):
        """One step: attack the batch, descend `outer_loss` on it (plain training: the batch as it is)."""
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        x = self.images(x)
        loss, x_logged, y_pred = self.descend(x, self.attacked(x, y), y, sample_weight)
        return self.update_logs(loss, x_logged, y, y_pred, sample_weight)

    def descend(self, x, x_adv, y, sample_weight):
        """One optimizer step on `outer_loss`; returns what it returns."""
        with tf.GradientTape() as tape:
            loss, x_logged, y_pred = self.outer_loss(x, x_adv, y, sample_weight)
        self.apply_loss_gradients(tape, loss)
        return loss, x_logged, y_pred

    def attacked(self, x, y):
        """The inputs the outer loss trains on besides `x` (plain training: `x` itself)."""
        return x

    def outer_loss(self, x, x_adv, y, sample_weight):
        """`(loss, x_logged, y_pred)`: the compiled loss on `x_adv`; the logged metrics are of `y_pred` on it."""
        y_pred = self.classifier(x_adv, training=self.adversarial_training_mode)
        return self.compute_loss(x=x_adv, y=y, y_pred=y_pred, sample_weight=sample_weight), x_adv, y_pred

    def test_step(self, data):
        return distribute.reducible_logs(super().test_step(data))

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # keras-team/keras#20585: Keras builds from a batch drawn and reduced across replicas,
        # which MultiWorkerMirroredStrategy cannot reduce; the data's spec builds the same model.
        if iterator is not None:
            iterator, data_batch = None, distribute.batch_spec(iterator)
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def adversarial(self, model, x, y):
        """Adversarial versions of `x` against `model` at the current `attack_eps` (no gradient)."""
        return tf.stop_gradient(self.attack.run(model, x, y, self.attack_eps)["x_adv"])

    def apply_loss_gradients(self, tape, loss, extra_sources=()):
        """The tail of every step: scaled loss gradients applied to the trainable weights.

        Gradients with respect to `extra_sources` (e.g. the input, for free AT) come from the
        same backward pass and are returned.
        """
        weights = self.trainable_weights
        with tape:  # record the loss scaling (mixed precision) on the step's tape
            scaled = self.optimizer.scale_loss(loss)
        (*gradients,) = tape.gradient(scaled, [*weights, *extra_sources])
        self.optimizer.apply_gradients(zip(gradients[: len(weights)], weights))
        return gradients[len(weights) :]

    def update_logs(self, loss, x, y, y_pred, sample_weight=None):
        """Updates the loss tracker and the compiled metrics; returns the step's logs.

        The tracked loss is the global batch's mean, however many replicas share the step.
        """
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(distribute.unscaled_loss(loss), sample_weight=tf.shape(y_pred)[0])
        return distribute.reducible_logs(self.compute_metrics(x, y, y_pred, sample_weight))

    def save(self, filepath, *args, **kwargs):
        """Saves the plain classifier (servable: no wrapper, no attack, float32 computation)."""
        return with_dtype_policy(self.classifier, "float32").save(filepath, *args, **kwargs)

    @classmethod
    def check_recipe(cls, config):
        """Checks a recipe config's hyper-parameters without building the wrapper (raises as `__init__`).

        Each class of the wrapper's MRO names its own in `hyperparameter_checks`.
        """
        for klass in cls.__mro__:
            for name, check in vars(klass).get("hyperparameter_checks", {}).items():
                check(config[name])

    def recipe_config(self):
        """The recipe without the classifier: what a pipeline parameter or a report holds."""
        return {
            "attack": None if self.attack is None else attacks.serialize(self.attack),
            "adversarial_training_mode": self.adversarial_training_mode,
        }

    def get_config(self):
        return {"classifier": keras.saving.serialize_keras_object(self.classifier), **self.recipe_config()}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        classifier = keras.saving.deserialize_keras_object(config.pop("classifier"))
        return cls(classifier, **config)
