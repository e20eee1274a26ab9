"""`KerasModelHandler`: a Keras 3 `.keras` model (and an attack) inside Beam's `RunInference`.

Beam's own `TFModelHandlerTensor` loads TF SavedModels through tensorflow_hub / tf_keras and
cannot read Keras 3 files; this handler loads the `.keras` file with `io.load_model` once per
worker (RunInference shares it between the worker's threads) and applies a per-batch function.
Every element is already one batch `(chunk, index, images, labels)`, so RunInference's own
batching is set to one element.
"""

import numpy as np
from apache_beam.ml.inference.base import ModelHandler

from kerasadv import attacks, io
from kerasadv.attacks.metrics import batch_sums
from kerasadv.attacks.records import adversarial_record
from kerasadv.attacks.stream import attack_batch


class LoadedModel:
    """What a worker holds once: model, attack, class count (an object: Beam's `Shared` weak-references it)."""

    def __init__(self, model, attack, num_classes):
        self.model, self.attack, self.num_classes = model, attack, num_classes


class KerasModelHandler(ModelHandler):
    """Loads a `.keras` classifier (and builds an attack) per worker; runs `work` on each batch.

    Args:
        model_path: the `.keras` file (a path every worker can read).
        work: a top-level function `work(model, attack, num_classes, element) -> result`
            (picklable by reference); `element` is `(chunk, index, images, labels)`.
        attack: the attack's config (`attacks.serialize`), or None.
        safe_mode: `io.load_model`'s safe mode (False only for a trusted file).
        num_classes: passed to `work` (per-class counts).

    Example:
    >>> handler = KerasModelHandler("model.keras", predicted_counts, num_classes=10)
    >>> handler.batch_elements_kwargs()
    {'min_batch_size': 1, 'max_batch_size': 1}
    """

    def __init__(self, model_path, work, attack=None, safe_mode=True, num_classes=None):
        super().__init__()
        self.model_path, self.work, self.attack = model_path, work, attack
        self.safe_mode, self.num_classes = safe_mode, num_classes

    def load_model(self):
        model = io.load_model(self.model_path, safe_mode=self.safe_mode)
        return LoadedModel(model, None if self.attack is None else attacks.get(self.attack), self.num_classes)

    def run_inference(self, batch, model, inference_args=None):
        return [self.work(model.model, model.attack, model.num_classes, element) for element in batch]

    def batch_elements_kwargs(self):
        return {"min_batch_size": 1, "max_batch_size": 1}

    def get_num_bytes(self, batch):
        return sum(element[2].nbytes for element in batch)


def adversarial_chunk_part(model, attack, num_classes, element):
    """AttackGen's work on batch `(chunk, index, x, y)`: `(chunk, (index, record))`."""
    chunk, index, x, y = element
    return chunk, (index, adversarial_record(attack, model, attack_batch(attack, model, x, y, index)))


def attack_counts(model, attack, num_classes, element):
    """The Evaluator's work under an attack: `batch_sums` and, for an ensemble, who broke what."""
    _, index, x, y = element
    batch = attack_batch(attack, model, x, y, index)
    counts = {"sums": batch_sums(batch, model)}
    if "broken_by" in batch:  # -1 (robust) lands in bin 0
        counts["broken"] = np.bincount(np.asarray(batch["broken_by"]) + 1, minlength=len(attack.names) + 1)
    return counts


def predicted_counts(model, attack, num_classes, element):
    """Clean predictions: per-class `correct` and `total` counts of one batch."""
    _, _, x, y = element
    hit = np.asarray(attacks.predict_labels(model, x)) == y
    return {
        "correct": np.bincount(y[hit], minlength=num_classes),
        "total": np.bincount(y, minlength=num_classes),
    }
