"""Toy components for orchestration tests: fast, deterministic, and able to hang on demand."""

import os
import time

from kerasadv import io
from kerasadv.orchestration import BaseComponent, ComponentSpec, Input, Parameter


class WriteExecutor:
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
        io.write_json({"n": exec_properties["n"]}, out.path("params.json"))
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


def chain(root, n_a=1, n_b=1, n_c=1):
    """a -> b -> c, and d from a (a diamond-free fork)."""
    from kerasadv.orchestration import Pipeline

    a = Step(component_id="a", name="a", n=n_a)
    b = Step(component_id="b", name="b", n=n_b, examples=a.outputs["examples"])
    c = Step(component_id="c", name="c", n=n_c, examples=b.outputs["examples"])
    d = Step(component_id="d", name="d", examples=a.outputs["examples"])
    return Pipeline("toy", root, [d, c, b, a])
