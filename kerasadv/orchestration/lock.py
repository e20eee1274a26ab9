"""An exclusive lock on a directory (`fcntl.flock`), released by the OS when its process dies.

Two runs on one pipeline root would delete each other's staging directories and interleave
their writes to the metadata store; two Pushers into one serving directory could take the
same version number. Both hold this lock while they work; a SIGKILL releases it.

`fcntl` locks need a local disk: a root or serving directory on object storage (`gs://...`)
is locked in its local state directory (`filesystem.local_state_dir`), which guards the runs
launched from this machine, not from others.
"""

import contextlib
import fcntl
import os
import time

from kerasadv.errors import KerasAdvError, StorageError
from kerasadv.orchestration import filesystem


class LockedError(KerasAdvError):
    """Another process holds the lock of a pipeline root or serving directory."""


@contextlib.contextmanager
def directory_lock(directory, what, timeout=0.0):
    """Holds `<directory>/.lock` exclusively for the `with` block.

    Args:
        directory: the local directory to lock (created when missing).
        what: what is locked, for the error message ("pipeline root").
        timeout: seconds to wait for another holder before giving up (0: refuse at once).

    Raises:
        LockedError: the lock is still held by another process after `timeout`.
        StorageError: `directory` is a URL (lock its `filesystem.local_state_dir` instead).

    Example:
    >>> import tempfile
    >>> with directory_lock(tempfile.mkdtemp(), "demo"):
    ...     pass
    """
    if filesystem.is_remote(directory):
        raise StorageError(
            f"Cannot lock {directory!r}: fcntl locks need a local directory; lock "
            "filesystem.local_state_dir(directory) instead."
        )
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, ".lock")
    handle = open(path, "a+")
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    raise LockedError(
                        f"The {what} {directory} is in use by another process ({holder}); wait for it to "
                        f"finish or use another directory."
                    ) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the flock
