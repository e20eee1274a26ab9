"""Attacks by name, for configuration files, pipelines and command lines."""

from kerasadv.attacks.fgsm import FGSM
from kerasadv.attacks.iterative_fgs import IterativeFGS
from kerasadv.attacks.noise import GaussianNoise
from kerasadv.attacks.pgd import BIM, PGD
from kerasadv.errors import AttackInputError

ATTACK_NAMES = ("fgsm", "pgd", "pgd_l2", "bim", "iterative_fgs", "noise")


def make_attack(name, eps, steps=10, seed=0):
    """Builds attack `name` with radius `eps` (noise: its std) and `steps` (iterative ones).

    Example:
    >>> make_attack("pgd", 0.03, steps=7)
    PGD(eps=0.03, targeted=False, target='given', seed=0, training=False, steps=7, step_size=None, norm='linf', random_start=True)
    """
    if name == "fgsm":
        return FGSM(eps)
    if name == "pgd":
        return PGD(eps, steps=steps, seed=seed)
    if name == "pgd_l2":
        return PGD(eps, steps=steps, norm="l2", seed=seed)
    if name == "bim":
        return BIM(eps, steps=steps)
    if name == "iterative_fgs":
        return IterativeFGS(eps=1.0, step_size=eps, max_steps=steps)
    if name == "noise":
        return GaussianNoise(eps, seed=seed)
    raise AttackInputError(f"Unknown attack {name!r}: expected one of {ATTACK_NAMES}.")
