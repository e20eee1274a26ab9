"""The pipelines: the quick start and the study pipelines, each an absl app (`python -m kerasadv.pipelines.<name>`).

Run as a program, a pipeline prints its progress and results only: TensorFlow's C++
start-up lines and its logger's warnings are hidden unless `--verbose` is given (the level
must be set before TensorFlow is imported, which is why it happens here).
"""

import os
import sys

from absl import flags

from kerasadv.pipelines import console


def _run_as_a_program(argv):
    """True for `python -m kerasadv.pipelines...`, `python pipelines/...` and the `kerasadv-*` scripts."""
    if not argv:
        return False
    program = os.path.abspath(argv[0])
    return argv[0] == "-m" or os.path.basename(program).startswith("kerasadv-") or program.startswith(_HERE)


_HERE = os.path.dirname(os.path.abspath(__file__))
if _run_as_a_program(sys.argv):
    console.quiet_unless_verbose(sys.argv)

flags.DEFINE_bool("verbose", False, "Show TensorFlow's start-up logs and warnings (hidden by default).")
