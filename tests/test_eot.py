"""EOT: a randomized model that plain PGD reports as robust is broken by the expectation attack."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasadv import attacks
from kerasadv.attacks.eot import ExpectationModel
from kerasadv.errors import AttackInputError


class RandomPhaseScore(keras.layers.Layer):
    """Two logits: [0, a (mean(x) - 0.5) + c sum(sin(w x + phase))], a fresh random phase per pass.

    The sine term barely moves the logit (c small) but dominates every single-pass gradient
    (c w large, zero mean over the phase): one pass's gradient is noise, the expected
    gradient is the linear term's. A toy of gradient noise by randomization.
    """

    def __init__(self, a=100.0, c=0.01, w=300.0, **kwargs):
        super().__init__(**kwargs)
        self.a, self.c, self.w = a, c, w

    def call(self, x):
        phase = tf.random.uniform(tf.shape(x), 0.0, 2.0 * np.pi)
        score = self.a * (tf.reduce_mean(x, axis=[1, 2, 3]) - 0.5)
        score += self.c * tf.reduce_sum(tf.sin(self.w * x + phase), axis=[1, 2, 3])
        return tf.stack([tf.zeros_like(score), score], axis=-1)


@pytest.fixture(scope="module")
def randomized():
    return keras.Sequential([keras.Input((16, 16, 3)), RandomPhaseScore()])


@pytest.fixture(scope="module")
def data():
    x = np.clip(0.56 + np.random.default_rng(0).uniform(-0.1, 0.1, (16, 16, 16, 3)), 0, 1).astype(np.float32)
    return x, np.ones(16, int)  # mean ~0.56: class 1, a margin of ~6 logits


def test_eot_breaks_a_randomized_model_that_plain_pgd_reports_robust(randomized, data):
    x, y = data
    assert attacks.clean_accuracy(randomized, (x, y)) == 1.0
    plain = attacks.PGD(0.1, steps=10, seed=0)
    expected = attacks.EOT(attacks.PGD(0.1, steps=10, seed=0), samples=500)
    plain_accuracy = attacks.clean_accuracy(randomized, (plain(randomized, x, y), y))
    eot_accuracy = attacks.clean_accuracy(randomized, (expected(randomized, x, y), y))
    assert plain_accuracy >= 0.9, plain_accuracy  # one noisy gradient per step: "robust"
    assert eot_accuracy <= 0.1, eot_accuracy  # the expected gradient: broken


def test_expectation_averages_logits_and_losses(randomized, data):
    x, _ = data
    mean = ExpectationModel(randomized, 500)(x[:2])
    single = randomized(x[:2])
    linear = 100.0 * (x[:2].mean(axis=(1, 2, 3)) - 0.5)
    assert np.abs(mean[:, 1] - linear).max() < np.abs(single[:, 1] - linear).max() + 0.05


def test_eot_is_a_configurable_attack_value():
    attack = attacks.EOT({"class_name": "APGD", "config": {"eps": 0.03, "steps": 10}}, samples=8)
    config = attacks.serialize(attack)
    assert config["config"]["attack"]["class_name"] == "APGD" and config["config"]["samples"] == 8
    assert attacks.deserialize(config) == attack
    with pytest.raises(AttackInputError, match="samples must be"):
        attacks.EOT("pgd", samples=0)
    with pytest.raises(AttackInputError, match="takes no gradients"):
        attacks.EOT("one_pixel")
