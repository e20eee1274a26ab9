"""AutoAttack: the reference composition, the per-point worst case, the per-attack table, rand checks."""

import json
import logging
import os

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from kerasadv import attacks
from kerasadv.attacks import AutoAttack, per_attack_table, predictions
from kerasadv.attacks.base import Attack
from kerasadv.errors import AttackInputError


class Mean(keras.layers.Layer):
    """Two logits [0, 20 (mean(x) - 0.5)] (+ noise of this scale per pass): class 1 when bright."""

    def __init__(self, noise=0.0, **kwargs):
        super().__init__(**kwargs)
        self.noise = noise

    def call(self, x):
        score = 20.0 * (tf.reduce_mean(x, axis=[1, 2, 3]) - 0.5)
        score += self.noise * tf.random.normal(tf.shape(score))
        return tf.stack([tf.zeros_like(score), score], axis=-1)


def mean_model(noise=0.0):
    return keras.Sequential([keras.Input((2, 2, 1)), Mean(noise)])


class Darken(Attack):
    """Sets to 0 the images whose first pixel is below `below`; records the batch sizes it saw."""

    def __init__(self, below):
        self.below, self.seen = below, []

    def run(self, model, x, y=None, eps=None):
        x = np.asarray(x)
        self.seen.append(len(x))
        return {"x_adv": np.where(x[:, :1, :1, :1] < self.below, 0.0, x).astype(np.float32)}

    def get_config(self):
        return {"below": self.below}


def images(first_pixels, rest=0.8):
    x = np.full((len(first_pixels), 2, 2, 1), rest, np.float32)
    x[:, 0, 0, 0] = first_pixels
    return x


def test_each_attack_gets_only_the_points_the_earlier_ones_left():
    x = images([0.1, 0.3, 0.5, 0.7, 0.9])
    x[0] = 0.0  # misclassified before any attack
    first, second = Darken(below=0.4), Darken(below=0.8)
    auto = AutoAttack(0.9, version="custom", attacks=[first, second])
    out = auto.run(mean_model(), x, np.ones(5, int))
    assert auto.names == ("clean", "darken", "darken")
    np.testing.assert_array_equal(out["broken_by"], [0, 1, 2, 2, -1])
    assert first.seen == [4] and second.seen == [3]  # the clean-wrong point and then the broken one left
    np.testing.assert_array_equal(out["success"], [False, True, True, True, False])
    np.testing.assert_array_equal(np.asarray(out["x_adv"])[[1, 2, 3]], 0.0)
    np.testing.assert_array_equal(np.asarray(out["x_adv"])[4], x[4])  # the robust point is returned unchanged


def test_the_table_counts_each_attack_and_ends_at_the_worst_case():
    table = per_attack_table([0, 1, 2, 2, -1], ("clean", "a", "b"))
    assert [row["broken"] for row in table] == [1, 1, 2]
    assert [row["robust_accuracy"] for row in table] == pytest.approx([0.8, 0.6, 0.2])


def test_rand_checks_count_a_point_robust_only_if_it_survives_every_pass():
    """A point on the decision boundary of a noisy model is right half the time: not robust."""
    x = images([0.1, 0.9], rest=0.8)
    x[0] = 0.5  # score 0: a coin flip per pass
    noop = attacks.FGSM(0.0)
    once = AutoAttack(0.0, version="custom", attacks=[noop], checks=1)
    many = AutoAttack(0.0, version="custom", attacks=[noop], checks=30)
    model = mean_model(noise=1.0)
    tf.random.set_seed(0)
    assert [int(many.run(model, x, np.ones(2, int))["broken_by"][0]) for _ in range(5)] == [0] * 5
    assert int(many.run(model, x, np.ones(2, int))["broken_by"][1]) == -1  # a margin of 6 noise sigmas
    assert -1 in {int(once.run(model, x, np.ones(2, int))["broken_by"][0]) for _ in range(20)}  # one pass: luck


