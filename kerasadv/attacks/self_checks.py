"""Self-checks of a robustness evaluation: the symptoms of a number a reviewer would not trust.

Following Carlini et al. (2019, "On evaluating adversarial robustness") and the flags of
Croce & Hein (2020), on a small subset: the model outputs probabilities; the model is
randomized (two passes differ: use `EOT`); eps = 0 does not give clean accuracy; doubling the
iterations raises accuracy (a bad step size or masked gradients); an unbounded radius leaves
accuracy above 0 (gradient masking: try BPDA, EOT or a score-based attack). Each failed check
is a `RobustnessWarning` that names the symptom and the figures.
"""

import math
import warnings

import numpy as np

from kerasadv.attacks.metrics import clean_accuracy
from kerasadv.errors import KerasAdvError
from kerasadv.models.logits import ends_in_softmax

TOLERANCE = 0.02  # accuracy differences below this are noise on a small subset


class RobustnessWarning(UserWarning):
    """A robustness evaluation shows a symptom of a weak attack or of gradient masking."""


def _accuracy_under(attack, model, x, y, eps=None):
    return clean_accuracy(model, (np.asarray(attack.run(model, x, y, eps)["x_adv"]), y))


def _check(name, passed, detail):
    return {"check": name, "passed": bool(passed), "detail": detail}


def _randomized(model, x):
    first, second = np.asarray(model(x, training=False)), np.asarray(model(x, training=False))
    differs = float(np.abs(first - second).max())
    return _check(
        "deterministic",
        differs <= 1e-6,
        f"two passes differ by up to {differs:.3g}: the model is randomized; attack it with "
        "attacks.EOT(attack) and count a point robust only if it survives several passes",
    )


def _eps_zero(attack, model, x, y, clean):
    at_zero = _accuracy_under(attack, model, x, y, eps=0.0)
    return _check(
        "eps_zero_is_clean",
        abs(at_zero - clean) <= 1e-9,
        f"eps = 0 gives accuracy {at_zero:.3f}, clean accuracy is {clean:.3f}: the attack moves "
        "images outside its budget, or the model is randomized",
    )


def _more_iterations(attack, model, x, y, robust):
    config = attack.get_config()
    doubled = type(attack).from_config({**config, "steps": 2 * config["steps"]})
    longer = _accuracy_under(doubled, model, x, y)
    return _check(
        "more_iterations_do_not_help_the_model",
        longer <= robust + TOLERANCE,
        f"{2 * config['steps']} iterations give accuracy {longer:.3f}, {config['steps']} give "
        f"{robust:.3f}: more iterations should never help the model (step size? masked gradients?)",
    )


def _unbounded(attack, model, x, y):
    limit = 1.0 if attack.norm == "linf" else math.sqrt(float(np.prod(x.shape[1:])))
    unbounded = _accuracy_under(attack, model, x, y, eps=limit)
    return _check(
        "unbounded_eps_reaches_zero",
        unbounded <= TOLERANCE,
        f"an unbounded radius ({attack.norm} eps = {limit:.3g}) leaves accuracy {unbounded:.3f} > 0: "
        "gradients are masked or the attack is too weak (try BPDA, EOT or a score-based attack)",
    )


def self_checks(attack, model, x, y, max_examples=64, warn=True):
    """Runs the checks on the first `max_examples` examples; warns for each that fails.

    An ensemble (`AutoAttack`) is checked through its first attack (APGD-CE, or APGD-CE
    under EOT for "rand"): the gradient attack whose symptoms the checks look for, at a
    fraction of the ensemble's cost.

    Args:
        attack: a kerasadv attack (with an `eps` to override for the radius checks).
        model: the evaluated model.
        x, y: [0, 1] images and labels.
        max_examples: size of the subset the checks run on.
        warn: emit a `RobustnessWarning` per failed check.

    Returns:
        list of `{"check", "passed", "detail"}` dicts.

    Example:
    >>> import keras, numpy as np
    >>> from kerasadv.attacks import PGD
    >>> model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    >>> x = np.random.default_rng(0).random((8, 4, 4, 1), dtype=np.float32)
    >>> [c["check"] for c in self_checks(PGD(0.1, steps=5, seed=0), model, x, np.zeros(8, int), warn=False)]
    ['logits', 'deterministic', 'eps_zero_is_clean', 'more_iterations_do_not_help_the_model',
     'unbounded_eps_reaches_zero']
    """
    x, y = np.asarray(x[:max_examples], np.float32), np.asarray(y[:max_examples])
    if hasattr(attack, "components"):
        attack = attack.components[0][1]
    if ends_in_softmax(model):
        results = [_check("logits", False, "the model outputs probabilities (softmax): use models.logits_model")]
    else:
        results = [_check("logits", True, "the model outputs logits")]
        results.append(_randomized(model, x))
        try:
            clean, robust = clean_accuracy(model, (x, y)), _accuracy_under(attack, model, x, y)
            results.append(_eps_zero(attack, model, x, y, clean))
            if "steps" in attack.get_config():
                results.append(_more_iterations(attack, model, x, y, robust))
            results.append(_unbounded(attack, model, x, y))
        except KerasAdvError as error:  # e.g. an attack without a radius to override
            results.append(_check("attack_runs", False, str(error)))
    if warn:
        for result in results:
            if not result["passed"]:
                warnings.warn(f"{result['check']}: {result['detail']}", RobustnessWarning, stacklevel=2)
    return results
