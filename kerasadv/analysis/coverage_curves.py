"""Neuron coverage while fuzzing: DLFuzz's curve beside the same campaign with random directions.

DLFuzz (`kerasadv.analysis.DLFuzz`) records `(mutations so far, coverage)` after every step;
the VGG-16 setup compares it with the same campaign whose steps take random directions of the
same size (`mode="random"`): the coverage the gradient buys over chance.
"""

import numpy as np
import pandas as pd

from kerasadv.analysis.dlfuzz import DLFuzz


def coverage_curves(attack, model, x, result):
    """DLFuzz's coverage over mutations, and the same campaign with random directions.

    Args:
        attack: the `DLFuzz` attack that made `result`.
        model: the fuzzed model.
        x: the seeds.
        result: `attack.run(model, x)`.

    Returns:
        `(curves, random_run)`: a DataFrame with columns mode ("gradient" / "random"),
        mutations, coverage; and the random campaign's `run` result.
    """
    rows = [("gradient", m, c) for m, c in result["curve"]]
    random_run = DLFuzz.from_config({**attack.get_config(), "mode": "random"}).run(model, x)
    rows += [("random", m, c) for m, c in random_run["curve"]]
    return pd.DataFrame(rows, columns=["mode", "mutations", "coverage"]), random_run


def curve_summary(curves, points=10):
    """About `points` evenly spaced rows of each mode's coverage curve, its last row included.

    Example:
    >>> curves = pd.DataFrame({"mode": ["gradient"] * 5, "mutations": range(5), "coverage": np.linspace(0, 1, 5)})
    >>> curve_summary(curves, points=3).mutations.tolist()
    [0, 2, 4]
    """
    parts = []
    for _, rows in curves.groupby("mode", sort=False):
        index = np.unique(np.linspace(0, len(rows) - 1, points).round().astype(int))
        parts.append(rows.iloc[index])
    return pd.concat(parts)


def coverage_difference(curves):
    """Gradient minus random coverage after the same number of generated inputs (the shorter campaign's).

    Example:
    >>> modes, mutations = ["gradient"] * 3 + ["random"] * 2, [1, 2, 3, 1, 2]
    >>> curves = pd.DataFrame({"mode": modes, "mutations": mutations, "coverage": [0.2, 0.4, 0.5, 0.1, 0.3]})
    >>> round(float(coverage_difference(curves)), 3)
    0.1
    """
    shared = curves.groupby("mode")["mutations"].max().min()
    at = curves[curves.mutations <= shared].groupby("mode")["coverage"].last()
    return at["gradient"] - at["random"]
