import json
import os

import keras
import numpy as np
import pytest

from components import pusher
from components.pusher import PusherExecutor
from kerasadv import models, serving
from kerasadv.orchestration import Artifact


@pytest.fixture(scope="module")
def small_model():
    keras.utils.set_random_seed(0)
    return models.simple_cnn((16, 16, 3), 4)


def artifacts(tmp_path, model, blessed, tag):
    model_dir, blessing_dir, out_dir = (tmp_path / f"{tag}_{n}" for n in ("model", "blessing", "pushed"))
    for d in (model_dir, blessing_dir, out_dir):
        d.mkdir()
    model.save(model_dir / "model.keras")
    (blessing_dir / ("BLESSED" if blessed else "NOT_BLESSED")).touch()
    inputs = {"model": Artifact("Model", str(model_dir)), "blessing": Artifact("ModelBlessing", str(blessing_dir))}
    return inputs, {"pushed_model": Artifact("PushedModel", str(out_dir))}


def push(tmp_path, model, blessed, tag):
    inputs, outputs = artifacts(tmp_path, model, blessed, tag)
    params = {"serving_dir": str(tmp_path / "serving"), "model_name": "demo"}
    PusherExecutor().Do(inputs, outputs, params)
    with open(outputs["pushed_model"].path("push.json")) as f:
        return json.load(f)


def test_unblessed_model_is_not_pushed(tmp_path, small_model):
    record = push(tmp_path, small_model, blessed=False, tag="a")
    assert record == {"pushed": False, "reason": "model not blessed"}
    assert not (tmp_path / "serving").exists()


def test_push_versions_and_signatures_in_a_fresh_process(tmp_path, small_model, monkeypatch):
    moves = []
    real_rename = os.rename
    monkeypatch.setattr(pusher.os, "rename", lambda a, b: (moves.append(os.path.basename(b)), real_rename(a, b)))
    first = push(tmp_path, small_model, blessed=True, tag="a")
    assert first["pushed"] and first["version"] == 1 and moves[-1] == "saved_model.pb"  # pb last
    assert first["check"]["passed"] and first["check"]["serving_bytes_max_diff"] < 1e-4
    assert set(first["check"]["signatures"]) == {"serving_default", "serving_bytes"}
    version_one = tmp_path / "serving" / "demo" / "1"
    stamp = (version_one / "saved_model.pb").stat().st_mtime_ns
    second = push(tmp_path, small_model, blessed=True, tag="b")
    assert second["version"] == 2 and (version_one / "saved_model.pb").stat().st_mtime_ns == stamp
    config = (tmp_path / "serving" / "models.config").read_text()
    assert "name: 'demo'" in config and str(tmp_path / "serving" / "demo") in config
    assert not [p for p in os.listdir(tmp_path / "serving" / "demo") if p.startswith(".staging")]


def test_existing_version_is_never_overwritten(tmp_path):
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "saved_model.pb").write_text("x")
    model_dir = tmp_path / "demo"
    (model_dir / "1").mkdir(parents=True)
    (model_dir / "1" / "saved_model.pb").write_text("old")
    version, target = pusher.publish_version(str(staging), str(model_dir))
    assert version == 2 and (model_dir / "1" / "saved_model.pb").read_text() == "old"


def test_check_servable_reports_a_mismatch(tmp_path, small_model):
    serving.export_for_serving(small_model, str(tmp_path / "sm"))
    other = models.simple_cnn((16, 16, 3), 4)
    images = np.random.default_rng(0).random((3, 16, 16, 3), dtype=np.float32)
    assert serving.check_servable(str(tmp_path / "sm"), small_model, images)["passed"]
    assert not serving.check_servable(str(tmp_path / "sm"), other, images)["passed"]


@pytest.mark.slow
def test_quickstart_pipeline_end_to_end(tmp_path, cifar_tar):
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pipelines"))
    from quickstart import create_pipeline

    def build(eps=0.03):
        return create_pipeline(f"tar:{cifar_tar}", "simple_cnn", "ci", 1, "fgsm", eps, str(tmp_path / "root"),
                               str(tmp_path / "serving"), "qs")

    result = build().run(progress=False)
    assert set(result.summary.state) == {"complete"}
    pushed = result.outputs["Pusher"]["pushed_model"].properties
    report = result.outputs["Report"]["report"]
    assert os.path.isfile(report.path("report.html")) and os.path.isfile(report.path("accuracy.png"))
    if pushed["pushed"]:
        assert os.path.isfile(os.path.join(pushed["path"], "saved_model.pb"))
    again = build().run(progress=False)
    assert set(again.summary.state) == {"cached"}
    summary = build(eps=0.02).run(progress=False).summary
    changed = dict(zip(summary.component, summary.state))
    assert changed["ImageExampleGen"] == changed["BaselineTrainer"] == "cached"
    assert changed["AttackGen"] == changed["Report"] == "complete"
