"""Scale-out on Apache Beam: attack generation, evaluation and certification over example sets, per batch.

Needs the `beam` extra (`pip install -e ".[beam]"`). The work is cut into chunks of
consecutive batches; a worker reads only its chunk's records (`data.tfrecords.read_batches`),
runs every batch through Beam's `RunInference` with `KerasModelHandler` (the `.keras` model
and what the work needs, an attack or a smoothed classifier, built once per worker), and the
per-batch counts are merged with one combiner (`batch_rows` gathers per-example rows instead).
Batch i is reseeded as the local loop does (`attacks.stream`), and a certified example draws its
noise by its index in the split, so a Beam run gives the local runner's adversarial examples,
metrics and certificates on any runner (DirectRunner, Dataflow, Flink, Spark) and any number
of workers.
"""

try:
    import apache_beam  # noqa: F401
except ImportError as error:  # pragma: no cover - the message is the point
    raise ImportError(
        "kerasadv.beam needs Apache Beam: pip install -e '.[beam]' (or pip install 'kerasadv[beam]')."
    ) from error

from kerasadv.beam.handler import KerasModelHandler
from kerasadv.beam.jobs import attack_split, batch_rows, class_counts, evaluate_attack, pipeline_options

__all__ = ["KerasModelHandler", "attack_split", "batch_rows", "class_counts", "evaluate_attack", "pipeline_options"]
