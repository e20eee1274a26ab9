"""Attacks, one protocol: `attack(model, x, y) -> x_adv` (see `kerasadv.attacks.base`).

Attacks are values: `get(name | config | instance)`, `serialize`, `deserialize`.
`kerasadv.testing.check_attack` checks an attack class of your own against the protocol.
"""

from kerasadv.attacks.apgd import APGD, APGDT
from kerasadv.attacks.autoattack import AutoAttack
from kerasadv.attacks.base import Attack, GradientAttack, register
from kerasadv.attacks.eot import EOT
from kerasadv.attacks.fab import FAB, FABT
from kerasadv.attacks.fgsm import FGSM
from kerasadv.attacks.gradients import input_gradient
from kerasadv.attacks.iterative_fgs import IterativeFGS
from kerasadv.attacks.kl_pgd import KLPGD, kl_divergence
from kerasadv.attacks.metrics import clean_accuracy, evaluate_attack, per_attack_table
from kerasadv.attacks.noise import STRENGTHS, GaussianNoise, matched_noise
from kerasadv.attacks.one_pixel import OnePixel
from kerasadv.attacks.pgd import BIM, PGD, project
from kerasadv.attacks.predictions import predict_labels
from kerasadv.attacks.registry import ATTACK_NAMES, attack_classes, deserialize, get, serialize
from kerasadv.attacks.self_checks import RobustnessWarning, self_checks
from kerasadv.attacks.square import Square
from kerasadv.attacks.stream import as_batches, attack_batch, stream
from kerasadv.attacks.sweep import eps_sweep

__all__ = [
    "register",
    "KLPGD",
    "kl_divergence",
    "Attack",
    "GradientAttack",
    "FGSM",
    "PGD",
    "BIM",
    "APGD",
    "APGDT",
    "EOT",
    "Square",
    "FAB",
    "FABT",
    "AutoAttack",
    "per_attack_table",
    "IterativeFGS",
    "GaussianNoise",
    "OnePixel",
    "matched_noise",
    "STRENGTHS",
    "input_gradient",
    "project",
    "stream",
    "attack_batch",
    "as_batches",
    "evaluate_attack",
    "clean_accuracy",
    "predict_labels",
    "eps_sweep",
    "self_checks",
    "RobustnessWarning",
    "get",
    "serialize",
    "deserialize",
    "attack_classes",
    "ATTACK_NAMES",
]
