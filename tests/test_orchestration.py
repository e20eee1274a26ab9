import os
import signal
import subprocess
import sys
import time

import pytest

from kerasadv.errors import StorageError
from kerasadv.orchestration import MetadataStore, Pipeline, SpecError
from kerasadv.orchestration.lineage import format_lineage
from kerasadv.orchestration.lock import LockedError

sys.path.insert(0, os.path.dirname(__file__))
from pipeline_helpers import Step, chain  # noqa: E402


def states(result):
    return dict(zip(result.summary.component, result.summary.state))


def test_spec_errors_are_raised_before_anything_runs(tmp_path):
    with pytest.raises(SpecError, match=r"unknown argument\(s\) \['epochz'\]"):
        Step(name="a", epochz=3)
    with pytest.raises(SpecError, match=r"parameter 'n' must be int, got '3' \(str\)"):
        Step(name="a", n="3")
    with pytest.raises(SpecError, match="missing required parameter 'name'"):
        Step()
    from kerasadv.components.trainer import Trainer

    with pytest.raises(SpecError, match="missing input 'examples'"):
        Trainer(model="simple_cnn")
    with pytest.raises(SpecError, match="must be a Examples channel"):
        Trainer(examples="data/train")
    a = Step(name="a")
    with pytest.raises(SpecError, match="not in the pipeline"):
        Pipeline("p", tmp_path, [Step(component_id="b", name="b", examples=a.outputs["examples"])])
    assert not os.listdir(tmp_path)  # nothing ran, nothing written


def test_ints_are_accepted_for_float_parameters():
    assert Step(name="a", rate=1).parameters["rate"] == 1.0


def test_outputs_flow_and_order_follows_dependencies(tmp_path):
    result = chain(tmp_path).run(progress=False)
    assert list(result.summary.component) == ["a", "d", "b", "c"]
    with open(result.outputs["c"]["examples"].path("value.txt")) as f:
        assert f.read() == "a=1;b=1;c=1;"
    assert result.outputs["c"]["examples"].uri == os.path.join(str(tmp_path), "c", "examples", "4")


def test_second_run_executes_nothing(tmp_path):
    chain(tmp_path).run(progress=False)
    assert set(states(chain(tmp_path).run(progress=False)).values()) == {"cached"}


def test_changed_parameter_reruns_exactly_the_downstream_set(tmp_path):
    chain(tmp_path).run(progress=False)
    assert states(chain(tmp_path, n_b=2).run(progress=False)) == {
        "a": "cached",
        "d": "cached",
        "b": "complete",
        "c": "complete",
    }
    assert states(chain(tmp_path, n_a=5).run(progress=False)) == {
        "a": "complete",
        "d": "complete",
        "b": "complete",
        "c": "complete",
    }


def test_no_cache_reruns_everything(tmp_path):
    chain(tmp_path).run(progress=False)
    pipeline = chain(tmp_path)
    pipeline.enable_cache = False
    assert set(states(pipeline.run(progress=False)).values()) == {"complete"}


def test_per_component_cache_override(tmp_path):
    chain(tmp_path).run(progress=False)
    pipeline = chain(tmp_path)
    pipeline.components[[c.id for c in pipeline.components].index("b")].enable_cache = False
    assert states(pipeline.run(progress=False))["b"] == "complete"


def test_sigkill_mid_component_leaves_nothing_and_rerun_completes(tmp_path):
    script = (
        f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r});"
        f"from pipeline_helpers import chain; chain({str(tmp_path)!r}).run(progress=False)"
    )
    env = {**os.environ, "KERASADV_TEST_HANG": "b"}
    process = subprocess.Popen([sys.executable, "-c", script], env=env)
    staging = tmp_path / "b" / "examples"
    deadline = time.time() + 120
    while not any((p / "partial.txt").exists() for p in staging.glob(".staging-*")) if staging.exists() else True:
        assert time.time() < deadline and process.poll() is None
        time.sleep(0.1)
    # A second run on the same root is refused while the first is live; its staging survives.
    with pytest.raises(LockedError, match=r"pipeline root .* is in use by another process \(pid"):
        chain(tmp_path).run(progress=False)
    assert list(staging.glob(".staging-*"))
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not [p for p in staging.iterdir() if not p.name.startswith(".staging")]  # nothing published
    store = MetadataStore(str(tmp_path / "metadata.sqlite"))
    assert store.db.execute("SELECT state FROM executions WHERE component_id = 'b'").fetchall() == [("running",)]
    result = chain(tmp_path).run(progress=False)  # the kill released the lock
    assert states(result) == {"a": "cached", "d": "cached", "b": "complete", "c": "complete"}
    assert not list(staging.glob(".staging-*"))
    assert store.db.execute("SELECT state FROM executions WHERE component_id = 'b' ORDER BY id").fetchall() == [
        ("abandoned",),
        ("complete",),
    ]
    assert store.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_changed_or_deleted_artifact_is_not_served_from_cache(tmp_path):
    first = chain(tmp_path).run(progress=False)
    with open(first.outputs["b"]["examples"].path("value.txt"), "a") as f:
        f.write("tampered")  # e.g. a truncated or rewritten shard
    result = chain(tmp_path).run(progress=False)  # b is rebuilt (same key: c's own output stays valid)
    assert states(result) == {"a": "cached", "d": "cached", "b": "complete", "c": "cached"}
    assert "changed since it was written" in result.store.cache_misses[0]
    import shutil

    shutil.rmtree(result.outputs["c"]["examples"].uri)
    assert states(chain(tmp_path).run(progress=False))["c"] == "complete"


