"""Analyses of models under attack."""

from kerasadv.analysis.filter_sweep import DEFAULT_SIGMAS, gaussian_filter_sweep

__all__ = ["gaussian_filter_sweep", "DEFAULT_SIGMAS"]
