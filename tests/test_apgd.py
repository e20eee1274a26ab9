"""APGD (Croce & Hein 2020): the schedule, the DLR loss, early exit, and strength against PGD."""

import numpy as np
import pytest
import tensorflow as tf

from kerasadv import attacks
from kerasadv.attacks.apgd import checkpoint_windows, dlr_loss
from kerasadv.errors import AttackInputError


def test_checkpoints_follow_the_paper():
    # p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06): windows 22, 19, 16, 13, 10, 8, 7 ...
    windows = [w for w in checkpoint_windows(100) if w]
    assert windows == [22, 19, 16, 13, 10, 7, 6, 6]
    assert sum(1 for w in checkpoint_windows(5) if w) >= 1  # short budgets still halve


def test_dlr_is_invariant_to_shifting_and_scaling_the_logits():
    logits = tf.constant(np.random.default_rng(0).normal(size=(8, 10)), tf.float32)
    labels = tf.constant(np.arange(8) % 10, tf.int32)
    np.testing.assert_allclose(dlr_loss(logits, labels), dlr_loss(3.0 * logits + 7.0, labels), rtol=1e-4)
    assert np.all(dlr_loss(logits, tf.argmax(logits, -1, output_type=tf.int32)) < 0)  # correct: negative


def test_bad_configurations_are_refused():
    with pytest.raises(AttackInputError, match="loss must be one of"):
        attacks.APGD(loss="hinge")
    with pytest.raises(AttackInputError, match="untargeted"):
        attacks.APGD(loss="dlr", targeted=True)
    with pytest.raises(AttackInputError, match="restarts must be"):
        attacks.APGD(restarts=0)


@pytest.fixture(scope="module")
def cifar_test_subset(cifar_small):
    return cifar_small["x_test"][::2][:200], cifar_small["y_test"][::2][:200]


@pytest.mark.slow
@pytest.mark.parametrize("norm,eps", [("linf", 8 / 255), ("l2", 0.5)])
def test_early_exit_finds_the_same_robust_accuracy(trained_simple_cnn, cifar_test_subset, norm, eps):
    x, y = cifar_test_subset
    with_exit = attacks.APGD(eps, steps=20, norm=norm, seed=0).run(trained_simple_cnn, x, y)
    without = attacks.APGD(eps, steps=20, norm=norm, seed=0, early_exit=False).run(trained_simple_cnn, x, y)
    # Examples do not interact, so leaving the batch changes nothing for those still in it.
    assert abs(float(np.mean(with_exit["success"])) - float(np.mean(without["success"]))) <= 0.01
    delta = (np.asarray(with_exit["x_adv"]) - x).reshape(len(x), -1)
    size = np.abs(delta).max(1) if norm == "linf" else np.linalg.norm(delta, axis=1)
    assert size.max() <= eps + 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["ce", "dlr"])
def test_apgd_is_at_least_as_strong_as_pgd(trained_simple_cnn, cifar_test_subset, loss):
    x, y = cifar_test_subset
    eps = 2 / 255
    pgd = attacks.evaluate_attack(attacks.PGD(eps, steps=20, seed=0), trained_simple_cnn, (x, y), progress=False)
    apgd = attacks.evaluate_attack(
        attacks.APGD(eps, steps=20, loss=loss, seed=0), trained_simple_cnn, (x, y), progress=False
    )
    assert pgd["clean_accuracy"] > 0.3  # a model worth attacking (chance: 0.1)
    assert apgd["adversarial_accuracy"] <= pgd["adversarial_accuracy"] + 0.01, (apgd, pgd)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["PGD", "BIM"])
def test_pgd_early_exit_is_at_least_as_strong(trained_simple_cnn, cifar_test_subset, kind):
    x, y = cifar_test_subset
    full = getattr(attacks, kind)(4 / 255, steps=10, seed=0)
    early = getattr(attacks, kind)(4 / 255, steps=10, seed=0, early_exit=True)
    assert early.get_config()["early_exit"] and not full.get_config()["early_exit"]
    full_run = attacks.evaluate_attack(full, trained_simple_cnn, (x, y), progress=False)
    early_run = attacks.evaluate_attack(early, trained_simple_cnn, (x, y), progress=False)
    # A fooled example keeps the point that fooled it; the others take exactly the same steps.
    assert early_run["adversarial_accuracy"] <= full_run["adversarial_accuracy"]
    assert early_run["mean_linf"] <= 4 / 255 + 1e-6


def test_targeted_dlr_is_shift_and_scale_invariant_and_needs_four_classes():
    from kerasadv.attacks.apgd import targeted_dlr_loss

    logits = tf.constant(np.random.default_rng(1).normal(size=(6, 10)), tf.float32)
    pairs = tf.constant(np.stack([np.arange(6), (np.arange(6) + 1) % 10], 1), tf.int32)
    np.testing.assert_allclose(targeted_dlr_loss(logits, pairs), targeted_dlr_loss(2 * logits - 3, pairs), rtol=1e-4)
    import keras

    three = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    x = np.random.default_rng(0).random((2, 4, 4, 1), dtype=np.float32)
    with pytest.raises(AttackInputError, match=">= 4 classes"):
        attacks.APGDT(0.03, steps=2)(three, x, [0, 1])
    with pytest.raises(AttackInputError, match="picks its own targets"):
        attacks.APGDT(0.03, targeted=True)


@pytest.mark.slow
def test_apgd_t_is_at_least_as_strong_as_apgd_ce(trained_simple_cnn, cifar_test_subset):
    x, y = cifar_test_subset
    eps = 2 / 255
    ce = attacks.evaluate_attack(attacks.APGD(eps, steps=20, seed=0), trained_simple_cnn, (x, y), progress=False)
    targeted = attacks.APGDT(eps, steps=20, targets=3, seed=0)
    apgd_t = attacks.evaluate_attack(targeted, trained_simple_cnn, (x, y), progress=False)
    assert apgd_t["adversarial_accuracy"] <= ce["adversarial_accuracy"] + 0.01, (apgd_t, ce)
    assert apgd_t["mean_linf"] <= eps + 1e-6


def test_robust_accuracy_callback_monitors_with_a_few_apgd_iterations():
    import keras

    from kerasadv import callbacks

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(4)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).random((32, 8, 8, 3), dtype=np.float32)
    y = np.arange(32) % 4
    monitor = callbacks.RobustAccuracy(attacks.APGD(0.03, steps=5, seed=0), (x, y))
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[monitor])
    assert len(history.history["val_robust_accuracy"]) == 2
    expected = attacks.evaluate_attack(attacks.APGD(0.03, steps=5, seed=0), model, (x, y), progress=False)
    assert history.history["val_robust_accuracy"][-1] == pytest.approx(expected["adversarial_accuracy"])
