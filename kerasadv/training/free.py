"""Free adversarial training (Shafahi et al., 2019): each minibatch replayed m times.

Every replay is one forward/backward pass that yields the weight gradient and the input
gradient together: the weights take a step, and the perturbation, carried over from replay to
replay and batch to batch, takes a signed step of size eps. Run `epochs / replays` epochs to
spend what `epochs` standard epochs cost.
"""

import keras
import tensorflow as tf

from kerasadv.attacks import FGSM, validation
from kerasadv.errors import ModelError, RecipeError
from kerasadv.training.wrapper import TrainingWrapper


def check_replays(replays):
    """`replays` as an int >= 1, else a RecipeError."""
    return validation.check_integer(replays, "replays", error=RecipeError)


def check_batch_size(batch_size):
    """`batch_size` as an int >= 1, else a RecipeError."""
    return validation.check_integer(batch_size, "batch_size", error=RecipeError)


@keras.saving.register_keras_serializable(package="kerasadv")
class FreeAdversarialModel(TrainingWrapper):
    """Free AT wrapper around `classifier` (saves the plain classifier, like `AdversarialModel`).

    Args:
        classifier: a Keras logits classifier.
        attack: the FGSM whose Linf radius bounds the perturbation (an `FGSM` or an identifier
            of one, e.g. `{"class_name": "FGSM", "config": {"eps": 0.03}}`); its eps is the
            step and the radius, and `EpsilonSchedule` drives it.
        replays: how many times each minibatch is replayed (m).
        batch_size: the largest batch the data set yields (sizes the perturbation buffer).
        adversarial_training_mode: the `training` flag of the forward passes.

    Example:
    >>> import numpy as np, kerasadv
    >>> free = FreeAdversarialModel(kerasadv.models.simple_cnn(), FGSM(0.03), replays=2, batch_size=8)
    >>> free.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> x = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
    >>> _ = free.fit(x, np.arange(8) % 10, batch_size=8, epochs=1, verbose=0)
    """

    hyperparameter_checks = {"replays": check_replays, "batch_size": check_batch_size}

    def __init__(self, classifier, attack="fgsm", replays=4, batch_size=128, adversarial_training_mode=True, **kwargs):
        super().__init__(classifier, attack, adversarial_training_mode, **kwargs)
        self.replays, self.batch_size = check_replays(replays), check_batch_size(batch_size)
        input_shape = getattr(classifier, "input_shape", None)
        if not isinstance(input_shape, tuple) or None in input_shape[1:]:
            raise ModelError(
                f"free AT sizes its perturbation buffer by the input shape; {classifier.name!r} "
                f"({type(classifier).__name__}, subclassed?) has none: build it with keras.Input."
            )
        shape = (self.batch_size, *input_shape[1:])
        self.delta = tf.Variable(tf.zeros(shape), trainable=False, name="free_at_delta")

    @classmethod
    def check_attack(cls, attack):
        if not isinstance(attack, FGSM) or attack.norm != "linf" or attack.targeted:
            raise RecipeError(f"free AT replays untargeted Linf FGSM steps; got attack {attack!r}.")

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        x = self.images(x)
        n = tf.shape(x)[0]
        kept = tf.minimum(n, self.batch_size)  # a larger batch: no shape error here, a RecipeError after the step
        eps = tf.convert_to_tensor(self.attack_eps)
        for _ in range(self.replays):  # unrolled: m is small and the optimiser must not build in a loop
            delta = tf.pad(self.delta[:kept], [[0, n - kept], [0, 0], [0, 0], [0, 0]])
            with tf.GradientTape() as tape:
                x_adv = tf.clip_by_value(x + delta, 0.0, 1.0)
                tape.watch(x_adv)
                y_pred = self.classifier(x_adv, training=self.adversarial_training_mode)
                loss = self.compute_loss(x=x_adv, y=y, y_pred=y_pred, sample_weight=sample_weight)
            (grad_x,) = self.apply_loss_gradients(tape, loss, extra_sources=[x_adv])  # one backward pass
            new_delta = tf.clip_by_value(delta + eps * tf.sign(grad_x), -eps, eps)
            self.delta.assign(tf.concat([new_delta[:kept], self.delta[kept:]], axis=0))
        return self.update_logs(loss, x_adv, y, y_pred, sample_weight)

    def largest_batch(self):
        return self.batch_size

    def recipe_config(self):
        return {**super().recipe_config(), "replays": self.replays, "batch_size": self.batch_size}
