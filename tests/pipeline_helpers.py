"""Toy components for orchestration tests: fast, deterministic, and able to hang on demand."""

import os
import time

from kerasadv.orchestration import BaseComponent, BaseExecutor, ComponentSpec, Input, Parameter, writer


class WriteExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        out = output_dict["examples"]
        with open(out.path("partial.txt"), "w") as f:
            f.write("started")
        time.sleep(float(os.environ.get("KERASADV_TEST_SLOW", "0")))  # seconds per step: runs overlap
        if os.environ.get("KERASADV_TEST_HANG") == exec_properties["name"]:
            time.sleep(600)  # killed from outside while its output is half written
        upstream = ""
        if "examples" in input_dict:
            with open(input_dict["examples"].path("value.txt")) as f:
                upstream = f.read()
        writer.write_json({"n": exec_properties["n"]}, out.path("params.json"))
        with open(out.path("value.txt"), "w") as f:
            f.write(upstream + f"{exec_properties['name']}={exec_properties['n']};")
        out.properties["n"] = exec_properties["n"]


class Step(BaseComponent):
    SPEC = ComponentSpec(
        inputs={"examples": Input("Examples", optional=True)},
        outputs={"examples": "Examples"},
        parameters={"name": Parameter(str), "n": Parameter(int, 1), "rate": Parameter(float, 0.5)},
    )
    EXECUTOR = WriteExecutor


def chain(root, n_a=1, n_b=1, n_c=1, **pipeline_options):
    """a -> b -> c, and d from a (a diamond-free fork); `pipeline_options` go to `Pipeline`."""
    from kerasadv.orchestration import Pipeline

    a = Step(component_id="a", name="a", n=n_a)
    b = Step(component_id="b", name="b", n=n_b, examples=a.outputs["examples"])
    c = Step(component_id="c", name="c", n=n_c, examples=b.outputs["examples"])
    d = Step(component_id="d", name="d", examples=a.outputs["examples"])
    return Pipeline("toy", root, [d, c, b, a], **pipeline_options)


def workers_shared_root(tmp_path_factory, name):
    """A folder `name` that every pytest-xdist worker of this session shares (this session's own without xdist).

    With `--dist worksteal` the tests of one module can run on both workers, and each worker would
    compute the module's fixtures: a study pipeline under a shared root runs once, the other worker
    waiting for the root's lock (`run_ci_study`) and finding every component cached.
    """
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / name


def run_ci_study(study, cifar_tar, root, **options):
    """A study package's `ci` pipeline on real CIFAR-10 under `root`, and its run: `(pipeline, result)`.

    A run waits up to 30 minutes for another process's run on the same root (`workers_shared_root`) to finish.
    """
    pipeline = study.create_pipeline(f"tar:{cifar_tar}", "ci", str(root), **options)
    pipeline.lock_timeout = 1800.0
    return pipeline, pipeline.run(progress=False)


RAN = ({"complete"}, {"cached"})
"""The states of a shared study run: every component ran, or (the other worker ran them) every one was cached."""


def study_report(result):
    """The Report artifact of a study run (its one output named "report")."""
    (report,) = [outputs["report"] for outputs in result.outputs.values() if "report" in outputs]
    return report


def report_table(result, name):
    """A CSV table (`name`) of a study run's report."""
    import pandas as pd

    return pd.read_csv(study_report(result).path(name))


def report_page(result):
    """The report.html text of a study run."""
    with open(study_report(result).path("report.html")) as f:
        return f.read()


def paper_comparison(result, study):
    """The run's "ours beside the paper" table, checked to hold every paper row of the study package in order."""
    comparison = report_table(result, "paper_comparison.csv")
    assert list(comparison.columns) == ["finding", "paper", "ours"]
    assert comparison.finding.tolist() == [row["finding"] for row in study.PAPER]
    return comparison
