"""`BaseExecutor`: what a component's executor is given, as in TFX's `BaseExecutor.Do`."""

RESUME_FOLDER = "backup"
"""The folder of an output's staging directory where an executor may save its progress.

If the run is killed (or interrupted with Ctrl-C), the next execution of the same work (same
cache key) finds it in its output's `uri` and resumes; everything else the killed execution
wrote is removed. `kerasadv.training.fit_classifier` keeps its `BackupAndRestore` state there.
"""


class BaseExecutor:
    """The work of a component: subclasses implement `Do`, which the runner calls once per execution.

    `Do` receives three dictionaries, as TFX's executors do:

    - `input_dict`: `{input name: Artifact}`, the artifacts the component's inputs point to,
      already written and recorded by their producers (read them, never write them). An
      optional input the pipeline left out is absent.
    - `output_dict`: `{output name: Artifact}`, one artifact per output of the spec. Each
      `uri` is a staging directory that becomes the artifact only if `Do` returns: write
      everything there (through `kerasadv.orchestration.writer`), and set `artifact.properties` for what a
      downstream component or the lineage needs to read without opening files.
    - `exec_properties`: `{parameter name: value}`, the component's parameters, already
      checked against the spec (types, ranges, defaults filled in).

    Raising from `Do` fails the execution: nothing it wrote is kept and the next run re-runs it.
    A killed run (SIGKILL, power loss) keeps one thing: the `RESUME_FOLDER` of each staging
    directory, which the next execution of the same work finds in its `uri` (remove it before
    returning: it is not part of the artifact).

    Example:
    >>> class CountExecutor(BaseExecutor):
    ...     def Do(self, input_dict, output_dict, exec_properties):
    ...         output(output_dict).properties["count"] = exec_properties["count"]
    >>> from kerasadv.orchestration.artifacts import Artifact
    >>> outputs = {"analysis": Artifact("Report", "/tmp/kerasadv-doc-count")}
    >>> CountExecutor().Do({}, outputs, {"count": 3})
    >>> outputs["analysis"].properties
    {'count': 3}
    """

    def Do(self, input_dict, output_dict, exec_properties):
        """Runs the component.

        Args:
            input_dict: `{input name: Artifact}` of the inputs given to the component.
            output_dict: `{output name: Artifact}` to write, in staging directories.
            exec_properties: `{parameter name: value}`, checked against the spec.

        Raises:
            NotImplementedError: a subclass must implement it.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement Do(input_dict, output_dict, exec_properties).")


def output(output_dict):
    """The only output artifact of a component that has one.

    Args:
        output_dict: the `output_dict` given to `Do`.

    Returns:
        The single `Artifact` in it.

    Raises:
        ValueError: the component has no output or several (name the one you mean).
    """
    if len(output_dict) != 1:
        raise ValueError(f"expected one output, got {sorted(output_dict)}: index output_dict by name.")
    return next(iter(output_dict.values()))
