"""Same seed -> identical adversarial examples, metrics and pushed-model predictions (cache cleared)."""

import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from kerasadv.components.attack_gen import AttackGen
from kerasadv.components.evaluator import Evaluator
from kerasadv.components.example_gen import ImageExampleGen
from kerasadv.components.pusher import Pusher
from kerasadv.components.trainer import Trainer
from kerasadv.orchestration import Pipeline, writer

TIMING_KEYS = ("seconds", "time", "duration")  # wall-clock figures may differ; nothing else may


def seeded_pipeline(root, source, seed):
    gen = ImageExampleGen(source=source, seed=seed)
    train = Trainer(examples=gen.outputs["examples"], model="simple_cnn", epochs=1, seed=seed)
    attack = AttackGen(
        model=train.outputs["model"],
        examples=gen.outputs["examples"],
        attack={"class_name": "PGD", "config": {"eps": 0.03, "steps": 3, "random_start": True}},
        seed=seed,
    )
    evaluate = Evaluator(
        model=train.outputs["model"],
        examples=gen.outputs["examples"],
        adversarial_examples=attack.outputs["adversarial_examples"],
        attacks=["fgsm", "pgd"],
        eps_sweep="0.0,0.03",
        seed=seed,
        allow_vacuous=True,  # what is tested is determinism, not the gate
    )
    push = Pusher(
        model=train.outputs["model"],
        blessing=evaluate.outputs["blessing"],
        examples=gen.outputs["examples"],
        serving_dir=os.path.join(root, "serving"),
        model_name="m",
    )
    return Pipeline("determinism", os.path.join(root, "pipeline"), [gen, train, attack, evaluate, push])


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if not any(t in k for t in TIMING_KEYS)}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def fingerprint(result):
    """What must not change between two seeded runs."""
    adversarial = result.outputs["AttackGen"]["adversarial_examples"].uri
    shards = sorted(glob.glob(os.path.join(adversarial, "**", "*.tfrecord*"), recursive=True))
    with open(result.outputs["Evaluator"]["evaluation"].path("evaluation.json")) as f:
        metrics = _without_timings(json.load(f))
    pushed = result.outputs["Pusher"]["pushed_model"].properties["path"]
    images = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
    predictions = tf.saved_model.load(pushed).signatures["serving_default"](images=tf.constant(images))
    return {
        "adversarial_shards": [writer.sha256_file(path) for path in shards],
        "metrics": metrics,
        "pushed_probabilities": predictions["probabilities"].numpy(),
    }


@pytest.mark.slow
def test_same_seed_same_examples_metrics_and_pushed_model(tmp_path, cifar_npz):
    first = fingerprint(seeded_pipeline(str(tmp_path / "a"), cifar_npz, seed=3).run(progress=False))
    second = fingerprint(seeded_pipeline(str(tmp_path / "b"), cifar_npz, seed=3).run(progress=False))
    assert first["adversarial_shards"] and first["adversarial_shards"] == second["adversarial_shards"]
    assert first["metrics"] == second["metrics"]
    np.testing.assert_array_equal(first["pushed_probabilities"], second["pushed_probabilities"])


def test_batch_i_of_a_seeded_attack_is_the_same_in_any_order():
    """What makes distributed runs equal the local one: batch i is reseeded with i."""
    import keras

    from kerasadv import attacks, models

    keras.utils.set_random_seed(0)
    model = models.simple_cnn()
    x = np.random.default_rng(1).random((12, 32, 32, 3), dtype=np.float32)
    y = np.arange(12) % 10
    attack = attacks.PGD(0.03, steps=2, random_start=True, seed=5)
    streamed = [b["x_adv"].numpy() for b in attacks.stream(attack, model, (x, y), batch_size=4, progress=False)]
    again = [b["x_adv"].numpy() for b in attacks.stream(attack, model, (x, y), batch_size=4, progress=False)]
    backwards = {
        i: attacks.attack_batch(attack, model, x[4 * i : 4 * i + 4], y[4 * i : 4 * i + 4], i)["x_adv"].numpy()
        for i in (2, 1, 0)
    }
    for i, batch in enumerate(streamed):
        np.testing.assert_array_equal(batch, again[i])
        np.testing.assert_array_equal(batch, backwards[i])
    elsewhere = attacks.attack_batch(attack, model, x[:4], y[:4], 7)["x_adv"].numpy()
    assert not np.array_equal(elsewhere, streamed[0])  # the index matters: batches get distinct starts
    auto = attacks.AutoAttack(0.03, version="custom", attacks=[attacks.PGD(0.03, steps=1, random_start=True, seed=2)])
    auto.reseed(3)
    first = auto.components[0][1]._rng.state.numpy().copy()
    auto.reseed(3)
    np.testing.assert_array_equal(auto.components[0][1]._rng.state.numpy(), first)


@pytest.mark.parametrize(
    "identifier, path",
    [
        (
            {"class_name": "EOT", "config": {"attack": {"class_name": "PGD", "config": {"steps": 2}}, "samples": 2}},
            ("attack",),
        ),
        ({"class_name": "AutoAttack", "config": {"version": "custom", "attacks": ["pgd"]}}, ("attacks", 0)),
    ],
)
def test_a_components_seed_reaches_nested_attacks_and_makes_them_deterministic(identifier, path):
    from kerasadv import attacks, models
    from kerasadv.configs import attack_config

    config = attack_config("Evaluator", identifier, seed=7)
    nested = config["config"]
    for key in path:
        nested = nested[key]
    assert nested["config"]["seed"] == 7  # was None: the nested attack drew a fresh random start each run
    model = models.simple_cnn((32, 32, 3), 10)
    x = np.random.default_rng(0).random((4, 32, 32, 3), np.float32)
    y = np.arange(4)
    first = attacks.get(config)(model, x, y)
    again = attacks.get(attack_config("Evaluator", identifier, seed=7))(model, x, y)
    np.testing.assert_array_equal(np.asarray(first), np.asarray(again))
