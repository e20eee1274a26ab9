"""Neuron coverage (DeepXplore) and k-multisection coverage (DeepGauge), cumulative over data.

A neuron is a channel of a conv output (its spatial mean, as in DeepXplore) or a unit of a
dense output. Neuron coverage scales each layer's neuron values per input to [0, 1] (min-max
over the layer) and counts a neuron covered once its scaled value exceeds `threshold` for some
input. k-multisection coverage splits each neuron's [low, high] range, taken from reference
data, into k sections and counts the (neuron, section) pairs hit.
"""

import numpy as np
import pandas as pd

from kerasadv.analysis.probes import image_batches, probe_outputs
from kerasadv.constants import TINY


def neuron_values(outputs, layers):
    """`{layer: (n, neurons)}`: conv outputs averaged over space, dense outputs as they are."""
    values = {}
    for name in layers:
        value = np.asarray(outputs[name], np.float32)
        values[name] = value.mean(axis=tuple(range(1, value.ndim - 1))) if value.ndim > 2 else value
    return values


class NeuronCoverage:
    """Cumulative DeepXplore neuron coverage of a probe model.

    Args:
        probe: a `probe_model`.
        threshold: scaled activation above which a neuron counts as covered.

    Example:
    >>> import kerasadv
    >>> from kerasadv.analysis.probes import probe_model
    >>> cov = NeuronCoverage(probe_model(kerasadv.models.simple_cnn()), threshold=0.5)
    >>> 0.0 <= cov.update(np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)).coverage() <= 1.0
    True
    """

    def __init__(self, probe, threshold=0.5):
        self.probe, self.threshold = probe, threshold
        self.layers = [n for n in probe.output if n != "logits"]
        self.covered = None

    def scale(self, values):
        """`{layer: (n, neurons)}` neuron values (`neuron_values`) min-max scaled per input and layer."""
        scaled = {}
        for name, v in values.items():
            low, high = v.min(1, keepdims=True), v.max(1, keepdims=True)
            scaled[name] = (v - low) / np.maximum(high - low, TINY)
        return scaled

    def scaled(self, images):
        """`{layer: (n, neurons)}` values of `images` min-max scaled per input and layer."""
        return self.scale(neuron_values(probe_outputs(self.probe, images), self.layers))

    def count_new(self, scaled):
        """Per image of `scaled` (`scale`'s output), how many not-yet-covered neurons it covers."""
        gains = np.zeros(len(next(iter(scaled.values()))), int)
        for name, v in scaled.items():
            already = self.covered[name] if self.covered else np.zeros(v.shape[1], bool)
            gains += ((v > self.threshold) & ~already).sum(1)
        return gains

    def newly_covered(self, images):
        """Per image, how many not-yet-covered neurons it would cover."""
        return self.count_new(self.scaled(images))

    def add(self, scaled):
        """Marks the neurons that `scaled` (`scale`'s output) covers."""
        if self.covered is None:
            self.covered = {n: np.zeros(v.shape[1], bool) for n, v in scaled.items()}
        for name, v in scaled.items():
            self.covered[name] |= (v > self.threshold).any(0)
        return self

    def update(self, images, batch_size=128):
        for x in image_batches(images, batch_size):
            self.add(self.scaled(x))
        return self

    def coverage(self, per_layer=False):
        if per_layer:
            return {n: float(c.mean()) for n, c in self.covered.items()}
        return float(np.concatenate(list(self.covered.values())).mean())


class MultisectionCoverage:
    """Cumulative k-multisection coverage; neuron ranges come from `reference` images.

    Args:
        probe: a `probe_model`.
        reference: images (training data) whose per-neuron [min, max] define the sections.
        k: sections per neuron.
    """

    def __init__(self, probe, reference, k=10, batch_size=128):
        self.probe, self.k, self.layers = probe, k, [n for n in probe.output if n != "logits"]
        self.low, self.high = {}, {}
        for values in self._values(reference, batch_size):
            for name, v in values.items():
                self.low[name] = np.minimum(self.low.get(name, np.inf), v.min(0))
                self.high[name] = np.maximum(self.high.get(name, -np.inf), v.max(0))
        self.reset()

    def reset(self):
        """Forgets the sections hit so far (the ranges stay), for another data set."""
        self.hits = {n: np.zeros((len(self.low[n]), self.k), bool) for n in self.layers}
        return self

    def _values(self, images, batch_size):
        for x in image_batches(images, batch_size):
            yield neuron_values(probe_outputs(self.probe, x), self.layers)

    def update(self, images, batch_size=128):
        for values in self._values(images, batch_size):
            for name, v in values.items():
                width = np.maximum(self.high[name] - self.low[name], TINY)
                section = np.minimum(np.floor((v - self.low[name]) / width * self.k).astype(int), self.k - 1)
                inside = (v >= self.low[name]) & (v <= self.high[name])  # outside [low, high]: no section
                rows, cols = np.nonzero(inside)
                self.hits[name][cols, section[rows, cols]] = True
        return self

    def coverage(self):
        return float(np.concatenate([h.ravel() for h in self.hits.values()]).mean())


def coverage_vs_size(probe, x, x_adv, sizes, threshold, multisection):
    """Neuron and k-multisection coverage of the first n clean images vs the same n with their adversarial versions.

    Args:
        probe: a `probe_model`.
        x, x_adv: clean images (in a random order: prefixes are random subsets) and their adversarial versions.
        sizes: the n values (those above `len(x)` are left out).
        threshold: the neuron-coverage threshold.
        multisection: a `MultisectionCoverage` of the probe (reset for each set).

    Returns:
        DataFrame with columns size, neuron_clean, neuron_with_adversarial, neuron_gain,
        kmnc_clean, kmnc_with_adversarial, kmnc_gain.

    Example:
    >>> import kerasadv
    >>> from kerasadv.analysis.probes import probe_model
    >>> probe = probe_model(kerasadv.models.simple_cnn())
    >>> x = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    >>> table = coverage_vs_size(probe, x, 1 - x, [2, 4], 0.5, MultisectionCoverage(probe, x, k=4))
    >>> table["size"].tolist(), bool((table.neuron_gain >= 0).all())
    ([2, 4], True)
    """
    rows = []
    for size in [n for n in sizes if n <= len(x)]:
        row = {"size": size}
        for name, images in (("clean", x[:size]), ("with_adversarial", np.concatenate([x[:size], x_adv[:size]]))):
            row[f"neuron_{name}"] = NeuronCoverage(probe, threshold).update(images).coverage()
            row[f"kmnc_{name}"] = multisection.reset().update(images).coverage()
        rows.append(row)
    table = pd.DataFrame(rows)
    table = table.assign(
        neuron_gain=table.neuron_with_adversarial - table.neuron_clean,
        kmnc_gain=table.kmnc_with_adversarial - table.kmnc_clean,
    )
    columns = [
        "neuron_clean",
        "neuron_with_adversarial",
        "neuron_gain",
        "kmnc_clean",
        "kmnc_with_adversarial",
        "kmnc_gain",
    ]
    return table[["size", *columns]]


FINDINGS = ("neuron_coverage_gain_smallest_size", "neuron_coverage_gain_largest_size", "kmnc_gain_largest_size")
"""The keys of `coverage_findings`."""


def coverage_findings(table):
    """The gains of the adversarial images in `coverage_vs_size`'s table: neuron coverage at the smallest and
    largest size, k-multisection coverage at the largest (keys: `FINDINGS`)."""
    values = (table.neuron_gain.iloc[0], table.neuron_gain.iloc[-1], table.kmnc_gain.iloc[-1])
    return dict(zip(FINDINGS, values))
