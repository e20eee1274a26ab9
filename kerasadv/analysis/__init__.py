"""Analyses of models under attack: probes, toggle activity, coverage, ranking, Grad-CAM, DLFuzz."""

from kerasadv.analysis.coverage import MultisectionCoverage, NeuronCoverage
from kerasadv.analysis.dlfuzz import DLFuzz
from kerasadv.analysis.filter_sweep import DEFAULT_SIGMAS, gaussian_filter_sweep
from kerasadv.analysis.gradcam import AllLayerGradcam, TfKerasVisGradcam, conv_layer_names, gradcam_tfkerasvis
from kerasadv.analysis.probes import default_probe_layers, probe_model
from kerasadv.analysis.ranking import layer_histogram, neural_ranking, neuron_scores
from kerasadv.analysis.thresholds import (
    ActivationStatistics,
    binary_thresholds,
    binned_kde,
    ternary_thresholds,
    valley_thresholds,
)
from kerasadv.analysis.toggle import (
    ToggleCounter,
    toggle_activity,
    toggle_equal_size,
    toggle_vs_eps,
    toggle_vs_size,
)
from kerasadv.analysis.vulnerability import (
    cosine_similarity,
    layer_vulnerability,
    mark_compromised,
    summarize,
)

__all__ = [
    "probe_model",
    "default_probe_layers",
    "ActivationStatistics",
    "binary_thresholds",
    "binned_kde",
    "ternary_thresholds",
    "valley_thresholds",
    "ToggleCounter",
    "toggle_activity",
    "toggle_vs_size",
    "toggle_equal_size",
    "toggle_vs_eps",
    "NeuronCoverage",
    "MultisectionCoverage",
    "neuron_scores",
    "neural_ranking",
    "layer_histogram",
    "AllLayerGradcam",
    "TfKerasVisGradcam",
    "gradcam_tfkerasvis",
    "conv_layer_names",
    "cosine_similarity",
    "mark_compromised",
    "summarize",
    "layer_vulnerability",
    "DLFuzz",
    "gaussian_filter_sweep",
    "DEFAULT_SIGMAS",
]
