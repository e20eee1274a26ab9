"""The Evaluator's blessing rules: a candidate's evaluation against floors and its baseline's evaluation.

Each rule is one check dict, stored in `evaluation.json` and the ModelBlessing's properties:

    {"check": "robust accuracy (worst live attack, AutoAttack-0.0314) >= baseline's 0.1200 + 0.05",
     "value": 0.19, "baseline": 0.12, "margin": 0.05, "passed": True, "blocking": True,
     "attack": "AutoAttack-0.0314", "n": 500, "stderr": 0.0175, "interval": [0.158, 0.226],
     "baseline_attack": "AutoAttack-0.0314", "baseline_n": 500, "baseline_stderr": 0.0145,
     "baseline_interval": [0.095, 0.152]}

`interval` is the 95% Wilson score interval of the robust accuracy over its `n` examples.

`baseline` and `margin` are None where a rule compares with nothing; a self-check's rule has
`value` None and its message in `detail`. A model is blessed when every blocking check passes.

The candidate is compared with the numbers its baseline's Evaluator stored, never attacked a
second time, so both evaluations must share `PROTOCOL`: the live attacks' configs, the robust
subset size, the split, the seed and the examples.
"""

import math

import pandas as pd

from kerasadv.attacks.metrics import accuracy_figure, wilson_interval
from kerasadv.orchestration import SpecError

PROTOCOL = ("seed", "split", "robust_examples", "examples", "attacks")  # seed first: it fills attack seeds
UNBOUNDED = "unbounded_eps_reaches_zero"  # the self-check a single-step attack can fail by construction
ROUNDING = 1e-9  # accuracies are counts over n: a smaller difference is float rounding


def _check(rule, value, passed, baseline=None, margin=None, blocking=True, **facts):
    return {
        "check": rule,
        "value": value,
        "baseline": baseline,
        "margin": margin,
        "passed": bool(passed),
        "blocking": blocking,
        **facts,
    }


def standard_error(accuracy, n):
    """Binomial standard error `sqrt(p (1 - p) / n)` of an accuracy over `n` examples (None for n = 0)."""
    return math.sqrt(accuracy * (1 - accuracy) / n) if n else None


def single_step(config):
    """True for an attack of one gradient step (FGSM, an attack with `steps=1`, or EOT of one)."""
    inner = config["config"]
    if config["class_name"] == "EOT" and isinstance(inner.get("attack"), dict):
        return single_step(inner["attack"])
    return config["class_name"] == "FGSM" or inner.get("steps") == 1


def worst_live_attack(evaluation):
    """`(label, robust accuracy, n)` of the live attack that leaves the lowest accuracy, or None.

    Of equal accuracies the last listed attack is named (AutoAttack comes after PGD).
    """
    rows = evaluation.get("live_attacks") or []
    if not rows:
        return None
    row = min(reversed(rows), key=lambda r: r["adversarial_accuracy"])
    return row["attack"], row["adversarial_accuracy"], row["num_examples"]


def _attack_difference(ours, theirs):
    """`(ours, theirs)` in few words: the attack classes where they differ, else the differing config entries."""
    ours, theirs = (list(a.values()) if isinstance(a, dict) else list(a) for a in (ours, theirs))
    names = [[c["class_name"] for c in side] for side in (ours, theirs)]
    if names[0] != names[1]:
        return repr(names[0]), repr(names[1])
    keys = [
        (i, key)
        for i, (a, b) in enumerate(zip(ours, theirs))
        for key in sorted(set(a["config"]) | set(b["config"]))
        if a["config"].get(key) != b["config"].get(key)
    ]
    return tuple(
        "[" + ", ".join(f"{side[i]['class_name']} {key}={side[i]['config'].get(key)!r}" for i, key in keys) + "]"
        for side in (ours, theirs)
    )


