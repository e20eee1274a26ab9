"""Toggle activity (the ResNet-18 setup): how many neurons change state over a data set.

A neuron toggles over a data set when its outputs fall in at least two states: below / above
its binary threshold, or two of the ternary states -1 / 0 / +1. Toggle activity is the
fraction of neurons that toggle, per layer and in total; the "gain" of adversarial images is
the toggle activity of clean + adversarial minus that of the clean images alone.
"""

import numpy as np
import pandas as pd

from kerasadv.analysis.probes import image_batches, probe_outputs
from kerasadv.analysis.thresholds import _flat


class ToggleCounter:
    """Accumulates, per neuron, which states it has taken (a 3-bit mask), batch by batch.

    Args:
        probe: a `probe_model`.
        thresholds: `{layer: thresholds}` (binary) or `{layer: (low, high)}` (ternary).
    """

    def __init__(self, probe, thresholds):
        self.probe, self.thresholds = probe, thresholds
        self.seen = {
            name: np.zeros(np.size(t[0] if isinstance(t, tuple) else t), np.uint8) for name, t in thresholds.items()
        }

    def states(self, name, values):
        threshold = self.thresholds[name]
        if isinstance(threshold, tuple):  # ternary: -1 / 0 / +1 -> bits 1 / 2 / 4
            low, high = threshold
            return np.where(values < low, 1, np.where(values > high, 4, 2)).astype(np.uint8)
        return np.where(values > threshold, 4, 1).astype(np.uint8)

    def update(self, images, batch_size=128):
        for x in image_batches(images, batch_size):
            outputs = probe_outputs(self.probe, x)
            for name in self.seen:
                masks = self.states(name, _flat(outputs[name]))
                self.seen[name] |= np.bitwise_or.reduce(masks, axis=0)
        return self

    def union(self, other):
        """A counter of both counters' images (their state masks OR-ed), e.g. clean + adversarial sets."""
        merged = ToggleCounter(self.probe, self.thresholds)
        merged.seen = {name: self.seen[name] | other.seen[name] for name in self.seen}
        return merged

    def activity(self):
        """`{layer: fraction toggled, ..., "total": fraction over all neurons}`."""
        toggled = {n: np.unpackbits(s[:, None], axis=1).sum(1) >= 2 for n, s in self.seen.items()}
        result = {n: float(t.mean()) for n, t in toggled.items()}
        result["total"] = float(np.concatenate(list(toggled.values())).mean())
        return result


def toggle_activity(probe, thresholds, images):
    """Toggle activity of `images` (per layer and "total")."""
    return ToggleCounter(probe, thresholds).update(np.asarray(images)).activity()


def prefix_counters(probe, thresholds, images, sizes):
    """`{n: ToggleCounter of images[:n]}` for each size, every image through the probe once.

    Example:
    >>> import kerasadv
    >>> probe = kerasadv.analysis.probe_model(kerasadv.models.simple_cnn())
    >>> x = np.random.default_rng(0).random((6, 32, 32, 3), dtype=np.float32)
    >>> layers = [name for name in probe.output if name != "logits"]
    >>> thresholds = {name: np.zeros(int(np.prod(probe.output[name].shape[1:]))) for name in layers}
    >>> counters = prefix_counters(probe, thresholds, x, (2, 6))
    >>> counters[6].activity() == toggle_activity(probe, thresholds, x)
    True
    """
    counter, counters, done = ToggleCounter(probe, thresholds), {}, 0
    for n in sorted(set(sizes)):
        counter.update(np.asarray(images[done:n]))
        counters[n], done = counter.union(counter), n  # a copy: the counter goes on to the next size
    return counters


def toggle_vs_size(probe, thresholds, x, x_adv, sizes=(5, 10, 50, 100, 500, 1000)):
    """Experiment 1: clean n images vs clean n + their n adversarial versions, for each size.

    The sets are prefixes, so each image goes through the probe once whatever the sizes.

    Returns:
        DataFrame: size, dataset ("clean" / "clean+adversarial"), one column per layer, total, gain.
    """
    sizes = [s for s in sizes if s <= len(x)]
    clean_counters, adversarial_counters = (prefix_counters(probe, thresholds, images, sizes) for images in (x, x_adv))
    rows = []
    for n in sizes:
        clean = clean_counters[n].activity()
        mixed = clean_counters[n].union(adversarial_counters[n]).activity()
        rows += [
            {"size": n, "dataset": "clean", **clean, "gain": 0.0},
            {"size": n, "dataset": "clean+adversarial", **mixed, "gain": mixed["total"] - clean["total"]},
        ]
    return pd.DataFrame(rows)


