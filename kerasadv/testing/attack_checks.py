"""The attack contract as checks: each `check(attack, model=None, x=None, y=None)` raises on a breach.

The checks (`CHECKS`, in the order `check_attack` runs them):

- `check_config_round_trip`: `get_config()` is complete (every constructor argument) and
  JSON-safe; `from_config` rebuilds an equal attack, with an equal hash; `attacks.serialize` /
  `deserialize` / `get` (config and JSON text) and `keras.saving` round-trip it.
- `check_adversarial_images`: the result is float32, of the input's shape, inside the [0, 1]
  box and inside the attack's budget (its `norm`: the eps ball for "linf" / "l2", `pixels`
  changed for "l0", `max_ratio` for "l2_ratio"; no budget for `norm=None`).
- `check_deterministic_under_seed`: two attacks built from one config (seed 0 where the seed
  is unset) give the same images, and `reseed(i)` restarts an attack's randomness.
- `check_traceable`: a `traceable` attack runs inside `tf.function`; an eager-only one refuses
  with an error that says it runs eagerly.
- `check_empty_batch`: an empty batch comes back unchanged.

They run on `contract_bench()` (a small seeded CNN, four 16 x 16 RGB images) unless given a
model and data; configure the attack with a small budget (steps, queries) to keep them quick.
"""

import functools
import inspect
import json

import keras
import numpy as np
import tensorflow as tf

from kerasadv import attacks
from kerasadv.errors import AttackContractError, AttackInputError

TOLERANCE = {"linf": 1e-6, "l2": 1e-4}  # float32 rounding of clip and projection


@functools.cache
def _contract_model():
    seeded = lambda i: keras.initializers.GlorotUniform(seed=i)
    inputs = keras.Input((16, 16, 3))
    hidden = keras.layers.Conv2D(8, 3, activation="relu", kernel_initializer=seeded(0))(inputs)
    hidden = keras.layers.Conv2D(8, 3, strides=2, activation="relu", kernel_initializer=seeded(1))(hidden)
    hidden = keras.layers.GlobalAveragePooling2D()(hidden)
    return keras.Model(inputs, keras.layers.Dense(4, kernel_initializer=seeded(2))(hidden), name="contract_cnn")


def contract_bench():
    """`(model, x, y)` the checks run on by default: a seeded logits CNN of 4 classes, 4 images, labels.

    Example:
    >>> model, x, y = contract_bench()
    >>> model.output_shape, x.shape, y.tolist()
    ((None, 4), (4, 16, 16, 3), [0, 1, 2, 3])
    """
    x = np.random.default_rng(0).random((4, 16, 16, 3), dtype=np.float32)
    return _contract_model(), x, np.arange(4)


def _bench(model, x, y):
    """The given model and batch, or the contract's (give all three to run on your own)."""
    if model is None:
        return contract_bench()
    return model, np.asarray(x, np.float32), np.asarray(y)


def _require(condition, check, attack, detail):
    if not condition:
        raise AttackContractError(f"{check}: {type(attack).__name__} {detail} ({attack!r}).")


def check_config_round_trip(attack, model=None, x=None, y=None):
    """The attack is a value: complete, JSON-safe config; rebuilt equal by every route."""
    name, config = "check_config_round_trip", attack.get_config()
    parameters = set(inspect.signature(type(attack).__init__).parameters) - {"self", "args", "kwargs"}
    _require(parameters <= set(config), name, attack, f"drops {sorted(parameters - set(config))} from get_config()")
    try:
        text = json.dumps(config)
    except TypeError as error:
        raise AttackContractError(f"{name}: the config of {type(attack).__name__} is not JSON-safe: {error}.") from None
    _require(json.loads(text) == config, name, attack, "has a config that JSON changes")
    rebuilt = type(attack).from_config(config)
    _require(rebuilt.get_config() == config, name, attack, "is rebuilt by from_config with another config")
    _require(rebuilt == attack and hash(rebuilt) == hash(attack), name, attack, "is not equal to its rebuilt copy")
    try:
        again = attacks.deserialize(attacks.serialize(attack))
    except AttackInputError as error:
        raise AttackContractError(
            f"{name}: attacks.deserialize cannot rebuild {type(attack).__name__} ({error}); register the class "
            "with @kerasadv.attacks.register (or keras.saving.register_keras_serializable)."
        ) from None
    _require(again == attack, name, attack, "is not rebuilt equal by attacks.deserialize(attacks.serialize(...))")
    _require(attacks.get(json.dumps(attacks.serialize(attack))) == attack, name, attack, "is not rebuilt from JSON")
    keras_copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(attack))
    _require(keras_copy == attack, name, attack, "does not round-trip through keras.saving")
    return {"check": name, "config": config}


