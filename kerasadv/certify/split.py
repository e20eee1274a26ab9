"""Certifying a split of an Examples set, in this process or on Beam workers: one row per example.

The subset is the reference's (locuslab/smoothing `code/certify.py`, `--max` and `--skip`): the
examples `0, skip, 2 skip, ...` among the first `num_examples` of the split. Both runners read
the split in batches of `skip` examples and certify the first of each batch with
`certify_batch`; an example's noise is keyed by its index in the split (`Smoothed`'s
`first_index`), so every runner, worker count and order of work gives the same certificates.
Only the wall time (`seconds`) differs between runs.
"""

import logging

import keras
import numpy as np
import pandas as pd

from kerasadv import io
from kerasadv.attacks import validation
from kerasadv.certify import bounds
from kerasadv.certify.smoothed import ABSTAIN, Smoothed
from kerasadv.data import tfrecords
from kerasadv.errors import CertificationError
from kerasadv.evaluation.engine import RUNNERS
from kerasadv.training.precision import dtype_policy_name

_LOG = logging.getLogger(__name__)  # a line per example from Beam workers (their logs), where no bar is shown

COLUMNS = ("index", "label", "prediction", "radius", "correct", "p_lower", "count", "n", "seconds")
"""The per-example table (`certification.csv`): index in the split, true class, smoothed class
(-1: abstained), certified L2 radius, correct (1: prediction == label), the lower confidence bound
of the top class, its count among the `n` samples, and the example's wall time."""


def certified_indices(size, num_examples=0, skip=1):
    """The indices certified in a split of `size` examples: every `skip`-th of the first `num_examples` (0: all).

    Example:
    >>> list(certified_indices(10, num_examples=7, skip=3))
    [0, 3, 6]
    >>> len(certified_indices(10))
    10
    """
    num_examples = validation.check_integer(num_examples, "num_examples", low=0, error=CertificationError)
    skip = validation.check_integer(skip, "skip", error=CertificationError)
    return range(0, min(num_examples or size, size), skip)


def smoothed_worker(model, config):
    """What a runner builds once per model: `(Smoothed, certify arguments, skip)` from `certify_split`'s config.

    Building it checks every parameter, so a bad one fails before any example is read; its
    `Smoothed` compiles its sampler on the first example and reuses it for the others.
    """
    smoothed = Smoothed(model, **config["smoothing"])
    arguments = {
        "n0": validation.check_integer(config["n0"], "n0", error=CertificationError),
        "n": validation.check_integer(config["n"], "n", error=CertificationError),
        "alpha": bounds.check_alpha(config["alpha"]),
    }
    return smoothed, arguments, validation.check_integer(config["skip"], "skip", error=CertificationError)


def certify_batch(model, worker, element):
    """The work on one batch `(chunk, batch index, images, labels)` of `skip` examples: its first example's row.

    Args:
        model: the classifier (unused: `worker` holds it; the `KerasModelHandler` work signature).
        worker: `smoothed_worker`'s `(Smoothed, certify arguments, skip)`.
        element: batch `b` holds examples `b * skip` onwards; its first is certified.

    Returns:
        A list of one row (a JSON-safe dict of `COLUMNS`).
    """
    smoothed, arguments, skip = worker
    _, batch, x, y = element
    index = int(batch) * skip
    result = smoothed.certify(x[:1], first_index=index, progress=False, **arguments)
    label, prediction = int(y[0]), int(result["predictions"][0])
    radius, seconds = float(result["radius"][0]), float(result["seconds"][0])
    _LOG.info(
        "certified example %d: class %d (label %d), radius %.4f in %.1f s", index, prediction, label, radius, seconds
    )
    return [
        {
            "index": index,
            "label": label,
            "prediction": prediction,
            "radius": radius,
            "correct": int(prediction == label),
            "p_lower": float(result["p_lower"][0]),
            "count": int(result["count"][0]),
            "n": int(result["n"]),
            "seconds": seconds,
        }
    ]


