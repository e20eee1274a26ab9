"""The statistics of a randomized-smoothing certificate (Cohen, Rosenfeld & Kolter, 2019).

A smoothed classifier g(x) = argmax_c P(f(x + N(0, sigma^2 I)) = c) is certified at x with L2
radius sigma * Phi^-1(p_lower), where p_lower is a one-sided (1 - alpha) Clopper-Pearson lower
bound on the probability of its top class, estimated from n noise samples; its prediction is
returned only when a two-sided binomial test between the two top classes rejects a tie at
level alpha. These are the statistics of locuslab/smoothing `code/core.py`.
"""

import numpy as np
from scipy import stats

from kerasadv.attacks import validation
from kerasadv.errors import CertificationError


def check_alpha(alpha):
    """`alpha` as a float in (0, 1), else a `CertificationError`."""
    alpha = validation.check_number(
        alpha, "alpha", 0.0, 1.0, low_open=True, meaning="the failure probability", error=CertificationError
    )
    if alpha == 1.0:
        raise CertificationError("alpha (the failure probability) must be < 1, got 1.0; expected e.g. 0.001.")
    return alpha


def lower_confidence_bound(successes, trials, alpha):
    """One-sided (1 - alpha) Clopper-Pearson lower bound on a binomial proportion.

    Equal to statsmodels' `proportion_confint(successes, trials, alpha=2 * alpha, method="beta")[0]`
    (the reference's call): the alpha quantile of Beta(successes, trials - successes + 1), 0
    when there is no success.

    Args:
        successes: count(s) of the top class among `trials` samples (int or array).
        trials: number of samples (>= 1).
        alpha: failure probability in (0, 1).

    Returns:
        float array of the bounds (a float for scalar input).

    Example:
    >>> round(float(lower_confidence_bound(100, 100, 0.001)), 4)  # 0.001 ** (1 / 100)
    0.9333
    >>> float(lower_confidence_bound(0, 100, 0.001))
    0.0
    """
    alpha = check_alpha(alpha)
    successes, trials = np.asarray(successes, np.float64), np.asarray(trials, np.float64)
    if np.any(successes < 0) or np.any(successes > trials) or np.any(trials < 1):
        raise CertificationError(
            f"successes must lie in [0, trials] with trials >= 1, got successes={successes} and trials={trials}."
        )
    safe = np.maximum(successes, 1.0)  # Beta(0, .) is undefined: the bound is 0 there
    bound = np.where(successes > 0, stats.beta.ppf(alpha, safe, trials - successes + 1), 0.0)
    return bound[()] if bound.ndim == 0 else bound


def tie_p_value(top, second):
    """Two-sided binomial test p-value of `top` vs `second` counts under p = 0.5 (the reference's `binom_test`).

    Example:
    >>> round(tie_p_value(60, 40), 4)
    0.0569
    """
    total = int(top) + int(second)
    if total == 0:
        return 1.0
    return float(stats.binomtest(int(top), total, 0.5).pvalue)


def radius(p_lower, sigma):
    """The certified L2 radius `sigma * Phi^-1(p_lower)` (clipped at 0 where `p_lower` < 0.5).

    Example:
    >>> round(float(radius(0.975, 0.5)), 3)
    0.98
    """
    return np.maximum(sigma * stats.norm.ppf(np.asarray(p_lower, np.float64)), 0.0)


def max_radius(n, alpha, sigma):
    """The largest radius `certify` can return: all `n` samples in the top class.

    The Clopper-Pearson bound of n successes in n trials is alpha^(1/n), so the ceiling is
    sigma * Phi^-1(alpha^(1/n)): about 3.81 sigma at n = 100,000 and alpha = 0.001, about
    2.46 sigma at n = 1,000.

    Example:
    >>> round(float(max_radius(100_000, 0.001, 1.0)), 2), round(float(max_radius(1_000, 0.001, 1.0)), 2)
    (3.81, 2.46)
    """
    return float(radius(check_alpha(alpha) ** (1.0 / n), sigma))
