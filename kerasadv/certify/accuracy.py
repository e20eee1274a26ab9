"""Certified accuracy: the share of a set that is classified correctly with a radius of at least r."""

import numpy as np
import pandas as pd

from kerasadv.errors import CertificationError

RADII = (0.0, 0.25, 0.5, 0.75, 1.0)
"""The radii of certified-accuracy tables (L2, pixel units of [0, 1] images)."""


def _correct(result, labels):
    predictions = np.asarray(result["predictions"])
    labels = np.asarray(labels).reshape(-1)
    if labels.shape != predictions.shape:
        raise CertificationError(
            f"labels must have one entry per certified example, shape {predictions.shape}, got {labels.shape}."
        )
    return predictions == labels


def certified_accuracy(result, labels, radii=RADII):
    """Certified accuracy at each radius: correct (not abstained) and certified radius >= r.

    Args:
        result: `Smoothed.certify`'s result (or any dict with "predictions" and "radius").
        labels: the true classes, one per example.
        radii: the radii of the table.

    Returns:
        DataFrame with columns "radius", "certified_accuracy", "num_certified" (correct at that
        radius) and "num_examples".

    Example:
    >>> table = certified_accuracy({"predictions": [1, 0, -1], "radius": [0.6, 0.2, 0.0]}, [1, 1, 0], radii=(0, 0.5))
    >>> table["num_certified"].tolist()
    [1, 1]
    """
    correct = _correct(result, labels)
    certified = np.asarray(result["radius"], np.float64)
    counts = [int(np.sum(correct & (certified >= r))) for r in radii]
    return pd.DataFrame(
        {
            "radius": [float(r) for r in radii],
            "certified_accuracy": [c / max(len(correct), 1) for c in counts],
            "num_certified": counts,
            "num_examples": len(correct),
        }
    )


def certified_accuracy_curve(result, labels, max_radius=None, points=101):
    """Certified accuracy over a grid of radii from 0 to `max_radius` (default: the largest certified radius).

    Example:
    >>> curve = certified_accuracy_curve({"predictions": [1], "radius": [0.5]}, [1], points=3)
    >>> curve["certified_accuracy"].tolist()
    [1.0, 1.0, 1.0]
    """
    certified = np.asarray(result["radius"], np.float64)
    if max_radius is None:
        max_radius = float(certified.max()) if certified.size else 0.0
    return certified_accuracy(result, labels, np.linspace(0.0, max_radius, points))
