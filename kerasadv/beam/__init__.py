"""Scale-out on Apache Beam: attack generation, evaluation and certification over example sets, per batch.

Needs the `beam` extra (`pip install -e ".[beam]"`). The work is cut into chunks of
consecutive batches; a worker reads only its chunk's records (`data.tfrecords.read_batches`),
runs every batch through `ApplyModel` with `KerasModelHandler` (the `.keras` model and what
the work needs, an attack or a smoothed classifier, built once per worker process), and the
per-batch counts are merged with one combiner (`batch_rows` gathers per-example rows instead).
Batch i is reseeded as the local loop does (`attacks.stream`), and a certified example draws its
noise by its index in the split, so a Beam run gives the local runner's adversarial examples,
metrics and certificates on any runner (DirectRunner, Dask, Dataflow, Flink, Spark) and any number
of workers. Every job checks that it wrote or counted as many examples as it read
(`ExampleCountError`) and records the engine that ran it (`last_run`, `recorded_runs`).
"""

try:
    import apache_beam  # noqa: F401
except ImportError as error:  # pragma: no cover - the message is the point
    raise ImportError(
        "kerasadv.beam needs Apache Beam: pip install -e '.[beam]' (or pip install 'kerasadv[beam]')."
    ) from error

from kerasadv.beam.cluster import local_dask_cluster
from kerasadv.beam.engine import ExampleCountError, JobRun, last_run, pipeline_options, recorded_runs
from kerasadv.beam.handler import ApplyModel, KerasModelHandler
from kerasadv.beam.jobs import attack_split, batch_rows, class_counts, evaluate_attack

__all__ = [
    "ApplyModel",
    "ExampleCountError",
    "JobRun",
    "KerasModelHandler",
    "attack_split",
    "batch_rows",
    "class_counts",
    "evaluate_attack",
    "last_run",
    "local_dask_cluster",
    "pipeline_options",
    "recorded_runs",
]
