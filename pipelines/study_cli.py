"""The study pipelines' shared command line: the flags every study takes, and a run to its printed report.

A study's pipeline module (`pipelines/<study>/pipeline.py`) runs from this command line when it has

- `create_pipeline(source, profile, pipeline_root, *options, dtype_policy="auto", seed=0, rerun=(), enable_cache=True)`:
  the study's `Pipeline`, built and not run, whose report is a `StudyReport`, for a
  `kerasadv.data` source, a profile name, the root its artifacts and metadata go to, the
  study's own options, the seed of every component, the ids to re-run with what follows them
  (`Pipeline`'s `rerun`) and `enable_cache=False` to re-run everything;
- `PROFILES` (by name) and `PROFILE_HELP` (what a profile sets);
- `HEADING`: what the printed heading calls the study;
- optionally `define_flags()`, which defines the study's own flags and returns their names
  (their values are passed to `create_pipeline` as `options`, in that order).

Its package's name names the default `--pipeline_root`, and its `__main__.py` is one call:

    from kerasadv.pipelines import study_cli
    from kerasadv.pipelines.toggle_activity_study import pipeline

    if __name__ == "__main__":
        study_cli.main(pipeline)
"""

import os
import time

from absl import app, flags

from kerasadv.components.study_report import StudyReport
from kerasadv.orchestration import filesystem
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
    flags.DEFINE_list("rerun", [], "Component ids to re-run even when cached, with everything downstream.")
    flags.DEFINE_integer("seed", 0, "Random seed.")
    flags.DEFINE_enum(
        "dtype_policy",
        "auto",
        ["auto", "float32", "mixed_bfloat16"],
        "Training precision of the study's models (auto: bfloat16 where the hardware has bfloat16 units and the "
        "model family is measured faster in it).",
    )


def run_options():
    """The parsed common flags as `create_pipeline` keyword arguments (dtype_policy, seed, rerun, enable_cache)."""
    return {
        "dtype_policy": FLAGS.dtype_policy,
        "seed": FLAGS.seed,
        "rerun": FLAGS.rerun,
        "enable_cache": not FLAGS.no_cache,
    }


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


def print_report(report, heading):
    """Prints a study's `heading`, its report.md and where report.html is (the pipelines' last words)."""
    print(f"\n{heading}")
    print(filesystem.read_text(report.path("report.md")))
    print(f"report: {report.path('report.html')}")


def run_study(study, options=()):
    """Builds the study's pipeline from the parsed flags, runs it and prints its report with the wall time.

    Args:
        study: the study's pipeline module (see the module docstring).
        options: the names of the study's own flags, passed to its `create_pipeline`.

    Returns:
        The pipeline's run result.

    Raises:
        app.UsageError: no data given (`study_source`).
    """
    source = study_source()
    start = time.perf_counter()
    values = [FLAGS[name].value for name in options]
    pipeline = study.create_pipeline(source, FLAGS.profile, FLAGS.pipeline_root, *values, **run_options())
    result = pipeline.run()
    seconds = time.perf_counter() - start
    (report,) = [c.id for c in pipeline.components if isinstance(c, StudyReport)]
    heading = f"{study.HEADING} on {source} (profile {FLAGS.profile}) in {seconds:.1f} s"
    print_report(result.outputs[report]["report"], heading)
    return result


def main(study):
    """Runs a study's pipeline module as an absl app: defines its flags, parses the command line, runs it."""
    define_common_flags(study.__name__.rsplit(".", 2)[-2], study.PROFILES, study.PROFILE_HELP)
    options = study.define_flags() if hasattr(study, "define_flags") else ()

    def study_main(argv):
        del argv
        run_study(study, options)  # nothing returned: absl.app.run exits with main's return value

    app.run(study_main)
