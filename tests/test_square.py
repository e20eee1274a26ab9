"""Square attack (Linf, score-based): the schedule, the budget, and strength without gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasadv import attacks
from kerasadv.attacks.square import margin, window_fraction
from kerasadv.errors import AttackInputError


def test_window_schedule_halves_at_the_papers_points():
    fractions = [float(window_fraction(i, 10000, 0.8)) for i in (0, 10, 11, 51, 201, 9999)]
    assert fractions == pytest.approx([0.8, 0.8, 0.4, 0.2, 0.1, 0.8 / 512])
    assert float(window_fraction(50, 100, 0.8)) == pytest.approx(0.8 / 2**7)  # 5,000 of 10,000 rescaled


def test_margin_is_negative_exactly_when_misclassified():
    logits = tf.constant([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0]])
    np.testing.assert_allclose(margin(logits, tf.constant([0, 0])), [1.0, -3.0])


def test_refuses_what_it_does_not_implement():
    with pytest.raises(AttackInputError, match="untargeted Linf"):
        attacks.Square(0.5, norm="l2")
    with pytest.raises(AttackInputError, match="p_init"):
        attacks.Square(p_init=0.0)


def test_breaks_a_model_whose_gradients_are_masked():
    """Zero input gradients stop PGD; a score-based search does not care."""

    class Masked(keras.layers.Layer):
        def call(self, x):
            flat = tf.reshape(x, [-1, 48])
            score = 40.0 * (tf.reduce_mean(tf.stop_gradient(flat), axis=1) - 0.45)
            return tf.stack([tf.zeros_like(score), score], axis=-1) + 0.0 * tf.reduce_sum(flat)

    model = keras.Sequential([keras.Input((4, 4, 3)), Masked()])
    x = np.full((8, 4, 4, 3), 0.5, np.float32) + np.random.default_rng(0).uniform(-0.02, 0.02, (8, 4, 4, 3))
    x = x.astype(np.float32)
    y = np.ones(8, int)
    assert attacks.clean_accuracy(model, (x, y)) == 1.0
    assert attacks.clean_accuracy(model, (attacks.PGD(0.1, steps=10, seed=0)(model, x, y), y)) == 1.0
    out = attacks.Square(0.1, queries=300, seed=0).run(model, x, y)
    assert np.abs(np.asarray(out["x_adv"]) - x).max() <= 0.1 + 1e-6
    assert attacks.clean_accuracy(model, (np.asarray(out["x_adv"]), y)) == 0.0 and bool(np.all(out["success"]))


@pytest.mark.slow
def test_square_lowers_accuracy_of_a_trained_cnn(trained_simple_cnn, cifar_small):
    x, y = cifar_small["x_test"][::5][:100], cifar_small["y_test"][::5][:100]
    result = attacks.evaluate_attack(
        attacks.Square(8 / 255, queries=1000, seed=0), trained_simple_cnn, (x, y), progress=False
    )
    assert result["adversarial_accuracy"] < 0.5 * result["clean_accuracy"], result
    assert result["mean_linf"] <= 8 / 255 + 1e-6
