"""Crash and concurrency matrix: SIGKILL at component boundaries and in the middle of writing each
artifact kind, a full disk, and two runs / two Pushers at once. Nothing half-written is ever
consumed or served, and a re-run resumes."""

import errno
import glob
import json
import os
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from crash_helpers import crash_pipeline
from pipeline_helpers import chain

from kerasadv.errors import StorageError
from kerasadv.orchestration import MetadataStore, writer

HERE = os.path.dirname(os.path.abspath(__file__))
# (crash point, component re-executed there): the matrix, in the order it runs on one root.
CRASH_POINTS = [
    ("mid:examples", "ImageExampleGen"),
    ("after:ImageExampleGen", "ImageExampleGen"),
    ("mid:model", "Trainer"),
    ("unrecorded:Trainer", "Trainer"),
    ("mid:adversarial_examples", "AttackGen"),
    ("after:AttackGen", "AttackGen"),
    ("mid:evaluation", "Evaluator"),
    ("mid:pushed_model_export", "Pusher"),
    ("mid:pushed_model_publish", "Pusher"),
]  # after:Pusher is left out: the same boundary as after:AttackGen, 40 s of CI for a second export


@pytest.fixture(scope="module")
def shared_root(tmp_path_factory, cifar_npz):
    """A root where the pipeline ran once, cleanly: the reference every crash is compared with."""
    base = tmp_path_factory.mktemp("crash")
    paths = {"root": str(base / "root"), "serving": str(base / "serving"), "source": cifar_npz}
    reference = crash_pipeline(paths["root"], cifar_npz, paths["serving"]).run(progress=False)
    paths["reference"] = {cid: _content(cid, outs) for cid, outs in reference.outputs.items()}
    return paths


def _shard_hashes(uri):

    return [writer.sha256_file(p) for p in sorted(glob.glob(os.path.join(uri, "*.tfrecord")))]


def _content(component_id, outputs):
    """What a re-executed component must reproduce exactly (the pipeline is seeded)."""
    from kerasadv import io

    if component_id in ("ImageExampleGen", "AttackGen"):
        return _shard_hashes(next(iter(outputs.values())).uri)
    if component_id == "Trainer":
        model = io.load_model(outputs["model"].path("model.keras"))
        images = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
        return np.asarray(model(images, training=False)).round(5).tolist()
    if component_id == "Evaluator":
        with open(outputs["evaluation"].path("evaluation.json")) as f:
            return {k: v for k, v in json.load(f).items() if "second" not in k}
    return outputs["pushed_model"].properties["pushed"]


def _serving_versions_are_whole(serving):
    """Every version directory TF Serving would load holds a complete SavedModel."""
    model_dir = os.path.join(serving, "m")
    versions = [d for d in os.listdir(model_dir) if d.isdigit()] if os.path.isdir(model_dir) else []
    for version in versions:
        path = os.path.join(model_dir, version)
        assert os.path.getsize(os.path.join(path, "saved_model.pb")) > 1000, f"half-written version {path}"
        assert glob.glob(os.path.join(path, "variables", "variables.index")), f"version {path} has no variables"
    return sorted(int(v) for v in versions)


@pytest.mark.slow
@pytest.mark.parametrize("point,component", CRASH_POINTS, ids=[p for p, _ in CRASH_POINTS])
def test_sigkill_then_rerun_resumes_and_consumes_nothing_half_written(shared_root, point, component):
    root, serving, source = shared_root["root"], shared_root["serving"], shared_root["source"]
    killed = subprocess.run(
        [sys.executable, os.path.join(HERE, "crash_helpers.py"), root, source, serving, point, component],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": HERE + os.pathsep + os.environ.get("PYTHONPATH", "")},
    )
    assert killed.returncode == -9, f"{point} did not die by SIGKILL: {killed.returncode}\n{killed.stderr[-3000:]}"
    _serving_versions_are_whole(serving)  # right after the kill, before anything repairs
    store = MetadataStore(os.path.join(root, "metadata.sqlite"))
    assert store.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    rerun = crash_pipeline(root, source, serving, force=component).run(progress=False)
    states = dict(zip(rerun.summary.component, rerun.summary.state))
    assert states[component] == "complete" and set(states.values()) <= {"complete", "cached"}
    assert _content(component, rerun.outputs[component]) == shared_root["reference"][component]
    assert not glob.glob(os.path.join(root, component, "*", ".staging-*"))
    assert not glob.glob(os.path.join(serving, "m", ".staging-*"))
    assert not store.db.execute("SELECT id FROM executions WHERE state = 'running'").fetchall()
    assert store.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # Every recorded artifact still matches its manifest: a plain re-run reuses everything.
    again = crash_pipeline(root, source, serving).run(progress=False)
    assert set(again.summary.state) == {"cached"}, again.summary
    versions = _serving_versions_are_whole(serving)
    assert versions == list(range(1, len(versions) + 1))  # integer versions, none taken twice


