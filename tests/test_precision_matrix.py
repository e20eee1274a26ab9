"""Precision matrix: a global dtype policy (float32, mixed_bfloat16, mixed_float16) x attacks,
training wrappers, save and load, and export for serving.

Every cell works: models built under any of the three policies are attacked (float32 images
and perturbations, logits cast to float32), trained (mixed_float16: Keras's loss scaling),
saved as float32 classifiers and exported. The global policy is restored after each test.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasadv import attacks, serving, training

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
X = np.random.default_rng(0).random((4, 8, 8, 3), dtype=np.float32)
Y = np.arange(4) % 4
ATTACKS = {
    "fgsm": attacks.FGSM(0.03),
    "pgd": attacks.PGD(0.03, steps=2, seed=0),
    "apgd_ce": attacks.APGD(0.03, steps=2, seed=0),
    "square": attacks.Square(0.03, queries=3, seed=0),
    "pgd_targeted": attacks.PGD(0.03, steps=2, targeted=True, target="random", seed=0),
}


@pytest.fixture(params=POLICIES)
def policy(request):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(request.param)
    yield request.param
    keras.config.set_dtype_policy(previous)


def functional():
    inputs = keras.Input((8, 8, 3))
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3, activation="relu")(inputs))
    return keras.Model(inputs, keras.layers.Dense(4)(features))


@keras.saving.register_keras_serializable(package="kerasadv_tests")
class PrecisionNet(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv2D(2, 3, activation="relu")
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.head = keras.layers.Dense(4)

    def call(self, x, training=None):
        return self.head(self.pool(self.conv(x)))


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attacks_under_the_policy(policy, name):
    model = functional()
    x_adv = np.asarray(ATTACKS[name](model, X, Y))
    assert x_adv.dtype == np.float32 and np.abs(x_adv - X).max() <= 0.03 + 1e-5
    assert 0.0 <= x_adv.min() and x_adv.max() <= 1.0


@pytest.mark.parametrize("build", [functional, PrecisionNet], ids=["functional", "subclassed"])
def test_training_wrapper_fit_then_save_and_load(policy, build, tmp_path):
    model = build()
    model(X[:1])
    wrapper = training.AdversarialModel(model, attacks.FGSM(0.03), adv_ratio=1.0)
    wrapper.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = wrapper.fit(X, Y, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    wrapper.save(tmp_path / "model.keras")  # the float32 classifier (issue 27 item 7: subclassed failed)
    keras.config.set_dtype_policy("float32")  # as a serving process loads it (a subclassed model's layers
    loaded = keras.saving.load_model(tmp_path / "model.keras")  # take the global policy when made)
    assert training.dtype_policy_name(loaded) == "float32"
    expected = tf.cast(model(X, training=False), tf.float32).numpy()
    np.testing.assert_allclose(loaded(X), expected, atol=0.05)  # reduced-precision forward vs float32


def test_subclassed_model_is_rebuilt_under_another_policy(policy):
    model = PrecisionNet()
    model(X[:1])
    other = "mixed_bfloat16" if policy == "float32" else "float32"
    clone = training.with_dtype_policy(model, other)
    assert clone.head.dtype_policy.name == other and clone is not model
    np.testing.assert_allclose(clone(X), tf.cast(model(X), tf.float32), atol=0.05)


@pytest.mark.slow
def test_export_for_serving(policy, tmp_path):
    model = functional()
    directory = tmp_path / "export"
    serving.export_for_serving(model, str(directory))
    served = tf.saved_model.load(str(directory)).signatures["serving_default"]
    out = served(images=tf.constant(X))
    assert out["probabilities"].dtype == tf.float32
    np.testing.assert_allclose(tf.reduce_sum(out["probabilities"], -1), np.ones(4), atol=1e-3)
