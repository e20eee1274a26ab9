"""Attack and training-recipe parameters of components: normalised to full configs at construction.

A component given `attack="pgd"`, a config dict or its JSON text stores the complete,
JSON-safe config, so the cache key, the artifact properties, the lineage and the report all
hold every hyper-parameter, and a bad config fails before anything runs.
"""

from kerasadv import attacks, training
from kerasadv.errors import KerasAdvError
from kerasadv.orchestration import SpecError


def attack_config(component_id, identifier, seed=None):
    """`{"class_name", "config"}` of an attack identifier, or a SpecError naming the component.

    `seed` (the component's) fills every seed the identifier leaves unset, the attack's own
    and those of the attacks inside it (an `EOT`'s attack, an `AutoAttack`'s list), so a
    seeded pipeline is deterministic.

    Example:
    >>> eot = attack_config("Evaluator", {"class_name": "EOT", "config": {"attack": "pgd"}}, seed=3)
    >>> eot["config"]["attack"]["config"]["seed"]
    3
    """
    try:
        config = attacks.serialize(attacks.get(identifier))
    except KerasAdvError as error:
        raise SpecError(f"{component_id}: bad attack {identifier!r}: {error}") from None
    if seed is not None:
        fill_seeds(config, seed)
    return config


def fill_seeds(config, seed):
    """Sets `seed` wherever a nested `{"class_name", "config"}` in `config` has `seed: None`; returns `config`."""
    if isinstance(config, dict):
        inner = config.get("config")
        if "class_name" in config and isinstance(inner, dict) and "seed" in inner and inner["seed"] is None:
            inner["seed"] = seed
        for value in config.values():
            fill_seeds(value, seed)
    elif isinstance(config, list):
        for value in config:
            fill_seeds(value, seed)
    return config


def recipe_config(component_id, identifier, seed):
    """The complete training-recipe config (None: plain training), or a SpecError."""
    try:
        return training.get_recipe(identifier, seed=seed)
    except KerasAdvError as error:
        raise SpecError(f"{component_id}: bad adversarial_training recipe {identifier!r}: {error}") from None


def default_eps(source):
    """The field's Linf radius for a data source: 0.1 for (Fashion-)MNIST, else 8/255 (CIFAR-10, RobustBench)."""
    return 0.1 if "mnist" in source.lower() else 8 / 255


def recipe_at_radius(component_id, identifier, eps, seed):
    """An adversarial recipe's full config with its attack at Linf radius `eps`, or a SpecError.

    An absolute step size becomes the same multiple of eps (TRADES' 0.007 at 0.031: 0.226 eps),
    so the step follows the radius and an `EpsilonSchedule`.
    """
    recipe = recipe_config(component_id, identifier, seed)
    attack = recipe and recipe["config"].get("attack")
    if not attack or "eps" not in attack["config"]:
        raise SpecError(
            f"{component_id}: recipe {identifier!r} trains against no attack; expected an adversarial recipe "
            f"of {training.RECIPE_NAMES[1:]}."
        )
    config = attack["config"]
    if config.get("step_size") is not None:
        config["rel_step_size"], config["step_size"] = config["step_size"] / config["eps"], None
    config["eps"] = float(eps)
    return recipe


def attack_label(config):
    """Short label of an attack config for tables: class name, norm and eps ("PGD-linf-0.031")."""
    inner = config["config"]
    parts = [config["class_name"]]
    if "norm" in inner and inner["norm"] != "linf":
        parts.append(inner["norm"])
    if "eps" in inner:
        parts.append(f"{inner['eps']:.3g}")
    if inner.get("targeted"):
        parts.append(f"targeted-{inner.get('target', 'given')}")
    return "-".join(parts)