def test_failed_component_publishes_nothing(tmp_path, monkeypatch):
    from pipeline_helpers import WriteExecutor

    def crash(self, input_dict, output_dict, exec_properties):
        raise RuntimeError("boom")

    monkeypatch.setattr(WriteExecutor, "Do", crash)
    with pytest.raises(RuntimeError):
        chain(tmp_path).run(progress=False)
    assert os.listdir(tmp_path / "a" / "examples") == []


def test_lineage_query(tmp_path):
    result = chain(tmp_path, n_b=7).run(progress=False)
    store, artifact = result.store, result.outputs["c"]["examples"]
    steps = store.lineage(artifact.id)
    assert [s["component"] for s in steps] == ["c", "b", "a"]
    assert steps[1]["parameters"]["n"] == 7 and steps[0]["inputs"] == {"examples": f"Examples#{artifact.id - 1}"}
    assert "b (Step" in format_lineage(store, artifact.id)


def test_artifacts_pointing_outside_the_root_are_refused(tmp_path):
    chain(tmp_path / "root").run(progress=False)
    store = MetadataStore(str(tmp_path / "root" / "metadata.sqlite"))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    store.db.execute("UPDATE artifacts SET uri = ?, manifest = '{}' WHERE id = 1", (str(outside),))
    with pytest.raises(SpecError, match="points outside the pipeline root"):
        chain(tmp_path / "root").run(progress=False)


def test_an_output_of_an_unknown_artifact_type_is_a_spec_error():
    from kerasadv.orchestration import BaseComponent, ComponentSpec

    class Broken(BaseComponent):
        SPEC = ComponentSpec(inputs={}, outputs={"out": "Modle"}, parameters={})

    with pytest.raises(SpecError, match=r"output 'out' has type 'Modle'; expected one of \[.*'Model'"):
        Broken()


def test_code_modules_are_part_of_the_cache_key():
    import types

    from kerasadv.orchestration import BaseComponent

    class Plain(BaseComponent):
        pass

    class WithLibrary(Plain):
        CODE_MODULES = (types,)

    assert WithLibrary().code_fingerprint() != Plain().code_fingerprint()


def test_a_deleted_metadata_store_does_not_make_new_runs_collide_with_old_folders(tmp_path):
    first = chain(tmp_path).run(progress=False)
    old = first.outputs["c"]["examples"].uri
    os.remove(os.path.join(tmp_path, "metadata.sqlite"))  # what the corrupt-store error advises
    second = chain(tmp_path).run(progress=False)  # was: OSError: Directory not empty: .staging-1 -> 1
    assert set(states(second).values()) == {"complete"}
    new = second.outputs["c"]["examples"].uri
    assert new != old and os.path.isdir(old)  # the old folders are left as they were
    with open(os.path.join(new, "value.txt")) as f:
        assert f.read() == "a=1;b=1;c=1;"


def test_lineage_of_a_missing_artifact_is_an_error_not_an_empty_lineage(tmp_path):
    result = chain(tmp_path, n_b=7).run(progress=False)
    with pytest.raises(StorageError, match="No artifact #999 is recorded"):
        format_lineage(result.store, 999)


def test_a_pipeline_root_that_cannot_be_created_is_named_before_anything_runs(tmp_path):
    (tmp_path / "a_file").write_text("not a directory")
    with pytest.raises(StorageError, match=r"pipeline root .*a_file/root.* cannot be written"):
        chain(tmp_path / "a_file" / "root").run(progress=False)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_pipeline_root_is_named_before_anything_runs(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    root.chmod(0o555)
    try:
        with pytest.raises(StorageError, match="pipeline root .* cannot be written"):
            chain(root).run(progress=False)
    finally:
        root.chmod(0o755)
