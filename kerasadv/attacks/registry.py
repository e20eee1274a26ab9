"""Attacks as values: `get` (name, config or instance), `serialize` and `deserialize`.

The shape of `keras.optimizers.get`: one table of names, each a class with defaults, so
the same attack, configured once, travels from a notebook into a pipeline parameter, a
cache key, the lineage and a report.
"""

import importlib
import json

from kerasadv.attacks.base import Attack
from kerasadv.constants import DEFAULT_L2_EPS
from kerasadv.errors import AttackInputError

# name -> (module, class name, defaults); modules load on first use (DLFuzz lives in analysis).
_NAMES = {
    "fgsm": ("kerasadv.attacks.fgsm", "FGSM", {}),
    "pgd": ("kerasadv.attacks.pgd", "PGD", {}),
    "pgd_l2": ("kerasadv.attacks.pgd", "PGD", {"norm": "l2", "eps": DEFAULT_L2_EPS}),
    "bim": ("kerasadv.attacks.pgd", "BIM", {}),
    "kl_pgd": ("kerasadv.attacks.kl_pgd", "KLPGD", {}),
    "apgd": ("kerasadv.attacks.apgd", "APGD", {}),
    "apgd_dlr": ("kerasadv.attacks.apgd", "APGD", {"loss": "dlr"}),
    "apgd_t": ("kerasadv.attacks.apgd", "APGDT", {}),
    "eot": ("kerasadv.attacks.eot", "EOT", {}),
    "square": ("kerasadv.attacks.square", "Square", {}),
    "square_l2": ("kerasadv.attacks.square", "Square", {"norm": "l2", "eps": DEFAULT_L2_EPS}),
    "fab": ("kerasadv.attacks.fab", "FAB", {}),
    "fab_t": ("kerasadv.attacks.fab", "FABT", {}),
    "autoattack": ("kerasadv.attacks.autoattack", "AutoAttack", {}),
    "autoattack_rand": ("kerasadv.attacks.autoattack", "AutoAttack", {"version": "rand"}),
    "iterative_fgs": ("kerasadv.attacks.iterative_fgs", "IterativeFGS", {}),
    "noise": ("kerasadv.attacks.noise", "GaussianNoise", {}),
    "one_pixel": ("kerasadv.attacks.one_pixel", "OnePixel", {}),
    "dlfuzz": ("kerasadv.analysis.dlfuzz", "DLFuzz", {}),
}
ATTACK_NAMES = tuple(_NAMES)


def _class(module, class_name):
    return getattr(importlib.import_module(module), class_name)


def attack_classes():
    """Every registered attack class, by class name."""
    return {class_name: _class(module, class_name) for module, class_name, _ in _NAMES.values()}


def _resolve(name):
    """`(class, defaults)` for a registered name or a class name."""
    if name in _NAMES:
        module, class_name, defaults = _NAMES[name]
        return _class(module, class_name), dict(defaults)
    classes = attack_classes()
    if name in classes:
        return classes[name], {}
    raise AttackInputError(
        f"Unknown attack {name!r}: expected one of {ATTACK_NAMES} or a class name of {sorted(classes)}."
    )


def serialize(attack):
    """`{"class_name": ..., "config": ...}` of an attack (JSON-safe).

    Example:
    >>> from kerasadv.attacks import FGSM
    >>> serialize(FGSM(0.1))["config"]["eps"]
    0.1
    """
    if not isinstance(attack, Attack):
        raise AttackInputError(f"serialize takes a kerasadv attack, got {type(attack).__name__}.")
    return {"class_name": type(attack).__name__, "config": attack.get_config()}


def deserialize(config):
    """Builds an attack from `{"class_name": NAME, "config": {...}}` (NAME: a class or registered name).

    A registered name fills in its defaults before the given config (`{"class_name":
    "pgd_l2", "config": {"steps": 20}}` is an L2 PGD of radius 0.5 with 20 steps).
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise AttackInputError(f"an attack config is a dict with 'class_name' and 'config', got {config!r}.")
    unknown = set(config) - {"class_name", "config", "module", "registered_name"}
    if unknown:
        raise AttackInputError(
            f"unknown key(s) {sorted(unknown)} in attack config {config!r}; expected 'class_name' and 'config'."
        )
    cls, defaults = _resolve(config["class_name"])
    arguments = {**defaults, **(config.get("config") or {})}
    try:
        return cls.from_config(arguments)
    except TypeError as error:
        raise AttackInputError(f"bad config for {cls.__name__}: {error}; got {arguments}.") from None


def get(identifier):
    """An attack from a name (`"pgd"`), a config dict or its JSON text, or an attack instance.

    Args:
        identifier: an `Attack` (returned as is), a name of `ATTACK_NAMES` or a class name
            (built with its defaults), a dict `{"class_name": ..., "config": {...}}`, or that
            dict as JSON text (as pipeline flags take it).

    Returns:
        An `Attack`.

    Raises:
        AttackInputError: unknown name, malformed config or JSON, bad argument.

    Example:
    >>> get("pgd").steps
    10
    >>> get('{"class_name": "PGD", "config": {"eps": 0.5, "norm": "l2", "steps": 20}}').norm
    'l2'
    """
    if isinstance(identifier, Attack):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        text = identifier.strip()
        if text.startswith("{"):
            try:
                return deserialize(json.loads(text))
            except json.JSONDecodeError as error:
                raise AttackInputError(f"attack config is not valid JSON ({error}): {identifier!r}.") from None
        return deserialize({"class_name": text, "config": {}})
    raise AttackInputError(
        f"an attack identifier is a name, a config dict, JSON text or an Attack; "
        f"got {identifier!r} ({type(identifier).__name__})."
    )
