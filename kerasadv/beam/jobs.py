"""The Beam jobs behind `runner="beam"`: attack generation, attack evaluation, clean counts, per-example rows.

Each job cuts a split into chunks of `BATCHES_PER_CHUNK` consecutive batches, reshuffles
the chunks over the workers (on Dask: one partition per chunk), reads each chunk's batches
(`ReadChunk`), runs them through `ApplyModel` and merges the per-batch counts with `SumCounts`
(or, for `batch_rows`, gathers the per-example rows). The result is written to a JSON file that
the launching process reads back when the pipeline has finished (under `--temp_location` when
given: a place the workers and the launcher share). Every job then checks that the examples it
wrote or counted equal those it read (`ExampleCountError` otherwise, raised before the caller
records anything) and records the engine that ran it (`last_run`).
"""

import json
import os
import tempfile
import uuid

import apache_beam as beam
import numpy as np
import tensorflow as tf
from apache_beam.options.pipeline_options import GoogleCloudOptions
from apache_beam.runners.runner import PipelineState

from kerasadv import attacks
from kerasadv.attacks.metrics import SUMS, summarise
from kerasadv.beam.engine import ExampleCountError, check_count, job_options, record, wait_until_finish
from kerasadv.beam.handler import (
    ApplyModel,
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


def _run(job, build, options, examples, num_chunks):
    """Runs `build(pipeline) -> PCollection of at most one JSON-safe value`; returns it (or None) and the `JobRun`."""
    options = job_options(options, num_chunks)
    shared = options.view_as(GoogleCloudOptions).temp_location
    with tempfile.TemporaryDirectory(prefix="kerasadv-beam-") as scratch:
        target = os.path.join(shared or scratch, f"kerasadv-{job}-{uuid.uuid4().hex}.json")
        pipeline = beam.Pipeline(options=options)
        _ = build(pipeline) | "Save" >> beam.Map(writer.write_json, target)
        result = pipeline.run()
        try:
            state = wait_until_finish(result)  # a Dask job: asking the scheduler (engine.wait_until_finish)
        finally:  # Beam's Dask runner opens a client per job and leaves it open
            client = getattr(result, "client", None)
            if client is not None:
                client.close()
        run = record(job, options, result, examples)
        if state != PipelineState.DONE:
            raise ExampleCountError(f"{job} on the {run.runner} runner (engine {run.engine}) ended {state}, not DONE.")
        if not tf.io.gfile.exists(target):  # nothing to combine (an empty split): the combiners have no defaults
            return None, run
        with tf.io.gfile.GFile(target) as f:
            value = json.load(f)
        if shared:
            tf.io.gfile.remove(target)
        return value, run


def _plan(directory, split, batch_size, limit=None):
    """The examples a job reads (the split's size, or its first `limit`) and its chunks."""
    size = tfrecords.split_size(directory, split)
    size = size if limit is None else min(size, limit)
    return size, chunks(size, batch_size)


def _batches(pipeline, plan, directory, split, batch_size, limit=None):
    return (
        pipeline
        | "Chunks" >> beam.Create(plan[1])
        | "Spread" >> beam.Reshuffle()
        | "Read" >> beam.ParDo(ReadChunk(directory, split, batch_size, limit))
    )


def _merged(job, plan, options, directory, split, batch_size, handler, limit=None, then=()):
    """Runs a counting job (`ApplyModel` per batch, `then`, `SumCounts`); returns the totals and the `JobRun`."""

    def build(pipeline):
        counts = _batches(pipeline, plan, directory, split, batch_size, limit) | "Apply" >> beam.ParDo(
            ApplyModel(handler)
        )
        for label, step in then:
            counts = counts | label >> step
        return counts | "Merge" >> beam.CombineGlobally(SumCounts()).without_defaults()

    totals, run = _run(job, build, options, plan[0], len(plan[1]))
    return totals or {}, run


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

    Raises:
        ExampleCountError: the shards hold another number of examples than the split has.
    """
    config = attacks.serialize(attacks.get(attack))
    handler = KerasModelHandler(model_path, adversarial_chunk_part, config, build_attack, safe_mode)
    plan = _plan(directory, split, batch_size)
    write = [("ByChunk", beam.GroupByKey()), ("Write", beam.ParDo(WriteChunk(out_directory, split)))]
    totals, run = _merged("attack_split", plan, options, directory, split, batch_size, handler, then=write)
    count = int(totals.get("count", [0])[0])
    check_count("attack_split", run, count, "wrote", split)
    return count, (totals["success"][0] / count if count else 0.0)


def evaluate_attack(model_path, attack, directory, split, batch_size, limit=None, options=None, safe_mode=True):
    """`attacks.evaluate_attack` on Beam over a split (its first `limit` examples): the same dict.

    Raises:
        ExampleCountError: the counts cover another number of examples than were read.
    """
    attack = attacks.get(attack)
    handler = KerasModelHandler(model_path, attack_counts, attacks.serialize(attack), build_attack, safe_mode)
    plan = _plan(directory, split, batch_size, limit)
    totals, run = _merged("evaluate_attack", plan, options, directory, split, batch_size, handler, limit)
    sums = np.asarray(totals.get("sums", np.zeros(len(SUMS))))
    check_count("evaluate_attack", run, int(sums[SUMS.index("examples")]), "counted", split)
    broken = totals.get("broken")
    broken_by = None if broken is None else np.repeat(np.arange(-1, len(broken) - 1), broken)
    return summarise(attack, sums, broken_by)


def class_counts(model_path, directory, split, batch_size, options=None, safe_mode=True):
    """Per-class `(correct, total)` count arrays of the model's clean predictions on a split.

    Raises:
        ExampleCountError: the counts cover another number of examples than the split has.
    """
    num_classes = len(tfrecords.read_schema(directory)["class_names"])
    handler = KerasModelHandler(model_path, predicted_counts, num_classes, None, safe_mode)
    plan = _plan(directory, split, batch_size)
    totals, run = _merged("class_counts", plan, options, directory, split, batch_size, handler)
    correct = np.asarray(totals.get("correct", np.zeros(num_classes, np.int64)))
    total = np.asarray(totals.get("total", np.zeros(num_classes, np.int64)))
    check_count("class_counts", run, int(total.sum()), "counted", split)
    return correct, total


class CountedWork:
    """`batch_rows`'s work: the user's rows of a batch with the batch's index and size, for the count check."""

    def __init__(self, work):
        self.work = work

    def __call__(self, model, worker, element):
        return [int(element[1]), len(element[3]), self.work(model, worker, element)]


def batch_rows(
    model_path, work, directory, split, batch_size, config=None, build=None, limit=None, options=None, safe_mode=True
):
    """Runs `work` on every batch of a split on Beam workers and gathers the rows it returns.

    The per-example counterpart of the counting jobs: `work(model, worker, element)` returns a
    list of JSON-safe rows for batch `element = (chunk, index, images, labels)` (batch `index`
    holds examples `index * batch_size` onwards), and the rows of every batch come back
    together. The job checks that every batch came back once, covering the examples read; the
    launching process orders the rows and checks what `work` returned.

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

    Raises:
        ExampleCountError: a batch came back twice or not at all.
    """
    handler = KerasModelHandler(model_path, CountedWork(work), config, build, safe_mode)
    plan = _plan(directory, split, batch_size, limit)

    def build_pipeline(pipeline):
        return (
            _batches(pipeline, plan, directory, split, batch_size, limit)
            | "Work" >> beam.ParDo(ApplyModel(handler))
            | "Gather" >> beam.combiners.ToList().without_defaults()
        )

    batches, run = _run("batch_rows", build_pipeline, options, plan[0], len(plan[1]))
    batches = batches or []
    check_count("batch_rows", run, sum(size for _, size, _ in batches), "returned the rows of", split)
    indices, expected = sorted(index for index, _, _ in batches), -(-plan[0] // batch_size)
    if indices != list(range(expected)):
        raise ExampleCountError(
            f"batch_rows on the {run.runner} runner (engine {run.engine}) returned batches {indices} of split "
            f"{split!r}, not each of its {expected} batches once: the engine lost or duplicated work."
        )
    return [row for _, _, rows in batches for row in rows]
