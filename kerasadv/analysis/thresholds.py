"""Per-neuron thresholds of activations: binary (KDE valley between two peaks) and ternary.

Binary thresholds follow the ResNet-18 setup: estimate each neuron's output density with a
Gaussian KDE, take its two highest peaks, and put the threshold at the density minimum between
them. Per-neuron `scipy.stats.gaussian_kde` calls would take hours for ResNet-18; here the KDE
is the binned (histogram + Gaussian smoothing by FFT) estimate with Scott's bandwidth,
vectorised over all neurons, and the activations are streamed (two passes: range, histogram).
Fallback: a neuron with fewer than two peaks (unimodal, or constant such as a dead ReLU)
gets the mean of its outputs as threshold.
"""

import os

import numpy as np

from kerasadv.analysis.probes import image_batches, probe_outputs
from kerasadv.constants import TINY
from kerasadv.orchestration import filesystem, writer


def _flat(activation):
    return np.reshape(np.asarray(activation, np.float32), (activation.shape[0], -1))


class ActivationStatistics:
    """Streams a probe model over data: per-neuron min, max, mean, std and histograms.

    Args:
        probe: a `probe_model` (dict output; "logits" is skipped).
        data: batched `(images, labels)` data set, `(x, y)` pair, or images array.
        bins: histogram bins per neuron.
        progress: print one line per pass.
    """

    def __init__(self, probe, data, bins=128, batch_size=128, progress=False):
        self.probe, self.bins, self.batch_size = probe, bins, batch_size
        self.layers = [name for name in probe.output if name != "logits"]
        self._data = data
        self.low, self.high, total, squares, self.count = {}, {}, {}, {}, 0
        for batch in self._batches():
            self.count += len(next(iter(batch.values())))
            for name, values in batch.items():
                self.low[name] = np.minimum(self.low.get(name, np.inf), values.min(0))
                self.high[name] = np.maximum(self.high.get(name, -np.inf), values.max(0))
                total[name] = total.get(name, 0.0) + values.sum(0, dtype=np.float64)
                squares[name] = squares.get(name, 0.0) + np.square(values, dtype=np.float64).sum(0)
        self.mean = {n: total[n] / self.count for n in self.layers}
        self.std = {n: np.sqrt(np.maximum(squares[n] / self.count - self.mean[n] ** 2, 0.0)) for n in self.layers}
        self.histograms = {n: np.zeros((len(self.low[n]), bins), np.int64) for n in self.layers}
        for batch in self._batches():
            for name, values in batch.items():
                self.histograms[name] += self._histogram(name, values)

    def _batches(self):
        for x in image_batches(self._data, self.batch_size):
            outputs = probe_outputs(self.probe, x)
            yield {name: _flat(outputs[name]) for name in self.layers}

    def _histogram(self, name, values):
        width = np.maximum(self.high[name] - self.low[name], TINY)
        index = np.clip(((values - self.low[name]) / width * self.bins).astype(np.int64), 0, self.bins - 1)
        flat = index + np.arange(values.shape[1]) * self.bins
        return np.bincount(flat.ravel(), minlength=values.shape[1] * self.bins).reshape(-1, self.bins)


def binned_kde(histograms, low, high, std, count, chunk=32768):
    """Gaussian KDE (Scott's bandwidth) of every neuron on its bin grid, from histograms.

    Returns:
        `(density, grid)`: arrays (neurons, bins); the density integrates to ~1 per neuron.
    """
    neurons, bins = histograms.shape
    width = np.maximum(high - low, TINY) / bins
    grid = low[:, None] + (np.arange(bins) + 0.5) * width[:, None]
    sigma_bins = (std * count**-0.2) / width  # Scott's factor n^(-1/5), in bins
    frequencies = np.fft.rfftfreq(2 * bins)
    density = np.empty((neurons, bins), np.float32)
    for start in range(0, neurons, chunk):
        part = slice(start, start + chunk)
        spectrum = np.fft.rfft(histograms[part].astype(np.float64), n=2 * bins, axis=1)
        kernel = np.exp(-2.0 * (np.pi * frequencies[None, :] * sigma_bins[part, None]) ** 2)
        smooth = np.fft.irfft(spectrum * kernel, n=2 * bins, axis=1)[:, :bins]
        density[part] = np.maximum(smooth, 0) / (count * width[part, None])
    return density, grid


