"""The pipelines' console: progress and results, TensorFlow's start-up lines only with --verbose."""

import os
import subprocess
import sys

from kerasadv.pipelines import console

NOISE = "oneDNN custom operations"


def _help(*flags):
    command = [sys.executable, "-m", "kerasadv.pipelines.quickstart", "--helpfull", *flags]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"},
    )


def test_a_pipeline_hides_tensorflow_start_up_lines_unless_verbose():
    quiet, verbose = _help(), _help("--verbose")
    assert "Quick start pipeline" in quiet.stdout, quiet.stderr  # absl exits 1 after --helpfull
    assert NOISE not in quiet.stdout + quiet.stderr
    assert "absl::InitializeLog" not in quiet.stderr
    assert NOISE in verbose.stderr  # --verbose brings them back (TensorFlow 2.21 prints it at load)


def test_filtered_stderr_keeps_every_other_line(capfd):
    with console.filtered_stderr(["drop me"]):
        os.write(2, b"drop me: C++ start-up\nkeep me: a real error\n")
    assert capfd.readouterr().err == "keep me: a real error\n"


def test_verbose_keeps_the_console_as_it_is():
    assert console.quiet_unless_verbose(["quickstart", "--verbose"]) is False