@pytest.mark.parametrize("where", ["model_save", "tfrecord_write"])
def test_a_full_disk_gives_a_clear_error_and_leaves_earlier_work_intact(tmp_path, monkeypatch, where):
    """An injected ENOSPC (a full disk or quota) while a component writes its outputs."""
    first = chain(tmp_path).run(progress=False)
    from pipeline_helpers import WriteExecutor

    def full_disk(self, input_dict, output_dict, exec_properties):
        with open(output_dict["examples"].path("big.bin"), "wb") as f:
            f.write(b"x" * 1000)
        if where == "model_save":
            raise OSError(errno.ENOSPC, "No space left on device", output_dict["examples"].path("big.bin"))
        raise RuntimeError("tensorflow ResourceExhaustedError: /x/train-00000.tfrecord; No space left on device")

    monkeypatch.setattr(WriteExecutor, "Do", full_disk)
    pipeline = chain(tmp_path)
    pipeline.components[[c.id for c in pipeline.components].index("b")].enable_cache = False
    with pytest.raises(StorageError, match=r"b: no space left .* earlier artifacts and the metadata store are intact"):
        pipeline.run(progress=False)
    assert not glob.glob(str(tmp_path / "b" / "examples" / ".staging-*"))  # the partial output is gone
    monkeypatch.undo()
    again = chain(tmp_path).run(progress=False)  # what was published before is intact and reused
    assert set(again.summary.state) == {"cached"}
    assert again.outputs["c"]["examples"].uri == first.outputs["c"]["examples"].uri
    assert again.store.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_two_runs_on_one_root_wait_for_each_other(tmp_path):
    script = (
        f"import sys, time; sys.path.insert(0, {HERE!r}); from pipeline_helpers import chain;"
        f"p = chain({str(tmp_path)!r}); p.lock_timeout = 300; start = time.time(); p.run(progress=False);"
        "print(start, time.time())"
    )
    env = {**os.environ, "KERASADV_TEST_SLOW": "1"}  # 1 s per step: the runs overlap
    runs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True) for _ in "ab"]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    (start_1, end_1), (start_2, end_2) = sorted([float(v) for v in out.split()[-2:]] for out in outputs)
    assert start_2 < end_1 <= end_2  # the second asked while the first ran, and waited for it
    store = MetadataStore(str(tmp_path / "metadata.sqlite"))
    assert store.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    states = [s for (s,) in store.db.execute("SELECT state FROM executions ORDER BY id")]
    assert states == ["complete"] * 4 + ["cached"] * 4  # one run executed, the other waited and reused


def test_two_pushers_at_once_never_take_the_same_version(tmp_path):
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3)])
    for tag in ("a", "b"):
        (tmp_path / tag / "model").mkdir(parents=True)
        (tmp_path / tag / "blessing").mkdir()
        (tmp_path / tag / "pushed").mkdir()
        (tmp_path / tag / "blessing" / "BLESSED").touch()
        model.save(tmp_path / tag / "model" / "model.keras")
    start = time.time()
    helper, serving = os.path.join(HERE, "crash_helpers.py"), str(tmp_path / "serving")
    runs = [subprocess.Popen([sys.executable, helper, "push", str(tmp_path / tag), serving]) for tag in "ab"]
    assert [run.wait(timeout=600) for run in runs] == [0, 0], time.time() - start
    versions = sorted(json.loads((tmp_path / t / "pushed" / "push.json").read_text())["version"] for t in "ab")
    assert versions == [1, 2]
    assert _serving_versions_are_whole(str(tmp_path / "serving")) == [1, 2]


# A ram:// root lives in one process, so the SIGKILL rows above (a child process per crash) cannot
# run on it; these rows stop the run in-process instead, where ram:// publishes by copying the
# files and then writing `_SUCCESS` (tests/test_filesystems.py covers the same protocol on a
# fake object store).
RAM_INTERRUPTIONS = [("model", "Trainer"), ("pushed_model", "Pusher")]