def require_same_protocol(candidate, baseline, where, baseline_name="the baseline evaluation"):
    """Raises SpecError naming both values where two evaluations' `PROTOCOL` entries differ.

    Args:
        candidate, baseline: dicts holding the `PROTOCOL` keys (evaluation.json, or the
            Evaluators' parameters before anything runs).
        where: the candidate Evaluator's id, for the message.
        baseline_name: what the baseline is called in the message.

    Raises:
        SpecError: at the first key that differs, naming both values.
    """
    for key in PROTOCOL:
        ours, theirs = candidate.get(key), baseline.get(key)
        if ours != theirs:
            ours, theirs = _attack_difference(ours, theirs) if key == "attacks" else (repr(ours), repr(theirs))
            raise SpecError(
                f"{where}: {baseline_name} used {key}={theirs} but this Evaluator uses {key}={ours}; "
                "a candidate is compared with its baseline's stored numbers, so expected the same attacks, "
                "robust_examples, split, seed and examples in both Evaluators."
            )


def _robust_facts(prefix, worst):
    label, value, n = worst
    return {
        f"{prefix}attack": label,
        f"{prefix}n": n,
        f"{prefix}stderr": standard_error(value, n),
        f"{prefix}interval": list(wilson_interval(round(value * n), n)),
    }


def clean_rule(evaluation, min_accuracy):
    value = evaluation["metrics"]["examples_accuracy"]
    return _check(f"clean accuracy >= {min_accuracy:g}", value, value >= min_accuracy)


def robust_floor_rule(worst, min_robust_accuracy):
    label, value, _ = worst
    rule = f"robust accuracy (worst live attack, {label}) >= {min_robust_accuracy:g}"
    return _check(rule, value, value >= min_robust_accuracy, **_robust_facts("", worst))


def robust_margin_rule(worst, baseline_worst, margin):
    """Blessed only when more robust than the baseline, by at least `margin`.

    The comparison is `value - baseline >= margin` and `value > baseline`: with margin 0 a
    candidate that only equals its baseline is not more robust, so it does not pass.
    """
    label, value, _ = worst
    base = baseline_worst[1]
    gain = value - base
    bound = f">= baseline's {base:.4f} + {margin:g}" if margin > 0 else f"> baseline's {base:.4f}"
    return _check(
        f"robust accuracy (worst live attack, {label}) {bound}",
        value,
        gain > 0 and gain >= margin - ROUNDING,
        baseline=base,
        margin=margin,
        **_robust_facts("", worst),
        **_robust_facts("baseline_", baseline_worst),
    )


def set_rules(evaluation, baseline, names, where):
    """`<set>_accuracy >= baseline's` for each name; SpecError where the baseline did not evaluate the set."""
    checks = []
    for name in names:
        if name not in baseline["metrics"]:
            raise SpecError(
                f"{where}: no_worse_than_baseline compares {name!r}, but the baseline evaluation has no such "
                f"metric (it has {sorted(baseline['metrics'])}); expected its Evaluator to evaluate the "
                f"{name.removesuffix('_accuracy')!r} set too."
            )
        value, base = evaluation["metrics"][name], baseline["metrics"][name]
        checks.append(_check(f"{name} >= baseline's {base:.4f}", value, value >= base, baseline=base, margin=0.0))
    return checks


def self_check_rules(evaluation):
    """One passing check per live attack whose self-checks all passed, one per failed self-check.

    A failed self-check blocks, except the unbounded-radius check of a single-step attack (FGSM),
    which is reported but not blocking: one step cannot reach zero accuracy even unbounded.
    """
    checks = []
    for label, results in (evaluation.get("self_checks") or {}).items():
        failed = [r for r in results if not r["passed"]]
        if not failed:
            checks.append(_check(f"self-checks of {label} pass ({len(results)} checks)", None, True, attack=label))
        for result in failed:
            blocking = not (result["check"] == UNBOUNDED and single_step(evaluation["attacks"][label]))
            rule = f"self-check {result['check']} of {label}"
            rule += " must pass" if blocking else " (single-step attack: reported, not blocking)"
            checks.append(_check(rule, None, False, blocking=blocking, attack=label, detail=result["detail"]))
    return checks


