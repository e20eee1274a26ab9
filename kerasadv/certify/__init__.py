"""Certified robustness: randomized smoothing (Cohen, Rosenfeld & Kolter, 2019) for Keras classifiers.

    smoothed = kerasadv.certify.Smoothed(model, sigma=0.25)
    result = smoothed.certify(x_test[:100], n0=100, n=100_000, alpha=0.001)
    kerasadv.certify.certified_accuracy(result, y_test[:100])   # at radii 0, 0.25, ..., 1.0

A model trains for smoothing with Gaussian noise on its inputs (the "gaussian_augmentation"
training recipe) at the sigma it is certified with.
"""

from kerasadv.certify.accuracy import RADII, certified_accuracy, certified_accuracy_curve
from kerasadv.certify.bounds import lower_confidence_bound, max_radius, radius, tie_p_value
from kerasadv.certify.sampling import NoiseSampler
from kerasadv.certify.smoothed import ABSTAIN, Smoothed

__all__ = [
    "ABSTAIN",
    "NoiseSampler",
    "RADII",
    "Smoothed",
    "certified_accuracy",
    "certified_accuracy_curve",
    "lower_confidence_bound",
    "max_radius",
    "radius",
    "tie_p_value",
]
