"""The Beam jobs behind `runner="beam"`: attack generation, attack evaluation, clean counts, per-example rows.

Each job cuts a split into chunks of `BATCHES_PER_CHUNK` consecutive batches, reshuffles
the chunks over the workers, reads each chunk's batches (`ReadChunk`), runs them through
`RunInference` and merges the per-batch counts with `SumCounts` (or, for `batch_rows`, gathers
the per-example rows). The result is written to a JSON file that the launching process reads
back when the pipeline has finished.
"""

import json
import os
import tempfile

import apache_beam as beam
import numpy as np
from apache_beam.ml.inference.base import RunInference
from apache_beam.options.pipeline_options import PipelineOptions

from kerasadv import attacks
from kerasadv.attacks.metrics import SUMS, summarise
from kerasadv.beam.handler import (
    KerasModelHandler,
    adversarial_chunk_part,
    attack_counts,
    build_attack,
    predicted_counts,
)
from kerasadv.data import tfrecords
from kerasadv.orchestration import writer

BATCHES_PER_CHUNK = 4
"""Batches a worker reads and writes together (one output shard per chunk)."""


def pipeline_options(options=None):
    """`PipelineOptions` from command-line flags (a list) or a dict; default: DirectRunner.

    Example:
    >>> pipeline_options(["--direct_num_workers=2"]).get_all_options()["direct_num_workers"]
    2
    """
    if isinstance(options, PipelineOptions):
        return options
    if isinstance(options, dict):
        return PipelineOptions(**options)
    return PipelineOptions(list(options or []))


