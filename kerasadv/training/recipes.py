"""Training recipes as values: a name or `{"class_name": ..., "config": ...}` -> a wrapper.

A recipe is a training wrapper's configuration without the classifier, so a pipeline
parameter, a cache key and a report can hold it; `wrap(classifier, recipe)` builds it.
"""

import inspect
import json

from kerasadv import attacks
from kerasadv.errors import AttackInputError
from kerasadv.training.adversarial import AdversarialModel
from kerasadv.training.advprop import AdvPropModel
from kerasadv.training.awp import AWPModel, TRADESAWPModel
from kerasadv.training.contrastive import ContrastiveModel
from kerasadv.training.free import FreeAdversarialModel
from kerasadv.training.mart import MARTModel
from kerasadv.training.trades import TRADESModel

WRAPPERS = {
    cls.__name__: cls
    for cls in (
        AdversarialModel,
        AdvPropModel,
        FreeAdversarialModel,
        ContrastiveModel,
        TRADESModel,
        MARTModel,
        AWPModel,
        TRADESAWPModel,
    )
}
# The published recipes' inner attacks (TRADES / MART: yaodongyu/TRADES, YisenWang/MART;
# AT-AWP: csdongxian/AWP), at the defaults of their CIFAR-10 code.
_KL_PGD = {"class_name": "KLPGD", "config": {}}
_MART_PGD = {"class_name": "PGD", "config": {"eps": 0.031, "steps": 10, "step_size": 0.007, "random_start": "normal"}}
_AWP_PGD = {"class_name": "PGD", "config": {"steps": 10, "step_size": 2 / 255}}

# name -> (class name, defaults); "none" is plain training.
_NAMES = {
    "fgsm": ("AdversarialModel", {"attack": "fgsm", "adv_ratio": 0.5}),
    "pgd": ("AdversarialModel", {"attack": {"class_name": "PGD", "config": {"steps": 7}}, "adv_ratio": 1.0}),
    "fast": (
        "AdversarialModel",
        {"attack": {"class_name": "PGD", "config": {"steps": 1, "rel_step_size": 1.25}}, "adv_ratio": 1.0},
    ),
    "free": ("FreeAdversarialModel", {"attack": "fgsm", "replays": 4}),
    "advprop": ("AdvPropModel", {"attack": {"class_name": "PGD", "config": {"steps": 1, "rel_step_size": 1.0}}}),
    "contrastive": ("ContrastiveModel", {}),
    "trades": ("TRADESModel", {"attack": _KL_PGD}),
    "mart": ("MARTModel", {"attack": _MART_PGD}),
    "awp": ("AWPModel", {"attack": _AWP_PGD}),
    "trades_awp": ("TRADESAWPModel", {"attack": _KL_PGD}),
}
RECIPE_NAMES = ("none", *_NAMES)


def _parameters(cls):
    """Constructor parameters of a wrapper after `classifier`, with their defaults."""
    signature = inspect.signature(cls.__init__)
    return {name: p.default for name, p in list(signature.parameters.items())[2:] if p.kind is p.POSITIONAL_OR_KEYWORD}


def get_recipe(identifier, seed=None):
    """A complete, JSON-safe recipe config, or None for plain training.

    Args:
        identifier: None or "none"; a name of `RECIPE_NAMES`; a dict `{"class_name":
            WRAPPER or NAME, "config": {...}}` or its JSON text.
        seed: seed given to the recipe's attack when its config leaves it unset.

    Returns:
        `{"class_name": ..., "config": {...}}` with every constructor argument filled in and
        the attack serialised, or None.

    Raises:
        AttackInputError: unknown name or wrapper, unknown argument, bad attack, a
            hyper-parameter out of range (e.g. a negative TRADES beta).

    Example:
    >>> recipe = get_recipe("pgd", seed=0)
    >>> recipe["class_name"], recipe["config"]["attack"]["config"]["steps"]
    ('AdversarialModel', 7)
    """
    if identifier is None or identifier == "none":
        return None
    if isinstance(identifier, str) and identifier.strip().startswith("{"):
        try:
            identifier = json.loads(identifier)
        except json.JSONDecodeError as error:
            raise AttackInputError(f"recipe is not valid JSON ({error}): {identifier!r}.") from None
    if isinstance(identifier, str):
        identifier = {"class_name": identifier, "config": {}}
    if not isinstance(identifier, dict) or set(identifier) - {"class_name", "config"}:
        raise AttackInputError(
            f"a training recipe is a name of {RECIPE_NAMES} or a dict with 'class_name' and "
            f"'config', got {identifier!r}."
        )
    name, defaults = identifier.get("class_name"), {}
    if name in _NAMES:
        name, defaults = _NAMES[name]
    if name not in WRAPPERS:
        raise AttackInputError(
            f"Unknown training recipe {identifier.get('class_name')!r}: expected one of "
            f"{RECIPE_NAMES} or a wrapper of {sorted(WRAPPERS)}."
        )
    parameters = _parameters(WRAPPERS[name])
    config = {**parameters, **defaults, **(identifier.get("config") or {})}
    unknown = set(config) - set(parameters)
    if unknown:
        raise AttackInputError(f"unknown argument(s) {sorted(unknown)} for {name}; expected {sorted(parameters)}.")
    if config.get("attack") is not None:
        attack = attacks.serialize(attacks.get(config["attack"]))
        if seed is not None and "seed" in attack["config"] and attack["config"]["seed"] is None:
            attack["config"]["seed"] = seed
        config["attack"] = attack
    WRAPPERS[name].check_recipe(config)
    return {"class_name": name, "config": config}


def wrap(classifier, recipe, batch_size=None):
    """Wraps `classifier` in the recipe's training wrapper (or returns it for plain training).

    Args:
        classifier: a Keras logits classifier.
        recipe: anything `get_recipe` takes.
        batch_size: the training batch size; recipes that size a buffer by the largest batch
            (free AT) grow it to at least this.

    Example:
    >>> import kerasadv
    >>> type(wrap(kerasadv.models.simple_cnn(), "free", batch_size=32)).__name__
    'FreeAdversarialModel'
    """
    recipe = get_recipe(recipe)
    if recipe is None:
        return classifier
    config = dict(recipe["config"])
    if "batch_size" in config and batch_size is not None:
        config["batch_size"] = max(config["batch_size"], batch_size)
    return WRAPPERS[recipe["class_name"]](classifier, **config)
