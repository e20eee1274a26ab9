"""Which engine ran a Beam job, the options a job runs with, and the check that it lost no example.

Beam may run a job elsewhere than the `--runner` flag says: Beam 2.6x's DirectRunner first tries
the Prism runner and falls back to the FnApiRunner (or the BundleBasedDirectRunner) when Prism
cannot start. So every job records the engine that produced its `PipelineResult` (`JobRun`), read
from the result's class, beside the flag it was given; `last_run()` is the last one in this
process, and `recorded_runs()` collects those of a block.
"""

import contextlib
import dataclasses
import time

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from kerasadv.errors import ExampleCountError

DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"
"""Beam's Dask runner, named by its full path (Beam refuses `--runner=DaskRunner`)."""

ENGINES = {
    "apache_beam.runners.dask.dask_runner.DaskRunnerResult": "DaskRunner",
    "apache_beam.runners.portability.fn_api_runner.fn_runner.RunnerResult": "FnApiRunner",
    "apache_beam.runners.direct.direct_runner.DirectPipelineResult": "BundleBasedDirectRunner",
    "apache_beam.runners.portability.portable_runner.PipelineResult": "PortableRunner",
    "apache_beam.runners.dataflow.dataflow_runner.DataflowPipelineResult": "DataflowRunner",
}
"""The engine of a `PipelineResult` class (module.class). PortableRunner: Prism, Flink, Spark or
another job server (the `runner` flag says which); the DirectRunner runs on the FnApiRunner when
Prism is unavailable."""


@dataclasses.dataclass(frozen=True)
class JobRun:
    """One finished Beam job.

    Attributes:
        job: the job function ("attack_split", "evaluate_attack", "class_counts", "batch_rows").
        runner: the `--runner` flag it was given ("DirectRunner" when none).
        engine: the engine that produced its `PipelineResult` (`ENGINES`, else the result's class).
        result_type: the `PipelineResult`'s class, module.class.
        examples: the examples it read (and checked it wrote or counted).
    """

    job: str
    runner: str
    engine: str
    result_type: str
    examples: int


_RUNS = []
_RECORDERS = []


def record(job, options, result, examples):
    """Records the run of `job` whose `PipelineResult` is `result`; returns its `JobRun`."""
    result_type = f"{type(result).__module__}.{type(result).__qualname__}"
    run = JobRun(job, runner_name(options), ENGINES.get(result_type, type(result).__name__), result_type, examples)
    _RUNS[:] = [run]
    for runs in _RECORDERS:
        runs.append(run)
    return run


def last_run():
    """The `JobRun` of the last Beam job that finished in this process (None before any).

    Example:
    >>> run = last_run()  # after attack_split(...), evaluate_attack(...), ...
    """
    return _RUNS[-1] if _RUNS else None


@contextlib.contextmanager
def recorded_runs():
    """Collects the `JobRun` of every Beam job that finishes in this process inside the block.

    Example:
    >>> with recorded_runs() as runs:
    ...     pass  # run a pipeline with runner="beam" components here
    >>> runs
    []
    """
    runs = []
    _RECORDERS.append(runs)
    try:
        yield runs
    finally:
        _RECORDERS.remove(runs)


def pipeline_options(options=None):
    """`PipelineOptions` from command-line flags (a list) or a dict; default: DirectRunner.

    `--runner=DaskRunner` is taken as Beam's Dask runner (`DASK_RUNNER`, which Beam names only by
    its full path).

    Example:
    >>> pipeline_options(["--direct_num_workers=2"]).get_all_options()["direct_num_workers"]
    2
    >>> runner_name(pipeline_options(["--runner=DaskRunner"]))
    'apache_beam.runners.dask.dask_runner.DaskRunner'
    """
    if isinstance(options, PipelineOptions):
        return options
    if _names_dask(options):
        from apache_beam.runners.dask.dask_runner import DaskOptions  # noqa: F401 - parses the --dask_* flags
    if isinstance(options, dict):
        options = PipelineOptions(**options)
    else:
        options = PipelineOptions(
            [f"--runner={DASK_RUNNER}" if flag == "--runner=DaskRunner" else flag for flag in options or []]
        )
    if options.view_as(StandardOptions).runner == "DaskRunner":
        options.view_as(StandardOptions).runner = DASK_RUNNER
    return options


