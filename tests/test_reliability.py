"""Reliability fixes found by trying kerasadv as a new user would (issue: reliability matrix)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasadv import attacks, models
from kerasadv.errors import AttackInputError, ModelError
from kerasadv.orchestration import SpecError


@pytest.fixture(scope="module")
def perfect_model():
    """A 'model' that is right on every input: logits = pixels 0..2, which one-hot encode the label."""
    inputs = keras.Input((4, 4, 1))
    flat = keras.layers.Flatten()(inputs)
    logits = keras.layers.Dense(3, use_bias=False)(flat)
    model = keras.Model(inputs, logits)
    kernel = np.zeros((16, 3), np.float32)
    kernel[:3] = 10.0 * np.eye(3)
    model.layers[-1].set_weights([kernel])
    return model


def _perfect_data():
    x = np.zeros((6, 4, 4, 1), np.float32)
    labels = np.array([0, 1, 2, 0, 1, 2])
    x[np.arange(6), 0, labels, 0] = 1.0
    return x, labels


@pytest.mark.parametrize("form", ["sparse", "column", "one_hot"])
def test_evaluate_attack_converts_labels(perfect_model, form):
    x, labels = _perfect_data()
    y = {"sparse": labels, "column": labels[:, None], "one_hot": np.eye(3)[labels]}[form]
    result = attacks.evaluate_attack(attacks.FGSM(0.0), perfect_model, (x, y), progress=False)
    assert result["clean_accuracy"] == 1.0 and result["adversarial_accuracy"] == 1.0
    assert attacks.clean_accuracy(perfect_model, (x, y)) == 1.0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_pixels_are_refused(bad):
    model = models.simple_cnn((16, 16, 3), 3)
    x = np.full((2, 16, 16, 3), 0.5, np.float32)
    x[1, 2, 3, 0] = bad
    with pytest.raises(AttackInputError, match="non-finite"):
        attacks.FGSM(0.03)(model, x, [0, 1])


def _hidden_softmax_models():
    base = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3)])
    dense_tf = keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3, activation=tf.nn.softmax)]
    )
    nested = keras.Sequential([base, keras.layers.Softmax()])
    inner = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3, "softmax")])
    outer = keras.Sequential([keras.Input((8, 8, 3)), inner])
    inputs = keras.Input((8, 8, 3))
    lam = keras.Model(inputs, keras.layers.Lambda(lambda t: tf.nn.softmax(t))(base(inputs)))
    return {
        "dense_tf_nn_softmax": dense_tf,
        "nested_then_softmax": nested,
        "softmax_inside_nested": outer,
        "lambda_softmax": lam,
    }


@pytest.mark.parametrize("kind", list(_hidden_softmax_models()))
def test_hidden_softmax_is_detected_everywhere(kind):
    model = _hidden_softmax_models()[kind]
    x = np.random.default_rng(0).random((4, 8, 8, 3), dtype=np.float32)
    with pytest.raises(ModelError, match="softmax"):
        attacks.FGSM(0.03)(model, x, [0, 1, 2, 0])
    with pytest.raises(ModelError, match="softmax"):
        attacks.eps_sweep(attacks.FGSM(0.0), model, (x, np.zeros(4, int)), [0.0, 0.01])  # the fast path too


def test_logits_models_pass_the_softmax_check():
    x = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    assert attacks.FGSM(0.03)(models.simple_cnn(), x, [0, 1, 2, 3]).shape == x.shape


def test_component_parameters_are_checked_before_anything_runs(tmp_path):
    from kerasadv.pipelines.quickstart import create_pipeline

    with pytest.raises(SpecError, match=r"eps must be in \[0, 1\].*got -0.1"):
        create_pipeline(
            "fashion_mnist",
            "simple_cnn",
            "ci",
            1,
            "fgsm",
            -0.1,
            str(tmp_path / "root"),
            str(tmp_path / "serving"),
            "qs",
        )
    with pytest.raises(SpecError, match="Unknown attack 'fgsn'"):
        create_pipeline(
            "fashion_mnist",
            "simple_cnn",
            "ci",
            1,
            "fgsn",
            0.03,
            str(tmp_path / "root"),
            str(tmp_path / "serving"),
            "qs",
        )
    assert not (tmp_path / "root").exists()