def test_versions_follow_the_reference_composition():
    standard = AutoAttack(8 / 255)
    assert standard.names == ("clean", "apgd-ce", "apgd-t", "fab-t", "square")
    budgets = [config for _, attack in standard.components for config in [attack.get_config()]]
    assert [budgets[0]["steps"], budgets[1]["targets"], budgets[2]["targets"], budgets[3]["queries"]] == [
        100,
        9,
        9,
        5000,
    ]
    assert AutoAttack(0.5, norm="l2", version="plus").names == (
        "clean",
        "apgd-ce",
        "apgd-dlr",
        "fab",
        "square",
        "apgd-t",
        "fab-t",
    )
    rand = AutoAttack(8 / 255, version="rand")
    assert rand.names == ("clean", "apgd-ce", "apgd-dlr") and rand.checks == 10
    assert all(isinstance(attack, attacks.EOT) and attack.samples == 20 for _, attack in rand.components)
    assert all(attack.eps == pytest.approx(8 / 255) for _, attack in standard.components)


def test_config_round_trips_and_bad_configurations_are_refused():
    for auto in (AutoAttack(0.03, version="rand", seed=3), AutoAttack(0.1, version="custom", attacks=["fgsm", "pgd"])):
        assert AutoAttack.from_config(auto.get_config()) == auto
        assert attacks.get(attacks.serialize(auto)) == auto
    with pytest.raises(AttackInputError, match="version must be one of"):
        AutoAttack(version="fast")
    with pytest.raises(AttackInputError, match="attacks= goes with version='custom'"):
        AutoAttack(version="custom")
    with pytest.raises(AttackInputError, match="attacks= goes with version='custom'"):
        AutoAttack(attacks=["fgsm"])
    with pytest.raises(AttackInputError, match="norm must be one of"):
        AutoAttack(norm="l1")
    with pytest.raises(AttackInputError, match="eps must be in"):
        AutoAttack(eps=2.0)
    with pytest.raises(AttackInputError, match="checks must be"):
        AutoAttack(checks=0)


def test_refuses_to_be_traced():
    auto, model = AutoAttack(0.03, version="custom", attacks=["fgsm"]), mean_model()
    with pytest.raises(AttackInputError, match="runs eagerly"):
        tf.function(lambda x: auto(model, x, tf.ones(2, tf.int32)), autograph=False)(tf.zeros((2, 2, 2, 1)))