def blessing_checks(evaluation, parameters, baseline=None, where="Evaluator"):
    """The check dicts of a candidate's evaluation (and its baseline's, when compared).

    Args:
        evaluation: the candidate's evaluation.json content (metrics, live_attacks, self_checks,
            attacks).
        parameters: the Evaluator's parameters (min_accuracy, min_robust_accuracy,
            robust_margin, no_worse_than_baseline).
        baseline: the baseline's evaluation.json content, or None.
        where: the Evaluator's id, for error messages.

    Returns:
        list of check dicts (see the module docstring).

    Raises:
        SpecError: the baseline was evaluated under another protocol, or lacks a compared set.
    """
    checks = [clean_rule(evaluation, parameters["min_accuracy"])]
    worst = worst_live_attack(evaluation)
    if worst and (baseline is None or parameters["min_robust_accuracy"] > 0):
        checks.append(robust_floor_rule(worst, parameters["min_robust_accuracy"]))
    if baseline is not None:
        require_same_protocol(evaluation, baseline, where)
        baseline_worst = worst_live_attack(baseline)
        if worst and baseline_worst:
            checks.append(robust_margin_rule(worst, baseline_worst, parameters["robust_margin"]))
        checks += set_rules(evaluation, baseline, parameters["no_worse_than_baseline"], where)
    return checks + self_check_rules(evaluation)


def is_blessed(checks):
    """True when every blocking check passed (checks without `blocking` count as blocking)."""
    return all(c["passed"] for c in checks if c.get("blocking", True))


def vacuous_gate(parameters, compared):
    """Why a gate would bless any model (a string), or None where robust accuracy is really gated.

    Args:
        parameters: the Evaluator's parameters.
        compared: whether the Evaluator has a `baseline_evaluation`.
    """
    if not parameters["attacks"]:
        return "it runs no live attack (attacks=[]), so no robust accuracy is gated"
    if compared or parameters["min_robust_accuracy"] > 0:
        return None
    return f"min_robust_accuracy={parameters['min_robust_accuracy']} without a baseline_evaluation passes any model"


def _number(value, digits=4):
    return "" if value is None else f"{value:.{digits}f}"


def _verdict(check):
    return "passed" if check["passed"] else ("FAILED" if check.get("blocking", True) else "failed, not blocking")


def _figure(check, prefix=""):
    """A check's value (`prefix` "baseline_": its baseline's) with its n and 95% interval where measured."""
    value = check["baseline" if prefix else "value"]
    n, interval = check.get(f"{prefix}n"), check.get(f"{prefix}interval")
    return accuracy_figure(value, n, interval, digits=4) if n and interval else f"{value:.4f}"


def _interval(check, prefix=""):
    interval = check.get(f"{prefix}interval")
    return f"{interval[0]:.4f}-{interval[1]:.4f}" if interval else ""


def check_line(check):
    """One line of text for a check: rule, values (with n and 95% interval where measured), verdict.

    Example:
    >>> check_line(robust_floor_rule(("PGD-0.03", 0.5, 100), 0.3))
    'robust accuracy (worst live attack, PGD-0.03) >= 0.3: 0.5000 (n=100, 95% CI 0.4038-0.5962) -> passed'
    """
    baseline = f" (baseline {_figure(check, 'baseline_')})" if check.get("baseline") is not None else ""
    value = f": {_figure(check)}{baseline}" if check.get("value") is not None else ""
    return f"{check['check']}{value} -> {_verdict(check)}"


def blessing_table(checks):
    """A table of the checks: rule, values (this model's, the baseline's), margin, n, SEs, 95% intervals, verdict.

    Example:
    >>> blessing_table([robust_floor_rule(("PGD-0.03", 0.5, 100), 0.3)])["95% CI"].tolist()
    ['0.4038-0.5962']
    """
    rows = [
        {
            "rule": c["check"],
            "value": _number(c.get("value")),
            "baseline's value": _number(c.get("baseline")),
            "margin": "" if c.get("margin") is None else f"{c['margin']:g}",
            "n": c.get("n", ""),
            "SE": _number(c.get("stderr")),
            "baseline's SE": _number(c.get("baseline_stderr")),
            "95% CI": _interval(c),
            "baseline's 95% CI": _interval(c, "baseline_"),
            "blocking": "yes" if c.get("blocking", True) else "no",
            "verdict": _verdict(c),
        }
        for c in checks
    ]
    return pd.DataFrame(rows)