def valley_thresholds(density, grid, fallback, with_bimodal=False):
    """Threshold at the density minimum between the two highest local maxima, per neuron.

    With `with_bimodal`, also returns the mask of neurons that have such a valley (the others
    get `fallback`).
    """
    left = np.pad(density, ((0, 0), (1, 0)), constant_values=-1)[:, :-1]
    right = np.pad(density, ((0, 0), (0, 1)), constant_values=-1)[:, 1:]
    peaks = (density > left) & (density >= right) & (density > 0)
    heights = np.where(peaks, density, -np.inf)
    top_two = np.sort(np.argsort(-heights, axis=1)[:, :2], axis=1)
    bimodal = np.isfinite(np.take_along_axis(heights, top_two, 1)).all(1)
    columns = np.arange(density.shape[1])
    between = (columns[None] > top_two[:, :1]) & (columns[None] < top_two[:, 1:])
    valley = np.argmin(np.where(between, density, np.inf), axis=1)
    values = grid[np.arange(len(grid)), valley]
    found = bimodal & between.any(1)
    thresholds = np.where(found, values, fallback).astype(np.float32)
    return (thresholds, found) if with_bimodal else thresholds


def binary_thresholds(stats, with_bimodal=False):
    """Per-layer binary thresholds (flattened neuron order) from `ActivationStatistics`.

    With `with_bimodal`, returns `(thresholds, {layer: mask of neurons with two KDE peaks})`.
    """
    thresholds, bimodal = {}, {}
    for name in stats.layers:
        density, grid = binned_kde(
            stats.histograms[name], stats.low[name], stats.high[name], stats.std[name], stats.count
        )
        thresholds[name], bimodal[name] = valley_thresholds(density, grid, stats.mean[name], with_bimodal=True)
    return (thresholds, bimodal) if with_bimodal else thresholds


def ternary_thresholds(stats, low_fraction=0.25, high_fraction=0.75):
    """Per-layer `(low, high)` thresholds: fractions of each neuron's historical maximum."""
    if not 0 <= low_fraction < high_fraction <= 1:
        raise ValueError(f"need 0 <= low_fraction < high_fraction <= 1, got {low_fraction}, {high_fraction}.")
    return {n: (low_fraction * stats.high[n], high_fraction * stats.high[n]) for n in stats.layers}


THRESHOLDS_FILE = "thresholds.npz"
LAYERS_FILE = "layers.json"


def save_thresholds(directory, binary, ternary):
    """Writes `{layer: thresholds}` and `{layer: (low, high)}` into `directory` (one .npz, the layer order as JSON).

    Args:
        directory: e.g. an ActivationThresholds artifact's URI.
        binary: `binary_thresholds`' dict.
        ternary: `ternary_thresholds`' dict, with the same layers.
    """
    arrays = {f"binary/{n}": v for n, v in binary.items()}
    arrays.update({f"low/{n}": low for n, (low, _) in ternary.items()})
    arrays.update({f"high/{n}": high for n, (_, high) in ternary.items()})
    writer.write_with(os.path.join(directory, THRESHOLDS_FILE), lambda tmp: np.savez(tmp, **arrays))
    writer.write_json(list(binary), os.path.join(directory, LAYERS_FILE))


def load_thresholds(directory):
    """`(binary, ternary)` threshold dicts saved by `save_thresholds`, in layer order.

    Example:
    >>> import tempfile
    >>> directory = tempfile.mkdtemp()
    >>> save_thresholds(directory, {"relu": np.ones(3)}, {"relu": (np.zeros(3), np.ones(3))})
    >>> binary, ternary = load_thresholds(directory)
    >>> list(binary), ternary["relu"][1].tolist()
    (['relu'], [1.0, 1.0, 1.0])
    """
    layers = filesystem.read_json(os.path.join(directory, LAYERS_FILE))
    with filesystem.local_copy(os.path.join(directory, THRESHOLDS_FILE)) as local, np.load(local) as stored:
        binary = {n: stored[f"binary/{n}"] for n in layers}
        ternary = {n: (stored[f"low/{n}"], stored[f"high/{n}"]) for n in layers}
    return binary, ternary