def chunks(num_examples, batch_size, batches_per_chunk=BATCHES_PER_CHUNK):
    """`(chunk, first batch, stop batch)` covering `ceil(num_examples / batch_size)` batches.

    Example:
    >>> chunks(10, 2, 2)
    [(0, 0, 2), (1, 2, 4), (2, 4, 5)]
    """
    batches = -(-num_examples // batch_size)
    starts = range(0, batches, batches_per_chunk)
    return [(c, first, min(first + batches_per_chunk, batches)) for c, first in enumerate(starts)]


class ReadChunk(beam.DoFn):
    """`(chunk, first, stop)` -> `(chunk, index, images, labels)` per batch, as NumPy arrays."""

    def __init__(self, directory, split, batch_size, limit=None):
        self.directory, self.split, self.batch_size, self.limit = directory, split, batch_size, limit
        self.shard_sizes = tfrecords.shard_sizes(directory, split)  # once, at launch, not per chunk

    def process(self, chunk):
        number, first, stop = chunk
        batches = tfrecords.read_batches(
            self.directory, self.split, self.batch_size, first, stop, self.limit, self.shard_sizes
        )
        for offset, (x, y) in enumerate(batches):
            yield number, first + offset, x.numpy(), y.numpy()


class SumCounts(beam.CombineFn):
    """Sums dicts of count arrays key by key (accuracy, per-class counts, norms, per-attack)."""

    def create_accumulator(self):
        return {}

    def add_input(self, accumulator, counts):
        for key, value in counts.items():
            accumulator[key] = accumulator[key] + np.asarray(value) if key in accumulator else np.asarray(value)
        return accumulator

    def merge_accumulators(self, accumulators):
        merged = {}
        for accumulator in accumulators:
            self.add_input(merged, accumulator)
        return merged

    def extract_output(self, accumulator):
        return {key: np.asarray(value).tolist() for key, value in accumulator.items()}


class WriteChunk(beam.DoFn):
    """`(chunk, [(index, record), ...])` -> shard `<split>-<chunk>.tfrecord`; yields its counts."""

    def __init__(self, directory, split):
        self.directory, self.split = directory, split

    def process(self, keyed):
        number, parts = keyed
        records = [record for _, record in sorted(parts, key=lambda part: part[0])]
        count, _ = tfrecords.write_split(records, self.directory, self.split, "float32", 2**62, first_shard=number)
        yield {"count": np.array([count]), "success": np.array([sum(float(r["success"].sum()) for r in records)])}


def _run(build, options):
    """Runs `build(pipeline) -> PCollection of one JSON-safe value` and returns that value."""
    with tempfile.TemporaryDirectory(prefix="kerasadv-beam-") as scratch:
        target = os.path.join(scratch, "result.json")
        with beam.Pipeline(options=pipeline_options(options)) as pipeline:
            build(pipeline) | "Save" >> beam.Map(writer.write_json, target)
        with open(target) as f:
            return json.load(f)


def _batches(pipeline, directory, split, batch_size, limit=None):
    num_examples = tfrecords.split_size(directory, split)
    num_examples = num_examples if limit is None else min(num_examples, limit)
    return (
        pipeline
        | "Chunks" >> beam.Create(chunks(num_examples, batch_size))
        | "Spread" >> beam.Reshuffle()
        | "Read" >> beam.ParDo(ReadChunk(directory, split, batch_size, limit))
    )


def attack_split(model_path, attack, directory, split, out_directory, batch_size, options=None, safe_mode=True):
    """AttackGen on Beam: writes `split` of `out_directory` as AttackGen's local loop does.

    Args:
        model_path: the attacked `.keras` model.
        attack: the attack (instance, name or config).
        directory: the Examples set; `split`: the split attacked.
        out_directory: the AdversarialExamples set (its shards; the caller writes the schema).
        batch_size: attack batch size (batch i is reseeded with i, as locally).
        options: Beam pipeline options (flags list or dict).
        safe_mode: `io.load_model`'s safe mode.

    Returns:
        `(count, success_rate)` of the split.
    """
    config = attacks.serialize(attacks.get(attack))
    handler = KerasModelHandler(model_path, adversarial_chunk_part, config, build_attack, safe_mode)

    def build(pipeline):
        return (
            _batches(pipeline, directory, split, batch_size)
            | "Attack" >> RunInference(handler)
            | "ByChunk" >> beam.GroupByKey()
            | "Write" >> beam.ParDo(WriteChunk(out_directory, split))
            | "Merge" >> beam.CombineGlobally(SumCounts())
        )

    totals = _run(build, options)
    count = int(totals.get("count", [0])[0])
    return count, (totals["success"][0] / count if count else 0.0)


def evaluate_attack(model_path, attack, directory, split, batch_size, limit=None, options=None, safe_mode=True):
    """`attacks.evaluate_attack` on Beam over a split (its first `limit` examples): the same dict."""
    attack = attacks.get(attack)
    handler = KerasModelHandler(model_path, attack_counts, attacks.serialize(attack), build_attack, safe_mode)

    def build(pipeline):
        return (
            _batches(pipeline, directory, split, batch_size, limit)
            | "Evaluate" >> RunInference(handler)
            | "Merge" >> beam.CombineGlobally(SumCounts())
        )

    totals = _run(build, options)
    broken = totals.get("broken")
    broken_by = None if broken is None else np.repeat(np.arange(-1, len(broken) - 1), broken)
    return summarise(attack, np.asarray(totals.get("sums", np.zeros(len(SUMS)))), broken_by)


def class_counts(model_path, directory, split, batch_size, options=None, safe_mode=True):
    """Per-class `(correct, total)` count arrays of the model's clean predictions on a split."""
    num_classes = len(tfrecords.read_schema(directory)["class_names"])
    handler = KerasModelHandler(model_path, predicted_counts, num_classes, None, safe_mode)

    def build(pipeline):
        return (
            _batches(pipeline, directory, split, batch_size)
            | "Predict" >> RunInference(handler)
            | "Merge" >> beam.CombineGlobally(SumCounts())
        )

    totals = _run(build, options)
    return np.asarray(totals["correct"]), np.asarray(totals["total"])


def batch_rows(
    model_path, work, directory, split, batch_size, config=None, build=None, limit=None, options=None, safe_mode=True
):
    """Runs `work` on every batch of a split on Beam workers and gathers the rows it returns.

    The per-example counterpart of the counting jobs: `work(model, worker, element)` returns a
    list of JSON-safe rows for batch `element = (chunk, index, images, labels)` (batch `index`
    holds examples `index * batch_size` onwards), and the rows of every batch come back
    together. The launching process orders them and checks that none is missing.

    Args:
        model_path: the `.keras` model each worker loads once.
        work: the top-level per-batch function (`KerasModelHandler`'s `work`).
        directory, split: the Examples set and its split.
        batch_size: examples per batch.
        config, build: the worker object, built once per worker (`KerasModelHandler`).
        limit: only the first `limit` examples of the split (None: all).
        options: Beam pipeline options (flags list or dict).
        safe_mode: `io.load_model`'s safe mode.

    Returns:
        The list of rows, in no particular order.
    """
    handler = KerasModelHandler(model_path, work, config, build, safe_mode)

    def build_pipeline(pipeline):
        return (
            _batches(pipeline, directory, split, batch_size, limit)
            | "Work" >> RunInference(handler)
            | "Rows" >> beam.FlatMap(lambda rows: rows)
            | "Gather" >> beam.combiners.ToList()
        )

    return _run(build_pipeline, options)
