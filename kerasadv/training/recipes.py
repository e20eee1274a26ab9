"""Training recipes as values: a name or `{"class_name": ..., "config": ...}` -> a wrapper.

A recipe is a training wrapper's configuration without the classifier, so a pipeline
parameter, a cache key and a report can hold it; `wrap(classifier, recipe)` builds it.
"""

import inspect

from kerasadv import attacks
from kerasadv.errors import RecipeError
from kerasadv.registry import Registry
from kerasadv.training.adversarial import AdversarialModel
from kerasadv.training.advprop import AdvPropModel
from kerasadv.training.awp import AWPModel, TRADESAWPModel
from kerasadv.training.contrastive import ContrastiveModel
from kerasadv.training.free import FreeAdversarialModel
from kerasadv.training.gaussian_augmentation import GaussianAugmentationModel
from kerasadv.training.mart import MARTModel
from kerasadv.training.trades import TRADESModel
from kerasadv.training.wrapper import TrainingWrapper

# The published recipes' inner attacks (TRADES / MART: yaodongyu/TRADES, YisenWang/MART;
# AT-AWP: csdongxian/AWP), at the defaults of their CIFAR-10 code.
_KL_PGD = {"class_name": "KLPGD", "config": {}}
_MART_PGD = {"class_name": "PGD", "config": {"eps": 0.031, "steps": 10, "step_size": 0.007, "random_start": "normal"}}
_AWP_PGD = {"class_name": "PGD", "config": {"steps": 10, "step_size": 2 / 255}}
_ONE_STEP = {"class_name": "PGD", "config": {"steps": 1, "rel_step_size": 1.25}}

RECIPES = Registry("training recipe", TrainingWrapper, RecipeError)
RECIPES.register("fgsm", AdversarialModel, attack="fgsm", adv_ratio=0.5)
RECIPES.register("pgd", AdversarialModel, attack={"class_name": "PGD", "config": {"steps": 7}}, adv_ratio=1.0)
RECIPES.register("fast", AdversarialModel, attack=_ONE_STEP, adv_ratio=1.0)
RECIPES.register("free", FreeAdversarialModel, attack="fgsm", replays=4)
RECIPES.register("advprop", AdvPropModel, attack={"class_name": "PGD", "config": {"steps": 1, "rel_step_size": 1.0}})
RECIPES.register("contrastive", ContrastiveModel)
RECIPES.register("trades", TRADESModel, attack=_KL_PGD)
RECIPES.register("mart", MARTModel, attack=_MART_PGD)
RECIPES.register("awp", AWPModel, attack=_AWP_PGD)
RECIPES.register("trades_awp", TRADESAWPModel, attack=_KL_PGD)
RECIPES.register("gaussian_augmentation", GaussianAugmentationModel)
RECIPE_NAMES = ("none", *RECIPES.names)  # "none": plain training


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
        RecipeError: unknown name or wrapper, unknown argument, a hyper-parameter out of
            range (e.g. a negative TRADES beta).
        AttackInputError: a bad attack in the recipe.

    Example:
    >>> recipe = get_recipe("pgd", seed=0)
    >>> recipe["class_name"], recipe["config"]["attack"]["config"]["steps"]
    ('AdversarialModel', 7)
    """
    if identifier is None or identifier == "none":
        return None
    cls, config = RECIPES.complete(identifier)
    parameters = _parameters(cls)
    unknown = set(config) - set(parameters)
    if unknown:
        raise RecipeError(f"unknown argument(s) {sorted(unknown)} for {cls.__name__}; expected {sorted(parameters)}.")
    config = {**parameters, **config}
    if config.get("attack") is not None or cls.default_attack is not None:
        attack = attacks.serialize(cls.resolve_attack(config.get("attack")))
        if seed is not None and "seed" in attack["config"] and attack["config"]["seed"] is None:
            attack["config"]["seed"] = seed
        config["attack"] = attack
    if seed is not None and config.get("seed", 0) is None:  # a recipe's own noise seed
        config["seed"] = seed
    cls.check_recipe(config)
    return {"class_name": cls.__name__, "config": config}


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
    return RECIPES.resolve(recipe["class_name"])[0](classifier, **config)
