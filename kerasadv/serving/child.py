"""Child processes that die with their parent, started without `preexec_fn`.

`subprocess`'s `preexec_fn` makes Python fork the multi-threaded parent (TensorFlow's thread
pools, gRPC's event engine) and run Python code in the child before `exec`: gRPC's fork
handlers can then race with the closing of inherited descriptors, and the child aborts
("Epoll1Poller ... epoll_wait error: Bad file descriptor") before it runs the program. Here the
parent starts a small launcher the plain way (vfork + exec); the launcher asks Linux to SIGKILL
it when the parent dies (PR_SET_PDEATHSIG, which survives `exec`) and then execs the program:

    python -I -S .../kerasadv/serving/child.py PARENT_PID PROGRAM [ARGS...]
"""

import os
import signal
import subprocess
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid):
    """In a child process: SIGKILL this process when `parent_pid` dies (Linux; elsewhere a no-op).

    Args:
        parent_pid: the pid of the process that started this one.

    Raises:
        SystemExit: the parent died before the request took effect.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: children may outlive a killed parent
        return
    if os.getppid() != parent_pid:  # the parent died before prctl: nobody waits for this process
        raise SystemExit(1)


def run(args, **kwargs):
    """`subprocess.run(args, **kwargs)` whose process is killed when this process dies.

    Example:
    >>> run([sys.executable, "-c", "print('hello')"], capture_output=True, text=True).stdout
    'hello\\n'
    """
    return subprocess.run(launcher(args), **kwargs)


def popen(args, **kwargs):
    """`subprocess.Popen(args, **kwargs)` whose process is killed when this process dies."""
    return subprocess.Popen(launcher(args), **kwargs)


def launcher(args):
    """The command line that runs `args` through this file's launcher (see the module docstring)."""
    # By path, isolated and without site: the launcher imports nothing of kerasadv (whose
    # serving package imports TensorFlow: seconds per child) and starts in milliseconds.
    return [sys.executable, "-I", "-S", os.path.abspath(__file__), str(os.getpid()), *args]


if __name__ == "__main__":
    die_with_parent(int(sys.argv[1]))
    os.execvp(sys.argv[2], sys.argv[2:])
