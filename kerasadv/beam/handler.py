"""`KerasModelHandler`: a Keras 3 `.keras` model (and a per-worker object) inside Beam's `RunInference`.

Beam's own `TFModelHandlerTensor` loads TF SavedModels through tensorflow_hub / tf_keras and
cannot read Keras 3 files; this handler loads the `.keras` file with `io.load_model` once per
worker (RunInference shares it between the worker's threads), builds what the work needs from
a config once beside it (an attack, a smoothed classifier with its compiled sampler) and applies
a per-batch function. Every element is already one batch `(chunk, index, images, labels)`, so
RunInference's own batching is set to one element.
"""

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

    def run_inference(self, batch, model, inference_args=None):
        return [self.work(model.model, model.worker, element) for element in batch]

    def batch_elements_kwargs(self):
        return {"min_batch_size": 1, "max_batch_size": 1}

    def get_num_bytes(self, batch):
        return sum(element[2].nbytes for element in batch)


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
