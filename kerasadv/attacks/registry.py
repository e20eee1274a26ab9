"""Attacks as values: `get` (name, config or instance), `serialize` and `deserialize`.

One `kerasadv.registry.Registry` of names, each a class with defaults, so the same attack,
configured once, travels from a notebook into a pipeline parameter, a cache key, the lineage
and a report. A user's attack class registered with `keras.saving` (as `attacks.base.register`
does) is found by its class name; `ATTACKS.register(name, cls, **defaults)` adds a name.
"""

from kerasadv.attacks.base import Attack
from kerasadv.constants import DEFAULT_L2_EPS
from kerasadv.errors import AttackInputError
from kerasadv.registry import Registry

ATTACKS = Registry("attack", Attack, AttackInputError)
# Classes load on first use ("module:Class"): DLFuzz lives in analysis, which imports attacks.
for _name, _target, _defaults in (
    ("fgsm", "kerasadv.attacks.fgsm:FGSM", {}),
    ("pgd", "kerasadv.attacks.pgd:PGD", {}),
    ("pgd_l2", "kerasadv.attacks.pgd:PGD", {"norm": "l2", "eps": DEFAULT_L2_EPS}),
    ("bim", "kerasadv.attacks.pgd:BIM", {}),
    ("kl_pgd", "kerasadv.attacks.kl_pgd:KLPGD", {}),
    ("apgd", "kerasadv.attacks.apgd:APGD", {}),
    ("apgd_dlr", "kerasadv.attacks.apgd:APGD", {"loss": "dlr"}),
    ("apgd_t", "kerasadv.attacks.apgd:APGDT", {}),
    ("eot", "kerasadv.attacks.eot:EOT", {}),
    ("square", "kerasadv.attacks.square:Square", {}),
    ("square_l2", "kerasadv.attacks.square:Square", {"norm": "l2", "eps": DEFAULT_L2_EPS}),
    ("fab", "kerasadv.attacks.fab:FAB", {}),
    ("fab_t", "kerasadv.attacks.fab:FABT", {}),
    ("autoattack", "kerasadv.attacks.autoattack:AutoAttack", {}),
    ("autoattack_rand", "kerasadv.attacks.autoattack:AutoAttack", {"version": "rand"}),
    ("iterative_fgs", "kerasadv.attacks.iterative_fgs:IterativeFGS", {}),
    ("noise", "kerasadv.attacks.noise:GaussianNoise", {}),
    ("one_pixel", "kerasadv.attacks.one_pixel:OnePixel", {}),
    ("dlfuzz", "kerasadv.analysis.dlfuzz:DLFuzz", {}),
):
    ATTACKS.register(_name, _target, **_defaults)
ATTACK_NAMES = ATTACKS.names


def attack_classes():
    """Every attack class `get` knows, by class name."""
    return ATTACKS.classes()


def serialize(attack):
    """`{"class_name": ..., "config": ...}` of an attack (JSON-safe).

    Example:
    >>> from kerasadv.attacks import FGSM
    >>> serialize(FGSM(0.1))["config"]["eps"]
    0.1
    """
    return ATTACKS.serialize(attack)


def deserialize(config):
    """Builds an attack from `{"class_name": NAME, "config": {...}}` (NAME: a class or registered name).

    A registered name fills in its defaults before the given config (`{"class_name":
    "pgd_l2", "config": {"steps": 20}}` is an L2 PGD of radius 0.5 with 20 steps).

    Example:
    >>> deserialize({"class_name": "pgd_l2", "config": {"steps": 20}}).eps
    0.5
    """
    return ATTACKS.deserialize(config)


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
    return ATTACKS.get(identifier)
