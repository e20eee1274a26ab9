"""`KerasModelHandler` and `ApplyModel`: a Keras 3 `.keras` model (and a per-worker object) on Beam workers.

Beam's own `TFModelHandlerTensor` loads TF SavedModels through tensorflow_hub / tf_keras and
cannot read Keras 3 files; `KerasModelHandler` loads the `.keras` file with `io.load_model`,
builds what the work needs from a config beside it (an attack, a smoothed classifier with its
compiled sampler) and applies a per-batch function. The jobs run it with `ApplyModel`, a plain
`DoFn` that gets the loaded model in `setup` and works each ready-made batch in `process`, not
with `RunInference`: RunInference batches with `BatchElements`, which emits its last batch in
`finish_bundle`, and Beam's Dask runner drops what a DoFn emits there. The handler stays a
`ModelHandler`, so `RunInference(handler)` works in a user's own pipeline on other engines.
"""

import json
import os
import threading

import apache_beam as beam
import numpy as np
from apache_beam.ml.inference.base import ModelHandler

from kerasadv import attacks, io
from kerasadv.attacks.metrics import batch_sums
from kerasadv.attacks.records import adversarial_record
from kerasadv.attacks.stream import attack_batch


class LoadedModel:
    """What a worker holds once: the model and what `build` made (an object: Beam's `Shared` weak-references it)."""

    def __init__(self, model, worker):
        self.model, self.worker = model, worker


class KerasModelHandler(ModelHandler):
    """Loads a `.keras` classifier and builds the work's object once per worker; runs `work` on each batch.

    Args:
        model_path: the `.keras` file (a path every worker can read).
        work: a top-level function `work(model, worker, element) -> result` (picklable by
            reference); `element` is `(chunk, index, images, labels)`, `worker` the object
            `build` made (or `config` itself).
        config: a picklable value the worker object is made from (an attack's config, a class
            count).
        build: a top-level function `build(model, config) -> worker`, called once per worker
            when the model is loaded, so what it compiles is reused for every batch (None: the
            worker object is `config`).
        safe_mode: `io.load_model`'s safe mode (False only for a trusted file).

    Example:
    >>> handler = KerasModelHandler("model.keras", predicted_counts, config=10)
    >>> handler.batch_elements_kwargs()
    {'min_batch_size': 1, 'max_batch_size': 1}
    """

    def __init__(self, model_path, work, config=None, build=None, safe_mode=True):
        super().__init__()
        self.model_path, self.work, self.config, self.build = model_path, work, config, build
        self.safe_mode = safe_mode

    def load_model(self):
        model = io.load_model(self.model_path, safe_mode=self.safe_mode)
        return LoadedModel(model, self.config if self.build is None else self.build(model, self.config))

    def loaded(self):
        """`load_model()` once per worker process: kept while jobs on the same file and config follow.

        A Dask worker calls a DoFn's `setup` once per partition (a chunk); a persistent worker
        process keeps one loaded model (and its traced attack) for all of them, and for the next
        job on the same unchanged file.
        """
        key = self._cache_key()
        with _LOCK:
            if _LOADED.get("key") != key:
                _LOADED.clear()  # one model per process: the previous one is released first
                _LOADED.update(key=key, loaded=self.load_model())
            return _LOADED["loaded"]

    def _cache_key(self):
        try:
            stat = os.stat(self.model_path)
            version = (stat.st_mtime_ns, stat.st_size)
        except OSError:  # not a local file (gs://...): the path names the version
            version = None
        config = json.dumps(self.config, sort_keys=True, default=repr)
        build = None if self.build is None else f"{self.build.__module__}.{self.build.__qualname__}"
        return self.model_path, version, config, build, self.safe_mode

    def run_inference(self, batch, model, inference_args=None):
        return [self.work(model.model, model.worker, element) for element in batch]

    def batch_elements_kwargs(self):
        return {"min_batch_size": 1, "max_batch_size": 1}

    def get_num_bytes(self, batch):
        return sum(element[2].nbytes for element in batch)


_LOCK = threading.Lock()
_LOADED = {}


class ApplyModel(beam.DoFn):
    """Runs a `KerasModelHandler`'s work on each batch: the model loaded in `setup`, one output per batch in `process`.

    Nothing is emitted in `finish_bundle`, so every engine keeps every output (Beam's Dask
    runner collects a bundle's outputs before `finish_bundle` runs).

    Args:
        handler: the `KerasModelHandler` (model file, work, worker object).

    Example:
    >>> import apache_beam as beam
    >>> step = beam.ParDo(ApplyModel(KerasModelHandler("model.keras", predicted_counts, config=10)))
    """

    def __init__(self, handler):
        self.handler = handler

    def setup(self):
        self.loaded = self.handler.loaded()

    def process(self, element):
        yield from self.handler.run_inference([element], self.loaded)


def build_attack(model, config):
    """The attack of a config (`attacks.serialize`), built once per worker."""
    return attacks.get(config)


def adversarial_chunk_part(model, attack, element):
    """AttackGen's work on batch `(chunk, index, x, y)`: `(chunk, (index, record))`."""
    chunk, index, x, y = element
    return chunk, (index, adversarial_record(attack, model, attack_batch(attack, model, x, y, index)))


def attack_counts(model, attack, element):
    """The Evaluator's work under an attack: `batch_sums` and, for an ensemble, who broke what."""
    _, index, x, y = element
    batch = attack_batch(attack, model, x, y, index)
    counts = {"sums": batch_sums(batch, model)}
    if "broken_by" in batch:  # -1 (robust) lands in bin 0
        counts["broken"] = np.bincount(np.asarray(batch["broken_by"]) + 1, minlength=len(attack.names) + 1)
    return counts


def predicted_counts(model, num_classes, element):
    """Clean predictions: per-class `correct` and `total` counts of one batch."""
    _, _, x, y = element
    hit = np.asarray(attacks.predict_labels(model, x)) == y
    return {
        "correct": np.bincount(y[hit], minlength=num_classes),
        "total": np.bincount(y, minlength=num_classes),
    }