class RetracingWarnings(logging.Handler):
    """Collects TensorFlow's "triggered tf.function retracing" warnings."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        if "retracing" in record.getMessage():
            self.messages.append(record.getMessage())


def test_compiled_once_per_model_across_batch_sizes_and_self_checks():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.Flatten()])
    model.add(keras.layers.Dense(5))
    x = np.random.default_rng(0).random((12, 8, 8, 3), dtype=np.float32)
    y = attacks.predict_labels(model, x).numpy()
    parts = [attacks.APGD(steps=2), attacks.APGDT(steps=2, targets=2), attacks.FABT(steps=2, targets=2)]
    auto = AutoAttack(0.0, version="custom", attacks=[*parts, attacks.Square(queries=5)], seed=0)  # eps 0: all run
    warnings_ = RetracingWarnings()
    tf.get_logger().addHandler(warnings_)
    try:
        attacks.evaluate_attack(auto, model, (x, y), batch_size=8, progress=False)  # batches of 8 and 4
        attacks.self_checks(auto, model, x, y, max_examples=6, warn=False)  # overrides eps: 0 and 1
    finally:
        tf.get_logger().removeHandler(warnings_)
    assert [attack._compiled.tracing_count(model) for _, attack in auto.components] == [1, 1, 1, 1]
    assert predictions._PREDICT.tracing_count(model) == 1
    assert warnings_.messages == []


@pytest.mark.slow
def test_standard_is_at_least_as_strong_as_pgd20_on_a_trained_cnn(trained_simple_cnn, cifar_small):
    x, y = cifar_small["x_test"][1::5][:30], cifar_small["y_test"][1::5][:30]
    eps = 3 / 255  # small enough that points survive APGD-CE and every attack of the ensemble runs
    auto = AutoAttack(eps, seed=0)
    out = auto.run(trained_simple_cnn, x, y)
    table = per_attack_table(out["broken_by"], auto.names)
    pgd = attacks.evaluate_attack(attacks.PGD(eps, steps=20, seed=0), trained_simple_cnn, (x, y), progress=False)
    assert table[-1]["robust_accuracy"] <= pgd["adversarial_accuracy"], (table, pgd)
    assert np.abs(np.asarray(out["x_adv"]) - x).max() <= eps + 1e-5
    robust = np.asarray(out["broken_by"]) == -1
    assert attacks.clean_accuracy(trained_simple_cnn, (np.asarray(out["x_adv"])[~robust], y[~robust])) == 0.0
    assert sum(row["broken"] for row in table) + int(robust.sum()) == len(x)


def test_the_evaluator_reports_the_per_attack_table_and_self_checks(tmp_path, cifar_npz):
    from kerasadv.components.evaluator import Evaluator
    from kerasadv.components.example_gen import ImageExampleGen
    from kerasadv.components.report import Report
    from kerasadv.components.trainer import Trainer
    from kerasadv.orchestration import Pipeline

    gen = ImageExampleGen(source=cifar_npz, seed=0)
    train = Trainer(examples=gen.outputs["examples"], model="simple_cnn", epochs=2, seed=0)
    small = {  # the standard composition's attacks, with budgets a test affords
        "class_name": "AutoAttack",
        "config": {
            "eps": 2 / 255,
            "version": "custom",
            "attacks": [
                {"class_name": "APGD", "config": {"eps": 2 / 255, "steps": 10}},
                {"class_name": "APGDT", "config": {"eps": 2 / 255, "steps": 5, "targets": 3}},
                {"class_name": "FABT", "config": {"eps": 2 / 255, "steps": 5, "targets": 3}},
                {"class_name": "Square", "config": {"eps": 2 / 255, "queries": 50}},
            ],
        },
    }
    evaluate = Evaluator(
        model=train.outputs["model"],
        examples=gen.outputs["examples"],
        attacks=[{"class_name": "PGD", "config": {"eps": 2 / 255, "steps": 10}}, small],
        robust_examples=24,
        self_check_examples=16,
        eps_sweep="0.0",
    )
    report = Report(baseline_evaluation=evaluate.outputs["evaluation"])
    result = Pipeline("aa", str(tmp_path), [gen, train, evaluate, report]).run(progress=False)
    with open(result.outputs["Evaluator"]["evaluation"].path("evaluation.json")) as f:
        evaluation = json.load(f)
    assert evaluation["robust_examples"] == 24
    ((label, table),) = evaluation["per_attack"].items()
    assert [row["attack"] for row in table] == ["clean", "apgd", "apgdt", "fabt", "square"]
    assert evaluation["metrics"][f"robust_accuracy_{label}"] == table[-1]["robust_accuracy"]
    pgd = next(v for k, v in evaluation["metrics"].items() if k.startswith("robust_accuracy_PGD"))
    assert table[-1]["robust_accuracy"] <= pgd
    assert set(evaluation["self_checks"]) == set(evaluation["attacks"])
    assert all("check" in c and "passed" in c for checks in evaluation["self_checks"].values() for c in checks)
    directory = result.outputs["Report"]["report"].uri
    page = open(os.path.join(directory, "report.html")).read()
    for section in ("AutoAttack per attack", "Live attacks", "Self-checks", "Blessing", "Attack configurations"):
        assert section in page and section in open(os.path.join(directory, "report.md")).read()
    assert list(pd.read_csv(os.path.join(directory, "per_attack.csv"))["attack"]) == [r["attack"] for r in table]
    live = pd.read_csv(os.path.join(directory, "live_attacks.csv")).set_index("attack")
    assert sorted(live.index) == sorted(evaluation["attacks"]) and live.notna().all().all()
    assert live.loc[label, "adversarial_accuracy"] == pytest.approx(table[-1]["robust_accuracy"])
    assert (live["num_examples"] == 24).all() and (live["accuracy_on_correct"] <= 1).all()
    assert ((live["mean_adversarial_confidence"] > 0.1 - 1e-9) & (live["mean_clean_confidence"] <= 1)).all()