def certify_split(
    model,
    directory,
    split,
    sigma,
    n0=100,
    n=100_000,
    alpha=0.001,
    num_examples=0,
    skip=1,
    batch_size=1000,
    seed=0,
    runner="local",
    beam_options=(),
    safe_mode=True,
    progress=True,
):
    """Certifies examples of a split of an Examples directory with randomized smoothing.

    Args:
        model: a `keras.Model`, or the path of a `.keras` file (what `runner="beam"` needs: each
            worker loads it once and builds its `Smoothed` once).
        directory: the Examples set's directory (`kerasadv.data.tfrecords` format).
        split: the split certified.
        sigma, batch_size, seed: the smoothing (`Smoothed`).
        n0, n, alpha: the certificate (`Smoothed.certify`).
        num_examples: certify among the first this many examples of the split (0: all).
        skip: certify every `skip`-th of them (the reference's `--skip`).
        runner: "local" (this process, with a progress bar) or "beam" (`kerasadv.beam.batch_rows`:
            one example per batch, four per chunk of work).
        beam_options: Beam pipeline flags for runner="beam".
        safe_mode: `io.load_model`'s safe mode for a path.
        progress: show a progress bar (local runner).

    Returns:
        dict of numpy arrays per certified example, in index order: "index", "labels",
        "predictions" (-1: abstained), "radius", "correct", "p_lower", "count", "seconds"
        (so `certified_accuracy(result, result["labels"])` is its table); and the protocol:
        "sigma", "n0", "n", "alpha", "batch_size", "seed", "dtype", "max_radius", "split",
        "num_examples", "skip", "runner", and "certified_examples" (how many were read and certified).

    Raises:
        CertificationError: a bad parameter; a Beam run without a model path; the runner
            returned another number of rows than the examples it read (an engine that drops
            or duplicates elements), naming the runner and both counts.
        ModelError, DataSourceError: an unreadable model file, or split.

    Example:
    >>> import tempfile, keras, numpy as np
    >>> from kerasadv.data import tfrecords
    >>> d = tempfile.mkdtemp()
    >>> x = np.concatenate([np.full((3, 4, 4, 1), 0.2), np.full((3, 4, 4, 1), 0.8)])
    >>> count, _ = tfrecords.write_split([{"image": x, "label": np.array([0, 0, 0, 1, 1, 1])}], d, "eval")
    >>> tfrecords.write_schema(d, (4, 4, 1), "uint8", ["dark", "bright"], {"eval": count})
    >>> inputs = keras.Input((4, 4, 1))
    >>> dense = keras.layers.Dense(2)  # class 1 where the mean pixel exceeds 0.5
    >>> model = keras.Model(inputs, dense(keras.layers.GlobalAveragePooling2D()(inputs)))
    >>> dense.set_weights([np.array([[-10.0, 10.0]], np.float32), np.array([5.0, -5.0], np.float32)])
    >>> result = certify_split(model, d, "eval", sigma=0.25, n=500, batch_size=250, skip=2, progress=False)
    >>> result["index"].tolist(), result["predictions"].tolist()
    ([0, 2, 4], [0, 0, 1])
    >>> from kerasadv.certify import certified_accuracy
    >>> certified_accuracy(result, result["labels"], radii=(0.0, 0.5))["certified_accuracy"].tolist()
    [1.0, 1.0]
    """
    if runner not in RUNNERS:
        raise CertificationError(f"runner must be one of {list(RUNNERS)}, got {runner!r}.")
    num_examples = validation.check_integer(num_examples, "num_examples", low=0, error=CertificationError)
    path = model if isinstance(model, str) else None
    if runner == "beam" and path is None:
        raise CertificationError(
            f"runner='beam' needs the path of the model's .keras file (each worker loads it), got a "
            f"{type(model).__name__}."
        )
    model = io.load_model(path, safe_mode=safe_mode) if path is not None else model
    config = {
        "smoothing": {"sigma": sigma, "batch_size": batch_size, "seed": seed},
        "n0": n0,
        "n": n,
        "alpha": alpha,
        "skip": skip,
    }
    worker = smoothed_worker(model, config)  # checks every parameter before anything is read
    indices = certified_indices(tfrecords.split_size(directory, split), num_examples, skip)
    limit = indices.stop
    if runner == "beam":
        from kerasadv import beam

        rows = beam.batch_rows(
            path, certify_batch, directory, split, skip, config, smoothed_worker, limit, list(beam_options), safe_mode
        )
    else:
        rows = _local_rows(model, worker, directory, split, skip, limit, len(indices), progress)
    rows = _checked(rows, indices, runner, split)
    smoothed, arguments, _ = worker
    return {
        **{
            name: np.array([row[column] for row in rows], _DTYPES.get(name, np.int64))
            for name, column in _RESULT_COLUMNS.items()
        },
        **smoothed.get_config(),
        **arguments,
        "dtype": dtype_policy_name(model),  # as `Smoothed` records it: the workers load the same file
        "max_radius": bounds.max_radius(arguments["n"], arguments["alpha"], smoothed.sigma),
        "split": split,
        "num_examples": num_examples,
        "certified_examples": len(indices),
        "skip": skip,
        "runner": runner,
    }


