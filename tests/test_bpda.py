"""Non-differentiable preprocessing defenses and BPDA: plain gradient attacks refuse them, BPDA
attacks through them (Athalye et al. 2018)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasadv import attacks
from kerasadv.errors import ModelError
from kerasadv.layers import GaussianBlur, Preprocessing, gaussian_filter, with_bpda

X = np.random.default_rng(0).random((4, 16, 16, 3), dtype=np.float32)


def classifier(shape=(16, 16, 3)):
    keras.utils.set_random_seed(0)
    layers = [keras.Input(shape), keras.layers.Conv2D(4, 3), keras.layers.Flatten(), keras.layers.Dense(3)]
    return keras.Sequential(layers)


def defended(kind, inner=None, **options):
    inner = inner or classifier()
    return keras.Sequential([keras.Input(inner.input_shape[1:]), Preprocessing(kind, **options), inner])


def test_forward_passes_are_the_defenses():
    np.testing.assert_allclose(Preprocessing("gaussian_filter", sigma=0.8)(X), gaussian_filter(X, 0.8), atol=1e-6)
    np.testing.assert_allclose(Preprocessing("bit_depth", bits=2)(X), np.round(X * 3) / 3, atol=1e-6)
    jpeg = np.stack([tf.image.adjust_jpeg_quality(image, 50).numpy() for image in X])
    np.testing.assert_allclose(Preprocessing("jpeg", quality=50)(X), jpeg, atol=1e-6)
    for bpda in ("identity", "differentiable"):  # BPDA keeps the exact forward pass
        np.testing.assert_allclose(
            Preprocessing("gaussian_filter", bpda=bpda, sigma=0.8)(X), gaussian_filter(X, 0.8), atol=1e-6
        )


@pytest.mark.parametrize("kind", ["gaussian_filter", "jpeg", "bit_depth"])
def test_plain_gradient_attacks_refuse_a_non_differentiable_defense(kind):
    model = defended(kind)
    for attack in (attacks.FGSM(0.03), attacks.PGD(0.03, steps=2, seed=0), attacks.APGD(0.03, steps=2, seed=0)):
        with pytest.raises(ModelError, match="no gradient with respect to its input.*with_bpda"):
            attack(model, X, [0, 1, 2, 0])


def test_differentiable_backward_is_the_blur_gradient():
    x = tf.constant(X)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        bpda = tf.reduce_sum(Preprocessing("gaussian_filter", bpda="differentiable", sigma=0.8)(x) * X)
        twin = tf.reduce_sum(GaussianBlur(0.8)(x) * X)
    np.testing.assert_allclose(tape.gradient(bpda, x), tape.gradient(twin, x), atol=1e-5)


def test_bpda_model_shares_weights_and_round_trips(tmp_path):
    model = defended("gaussian_filter", sigma=0.5)
    attacked = with_bpda(model, "differentiable")
    assert attacked.layers[-1] is model.layers[-1]  # the classifier itself, not a copy
    np.testing.assert_allclose(attacked(X), model(X), atol=1e-6)
    model.save(tmp_path / "defended.keras")
    loaded = keras.saving.load_model(tmp_path / "defended.keras")
    assert loaded.layers[0].get_config()["sigma"] == 0.5
    np.testing.assert_allclose(loaded(X), model(X), atol=1e-6)
    with pytest.raises(ModelError, match="no kerasadv.layers.Preprocessing layer"):
        with_bpda(classifier())
    with pytest.raises(ValueError, match="needs an in-graph twin"):
        Preprocessing("jpeg", bpda="differentiable")


@pytest.mark.slow
@pytest.mark.parametrize("kind,options", [("gaussian_filter", {"sigma": 0.5}), ("bit_depth", {"bits": 5})])
def test_bpda_attacks_through_the_defense(trained_simple_cnn, cifar_small, kind, options):
    x, y = cifar_small["x_test"][::5][:100], cifar_small["y_test"][::5][:100]
    model = defended(kind, inner=trained_simple_cnn, **options)
    clean = attacks.clean_accuracy(model, (x, y))
    x_adv = attacks.PGD(8 / 255, steps=10, seed=0)(with_bpda(model), x, y)
    robust = attacks.clean_accuracy(model, (x_adv, y))  # judged by the real, non-differentiable defense
    assert clean > 0.3 and robust < 0.5 * clean, (clean, robust)
