"""`Pipeline(..., rerun=[ids])`: the runner re-runs the named components and everything downstream."""

import os
import sys
import time

import pytest

from kerasadv.orchestration import SpecError

sys.path.insert(0, os.path.dirname(__file__))
from pipeline_helpers import chain  # noqa: E402


def states(result):
    return dict(zip(result.summary.component, result.summary.state))


def test_rerun_runs_the_component_and_its_descendants_only(tmp_path):
    chain(tmp_path).run(progress=False)
    assert states(chain(tmp_path, rerun=["b"]).run(progress=False)) == {
        "a": "cached",
        "d": "cached",
        "b": "complete",
        "c": "complete",
    }


def test_rerun_of_the_first_component_runs_everything(tmp_path):
    chain(tmp_path).run(progress=False)
    assert set(states(chain(tmp_path, rerun=["a"]).run(progress=False)).values()) == {"complete"}


def test_rerun_of_a_leaf_and_a_single_id_string(tmp_path):
    chain(tmp_path).run(progress=False)
    assert states(chain(tmp_path, rerun="d").run(progress=False)) == {
        "a": "cached",
        "d": "complete",
        "b": "cached",
        "c": "cached",
    }


def test_downstream_of_a_rerun_reads_the_new_outputs(tmp_path):
    first = chain(tmp_path).run(progress=False)
    again = chain(tmp_path, rerun=["b"]).run(progress=False)
    b_new = again.outputs["b"]["examples"]
    assert b_new.id != first.outputs["b"]["examples"].id
    (c_step,) = [s for s in again.store.lineage(again.outputs["c"]["examples"].id) if s["component"] == "c"]
    assert c_step["inputs"] == {"examples": f"Examples#{b_new.id}"}  # lineage: c was made from the new b


def test_unknown_rerun_id_is_a_spec_error_naming_the_known_ids_before_anything_runs(tmp_path):
    start = time.perf_counter()
    with pytest.raises(
        SpecError, match=r"unknown component id\(s\) \['Trainer'\]; expected ids among \['a', 'd', 'b', 'c'\]"
    ):
        chain(tmp_path, rerun=["b", "Trainer"])
    assert time.perf_counter() - start < 1.0
    assert not os.listdir(tmp_path)  # nothing ran, nothing written


def test_a_component_enable_cache_false_still_reruns_it_alone(tmp_path):
    chain(tmp_path).run(progress=False)
    pipeline = chain(tmp_path)
    pipeline.components[[c.id for c in pipeline.components].index("b")].enable_cache = False
    assert states(pipeline.run(progress=False)) == {"a": "cached", "d": "cached", "b": "complete", "c": "cached"}
