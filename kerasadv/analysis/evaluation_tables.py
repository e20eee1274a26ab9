"""Tables of several models' evaluations (the Evaluator's `evaluation.json` content) beside a paper's figures.

An evaluation holds `live_attacks` rows (attack label "FGSM-0.05", accuracy on the correctly
classified images, confidences, success rate) and its FGSM eps sweep; these functions lay
them out by attack, eps and model, in percent where the paper prints percent.
"""

import pandas as pd

from kerasadv.errors import KerasAdvError


def live_row(evaluation, attack, eps):
    """The live-attack row of `attack` ("FGSM" / "PGD") at `eps` in an evaluation.

    Raises:
        KerasAdvError: the evaluation ran no such attack (names those it ran).

    Example:
    >>> evaluation = {"live_attacks": [{"attack": "FGSM-0.05", "accuracy_on_correct": 0.2}]}
    >>> live_row(evaluation, "FGSM", 0.05)["accuracy_on_correct"]
    0.2
    >>> live_row(evaluation, "PGD", 0.05)
    Traceback (most recent call last):
    ...
    kerasadv.errors.KerasAdvError: no live attack PGD at eps 0.05 in the evaluation; expected one of ['FGSM-0.05'].
    """
    for row in evaluation["live_attacks"]:
        name, _, value = row["attack"].rpartition("-")
        if name == attack and abs(float(value) - eps) < 1e-9:
            return row
    known = [row["attack"] for row in evaluation["live_attacks"]]
    raise KerasAdvError(f"no live attack {attack} at eps {eps} in the evaluation; expected one of {known}.")


def accuracy_table(evaluation, paper, eps_values):
    """Accuracy (%) on the correctly classified images per attack and eps, beside the paper's.

    Args:
        evaluation: one model's evaluation.
        paper: `{attack: paper values, one per eps}`.
        eps_values: the eps of the paper's columns.

    Returns:
        DataFrame with columns attack, eps, ours, paper.

    Example:
    >>> evaluation = {"live_attacks": [{"attack": "FGSM-0.05", "accuracy_on_correct": 0.2}]}
    >>> accuracy_table(evaluation, {"FGSM": (22.0,)}, (0.05,)).values.tolist()
    [['FGSM', 0.05, 20.0, 22.0]]
    """
    rows = []
    for attack, values in paper.items():
        for eps, value in zip(eps_values, values):
            ours = 100 * live_row(evaluation, attack, eps)["accuracy_on_correct"]
            rows.append({"attack": attack, "eps": eps, "ours": ours, "paper": value})
    return pd.DataFrame(rows)


def defense_table(evaluations, paper, eps_values, names):
    """Accuracy (%) on the correctly classified images per attack and defense, ours and the paper's per eps.

    Args:
        evaluations: `{model key: evaluation}`.
        paper: `{(attack, model key): paper values, one per eps}`.
        eps_values: the eps of the paper's columns.
        names: `{model key: the defense's name in the table}`.

    Returns:
        DataFrame with columns attack, defense, then "ours eps <e>" and "paper eps <e>" per eps.
    """
    rows = []
    for (attack, key), values in paper.items():
        row = {"attack": attack, "defense": names[key]}
        for eps, value in zip(eps_values, values):
            row[f"ours eps {eps}"] = 100 * live_row(evaluations[key], attack, eps)["accuracy_on_correct"]
            row[f"paper eps {eps}"] = value
        rows.append(row)
    return pd.DataFrame(rows)


def sweep_table(sweeps, names):
    """FGSM accuracy (%, whole split) by eps: one column per model of `names` that has a sweep.

    Args:
        sweeps: `{model key: the evaluation's fgsm_eps_sweep table}` (columns eps, adversarial_accuracy).
        names: `{model key: column name}`, in column order.

    Returns:
        DataFrame indexed by eps.

    Example:
    >>> sweep = pd.DataFrame({"eps": [0.0, 0.1], "adversarial_accuracy": [0.8, 0.3]})
    >>> sweep_table({"baseline": sweep}, {"baseline": "base model", "noise": "noise"}).values.tolist()
    [[80.0], [30.0]]
    """
    return pd.DataFrame(
        {
            name: 100 * sweeps[key].set_index("eps")["adversarial_accuracy"]
            for key, name in names.items()
            if key in sweeps
        }
    )


def confidence_table(evaluations, names):
    """Mean confidence of clean vs adversarial predictions and the success rate, per model and live attack.

    Args:
        evaluations: `{model key: evaluation}`, in row order.
        names: `{model key: the model's name in the table}` (a key without one shows as is).

    Returns:
        DataFrame with columns model, attack, confidence clean, confidence adversarial, success rate.
    """
    rows = [
        {
            "model": names.get(key, key),
            "attack": row["attack"],
            "confidence clean": row["mean_clean_confidence"],
            "confidence adversarial": row["mean_adversarial_confidence"],
            "success rate": row["success_rate"],
        }
        for key, evaluation in evaluations.items()
        for row in evaluation["live_attacks"]
    ]
    return pd.DataFrame(rows)
