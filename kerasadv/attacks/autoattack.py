"""AutoAttack (Croce & Hein 2020): the reference ensemble, each attack on what the others left.

Versions and budgets follow the reference code (the RobustBench protocol):

- "standard": APGD-CE (100 iterations), APGD-T (9 target classes, 100 iterations each),
  FAB-T (9 target classes, 100 iterations each), Square (5,000 queries); one restart each.
- "plus": APGD-CE and APGD-DLR with 5 restarts, untargeted FAB (5 restarts), Square
  (5,000 queries), APGD-T and FAB-T (9 targets).
- "rand" (randomized defenses): APGD-CE and APGD-DLR under `EOT` with 20 samples per
  gradient, and every point is checked over `checks` noisy passes: it counts as robust only
  if the model classifies it correctly in all of them.
- "custom": the `attacks` given, in order.

Only points still classified correctly are handed to the next attack, so the reported
robust accuracy is the per-point worst case; `run` also says which attack broke each point.
"""

import numpy as np
import tensorflow as tf

from kerasadv.attacks import validation
from kerasadv.attacks.apgd import APGD, APGDT
from kerasadv.attacks.base import NORMS, Attack, register
from kerasadv.attacks.eot import EOT
from kerasadv.attacks.fab import FAB, FABT
from kerasadv.attacks.predictions import predict_labels
from kerasadv.attacks.registry import get, serialize
from kerasadv.attacks.square import Square
from kerasadv.constants import DEFAULT_LINF_EPS
from kerasadv.errors import AttackInputError
from kerasadv.models.logits import check_logits, num_classes
from kerasadv.models.structure import check_structure

VERSIONS = ("standard", "plus", "rand", "custom")
CLEAN = "clean"  # the first "attack" of the table: points the model gets wrong unattacked
ROBUST = -1  # `broken_by` of a point no attack broke


def reference_attacks(version, eps, norm, seed):
    """`[(name, attack)]` of a reference version, with the reference budgets."""
    common = {"eps": eps, "norm": norm, "seed": seed}
    if version == "standard":
        return [
            ("apgd-ce", APGD(steps=100, loss="ce", **common)),
            ("apgd-t", APGDT(steps=100, targets=9, **common)),
            ("fab-t", FABT(steps=100, targets=9, **common)),
            ("square", Square(queries=5000, **common)),
        ]
    if version == "plus":
        return [
            ("apgd-ce", APGD(steps=100, loss="ce", restarts=5, **common)),
            ("apgd-dlr", APGD(steps=100, loss="dlr", restarts=5, **common)),
            ("fab", FAB(steps=100, restarts=5, **common)),
            ("square", Square(queries=5000, **common)),
            ("apgd-t", APGDT(steps=100, targets=9, **common)),
            ("fab-t", FABT(steps=100, targets=9, **common)),
        ]
    return [
        ("apgd-ce", EOT(APGD(steps=100, loss="ce", **common), samples=20)),
        ("apgd-dlr", EOT(APGD(steps=100, loss="dlr", **common), samples=20)),
    ]


@register
class AutoAttack(Attack):
    """The AutoAttack ensemble: robust accuracy as the per-point worst case over its attacks.

    Args:
        eps: radius ([0, 1] pixel units; L2: Euclidean norm).
        norm: "linf" or "l2".
        version: "standard", "plus", "rand" or "custom" (see the module docstring).
        attacks: the attacks of version "custom" (instances, names or configs), in order.
        checks: forward passes a point must survive to count as robust (default 1; 10 for
            "rand", whose model answers differently on every pass).
        seed: seed of the attacks' randomness.

    Raises:
        AttackInputError: unknown version or norm, "custom" without attacks (or attacks
            with another version), checks < 1.

    Example:
    >>> import numpy as np, kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> x = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    >>> auto = AutoAttack(eps=0.03, version="custom", attacks=["fgsm", "apgd"], seed=0)
    >>> out = auto.run(model, x, np.arange(4))
    >>> auto.names, out["broken_by"].shape
    (('clean', 'fgsm', 'apgd'), TensorShape([4]))
    """

    traceable = False

    def __init__(self, eps=DEFAULT_LINF_EPS, norm="linf", version="standard", attacks=None, checks=None, seed=0):
        validation.check_choice(version, "version", VERSIONS)
        if (version == "custom") != (attacks is not None):
            raise AttackInputError(
                f"attacks= goes with version='custom' (and only with it); got version={version!r}, attacks={attacks!r}."
            )
        validation.check_choice(norm, "norm", NORMS)
        self.norm, self.version, self.seed = norm, version, seed
        self.eps = validation.check_eps(eps, norm)
        default_checks = 10 if version == "rand" else 1
        self.checks = validation.check_integer(default_checks if checks is None else checks, "checks")
        if version == "custom":
            self.components = [(_name(attack), get(attack)) for attack in attacks]
        else:
            self.components = reference_attacks(version, self.eps, norm, seed)
        self.names = (CLEAN, *(name for name, _ in self.components))

    def run(self, model, x, y=None, eps=None):
        """`x_adv`, `success` (the point was broken) and `broken_by` (index into `names`, -1: robust)."""
        self._require_eager()
        check_structure(model)
        x = validation.check_images(x)
        check_logits(model)
        validation.check_model_input(model, x)
        if y is None:
            y = predict_labels(model, x)
        labels = validation.check_labels(y, x.shape[0], num_classes(model, x))
        x_adv, labels = x.numpy(), np.asarray(labels)
        broken_by = np.where(self._survives(model, x_adv, labels), ROBUST, 0)
        for index, (_, attack) in enumerate(self.components, start=1):
            remaining = np.flatnonzero(broken_by == ROBUST)
            if remaining.size == 0:
                break
            candidate = np.asarray(attack.run(model, x_adv[remaining], labels[remaining], eps)["x_adv"])
            fooled = ~self._survives(model, candidate, labels[remaining])
            x_adv[remaining[fooled]] = candidate[fooled]
            broken_by[remaining[fooled]] = index
        return {
            "x_adv": tf.constant(x_adv),
            "success": tf.constant(broken_by > 0),
            "broken_by": tf.constant(broken_by, tf.int32),
        }

    def reseed(self, batch_index):
        for _, attack in self.components:
            attack.reseed(batch_index)

    def _survives(self, model, x, labels):
        """True where the model classifies `x` correctly in all `checks` passes."""
        correct = np.ones(len(labels), bool)
        for _ in range(self.checks):
            correct &= np.asarray(predict_labels(model, x)) == labels
        return correct

    def get_config(self):
        custom = [serialize(attack) for _, attack in self.components] if self.version == "custom" else None
        return {
            "eps": float(self.eps),
            "norm": self.norm,
            "version": self.version,
            "attacks": custom,
            "checks": self.checks,
            "seed": self.seed,
        }


def _name(attack):
    """A table name for a custom attack: the name it was given by, else its class name."""
    if isinstance(attack, str):
        return attack
    if isinstance(attack, dict):
        return attack.get("class_name", "attack").lower()
    return type(attack).__name__.lower()