def _within_budget(attack, x, x_adv):
    """`(inside, largest size, budget)` of the perturbations in the attack's norm; None without a budget."""
    delta = (x_adv - x).reshape(len(x), -1)
    if attack.norm in TOLERANCE:
        sizes = np.abs(delta).max(axis=1) if attack.norm == "linf" else np.linalg.norm(delta, axis=1)
        size = sizes.max(initial=0.0)
        return size <= attack.eps + TOLERANCE[attack.norm], size, attack.eps
    if attack.norm == "l0":
        size = (np.abs(x_adv - x).max(axis=-1) > 0).reshape(len(x), -1).sum(1).max(initial=0)
        return size <= attack.pixels, size, attack.pixels
    if attack.norm == "l2_ratio":
        size = (np.linalg.norm(delta, axis=1) / np.linalg.norm(x.reshape(len(x), -1), axis=1)).max(initial=0.0)
        return size < attack.max_ratio, size, attack.max_ratio
    return None


def check_adversarial_images(attack, model=None, x=None, y=None):
    """The result is float32, of the input's shape, in [0, 1] and inside the attack's budget."""
    name = "check_adversarial_images"
    model, x, y = _bench(model, x, y)
    x_adv = attack(model, x, y)
    _require(x_adv.dtype == tf.float32, name, attack, f"returns {x_adv.dtype.name} images, expected float32")
    _require(tuple(x_adv.shape) == x.shape, name, attack, f"returns shape {tuple(x_adv.shape)} for {x.shape}")
    x_adv = np.asarray(x_adv)
    low, high = x_adv.min(initial=0.0), x_adv.max(initial=1.0)
    _require(low >= 0.0 and high <= 1.0, name, attack, f"leaves the [0, 1] box: values in [{low:g}, {high:g}]")
    budget = _within_budget(attack, x, x_adv)
    facts = {"check": name, "low": float(low), "high": float(high), "largest": None, "budget": None}
    if budget is not None:
        inside, size, limit = budget
        detail = f"moves images by up to {size:.4g} in {attack.norm}, beyond its budget {limit:g}"
        _require(inside, name, attack, detail)
        facts.update(largest=float(size), budget=float(limit))
    return facts


def check_deterministic_under_seed(attack, model=None, x=None, y=None):
    """One config and seed, the same images; `reseed(i)` restarts the randomness."""
    name = "check_deterministic_under_seed"
    model, x, y = _bench(model, x, y)
    config = attack.get_config()
    if "seed" in config and config["seed"] is None:
        config["seed"] = 0
    first = np.asarray(type(attack).from_config(config)(model, x, y))
    again = np.asarray(type(attack).from_config(config)(model, x, y))
    _require(np.array_equal(first, again), name, attack, "gives other images from the same config and seed")
    seeded = type(attack).from_config(config)
    seeded.reseed(1)
    first = np.asarray(seeded(model, x, y))
    seeded.reseed(1)
    _require(np.array_equal(first, np.asarray(seeded(model, x, y))), name, attack, "is not restarted by reseed(1)")
    return {"check": name, "seed": config.get("seed")}


