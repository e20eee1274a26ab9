"""EOT: expectation over transformation, for models whose forward pass is random (Athalye et al. 2018).

A randomized defense (`GaussianNoiseDefense`, active at inference) gives each forward pass its
own gradient; a plain attack follows one noisy sample per step and may report the model as
robust. `EOT(attack, samples)` runs `attack` against the model's expectation: every gradient
and every prediction the attack takes is the mean over `samples` passes (one tiled batch).
"""

import weakref

import keras
import tensorflow as tf

from kerasadv.attacks import validation
from kerasadv.attacks.base import Attack, register
from kerasadv.attacks.registry import get, serialize
from kerasadv.errors import AttackInputError
from kerasadv.models.logits import check_logits
from kerasadv.models.structure import check_structure


class ExpectationModel(keras.Model):
    """`model` averaged over `samples` random passes: logits are the mean logits.

    The attacks' one loss function (`attacks.gradients.expected_loss`) reads `eot_samples`
    and `eot_model` to average losses (so gradients), not only logits. It holds `model`
    weakly: `EOT` keeps one per model in a cache keyed by the model, and a cached value that
    held its key would keep every attacked model alive. Keep a reference to `model` while
    you use it.
    """

    def __init__(self, model, samples, **kwargs):
        super().__init__(name=f"{model.name}_eot{samples}", **kwargs)
        self._model_ref, self.eot_samples = weakref.ref(model), samples

    @property
    def eot_model(self):
        """The randomized model whose expectation this is."""
        model = self._model_ref()
        if model is None:
            raise AttackInputError(f"{self.name}: the model it averages was deleted; keep a reference to it.")
        return model

    def call(self, x, training=False):
        logits = self.eot_model(tf.tile(x, [self.eot_samples, 1, 1, 1]), training=training)
        return tf.reduce_mean(tf.reshape(logits, [self.eot_samples, -1, tf.shape(logits)[-1]]), axis=0)

    @property
    def input_shape(self):
        return self.eot_model.input_shape

    @property
    def output_shape(self):
        return self.eot_model.output_shape


@register
class EOT(Attack):
    """Runs a gradient attack against the expectation of a randomized model.

    Args:
        attack: the attack (an instance, name or config), e.g. `APGD(8 / 255)`.
        samples: forward passes averaged per gradient and prediction (AutoAttack's "rand"
            version uses 20).

    Example:
    >>> import numpy as np, kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    >>> x_adv = EOT("pgd", samples=4)(model, x, np.arange(2))
    >>> x_adv.shape
    TensorShape([2, 32, 32, 3])
    """

    def __init__(self, attack="pgd", samples=20):
        self.attack = get(attack)
        if isinstance(self.attack, EOT):
            raise AttackInputError("EOT of an EOT attack: give the inner attack and the total samples.")
        if not self.attack.traceable:
            raise AttackInputError(f"EOT needs a gradient attack; {type(self.attack).__name__} takes no gradients.")
        self.samples = validation.check_integer(samples, "samples")
        self.norm, self.eps = self.attack.norm, getattr(self.attack, "eps", None)
        self._expectations = weakref.WeakKeyDictionary()  # one wrapper (one compiled attack) per model

    def run(self, model, x, y=None, eps=None):
        if tf.executing_eagerly():  # the expectation hides the model's structure from the attack's checks
            check_structure(model)
            check_logits(model)
        if model not in self._expectations:
            self._expectations[model] = ExpectationModel(model, self.samples)
        return self.attack.run(self._expectations[model], x, y, eps)

    def reseed(self, batch_index):
        self.attack.reseed(batch_index)

    def get_config(self):
        return {"attack": serialize(self.attack), "samples": self.samples}
