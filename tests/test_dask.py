"""runner="beam" on a real cluster engine: Beam's Dask runner against a scheduler and two worker processes.

The test starts `dask scheduler` and two `dask worker` commands on 127.0.0.1 (random ports), as a
user starts them on machines (`kerasadv.beam.local_dask_cluster`), and ends every process of them
afterwards, also when a test fails. AttackGen, the Evaluator and the Certifier give the local
runner's examples, metrics, per-attack tables and certificates, every job ran on the Dask engine,
and its chunks ran on both workers.
"""

import contextlib
import time

import pandas as pd
import pytest

pytest.importorskip("apache_beam", reason="the beam extra is not installed: pip install -e '.[beam]'")
pytest.importorskip("distributed", reason="Beam's Dask runner is not installed: pip install -e '.[beam]'")

from kerasadv.beam import local_dask_cluster, recorded_runs  # noqa: E402


@pytest.fixture(scope="module")
def dask_cluster():
    """A scheduler and two single-threaded worker processes; afterwards, no process of them is left."""
    with local_dask_cluster(workers=2, threads=1) as cluster:
        yield cluster
    assert cluster.alive() == []


def dask_flags(cluster):
    return ["--runner=DaskRunner", f"--dask_client_address={cluster.address}"]


@contextlib.contextmanager
def bundle_workers(address):
    """Yields a set that gets, when the block ends, the workers that ran Beam's DoFn bundles (Dask partitions) in it."""
    from distributed import Client

    workers = set()
    with Client(address) as client:
        client.get_task_stream()  # installs the scheduler's task-stream plugin
        since = time.time()
        yield workers
        tasks = client.get_task_stream(start=since)
        workers.update(task["worker"] for task in tasks if "apply_dofn_to_bundle" in str(task["key"]))


def test_the_cluster_is_two_connected_workers_and_ends_on_an_error():
    with pytest.raises(RuntimeError, match="a failing test"):
        with local_dask_cluster(workers=1) as cluster:
            assert len(cluster.alive()) >= 3  # a scheduler, a nanny and its worker process
            raise RuntimeError("a failing test")
    assert cluster.alive() == []


@pytest.mark.slow
def test_dask_runner_equals_the_local_runner(tmp_path, cifar_npz, dask_cluster):
    from test_beam import JOBS, assert_same_as_local, both_runners

    with bundle_workers(dask_cluster.address) as workers:
        result, runs = both_runners(str(tmp_path), cifar_npz, dask_flags(dask_cluster))
    assert {run.engine for run in runs} == {"DaskRunner"}
    assert {run.result_type for run in runs} == {"apache_beam.runners.dask.dask_runner.DaskRunnerResult"}
    assert {job: sum(run.job == job for run in runs) for job in JOBS} == JOBS
    assert len(workers) == 2  # one partition per chunk: both workers attacked
    assert_same_as_local(result, engine="DaskRunner")


def test_dask_certifier_equals_the_local_runner(tmp_path, dask_cluster):
    from test_certifier import PROTOCOL, _certification, _csv, brightness_source, pipeline

    source = brightness_source(tmp_path / "brightness.npz")
    steps = {"local": PROTOCOL, "beam": {**PROTOCOL, "runner": "beam", "beam_options": dask_flags(dask_cluster)}}
    with recorded_runs() as runs:
        result = pipeline(tmp_path, source, steps).run(progress=False)
    assert [(run.job, run.engine) for run in runs] == [("batch_rows", "DaskRunner")]
    local, beam = (_csv(_certification(result, name)) for name in ("local", "beam"))
    pd.testing.assert_frame_equal(beam.drop(columns="seconds"), local.drop(columns="seconds"))


class _Future:
    def __init__(self, key):
        self.key = key


class _SchedulerAnswers:
    """A client whose scheduler answers states in turn (Beam's DaskRunnerResult holds `client`, `futures`)."""

    def __init__(self, *answers):
        self.answers = list(answers)

    def run_on_scheduler(self, function, keys):
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def _result(*answers):
    from apache_beam.runners.dask.dask_runner import DaskRunnerResult

    return DaskRunnerResult(client=_SchedulerAnswers(*answers), futures=[_Future("finalize-1")])


def test_a_dask_job_is_done_when_the_scheduler_holds_its_result_whatever_the_client_heard():
    """CI once hung for ever in Beam's wait (distributed.as_completed) with the job's task in memory."""
    from apache_beam.runners.runner import PipelineState

    from kerasadv.beam.engine import wait_until_finish

    answers = [[(None, None)], [("processing", None)], [("memory", None)]]  # not yet sent, running, done
    assert wait_until_finish(_result(*answers), poll=0) == PipelineState.DONE


def test_a_failed_or_endless_dask_job_is_an_error_naming_why():
    from kerasadv.beam.engine import wait_until_finish
    from kerasadv.errors import ExampleCountError

    with pytest.raises(ExampleCountError, match="failed: ValueError: bad chunk"):
        wait_until_finish(_result([("erred", "ValueError: bad chunk")]), poll=0)
    with pytest.raises(ExampleCountError, match=r"past 0 s: its tasks are \['processing'\]"):
        wait_until_finish(_result([("processing", None)]), timeout=0.0, poll=0)


def test_the_scheduler_side_wait_reads_a_real_scheduler(dask_cluster):
    """The function sent to the scheduler runs there (pickled by value) and finds a finished task."""
    import distributed
    from apache_beam.runners.dask.dask_runner import DaskRunnerResult
    from apache_beam.runners.runner import PipelineState

    from kerasadv.beam.engine import wait_until_finish

    with distributed.Client(dask_cluster.address) as client:
        futures = [client.submit(sum, [1, 2, 3], pure=False)]
        assert wait_until_finish(DaskRunnerResult(client=client, futures=futures)) == PipelineState.DONE
        assert futures[0].result() == 6