def toggle_equal_size(probe, thresholds, x, x_adv, size, draws=5, seed=0):
    """Experiment 2: n clean vs (n/2 clean + their n/2 adversarial), averaged over random draws.

    Returns:
        DataFrame with one row per dataset kind ("clean", "half adversarial"): size, draws,
        mean and std of total toggle activity, and the mean toggle activity of each layer.
    """
    rng = np.random.default_rng(seed)
    activities = {"clean": [], "half adversarial": []}

    def counted(images):
        return ToggleCounter(probe, thresholds).update(np.asarray(images))

    for _ in range(draws):
        chosen = rng.choice(len(x), size, replace=False)
        half = chosen[: size // 2]
        shared = counted(x[half])  # in both sets: through the probe once
        activities["clean"].append(shared.union(counted(x[chosen[size // 2 :]])).activity())
        activities["half adversarial"].append(shared.union(counted(x_adv[half])).activity())
    rows = []
    for kind, runs in activities.items():
        frame = pd.DataFrame(runs)
        layers = frame.drop(columns="total").mean().to_dict()
        rows.append(
            {
                "dataset": kind,
                "size": size,
                "draws": draws,
                "mean_total": frame["total"].mean(),
                "std_total": frame["total"].std(ddof=0),
                **layers,
            }
        )
    return pd.DataFrame(rows)


def toggle_vs_eps(probe, thresholds, x, attack_for_eps, eps_values=(0.0, 0.01, 0.05, 0.1, 0.3, 0.5, 1.0)):
    """Experiment 3: total toggle activity of clean + adversarial(eps) for each eps (up to 1.0).

    Args:
        attack_for_eps: function eps -> adversarial images of `x` (e.g. FGSM at that eps).
    """
    rows = []
    for eps in eps_values:
        activity = toggle_activity(probe, thresholds, np.concatenate([x, np.asarray(attack_for_eps(eps))]))
        rows.append({"eps": eps, **activity})
    return pd.DataFrame(rows)


def gain_table(by_size, thresholds):
    """`toggle_vs_size`'s table as one row per size: clean, with_adversarial and their gain.

    Args:
        by_size: `toggle_vs_size`'s table.
        thresholds: the name of the thresholds used ("binary" / "ternary"), a column of the result.

    Returns:
        DataFrame with columns thresholds, size, clean, with_adversarial, gain.

    Example:
    >>> by_size = pd.DataFrame({"size": [5, 5], "dataset": ["clean", "clean+adversarial"], "total": [0.4, 0.5]})
    >>> gain_table(by_size, "binary").round(2).values.tolist()
    [['binary', 5, 0.4, 0.5, 0.1]]
    """
    clean = by_size[by_size.dataset == "clean"].set_index("size")["total"]
    mixed = by_size[by_size.dataset != "clean"].set_index("size")["total"]
    return pd.DataFrame(
        {"thresholds": thresholds, "size": clean.index, "clean": clean.values, "with_adversarial": mixed.values}
    ).assign(gain=lambda t: t.with_adversarial - t.clean)


THRESHOLD_KINDS = ("binary", "ternary")
FINDINGS = tuple(
    f"{kind}_{name}"
    for kind in THRESHOLD_KINDS
    for name in (
        "gain_smallest_size",
        "gain_largest_size",
        "equal_size_difference",
        "max_eps_gain",
        "high_eps_gain_largest_size",
    )
)
"""The keys of `toggle_findings`."""


def toggle_findings(by_size, by_high, equal, by_eps):
    """The toggle-activity study's numbers, per kind of thresholds (column `thresholds`).

    Args:
        by_size: `gain_table` rows of both kinds.
        by_high: the same with the adversarial images at the largest eps.
        equal: `toggle_equal_size` rows of both kinds.
        by_eps: `toggle_vs_eps` rows of both kinds, with a `gain` column over eps 0.

    Returns:
        `{key: value}` with the keys of `FINDINGS`: the gain at the smallest and the largest size,
        n/2 clean + n/2 adversarial minus n clean, the largest gain over eps, and the gain at the
        largest eps and size.
    """
    findings = {}
    for kind in THRESHOLD_KINDS:
        gains = by_size[by_size.thresholds == kind].set_index("size")["gain"]
        totals = equal[equal.thresholds == kind].set_index("dataset")["mean_total"]
        findings[f"{kind}_gain_smallest_size"] = gains.iloc[0]
        findings[f"{kind}_gain_largest_size"] = gains.iloc[-1]
        findings[f"{kind}_equal_size_difference"] = totals["half adversarial"] - totals["clean"]
        findings[f"{kind}_max_eps_gain"] = by_eps[by_eps.thresholds == kind]["gain"].max()
        high = by_high[by_high.thresholds == kind].set_index("size")["gain"]
        findings[f"{kind}_high_eps_gain_largest_size"] = high.iloc[-1]
    return findings
