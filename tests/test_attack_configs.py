"""Every registered attack keeps the published contract (`kerasadv.testing`); identifiers and recipes as values."""

import json

import pytest
import tensorflow as tf

from kerasadv import attacks, models, training
from kerasadv.errors import AttackInputError, RecipeError
from kerasadv.testing import parametrize_with_checks

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


def build(name):
    """The registered attack `name`, seeded where it has a seed, with a small budget."""
    config = attacks.serialize(attacks.get(name))["config"]
    if "seed" in config:
        config["seed"] = 3
    return attacks.deserialize({"class_name": name, "config": {**config, **FAST.get(name, {})}})


@parametrize_with_checks([build(name) for name in attacks.ATTACK_NAMES], ids=attacks.ATTACK_NAMES)
def test_every_registered_attack_keeps_the_published_contract(attack, check):
    report = check(attack)  # kerasadv.testing: config round trip, budget and box, seed, tracing, empty batch
    assert report["check"] == check.__name__
    if "budget" in report and report["budget"] is not None:
        assert report["largest"] <= report["budget"] + 1e-5
    if "config" in report:
        assert attacks.get({"class_name": type(attack).__name__, "config": report["config"]}) == attack


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
        (3.0, "Attack identifiers are"),
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
    with pytest.raises(RecipeError, match="Unknown training recipe 'madry'"):
        training.get_recipe("madry")
    with pytest.raises(RecipeError, match=r"unknown argument\(s\) \['ratio'\]"):
        training.get_recipe({"class_name": "AdversarialModel", "config": {"attack": "pgd", "ratio": 1.0}})
    with pytest.raises(RecipeError, match="free AT replays untargeted Linf FGSM"):
        training.get_recipe({"class_name": "free", "config": {"attack": "pgd"}})  # refused before any model
    with pytest.raises(RecipeError, match="free AT replays untargeted Linf FGSM"):
        training.wrap(models.simple_cnn(), {"class_name": "free", "config": {"attack": "pgd"}})
