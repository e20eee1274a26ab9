"""Every registered attack as a value: config round trip, ball, range, seed, tracing, dtype."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasadv import attacks, models, training
from kerasadv.errors import AttackInputError

FAST = {
    "apgd": {"steps": 5},
    "apgd_dlr": {"steps": 5},
    "apgd_t": {"steps": 3, "targets": 2},
    "square": {"queries": 10},
    "square_l2": {"queries": 10},
    "fab": {"steps": 3},
    "fab_t": {"steps": 3, "targets": 2},
    "autoattack": {  # the standard budgets run in test_autoattack.py
        "version": "custom",
        "attacks": [
            {"class_name": "APGD", "config": {"steps": 3, "seed": 1}},
            {"class_name": "Square", "config": {"queries": 10, "seed": 1}},
        ],
    },
    "eot": {"attack": {"class_name": "PGD", "config": {"steps": 2, "seed": 3}}, "samples": 2},
    "iterative_fgs": {"steps": 5},
    "one_pixel": {"steps": 2, "popsize": 4},
    "dlfuzz": {"iterations": 1, "max_mutations": 2},
}


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return models.simple_cnn((16, 16, 3), 4)


@pytest.fixture(scope="module")
def batch():
    x = np.random.default_rng(0).random((4, 16, 16, 3), dtype=np.float32)
    return x, np.arange(4) % 4


def build(name):
    """The registered attack `name`, seeded where it has a seed, with a small budget."""
    config = attacks.serialize(attacks.get(name))["config"]
    if "seed" in config:
        config["seed"] = 3
    return attacks.deserialize({"class_name": name, "config": {**config, **FAST.get(name, {})}})


def assert_in_ball(attack, x, x_adv):
    delta = (np.asarray(x_adv) - x).reshape(len(x), -1)
    if attack.norm == "linf":
        assert np.abs(delta).max() <= attack.eps + 1e-6
    elif attack.norm == "l2":
        assert np.linalg.norm(delta, axis=1).max() <= attack.eps + 1e-4
    elif attack.norm == "l2_ratio":
        assert (np.linalg.norm(delta, axis=1) / np.linalg.norm(x.reshape(len(x), -1), axis=1)).max() < attack.max_ratio
    elif attack.norm == "l0":
        changed = np.abs(np.asarray(x_adv) - x).max(axis=-1) > 0
        assert changed.reshape(len(x), -1).sum(1).max() <= attack.pixels


@pytest.mark.parametrize("name", attacks.ATTACK_NAMES)
def test_config_round_trip_is_complete_and_json_safe(name):
    attack = build(name)
    config = attack.get_config()
    assert json.loads(json.dumps(config)) == config
    assert type(attack).from_config(config).get_config() == config
    assert attacks.deserialize(attacks.serialize(attack)) == attack
    assert hash(attacks.deserialize(attacks.serialize(attack))) == hash(attack)  # equal values hash equal
    assert attacks.get(json.dumps(attacks.serialize(attack))) == attack
    rebuilt = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(attack))
    assert type(rebuilt) is type(attack) and rebuilt.get_config() == config
    import inspect

    parameters = set(inspect.signature(type(attack).__init__).parameters) - {"self", "kwargs"}
    assert parameters <= set(config), f"get_config drops {parameters - set(config)}"


@pytest.mark.parametrize("name", attacks.ATTACK_NAMES)
def test_same_config_and_seed_give_the_same_examples(name, model, batch):
    x, y = batch
    first = build(name).run(model, x, y)["x_adv"]
    again = type(build(name)).from_config(build(name).get_config()).run(model, x, y)["x_adv"]
    np.testing.assert_array_equal(np.asarray(first), np.asarray(again))


@pytest.mark.parametrize("name", attacks.ATTACK_NAMES)
def test_stays_in_the_ball_and_in_unit_range_float32(name, model, batch):
    x, y = batch
    attack = build(name)
    x_adv = attack(model, x, y)
    assert x_adv.dtype == tf.float32 and x_adv.shape == x.shape
    assert float(tf.reduce_min(x_adv)) >= 0.0 and float(tf.reduce_max(x_adv)) <= 1.0
    assert_in_ball(attack, x, x_adv)


EAGER_ONLY = {"one_pixel", "dlfuzz", "autoattack", "autoattack_rand"}  # NumPy / SciPy searches, ensembles


@pytest.mark.parametrize("name", sorted(set(attacks.ATTACK_NAMES) - EAGER_ONLY))
def test_traceable_inside_tf_function(name, model, batch):
    x, y = batch
    attack = build(name)
    assert attack.traceable
    x_adv = tf.function(lambda x, y: attack(model, x, y))(tf.constant(x), tf.constant(y))
    assert x_adv.dtype == tf.float32 and x_adv.shape == x.shape


@pytest.mark.parametrize("name", sorted(EAGER_ONLY))
def test_eager_only_attacks_say_why_when_traced(name, model, batch):
    x, y = batch
    attack = build(name)
    assert not attack.traceable
    with pytest.raises(Exception, match="runs eagerly"):  # AutoGraph wraps it in a StagingError
        tf.function(lambda x, y: attack(model, x, y))(tf.constant(x), tf.constant(y))


def test_get_accepts_names_configs_json_and_instances():
    pgd = attacks.PGD(0.03, steps=20, targeted=True, seed=1)
    assert attacks.get(pgd) is pgd
    assert attacks.get({"class_name": "PGD", "config": pgd.get_config()}) == pgd
    l2 = attacks.get('{"class_name": "pgd_l2", "config": {"steps": 20}}')  # a name's defaults, then the config
    assert (l2.norm, l2.eps, l2.steps) == ("l2", 0.5, 20)
    assert attacks.get("BIM").random_start is False


@pytest.mark.parametrize(
    "identifier, message",
    [
        ("pgdd", "Unknown attack 'pgdd'"),
        ('{"class_name": "PGD", "config": {"epsilon": 0.1}}', "bad config for PGD"),
        ('{"class_name": "PGD", "conf": {}}', r"unknown key\(s\) \['conf'\]"),
        ("{not json", "not valid JSON"),
        ({"class_name": "PGD", "config": {"eps": -0.1}}, "eps must be in"),
        ({"class_name": "PGD", "config": {"step_size": 0.1, "rel_step_size": 0.5}}, "not both"),
        (3.0, "an attack identifier is"),
    ],
)
def test_bad_identifiers_name_the_value(identifier, message):
    with pytest.raises(AttackInputError, match=message):
        attacks.get(identifier)


def test_no_argument_changes_meaning_by_attack():
    assert attacks.PGD(0.1, steps=4).step_length(tf.constant(0.1)).numpy() == pytest.approx(0.0625)
    assert attacks.PGD(0.1, steps=4, step_size=0.01).step_length(tf.constant(0.1)).numpy() == pytest.approx(0.01)
    assert attacks.PGD(0.1, rel_step_size=0.5).step_length(tf.constant(0.2)).numpy() == pytest.approx(0.1)
    fgs = attacks.get("iterative_fgs")
    assert (fgs.eps, fgs.step_size, fgs.steps) == (1.0, 0.01, 100)  # 100 steps of 0.01 reach Linf 1.0


@pytest.mark.parametrize("name", training.RECIPE_NAMES[1:])
def test_every_recipe_round_trips_and_wraps(name):
    recipe = training.get_recipe(name, seed=0)
    assert json.loads(json.dumps(recipe)) == recipe
    classifier = models.resnet18(width=4) if name == "advprop" else models.simple_cnn()
    wrapper = training.wrap(classifier, recipe, batch_size=64)
    again = training.wrap(classifier, {"class_name": recipe["class_name"], "config": wrapper.recipe_config()}, 64)
    assert again.recipe_config() == wrapper.recipe_config()
    config = wrapper.get_config()
    rebuilt = type(wrapper).from_config(config)
    assert rebuilt.recipe_config() == wrapper.recipe_config()
    assert (wrapper.attack is None) == (recipe["config"].get("attack") is None)


def test_bad_recipes_name_the_value():
    with pytest.raises(AttackInputError, match="Unknown training recipe 'madry'"):
        training.get_recipe("madry")
    with pytest.raises(AttackInputError, match=r"unknown argument\(s\) \['ratio'\]"):
        training.get_recipe({"class_name": "AdversarialModel", "config": {"attack": "pgd", "ratio": 1.0}})
    with pytest.raises(AttackInputError, match="free AT replays untargeted Linf FGSM"):
        training.wrap(models.simple_cnn(), {"class_name": "free", "config": {"attack": "pgd"}})
