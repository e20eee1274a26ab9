"""A Dask cluster of separate processes on this machine, started as a user starts one on machines.

`local_dask_cluster` runs `dask scheduler` and `dask worker` (one command per worker, each a
nanny and its worker process) with this Python, each in its own session, waits until every
worker is connected, yields the scheduler's address for `--dask_client_address`, and on leaving
(also on an error) ends every process of those sessions. The tests and `benchmarks/scaling.py`
run Beam's Dask runner against it; on real machines the same commands run one per machine.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

STOP_SECONDS = 15
"""How long a process group gets to end after SIGTERM before it is killed."""


class DaskProcesses:
    """The scheduler's and workers' processes of a `local_dask_cluster`.

    Attributes:
        address: the scheduler's address (`tcp://127.0.0.1:PORT`).
        processes: the `subprocess.Popen` of the scheduler and each worker command.
        started_seconds: seconds from the first command to every worker connected.
    """

    def __init__(self):
        self.address, self.processes, self.started_seconds = None, [], None

    def alive(self):
        """The ids of the processes of the cluster's sessions still running (empty once it has stopped)."""
        return [pid for process in self.processes for pid in session_processes(process.pid)]

    def stop(self):
        """Ends every process of every session: SIGTERM, then SIGKILL after `STOP_SECONDS`."""
        for process in reversed(self.processes):  # workers first, then the scheduler
            _signal_session(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in reversed(self.processes):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        for process in self.processes:
            _signal_session(process.pid, signal.SIGKILL)
            process.wait()
            for pid in session_processes(process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def session_processes(session):
    """Ids of the live (not zombie) processes of a session (Linux: `/proc`; elsewhere: its process group)."""
    if not os.path.isdir("/proc"):
        try:
            os.killpg(session, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [session]
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[3]) == session and fields[0] != "Z":  # state, ppid, pgrp, session
            pids.append(int(entry))
    return pids


def _signal_session(leader, sig):
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(leader, sig)


@contextlib.contextmanager
def local_dask_cluster(workers=2, threads=1, timeout=120, directory=None, env=None):
    """Starts `dask scheduler` and `workers` `dask worker` commands on 127.0.0.1; yields `DaskProcesses`.

    Args:
        workers: worker commands (each one worker process under its nanny).
        threads: threads per worker (1: a worker runs one Beam bundle at a time).
        timeout: seconds to wait for the scheduler and every worker.
        directory: where the scheduler file, logs and workers' spill go (None: a temporary one).
        env: extra environment variables for the processes.

    Yields:
        `DaskProcesses`, its `address` for `--dask_client_address`; every process of the cluster
        ends when the block does, also on an error.

    Example:
    >>> with local_dask_cluster(workers=2) as cluster:  # doctest: +SKIP
    ...     flags = ["--runner=DaskRunner", f"--dask_client_address={cluster.address}"]
    """
    from distributed import Client

    cluster = DaskProcesses()
    environment = {**os.environ, **(env or {})}
    with contextlib.ExitStack() as stack:
        directory = directory or stack.enter_context(tempfile.TemporaryDirectory(prefix="kerasadv-dask-"))
        scheduler_file = os.path.join(directory, "scheduler.json")
        start = time.perf_counter()

        def launch(name, *args):
            log = stack.enter_context(open(os.path.join(directory, f"{name}.log"), "w"))
            command = [sys.executable, "-m", "dask", *args]
            cluster.processes.append(
                subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment, start_new_session=True)
            )

        try:
            launch(
                "scheduler",
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                scheduler_file,
            )
            cluster.address = _scheduler_address(scheduler_file, cluster.processes[0], timeout)
            for index in range(workers):
                launch(
                    f"worker-{index}",
                    "worker",
                    cluster.address,
                    "--nthreads",
                    str(threads),
                    "--nworkers",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                    "--name",
                    f"worker-{index}",
                    "--local-directory",
                    directory,
                )
            with Client(cluster.address, timeout=timeout) as client:
                client.wait_for_workers(workers, timeout=timeout)
            cluster.started_seconds = time.perf_counter() - start
            yield cluster
        finally:
            cluster.stop()


def _scheduler_address(scheduler_file, process, timeout):
    """The address the scheduler wrote to its file (RuntimeError if it ended or took longer than `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Dask scheduler ended with code {process.returncode} before it was ready.")
        with contextlib.suppress(OSError, ValueError):
            with open(scheduler_file) as f:
                return json.load(f)["address"]
        time.sleep(0.2)
    raise RuntimeError(f"the Dask scheduler wrote no address to {scheduler_file} in {timeout} s.")
