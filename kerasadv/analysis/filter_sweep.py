"""Accuracy of a model on clean and adversarial images after Gaussian filtering, per std."""

import numpy as np
import pandas as pd

from kerasadv.attacks.metrics import clean_accuracy
from kerasadv.attacks.stream import as_batches
from kerasadv.attacks.validation import check_not_empty
from kerasadv.constants import DEFAULT_BATCH_SIZE
from kerasadv.layers.gaussian_blur import gaussian_filter

DEFAULT_SIGMAS = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))


def _filtered_accuracy(model, data, sigma, batch_size):
    """The one accuracy counter (labels converted, empty data refused) on filtered batches."""
    correct = total = 0
    for x, y in as_batches(data, batch_size):
        filtered = gaussian_filter(np.asarray(x), sigma)
        correct += round(clean_accuracy(model, (filtered, y), batch_size) * len(filtered))
        total += len(filtered)
    check_not_empty(total)
    return correct / total


def gaussian_filter_sweep(model, clean_data, adversarial_data, sigmas=DEFAULT_SIGMAS, batch_size=DEFAULT_BATCH_SIZE):
    """Table of accuracy on clean and adversarial sets filtered with each std of `sigmas`.

    The defense of the EfficientNet setup: blurring removes part of the adversarial
    perturbation and part of the image. Filtering is `scipy.ndimage.gaussian_filter` over
    the spatial axes (the `GaussianBlur` layer gives the same in-graph).

    Args:
        model: logits classifier.
        clean_data: batched `(images, labels)` data set or `(x, y)` pair.
        adversarial_data: the same for adversarial images (e.g. from `attacks.stream`).
        sigmas: Gaussian stds in pixels (default 0.0, 0.1, ..., 1.0).
        batch_size: batch size for array pairs.

    Returns:
        DataFrame with columns sigma, clean_accuracy, adversarial_accuracy.

    Example:
    >>> import kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> x, y = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32), np.arange(4)
    >>> x_adv = kerasadv.attacks.FGSM(0.03)(model, x, y).numpy()
    >>> list(gaussian_filter_sweep(model, (x, y), (x_adv, y), sigmas=[0.0, 0.5]).columns)
    ['sigma', 'clean_accuracy', 'adversarial_accuracy']
    """
    return pd.DataFrame(
        [
            {
                "sigma": float(s),
                "clean_accuracy": _filtered_accuracy(model, clean_data, s, batch_size),
                "adversarial_accuracy": _filtered_accuracy(model, adversarial_data, s, batch_size),
            }
            for s in sigmas
        ]
    )


def sweep_finding_keys(networks):
    """The keys of `sweep_findings` for these network names.

    Example:
    >>> sweep_finding_keys(["original"])[:2]
    ['filter_original_adversarial_unfiltered', 'filter_original_adversarial_sigma_0.5']
    """
    names = (
        "adversarial_unfiltered",
        "adversarial_sigma_0.5",
        "clean_sigma_0.5",
        "best_adversarial_sigma",
        "best_adversarial_accuracy",
    )
    return [f"filter_{network}_{name}" for network in networks for name in names]


def sweep_findings(table):
    """Per network of a sweep table (`gaussian_filter_sweep`'s rows with a `network` column): the adversarial
    accuracy unfiltered and at std 0.5 (None where not swept), the clean one at 0.5, the best std and its
    adversarial accuracy (keys: `sweep_finding_keys`).

    Example:
    >>> accuracies = {"clean_accuracy": [0.8, 0.7], "adversarial_accuracy": [0.3, 0.4]}
    >>> table = pd.DataFrame({"network": "original", "sigma": [0.0, 0.5], **accuracies})
    >>> float(sweep_findings(table)["filter_original_best_adversarial_sigma"])
    0.5
    """
    findings = {}
    for network, rows in table.groupby("network", sort=False):
        rows = rows.set_index("sigma")
        adversarial = rows["adversarial_accuracy"]
        findings[f"filter_{network}_adversarial_unfiltered"] = adversarial.get(0.0)
        findings[f"filter_{network}_adversarial_sigma_0.5"] = adversarial.get(0.5)
        findings[f"filter_{network}_clean_sigma_0.5"] = rows["clean_accuracy"].get(0.5)
        findings[f"filter_{network}_best_adversarial_sigma"] = adversarial.idxmax()
        findings[f"filter_{network}_best_adversarial_accuracy"] = adversarial.max()
    return findings
