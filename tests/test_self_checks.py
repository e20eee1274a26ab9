"""Each self-check of a robustness evaluation fires on a model (or attack) built to trigger it."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasadv import attacks
from kerasadv.attacks.self_checks import RobustnessWarning, self_checks
from kerasadv.layers import GaussianNoiseDefense

X = np.random.default_rng(0).random((32, 4, 4, 1), dtype=np.float32)


def linear(seed=0, head=None):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2, activation=head)])


def predictions(model):
    return np.argmax(model(X), axis=-1)  # clean accuracy 1.0 by construction


class MaskedGradient(keras.layers.Layer):
    """Logits of a linear model on stop_gradient(x): the input gradient exists and is zero."""

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(16, 2), initializer="glorot_uniform")

    def call(self, x):
        flat = tf.reshape(x, [-1, 16])
        return tf.stop_gradient(flat) @ self.kernel + 0.0 * tf.reduce_sum(flat, axis=1, keepdims=True)


class NoisyPGD(attacks.PGD):
    """An attack that moves images whatever its budget (eps = 0 included)."""

    def perturb(self, model, x, labels, eps):
        return {"x_adv": tf.clip_by_value(x + 0.3 * tf.sign(tf.random.stateless_normal(tf.shape(x), [1, 2])), 0, 1)}


class WeakeningPGD(attacks.PGD):
    """Full steps with 2 iterations, almost none with more: more iterations help the model."""

    def step_length(self, eps):
        return eps * (1.0 if self.steps <= 2 else 1e-4)


def failed(results):
    return {r["check"] for r in results if not r["passed"]}


def test_a_sound_evaluation_passes_every_check():
    model = linear()
    assert failed(self_checks(attacks.PGD(0.3, steps=10, seed=0), model, X, predictions(model), warn=False)) == set()


def test_softmax_is_flagged():
    model = linear(head="softmax")
    assert failed(self_checks(attacks.PGD(0.1), model, X, predictions(model), warn=False)) == {"logits"}


def test_a_randomized_model_is_flagged_with_a_warning():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), GaussianNoiseDefense(0.5), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    with pytest.warns(RobustnessWarning, match="two passes differ.*EOT"):
        results = self_checks(attacks.PGD(0.1, steps=5, seed=0), model, X, np.zeros(32, int))
    assert "deterministic" in failed(results)


def test_an_attack_that_moves_images_at_eps_zero_is_flagged():
    model = linear()
    results = self_checks(NoisyPGD(0.1, steps=5), model, X, predictions(model), warn=False)
    assert "eps_zero_is_clean" in failed(results)


def test_more_iterations_raising_accuracy_is_flagged():
    model = linear()
    results = self_checks(WeakeningPGD(0.3, steps=2, random_start=False), model, X, predictions(model), warn=False)
    assert failed(results) == {"more_iterations_do_not_help_the_model"}


def test_masked_gradients_leave_accuracy_above_zero_at_an_unbounded_radius():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4, 4, 1)), MaskedGradient()])
    results = self_checks(attacks.PGD(0.1, steps=5, seed=0), model, X, predictions(model), warn=False)
    assert failed(results) == {"unbounded_eps_reaches_zero"}
