"""A quiet console for the pipelines: their progress and results, not TensorFlow's start-up chatter.

TensorFlow 2.21 writes C++ lines when it is loaded (absl's "before InitializeLog" notice,
oneDNN's, the CPU-feature guard's), some of them before it reads `TF_CPP_MIN_LOG_LEVEL`, and
Python warnings (`tf.function` retracing, deprecations) through its logger. A pipeline run
prints what the user asked for: `quiet` loads TensorFlow with those known start-up lines
filtered out of stderr (anything else it writes still shows), sets the C++ level to fatal
errors only (failures still raise Python exceptions) and the `tensorflow`, `absl` and `keras`
loggers to errors. `--verbose` keeps everything.
"""

import contextlib
import importlib
import logging
import os
import sys
import tempfile

from absl import app
from absl import logging as absl_logging

VERBOSE_FLAG = "--verbose"
START_UP_NOISE = (
    "All log messages before absl::InitializeLog() is called",
    "oneDNN custom operations are on",
    "cpu_feature_guard.cc",
    "To enable the following instructions",
)
"""Fragments of the start-up lines `quiet` drops; any other line TensorFlow writes is kept."""


def quiet_unless_verbose(argv):
    """Quiets the console (`quiet`) unless `--verbose` is among `argv`.

    Args:
        argv: the command line (`sys.argv`).

    Returns:
        True when the console was made quiet.

    Example:
    >>> quiet_unless_verbose(["quickstart", "--verbose"])
    False
    """
    if VERBOSE_FLAG in argv or f"{VERBOSE_FLAG}=true" in argv:
        return False
    quiet()
    return True


def quiet():
    """Loads TensorFlow without its start-up lines; its C++ logs and Python loggers to errors.

    A user's own `TF_CPP_MIN_LOG_LEVEL` is kept. Called after TensorFlow is loaded, only the
    logger levels change.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" not in sys.modules:
        with filtered_stderr(START_UP_NOISE):
            importlib.import_module("tensorflow")
    _errors_only()
    app.call_after_init(_errors_only)  # absl.app.run sets the log levels again from --verbosity


def _errors_only():
    """absl's verbosity and the `tensorflow` and `keras` loggers to errors.

    TensorFlow's SavedModel code logs through absl, and saves and restores absl's verbosity
    (not the logger's level) around some steps: the verbosity itself is set.
    """
    absl_logging.set_verbosity(absl_logging.ERROR)
    for name in ("tensorflow", "keras"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextlib.contextmanager
def filtered_stderr(fragments):
    """Captures what is written to file descriptor 2 (C++ included) and replays the lines without `fragments`.

    Args:
        fragments: strings; a line containing one of them is dropped.

    Example:
    >>> with filtered_stderr(["noise"]):
    ...     _ = os.write(2, b"noise from C++\\n")
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode(errors="replace").splitlines(keepends=True):
                if not any(fragment in line for fragment in fragments):
                    sys.stderr.write(line)
