"""mixed_bfloat16: classifiers switched by cloning, adversarial training under the policy, float32 saved."""

import json

import keras
import numpy as np
import pytest

from kerasadv import attacks, models, training
from kerasadv.errors import ModelError
from kerasadv.training import dtype_policy_name, with_dtype_policy


def test_a_classifier_switches_policy_and_back_with_the_same_weights():
    keras.utils.set_random_seed(0)
    model = models.simple_cnn()
    fast = with_dtype_policy(model, "mixed_bfloat16")
    assert dtype_policy_name(model) == "float32" and dtype_policy_name(fast) == "mixed_bfloat16"
    assert all(w.dtype == "float32" for w in fast.weights)  # master weights stay float32
    assert with_dtype_policy(fast, "mixed_bfloat16") is fast
    x = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    logits = np.asarray(fast(x), np.float32)
    assert fast(x).dtype == "bfloat16"
    np.testing.assert_allclose(logits, np.asarray(model(x)), atol=0.02)  # bfloat16 rounding, not other weights
    back = with_dtype_policy(fast, "float32")
    np.testing.assert_array_equal(np.asarray(back(x)), np.asarray(model(x)))


def test_a_sequential_classifier_switches_too():
    layers = [keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(), keras.layers.Dense(3)]
    seq = keras.Sequential(layers)
    assert dtype_policy_name(with_dtype_policy(seq, "mixed_bfloat16")) == "mixed_bfloat16"


def test_unknown_policies_and_subclassed_models_are_refused():
    with pytest.raises(ModelError, match=r"dtype policy must be one of \('float32', 'mixed_bfloat16'\), got 'float16'"):
        with_dtype_policy(models.simple_cnn(), "float16")

    class Tiny(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(3)

        def call(self, x):
            return self.dense(keras.ops.reshape(x, (-1, 12)))

    tiny = Tiny()
    tiny(np.zeros((1, 2, 2, 3), np.float32))
    with pytest.raises(ModelError, match="subclassed model.*set_dtype_policy"):
        with_dtype_policy(tiny, "mixed_bfloat16")


def test_pgd_adversarial_training_runs_under_the_policy_and_saves_float32(tmp_path):
    keras.utils.set_random_seed(0)
    classifier = with_dtype_policy(models.simple_cnn(), "mixed_bfloat16")
    model = training.AdversarialModel(classifier, attacks.PGD(8 / 255, steps=2, random_start=True, seed=0), 1.0)
    training.compile_classifier(model, keras.optimizers.Adam(1e-3))
    x = np.random.default_rng(0).random((32, 32, 32, 3), dtype=np.float32)
    y = np.arange(32) % 10
    before = [w.numpy().copy() for w in classifier.trainable_weights]
    history = model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert all(w.dtype == "float32" for w in classifier.weights)
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, classifier.trainable_weights))
    x_adv = model.adversarial(classifier, x[:8], y[:8])
    assert x_adv.dtype == "float32" and float(np.abs(x_adv - x[:8]).max()) <= 8 / 255 + 1e-6
    model.save(tmp_path / "robust.keras")
    saved = keras.models.load_model(tmp_path / "robust.keras")
    assert dtype_policy_name(saved) == "float32" and saved(x[:2]).dtype == "float32"
    np.testing.assert_allclose(np.asarray(saved(x[:4])), np.asarray(classifier(x[:4]), np.float32), atol=0.05)


@pytest.mark.slow
def test_the_trainer_trains_under_mixed_bfloat16_and_publishes_a_float32_model(tmp_path, cifar_npz):
    from kerasadv import io
    from kerasadv.components.example_gen import ImageExampleGen
    from kerasadv.components.trainer import Trainer
    from kerasadv.orchestration import Pipeline

    gen = ImageExampleGen(source=cifar_npz, seed=0)
    examples = gen.outputs["examples"]
    train = Trainer(examples=examples, epochs=1, adversarial_training="fast", dtype_policy="mixed_bfloat16")
    result = Pipeline("bf16", str(tmp_path), [gen, train]).run(progress=False)
    artifact = result.outputs["Trainer"]["model"]
    assert artifact.properties["dtype_policy"] == "mixed_bfloat16"
    assert dtype_policy_name(io.load_model_artifact(artifact)) == "float32"
    with open(artifact.path("metrics.json")) as f:
        assert np.isfinite(json.load(f)["history"]["loss"]).all()