@pytest.mark.slow
@pytest.mark.parametrize("kind,component", RAM_INTERRUPTIONS, ids=[k for k, _ in RAM_INTERRUPTIONS])
def test_ram_root_interrupted_mid_publication_consumes_nothing_and_resumes(
    cifar_npz, tmp_path, monkeypatch, kind, component
):
    import uuid

    import tensorflow as tf

    from kerasadv.orchestration import filesystem

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the remote root's local store and lock
    root = f"ram://crash-{uuid.uuid4().hex[:8]}"
    serving = root + "-serving"
    real_publish = writer.publish_directory

    def interrupted(staging, target, last=()):
        if f"/{component}/{kind}/" in target or (kind == "pushed_model" and target.startswith(serving)):
            filesystem.get(target).makedirs(target)
            first = next(p for p in filesystem.glob(f"{staging}/*") if filesystem.isfile(p))
            writer.copy_file(first, f"{target}/partial")
            raise KeyboardInterrupt  # some files copied, no _SUCCESS
        return real_publish(staging, target, last)

    monkeypatch.setattr(writer, "publish_directory", interrupted)
    with pytest.raises(KeyboardInterrupt):
        crash_pipeline(root, cifar_npz, serving).run(progress=False)
    monkeypatch.setattr(writer, "publish_directory", real_publish)
    rerun = crash_pipeline(root, cifar_npz, serving).run(progress=False)
    states = dict(zip(rerun.summary.component, rerun.summary.state))
    assert states[component] == "complete" and set(states.values()) <= {"complete", "cached"}
    assert states["ImageExampleGen"] == "cached"
    published = rerun.outputs["Pusher"]["pushed_model"].properties["path"]
    assert writer.is_published(published) and tf.io.gfile.exists(f"{published}/saved_model.pb")
    assert published == f"{serving}/m/1"  # the interrupted version was removed under the lock, not kept
    assert [p for p in filesystem.glob(f"{serving}/m/*") if not writer.is_published(p)] == []
    again = crash_pipeline(root, cifar_npz, serving).run(progress=False)
    assert set(again.summary.state) == {"cached"}, again.summary


def _trainer_pipeline(root, source, epochs):
    from kerasadv.components.example_gen import ImageExampleGen
    from kerasadv.components.trainer import Trainer
    from kerasadv.orchestration import Pipeline

    gen = ImageExampleGen(source=source, seed=0)
    train = Trainer(examples=gen.outputs["examples"], model="simple_cnn", epochs=epochs)
    return Pipeline("resume", root, [gen, train])


def _count_epochs_then_interrupt(monkeypatch, interrupt):
    """Counts the epochs trained; with `interrupt`, presses Ctrl-C as the second epoch begins."""
    backup, trained = keras.callbacks.BackupAndRestore, []
    save_epoch, begin_epoch = backup.on_epoch_end, backup.on_epoch_begin

    def save_then_count(self, epoch, logs=None):
        save_epoch(self, epoch, logs)
        trained.append(epoch)

    def begin_or_interrupt(self, epoch, logs=None):
        if interrupt and epoch == 1:
            raise KeyboardInterrupt
        begin_epoch(self, epoch, logs)

    monkeypatch.setattr(backup, "on_epoch_end", save_then_count)
    monkeypatch.setattr(backup, "on_epoch_begin", begin_or_interrupt)
    return trained


@pytest.mark.parametrize("epochs_after", [2, 3], ids=["same_work_resumes", "changed_work_restarts"])
def test_an_interrupted_trainer_resumes_from_its_last_epoch_only_when_its_work_is_unchanged(
    tmp_path, cifar_npz, monkeypatch, epochs_after
):
    _count_epochs_then_interrupt(monkeypatch, interrupt=True)
    with pytest.raises(KeyboardInterrupt):
        _trainer_pipeline(str(tmp_path), cifar_npz, epochs=2).run(progress=False)
    (staging,) = glob.glob(str(tmp_path / "Trainer" / "model" / ".staging-*"))
    assert "backup" in os.listdir(staging)  # the saved epoch survives the interruption
    monkeypatch.undo()
    trained = _count_epochs_then_interrupt(monkeypatch, interrupt=False)
    result = _trainer_pipeline(str(tmp_path), cifar_npz, epochs=epochs_after).run(progress=False)
    assert dict(zip(result.summary.component, result.summary.state))["Trainer"] == "complete"
    assert trained == ([1] if epochs_after == 2 else [0, 1, 2])  # resumed at epoch 2, or a fresh 3-epoch run
    with open(result.outputs["Trainer"]["model"].path("metrics.json")) as f:
        history = json.load(f)["history"]
    assert len(history["loss"]) == len(history["epoch_seconds"]) == epochs_after  # the epochs before the resume too
    assert None not in history["val_accuracy"]
    assert not glob.glob(str(tmp_path / "Trainer" / "model" / ".staging-*"))
    assert not os.path.exists(result.outputs["Trainer"]["model"].path("backup"))


def test_a_trainer_interrupted_while_writing_its_model_keeps_every_epoch(tmp_path, cifar_npz, monkeypatch):
    from kerasadv import io

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(io, "save_model", interrupt)  # after the last epoch, before the model is written
    with pytest.raises(KeyboardInterrupt):
        _trainer_pipeline(str(tmp_path), cifar_npz, epochs=2).run(progress=False)
    monkeypatch.undo()
    trained = _count_epochs_then_interrupt(monkeypatch, interrupt=False)
    result = _trainer_pipeline(str(tmp_path), cifar_npz, epochs=2).run(progress=False)
    assert trained == []  # both epochs were kept: the re-run only writes the model
    with open(result.outputs["Trainer"]["model"].path("metrics.json")) as f:
        assert len(json.load(f)["history"]["loss"]) == 2