def check_traceable(attack, model=None, x=None, y=None):
    """A traceable attack runs inside `tf.function`; an eager-only one says that it runs eagerly."""
    name = "check_traceable"
    model, x, y = _bench(model, x, y)
    graph = tf.function(functools.partial(attack, model))  # a function of its own: TF counts traces per function
    try:
        x_adv = graph(tf.constant(x), tf.constant(y))
    except Exception as error:  # AutoGraph may wrap the attack's own error
        if attack.traceable:
            raise AttackContractError(f"{name}: {type(attack).__name__} fails inside tf.function: {error}") from error
        _require("runs eagerly" in str(error), name, attack, f"fails inside tf.function without saying why: {error}")
        return {"check": name, "traced": False}
    _require(attack.traceable, name, attack, "says traceable=False but ran inside tf.function")
    _require(tuple(x_adv.shape) == x.shape, name, attack, f"returns shape {tuple(x_adv.shape)} inside tf.function")
    return {"check": name, "traced": True}


def check_empty_batch(attack, model=None, x=None, y=None):
    """An empty batch comes back unchanged."""
    model, x, y = _bench(model, x, y)
    x_adv = attack(model, x[:0], y[:0])
    _require(tuple(x_adv.shape) == x[:0].shape, "check_empty_batch", attack, f"returns {tuple(x_adv.shape)} for none")
    return {"check": "check_empty_batch", "shape": tuple(x_adv.shape)}


CHECKS = (
    check_config_round_trip,
    check_adversarial_images,
    check_deterministic_under_seed,
    check_traceable,
    check_empty_batch,
)


def attack_checks(attack):
    """Yields the checks of the contract that apply to `attack` (all of `CHECKS` today).

    Each check is called as `check(attack)` (or `check(attack, model, x, y)`) and returns a dict of what it measured.

    Example:
    >>> [check.__name__ for check in attack_checks(attacks.FGSM(0.03))][:2]
    ['check_config_round_trip', 'check_adversarial_images']
    """
    yield from CHECKS


def check_attack(attack, model=None, x=None, y=None):
    """Runs every check of the contract on `attack`; raises at the first one it fails.

    Args:
        attack: an attack instance (configured with a small budget: the checks run it about
            six times).
        model, x, y: a logits model and a batch to run on; default `contract_bench()`.

    Returns:
        One dict per check passed: `{"check": name, ...}` with what it measured (the config,
        the largest perturbation and its budget, whether it traced, ...).

    Raises:
        AttackContractError: the first failed check, named in the message (an
            `AssertionError` too, so pytest reports it as a failure).

    Example:
    >>> [report["check"] for report in check_attack(attacks.PGD(0.03, steps=2, seed=0))][-1]
    'check_empty_batch'
    >>> @keras.saving.register_keras_serializable(package="docs")
    ... class Loud(attacks.FGSM):  # ignores its eps: moves every pixel by 0.5
    ...     def perturb(self, model, x, labels, eps):
    ...         return super().perturb(model, x, labels, 0.5)
    >>> check_attack(Loud(0.03))
    Traceback (most recent call last):
    ...
    kerasadv.errors.AttackContractError: check_adversarial_images: Loud moves images by up to 0.5 in linf, ...
    """
    reports = []
    for check in attack_checks(attack):
        try:
            reports.append(check(attack, model, x, y))
        except AttackContractError:
            raise
        except Exception as error:
            raise AttackContractError(f"{check.__name__}: {type(attack).__name__} raised {error!r}.") from error
    return reports


def parametrize_with_checks(attacks_to_check, ids=None):
    """A pytest decorator: one test case `(attack, check)` per attack and check of the contract.

    Args:
        attacks_to_check: attack instances.
        ids: names of the attacks in the test ids (default: their class names).

    Example:
    >>> decorator = parametrize_with_checks([attacks.FGSM(0.03)])
    >>> decorator.args[0], len(decorator.args[1])
    ('attack, check', 5)
    """
    import pytest

    names = ids or [type(attack).__name__ for attack in attacks_to_check]
    cases = [(a, c) for a in attacks_to_check for c in attack_checks(a)]
    case_ids = [f"{n}-{c.__name__}" for n, a in zip(names, attacks_to_check) for c in attack_checks(a)]
    return pytest.mark.parametrize("attack, check", cases, ids=case_ids)