def _names_dask(options):
    flags = [f"--runner={options.get('runner')}"] if isinstance(options, dict) else list(options or [])
    return any(str(flag).startswith("--runner=") and str(flag).endswith("DaskRunner") for flag in flags)


def runner_name(options):
    """The runner a job's options name ("DirectRunner" when none)."""
    return options.view_as(StandardOptions).runner or "DirectRunner"


def job_options(options, partitions):
    """The options a job runs with: `options`, and on Dask one bag partition per chunk unless the user set one.

    Beam's Dask runner puts up to 128 `Create` elements into one Dask partition, and a partition
    runs on one worker: a job of a few chunks would run on one worker. One chunk per partition
    spreads them; `--dask_npartitions` or `--dask_partition_size` given by the user are kept.
    """
    options = pipeline_options(options)
    if runner_name(options).endswith("DaskRunner"):
        flags = options.get_all_options(drop_default=True)
        if not flags.get("npartitions") and not flags.get("partition_size"):
            from apache_beam.runners.dask.dask_runner import DaskOptions

            options.view_as(DaskOptions).npartitions = max(1, partitions)
    return options


def check_count(job, run, done, what, split):
    """Raises `ExampleCountError` unless `done` (the examples written or counted) equals those read."""
    if done != run.examples:
        raise ExampleCountError(
            f"{job} on the {run.runner} runner (engine {run.engine}) {what} {done} examples of split "
            f"{split!r} for the {run.examples} it read: the engine lost or duplicated work; nothing was recorded."
        )


DASK_TIMEOUT = 3600.0  # seconds a Dask job may run before it is called lost
_DONE_ON_SCHEDULER = ("memory", "erred")


def wait_until_finish(result, timeout=DASK_TIMEOUT, poll=0.2):
    """Waits for a Beam job and returns its final `PipelineState`.

    Beam's Dask runner waits on the client's futures (`distributed.as_completed`); under load
    the client can miss a finished task's report and wait for ever (seen in CI: the job's last
    task "memory" on the scheduler, the client idle). So a Dask job is waited on by asking the
    scheduler for its tasks' states; other runners wait as Beam does.

    Args:
        result: the `PipelineResult` of `pipeline.run()`.
        timeout: seconds before a Dask job that has not finished raises.
        poll: seconds between two questions to the scheduler.

    Returns:
        `PipelineState.DONE`, or the state the runner reports.

    Raises:
        ExampleCountError: a Dask task failed (its error named), or the job ran past `timeout`.
    """
    futures = getattr(result, "futures", None)
    if futures is None:
        return result.wait_until_finish()
    from apache_beam.runners.runner import PipelineState

    def task_states(dask_scheduler, keys):  # defined here: pickled by value, the scheduler needs no kerasadv
        found = [dask_scheduler.tasks.get(key) for key in keys]
        return [(None, None) if t is None else (t.state, getattr(t, "exception_text", None)) for t in found]

    keys, deadline = [future.key for future in futures], time.monotonic() + timeout
    while True:
        states = result.client.run_on_scheduler(task_states, keys=keys)
        if all(state in _DONE_ON_SCHEDULER for state, _ in states):
            break
        if time.monotonic() > deadline:  # a key unknown to the scheduler (None) may not have reached it yet
            found = [state for state, _ in states]
            raise ExampleCountError(f"Dask job past {timeout:.0f} s: its tasks are {found} on the scheduler.")
        time.sleep(poll)
    errors = [error for state, error in states if state == "erred"]
    if errors:
        raise ExampleCountError(f"A Dask task of the job failed: {errors[0]}")
    result._state = PipelineState.DONE  # what Beam's own wait sets
    return result._state
