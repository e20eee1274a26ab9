import json
import os
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasadv import models, serving
from kerasadv.components import pusher
from kerasadv.components.pusher import PusherExecutor
from kerasadv.orchestration import Artifact, writer


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


def push(tmp_path, model, blessed, tag, model_name="demo"):
    inputs, outputs = artifacts(tmp_path, model, blessed, tag)
    params = {"serving_dir": str(tmp_path / "serving"), "model_name": model_name}
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
    assert first["pushed"] and first["version"] == 1 and moves == ["1"]  # one atomic rename of the whole export
    assert first["check"]["passed"] and first["check"]["serving_bytes_max_diff"] < 1e-4
    assert first["check"]["rest_b64_max_diff"] < 1e-4  # the REST body {"instances": [{"image_bytes": {"b64"
    assert set(first["check"]["signatures"]) == {"serving_default", "serving_bytes"}
    version_one = tmp_path / "serving" / "demo" / "1"
    stamp = (version_one / "saved_model.pb").stat().st_mtime_ns
    second = push(tmp_path, small_model, blessed=True, tag="b")
    assert second["version"] == 2 and (version_one / "saved_model.pb").stat().st_mtime_ns == stamp
    config = (tmp_path / "serving" / "models.config").read_text()
    assert "name: 'demo'" in config and str(tmp_path / "serving" / "demo") in config
    assert not [p for p in os.listdir(tmp_path / "serving" / "demo") if p.startswith(".staging")]
    other = push(tmp_path, small_model, blessed=True, tag="c", model_name="other")
    config = (tmp_path / "serving" / "models.config").read_text()  # both models stay served
    assert other["pushed"] and "name: 'demo'" in config and "name: 'other'" in config
    assert config.count("config {") == 2
    assert (tmp_path / "serving" / "models.config").stat().st_mode & 0o044 == 0o044  # readable by others


def test_atomic_writes_get_the_umask_mode_not_0600(tmp_path):

    old = os.umask(0o022)
    try:
        writer.write_json({"a": 1}, str(tmp_path / "a.json"))
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644


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


TARGETED_L2_PGD = {
    "class_name": "PGD",
    "config": {"eps": 0.5, "norm": "l2", "steps": 5, "step_size": 0.2, "targeted": True, "target": "least_likely"},
}


@pytest.mark.slow
def test_quickstart_pipeline_end_to_end(tmp_path, cifar_tar):
    from kerasadv.data import tfrecords
    from kerasadv.orchestration import MetadataStore
    from kerasadv.orchestration.lineage import format_lineage
    from kerasadv.pipelines.quickstart import create_pipeline

    def build(attack, robust_recipe="fast"):
        attack = attack if isinstance(attack, str) else json.dumps(attack)  # as the --attack flag takes it
        return create_pipeline(
            f"tar:{cifar_tar}",
            "simple_cnn",
            "ci",
            None,
            attack,
            None,  # CIFAR-10's 8/255
            str(tmp_path / "root"),
            str(tmp_path / "serving"),
            "qs",
            robust_recipe=robust_recipe,
        )

    result = build("fgsm").run(progress=False)  # the main job: adversarial training in fit, push
    assert set(result.summary.state) == {"complete"}
    baseline = result.outputs["BaselineTrainer"]["model"].properties
    assert baseline["eval_accuracy"] > 0.2  # learned: chance is 0.1 (class-sorted data gave 0.1; AMX bfloat16 0.25)
    robust = result.outputs["RobustTrainer"]["model"].properties
    assert robust["adversarial_training"]["config"]["attack"]["config"]["eps"] == pytest.approx(8 / 255)
    blessing = result.outputs["EvaluateRetrained"]["blessing"].properties
    assert blessing["blessed"], blessing["checks"]
    metrics = {
        name: result.outputs[name]["evaluation"].properties["metrics"]
        for name in ("EvaluateBaseline", "EvaluateRetrained")
    }
    worst = {name: min(v for k, v in m.items() if k.startswith("robust_accuracy_")) for name, m in metrics.items()}
    assert worst["EvaluateRetrained"] > worst["EvaluateBaseline"] + 0.03, worst  # the pushed model is more robust
    pushed = result.outputs["Pusher"]["pushed_model"].properties
    assert pushed["pushed"] and os.path.isfile(os.path.join(pushed["path"], "saved_model.pb"))
    retrained = keras.saving.load_model(result.outputs["RobustTrainer"]["model"].path("model.keras"))
    images = next(iter(tfrecords.read_split(result.outputs["ImageExampleGen"]["examples"].uri, "eval", 8)))[0]
    check = serving.check_servable(pushed["path"], retrained, images.numpy())  # a fresh process
    assert check["passed"] and check["rest_b64_max_diff"] < 1e-4, check  # also via a REST b64 body
    assert set(build("fgsm").run(progress=False).summary.state) == {"cached"}
    generated = result.outputs["AttackGen"]["adversarial_examples"].properties["attack"]
    report = result.outputs["Report"]["report"]
    with open(report.path("report.md")) as f:  # the attack's full config reaches the report ...
        assert json.dumps(generated, sort_keys=True) in f.read()
    assert os.path.isfile(report.path("report.html")) and os.path.isfile(report.path("accuracy.png"))
    store = MetadataStore(str(tmp_path / "root" / "metadata.sqlite"))
    assert '"FGSM"' in format_lineage(store, store.latest_artifact("PushedModel"))  # ... and the lineage

    # A targeted L2 PGD config as the --attack flag gives it reaches AttackGen whole (that a changed
    # config re-runs exactly AttackGen and what follows: test_a_changed_attack_config_changes_only_its_cache_key
    # and test_orchestration; running it again here would double the test's time).
    (attack_gen,) = [c for c in build(TARGETED_L2_PGD).components if c.id == "AttackGen"]
    config = attack_gen.parameters["attack"]["config"]
    assert config["norm"] == "l2" and config["target"] == "least_likely" and config["targeted"]

    # Retraining on the fixed set of the baseline's FGSM examples is blessed by the same rule: pushed
    # exactly when its worst live robust accuracy beats the baseline's stored one (ci: margin 0).
    # A weaker candidate not pushed, with models of known robustness: tests/test_blessing.py.
    fixed = build("fgsm", robust_recipe="fixed_set").run(progress=False)
    assert dict(zip(fixed.summary.component, fixed.summary.state))["FixedSetRetrainer"] == "complete"
    fixed_metrics = fixed.outputs["EvaluateRetrained"]["evaluation"].properties["metrics"]
    fixed_worst = min(v for k, v in fixed_metrics.items() if k.startswith("robust_accuracy_"))
    blessed = fixed.outputs["EvaluateRetrained"]["blessing"].properties["blessed"]
    assert blessed == (fixed_worst > worst["EvaluateBaseline"]), (fixed_worst, worst)
    assert fixed.outputs["Pusher"]["pushed_model"].properties["pushed"] == blessed
    assert fixed_worst < worst["EvaluateRetrained"]  # training against fresh attacks did better


