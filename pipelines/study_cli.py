"""The study pipelines' shared command line: the flags every study takes, and a run to its printed report.

A study module defines its own flags beside these and calls `run_study` from its `main`:

    def main(argv):
        del argv
        study_cli.run_study(
            lambda source: create_pipeline(source, FLAGS.profile, FLAGS.pipeline_root, **study_cli.run_options()),
            "ToggleStudyReport",
            "toggle-activity study",
        )
"""

import os
import time

from absl import app, flags

from kerasadv.components.study_report import print_report
from kerasadv.pipelines.quickstart import default_source

FLAGS = flags.FLAGS


def define_common_flags(name, profiles, profile_help):
    """Defines --data, --profile (default "quick"), --pipeline_root, --no_cache, --rerun and --seed.

    Args:
        name: the study's name; artifacts go to `pipeline_root/<name>` by default.
        profiles: the study's profile names.
        profile_help: what a profile sets (data sizes, epochs, ...).
    """
    flags.DEFINE_string("data", None, "kerasadv.data source (default: tar:$KERASADV_CIFAR10_TAR).")
    flags.DEFINE_enum("profile", "quick", list(profiles), profile_help)
    flags.DEFINE_string("pipeline_root", f"pipeline_root/{name}", "Artifacts and metadata go here.")
    flags.DEFINE_bool("no_cache", False, "Re-run every component.")
    flags.DEFINE_list("rerun", [], "Component ids to re-run even when cached.")
    flags.DEFINE_integer("seed", 0, "Random seed.")


def run_options():
    """The parsed common flags as `create_pipeline` keyword arguments: `seed`, `rerun`, `enable_cache`."""
    return {"seed": FLAGS.seed, "rerun": FLAGS.rerun, "enable_cache": not FLAGS.no_cache}


def study_source():
    """--data, else the CIFAR-10 archive at $KERASADV_CIFAR10_TAR (the papers' data set).

    Raises:
        app.UsageError: neither is given (a study does not silently switch to another data set).
    """
    source = FLAGS.data or default_source()
    if source == "fashion_mnist" and not FLAGS.data:  # the quick start's fallback, not a study's
        raise app.UsageError(
            "the study reproduces a CIFAR-10 paper: set KERASADV_CIFAR10_TAR to the CIFAR-10 archive "
            f"(got {os.environ.get('KERASADV_CIFAR10_TAR', '')!r}) or pass --data "
            "(e.g. --data tar:../shared/data/cifar10-jpeg.tar.gz)"
        )
    return source


def run_study(build, report_id, title):
    """Builds the study's pipeline on --data, runs it and prints its report with the wall time.

    Args:
        build: `source -> Pipeline` (the study's `create_pipeline` with its flags).
        report_id: component id of the study's report.
        title: what the heading calls the study.

    Returns:
        The pipeline's run result.

    Raises:
        app.UsageError: no data given (`study_source`).
    """
    source = study_source()
    start = time.perf_counter()
    result = build(source).run()
    seconds = time.perf_counter() - start
    print_report(
        result.outputs[report_id]["report"], f"{title} on {source} (profile {FLAGS.profile}) in {seconds:.1f} s"
    )
    return result