_RESULT_COLUMNS = {
    "index": "index",
    "labels": "label",
    "predictions": "prediction",
    "radius": "radius",
    "correct": "correct",
    "p_lower": "p_lower",
    "count": "count",
    "seconds": "seconds",
}
_DTYPES = {"radius": np.float64, "p_lower": np.float64, "seconds": np.float64}


def _local_rows(model, worker, directory, split, skip, limit, count, progress):
    """`certify_batch` over the split's batches of `skip` examples, in this process."""
    bar = keras.utils.Progbar(count, unit_name="image") if progress and count else None
    rows = []
    batches = tfrecords.read_batches(directory, split, skip, 0, len(range(0, limit, skip)), limit)
    for batch, (x, y) in enumerate(batches):
        rows += certify_batch(model, worker, (0, batch, x.numpy(), y.numpy()))
        if bar is not None:
            bar.update(len(rows))
    return rows


def _checked(rows, indices, runner, split):
    """The rows in index order, once they are exactly one per example read (else CertificationError)."""
    rows = sorted(rows, key=lambda row: row["index"])
    if len(rows) != len(indices) or [row["index"] for row in rows] != list(indices):
        raise CertificationError(
            f"the {runner} runner returned {len(rows)} certified examples of split {split!r} for the "
            f"{len(indices)} it read; expected one row per example read (indices {indices.start}, "
            f"{indices.start + indices.step}, ... below {indices.stop}): an engine dropped or duplicated work."
        )
    return rows


def certification_table(result):
    """`certify_split`'s result as the per-example table of `COLUMNS` (what `certification.csv` holds).

    Example:
    >>> result = {"index": [0], "labels": [1], "predictions": [1], "radius": [0.4], "correct": [1],
    ...           "p_lower": [0.9], "count": [99], "seconds": [0.5], "n": 100}
    >>> certification_table(result).columns.tolist() == list(COLUMNS)
    True
    """
    frame = pd.DataFrame({column: result[name] for name, column in _RESULT_COLUMNS.items()})
    frame["n"] = result["n"]
    return frame[list(COLUMNS)]


def finding_key(radius, prefix=""):
    """The finding of the certified accuracy at `radius`: `<prefix>certified_accuracy_r<radius:g>`.

    Example:
    >>> [finding_key(r, "c025_") for r in (0.0, 0.25, 1.0)]
    ['c025_certified_accuracy_r0', 'c025_certified_accuracy_r0.25', 'c025_certified_accuracy_r1']
    """
    return f"{prefix}certified_accuracy_r{radius:g}"


def accuracy_findings(table, prefix=""):
    """`{finding_key(r, prefix): certified accuracy at r}` of a `certified_accuracy` table."""
    return {finding_key(r, prefix): a for r, a in zip(table["radius"], table["certified_accuracy"])}


def abstention_rate(result):
    """The share of certified examples where the smoothed classifier abstained."""
    predictions = np.asarray(result["predictions"])
    return float(np.mean(predictions == ABSTAIN)) if predictions.size else float("nan")