def test_a_changed_attack_config_changes_only_its_cache_key():
    from kerasadv.components.attack_gen import AttackGen
    from kerasadv.components.example_gen import ImageExampleGen
    from kerasadv.components.trainer import Trainer

    gen = ImageExampleGen(source="fashion_mnist")
    model = Trainer(examples=gen.outputs["examples"]).outputs["model"]
    inputs = {"model": "model-fingerprint", "examples": "examples-fingerprint"}

    def key(attack):
        return AttackGen(model=model, examples=gen.outputs["examples"], attack=attack).cache_key(inputs)

    changed = {**TARGETED_L2_PGD, "config": {**TARGETED_L2_PGD["config"], "step_size": 0.1}}
    assert key(TARGETED_L2_PGD) == key(json.dumps(TARGETED_L2_PGD))  # a dict or its JSON text: one config
    assert key(changed) != key(TARGETED_L2_PGD)
    assert key("pgd") == key({"class_name": "PGD", "config": {}})  # a name is its full default config


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead, only not yet reaped
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_failed_check_reports_the_error_and_leaves_no_process_behind(tmp_path, small_model, monkeypatch):
    tools = tmp_path / "bin"
    tools.mkdir()
    slow_cli = tools / "saved_model_cli"  # a stand-in that would describe the model for a minute
    slow_cli.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(60)\n")
    slow_cli.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    empty = tmp_path / "not_a_saved_model"
    empty.mkdir()
    start = time.monotonic()
    result = serving.check_servable(str(empty), small_model, np.zeros((2, 16, 16, 3), np.float32))
    assert not result["passed"] and "SavedModel" in result["error"], result
    assert time.monotonic() - start < 50  # did not wait for the description
    running = []  # the stand-in started beside the check: killed once the check failed
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                running += [pid] if str(slow_cli).encode() in f.read() and _alive(int(pid)) else []
        except OSError:  # ended meanwhile
            pass
    assert running == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_checks_child_process_dies_with_its_parent(tmp_path):
    pid_file = tmp_path / "pid"
    sleeper = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(120)"
    starter = f"import sys; from kerasadv.serving import child; child.run([sys.executable, '-c', {sleeper!r}])"
    parent = subprocess.Popen([sys.executable, "-c", starter])
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    grandchild = int(pid_file.read_text())
    assert _alive(grandchild)
    parent.kill()  # as a SIGKILLed Pusher
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(grandchild)


def test_a_size_agnostic_model_exports_at_the_examples_size(tmp_path):
    from kerasadv.errors import ModelError

    inputs = keras.Input((None, None, 3))
    outputs = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs)))
    model = keras.Model(inputs, outputs)
    with pytest.raises(ModelError, match=r"leaves sizes open .* Give the Pusher its examples"):
        serving.export_for_serving(model, str(tmp_path / "open"))  # was: "subclassed? Build it with keras.Input"
    with pytest.raises(ModelError, match="contradicts"):
        serving.export_for_serving(model, str(tmp_path / "bad"), (8, 8, 1))
    directory = serving.export_for_serving(model, str(tmp_path / "sized"), (8, 8, 3))
    images = np.random.default_rng(0).random((2, 8, 8, 3), np.float32)
    served = tf.saved_model.load(directory).signatures["serving_default"](images=tf.constant(images))
    np.testing.assert_allclose(served["probabilities"].numpy(), tf.nn.softmax(model(images)).numpy(), atol=1e-5)
