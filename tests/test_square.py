"""Square attack (Linf and L2, score-based): the schedule, the budget, and strength without gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasadv import attacks
from kerasadv.attacks.square import bump, margin, window_fraction
from kerasadv.errors import AttackInputError


def test_window_schedule_halves_at_the_papers_points():
    fractions = [float(window_fraction(i, 10000, 0.8)) for i in (0, 10, 11, 51, 201, 9999)]
    assert fractions == pytest.approx([0.8, 0.8, 0.4, 0.2, 0.1, 0.8 / 512])
    assert float(window_fraction(50, 100, 0.8)) == pytest.approx(0.8 / 2**7)  # 5,000 of 10,000 rescaled


def test_margin_is_negative_exactly_when_misclassified():
    logits = tf.constant([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0]])
    np.testing.assert_allclose(margin(logits, tf.constant([0, 0])), [1.0, -3.0])


def test_l2_bump_is_a_signed_pair_of_unit_norm_rings_inside_its_window():
    rows, cols = tf.range(8)[None, :, None, None], tf.range(8)[None, None, :, None]
    grid = bump(rows, cols, 1, 1, 6).numpy()[0, :, :, 0]
    assert np.all(grid[0] == 0) and np.all(grid[:, 7] == 0)  # nothing outside the window
    np.testing.assert_allclose(grid[1:4, 1:7], -grid[4:7, 1:7][::-1], atol=1e-6)  # top half = -mirrored bottom
    assert grid[2, 3] > grid[1, 3] > grid[1, 1] > 0 and (grid**2).sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(bump(rows, cols, 1, 1, 6, tf.constant(True)).numpy()[0, :, :, 0], grid.T, atol=1e-6)


@pytest.mark.parametrize("norm, eps", [("linf", 0.03), ("l2", 0.5)])
def test_stays_in_the_ball_and_the_image_range(norm, eps):
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(4)])
    x = np.random.default_rng(1).random((6, 8, 8, 3), dtype=np.float32)
    y = np.asarray(attacks.predict_labels(model, x))
    x_adv = np.asarray(attacks.Square(eps, norm=norm, queries=40, seed=0)(model, x, y))
    delta = (x_adv - x).reshape(6, -1)
    size = np.abs(delta).max(axis=1) if norm == "linf" else np.sqrt((delta**2).sum(axis=1))
    assert size.max() <= eps + 1e-4 and x_adv.min() >= 0.0 and x_adv.max() <= 1.0


def test_refuses_what_it_does_not_implement():
    with pytest.raises(AttackInputError, match="untargeted"):
        attacks.Square(0.5, targeted=True)
    with pytest.raises(AttackInputError, match="norm"):
        attacks.Square(0.5, norm="l1")
    with pytest.raises(AttackInputError, match="p_init"):
        attacks.Square(p_init=0.0)


def test_breaks_a_model_whose_gradients_are_masked():
    """Zero input gradients stop PGD; a score-based search does not care."""

    class Masked(keras.layers.Layer):
        def __init__(self, region):
            super().__init__()
            self.region = region

        def call(self, x):
            flat = tf.reshape(x[:, : self.region, : self.region, :1], [tf.shape(x)[0], -1])
            score = 40.0 * (tf.reduce_mean(tf.stop_gradient(flat), axis=1) - 0.45)
            return tf.stack([tf.zeros_like(score), score], axis=-1) + 0.0 * tf.reduce_sum(x)

    model = keras.Sequential([keras.Input((4, 4, 3)), Masked(region=4)])
    x = np.full((8, 4, 4, 3), 0.5, np.float32) + np.random.default_rng(0).uniform(-0.02, 0.02, (8, 4, 4, 3))
    x = x.astype(np.float32)
    y = np.ones(8, int)
    assert attacks.clean_accuracy(model, (x, y)) == 1.0
    assert attacks.clean_accuracy(model, (attacks.PGD(0.1, steps=10, seed=0)(model, x, y), y)) == 1.0
    out = attacks.Square(0.1, queries=300, seed=0).run(model, x, y)
    assert np.abs(np.asarray(out["x_adv"]) - x).max() <= 0.1 + 1e-6
    assert attacks.clean_accuracy(model, (np.asarray(out["x_adv"]), y)) == 0.0 and bool(np.all(out["success"]))
    model = keras.Sequential([keras.Input((4, 4, 3)), Masked(region=2)])  # L2 bumps are zero-mean: a corner
    out = attacks.Square(0.4, norm="l2", queries=300, seed=0).run(model, x, y)
    assert attacks.clean_accuracy(model, (np.asarray(out["x_adv"]), y)) == 0.0 and bool(np.all(out["success"]))


@pytest.mark.slow
def test_square_lowers_accuracy_of_a_trained_cnn(trained_simple_cnn, cifar_small):
    x, y = cifar_small["x_test"][::5][:100], cifar_small["y_test"][::5][:100]
    result = attacks.evaluate_attack(
        attacks.Square(8 / 255, queries=1000, seed=0), trained_simple_cnn, (x, y), progress=False
    )
    assert result["adversarial_accuracy"] < 0.5 * result["clean_accuracy"], result
    assert result["mean_linf"] <= 8 / 255 + 1e-6


@pytest.mark.slow
def test_square_l2_comes_near_white_box_pgd_l2_on_a_trained_cnn(trained_simple_cnn, cifar_small):
    """Measured (100 images, eps 0.5): clean 0.43, PGD-L2-20 0.25, Square-L2 with 1,000 queries 0.34."""
    x, y = cifar_small["x_test"][::5][:100], cifar_small["y_test"][::5][:100]
    square = attacks.Square(0.5, norm="l2", queries=1000, seed=0)
    pgd = attacks.PGD(0.5, norm="l2", steps=20, seed=0)
    accuracy = {
        name: attacks.evaluate_attack(attack, trained_simple_cnn, (x, y), progress=False)["adversarial_accuracy"]
        for name, attack in (("square", square), ("pgd", pgd))
    }
    clean = attacks.clean_accuracy(trained_simple_cnn, (x, y))
    assert accuracy["square"] < 0.85 * clean and accuracy["square"] <= accuracy["pgd"] + 0.15, (clean, accuracy)
