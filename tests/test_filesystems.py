"""Artifacts on any filesystem TensorFlow knows: the seam, the commit protocols, and a `ram://` pipeline."""

import os
import uuid

import pytest
import tensorflow as tf

from kerasadv import filesystems
from kerasadv.errors import StorageError
from kerasadv.orchestration import BaseComponent, BaseExecutor, ComponentSpec, Input, Parameter, Pipeline, writer
from kerasadv.orchestration import filesystem as fs
from kerasadv.orchestration.manifest import build_manifest, manifest_problem


class FakeObjectStore(fs.LocalFileSystem):
    """`fake://<path>` on the local disk, declared without atomic rename (as gs:// and s3:// are)."""

    def __init__(self, base):
        self.base = str(base)

    def _local(self, path):
        return os.path.join(self.base, path[len("fake://") :]) if path.startswith("fake://") else path

    def atomic_rename(self, path):
        return False

    def exists(self, path):
        return super().exists(self._local(path))

    def isdir(self, path):
        return super().isdir(self._local(path))

    def listdir(self, path):
        return super().listdir(self._local(path))

    def glob(self, pattern):
        return [p.replace(self.base, "fake:/", 1) for p in super().glob(self._local(pattern))]

    def walk(self, top):
        return [(d.replace(self.base, "fake:/", 1), s, f) for d, s, f in super().walk(self._local(top))]

    def makedirs(self, path):
        super().makedirs(self._local(path))

    def open(self, path, mode="r"):
        return super().open(self._local(path), mode)

    def size(self, path):
        return super().size(self._local(path))

    def remove(self, path):
        super().remove(self._local(path))

    def rmtree(self, path):
        super().rmtree(self._local(path))

    def rename(self, source, target):
        super().rename(self._local(source), self._local(target))

    def copy(self, source, target):
        super().copy(self._local(source), self._local(target))


@pytest.fixture
def fake_store(tmp_path, monkeypatch):
    store = FakeObjectStore(tmp_path / "bucket")
    monkeypatch.setitem(fs._REGISTRY, "fake", store)
    return store


@pytest.fixture(autouse=True)
def local_state(tmp_path, monkeypatch):
    """Remote roots keep their metadata store and lock under $XDG_CACHE_HOME: a temporary one here."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def ram_root():
    return f"ram://kerasadv-test-{uuid.uuid4().hex[:8]}"


class TextExecutor(BaseExecutor):
    """Appends its name to its input's `value.txt`, written through the artifact writer only."""

    def Do(self, input_dict, output_dict, exec_properties):
        upstream = fs.read_text(input_dict["examples"].path("value.txt")) if "examples" in input_dict else ""
        out = output_dict["examples"]
        writer.write_text(upstream + exec_properties["name"] + ";", out.path("value.txt"))
        writer.write_json({"name": exec_properties["name"]}, out.path("sub", "params.json"))


class Text(BaseComponent):
    SPEC = ComponentSpec(
        inputs={"examples": Input("Examples", optional=True)},
        outputs={"examples": "Examples"},
        parameters={"name": Parameter(str)},
    )
    EXECUTOR = TextExecutor


def text_chain(root):
    a = Text(component_id="a", name="a")
    b = Text(component_id="b", name="b", examples=a.outputs["examples"])
    return Pipeline("text", root, [a, b])


# --- The seam: paths, registration, refusals ---


@pytest.mark.parametrize("root", ["gs:/bucket/run", "s3:/bucket/run", "ram:/x"])
def test_a_url_with_one_slash_is_refused_not_made_a_local_folder(tmp_path, monkeypatch, root):
    monkeypatch.chdir(tmp_path)
    expected = root.replace(":/", "://")
    with pytest.raises(StorageError, match=f"looks like a URL with one slash; expected '{expected}'"):
        Pipeline("p", root, [])
    assert not os.listdir(tmp_path)


def test_a_scheme_without_a_registered_filesystem_is_refused_with_the_fix(monkeypatch):
    monkeypatch.setitem(fs._DEFAULT, "remote", None)
    with pytest.raises(StorageError, match=r"No filesystem is registered for gs:// .* Import kerasadv.filesystems"):
        Pipeline("p", "gs://bucket/run", [])


def test_a_scheme_tensorflow_does_not_know_is_refused_when_the_run_starts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pipeline = Pipeline("p", "nosuchfs://bucket/run", [])
    with pytest.raises(StorageError, match=r"TensorFlow has no filesystem for nosuchfs:// .* expected a scheme"):
        pipeline.run(progress=False)
    assert not os.path.exists(tmp_path / "nosuchfs:")


def test_tensorflow_is_the_default_for_every_scheme_and_local_paths_stay_on_os():
    assert isinstance(fs.get("gs://bucket/run"), filesystems.GFileSystem)
    assert isinstance(fs.get("hdfs://namenode/run"), filesystems.GFileSystem)
    assert fs.get("relative/run") is fs.LOCAL
    assert fs.get("hdfs://n/run").atomic_rename("hdfs://n/run") and not fs.get("gs://b").atomic_rename("gs://b/r")


def test_a_remote_root_keeps_its_store_and_lock_in_a_local_directory(tmp_path):
    pipeline = Pipeline("p", "gs://bucket/run/", [])
    assert pipeline.root == "gs://bucket/run"
    assert pipeline.metadata_path.startswith(str(tmp_path / "cache" / "kerasadv" / "roots" / "gs-bucket-run-"))
    assert Pipeline("p", tmp_path / "r", []).metadata_path == str(tmp_path / "r" / "metadata.sqlite")


# --- The writer on ram:// and on a filesystem without atomic rename ---


def test_files_written_to_ram_read_back_through_gfile():
    root = ram_root()
    writer.write_json({"a": 1}, f"{root}/x/a.json")
    writer.write_with(f"{root}/x/b.txt", lambda tmp: open(tmp, "w").write("bytes"))
    writer.copy_file(f"{root}/x/b.txt", f"{root}/y/c.txt")
    assert tf.io.gfile.GFile(f"{root}/x/a.json").read().strip() == '{\n  "a": 1\n}'
    assert fs.read_text(f"{root}/y/c.txt") == "bytes"
    assert sorted(fs.listdir(f"{root}/x")) == ["a.json", "b.txt"]  # no temporary file left


def test_publishing_to_ram_copies_the_files_then_the_marker():
    root = ram_root()
    writer.write_text("1", f"{root}/.staging/a.txt")
    writer.write_text("2", f"{root}/.staging/d/saved_model.pb")
    writer.publish_directory(f"{root}/.staging", f"{root}/1", last=("d/saved_model.pb",))
    assert sorted(fs.listdir(f"{root}/1")) == ["_SUCCESS", "a.txt", "d"]
    assert writer.is_published(f"{root}/1") and not fs.exists(f"{root}/.staging")


def test_a_local_directory_is_published_by_one_rename_without_marker(tmp_path):
    writer.write_text("x", str(tmp_path / "staging" / "a.txt"))
    writer.publish_directory(str(tmp_path / "staging"), str(tmp_path / "1"))
    assert os.listdir(tmp_path / "1") == ["a.txt"] and writer.is_published(str(tmp_path / "1"))


def test_an_interrupted_publication_without_atomic_rename_reads_as_absent(fake_store, monkeypatch):
    writer.write_text("1", "fake://run/.staging/a.txt")
    writer.write_text("2", "fake://run/.staging/b.txt")
    manifest = build_manifest("fake://run/.staging")
    real_rename, moved = fake_store.rename, []

    def die_after_one(source, target):
        if moved:
            raise KeyboardInterrupt  # the process stops between two files
        moved.append(real_rename(source, target))

    monkeypatch.setattr(fake_store, "rename", die_after_one, raising=False)
    with pytest.raises(KeyboardInterrupt):
        writer.publish_directory("fake://run/.staging", "fake://run/1")
    assert fs.listdir("fake://run/1") == ["a.txt"]  # half there, and no marker
    assert not writer.is_published("fake://run/1")
    assert "is incomplete (no _SUCCESS marker" in manifest_problem("fake://run/1", manifest)


def test_a_pipeline_on_a_store_without_atomic_rename_resumes_after_an_interrupted_publication(fake_store, monkeypatch):
    real_rename = fake_store.rename

    def die_in_b(source, target):
        if "/b/examples/" in target and target.endswith("value.txt"):
            raise KeyboardInterrupt  # b's sub/params.json is moved, then the run stops
        real_rename(source, target)

    monkeypatch.setattr(fake_store, "rename", die_in_b)
    with pytest.raises(KeyboardInterrupt):
        text_chain("fake://run").run(progress=False)
    assert fs.listdir("fake://run/b/examples/2") == ["sub"] and not writer.is_published("fake://run/b/examples/2")
    monkeypatch.setattr(fake_store, "rename", real_rename)
    result = text_chain("fake://run").run(progress=False)
    assert list(result.summary.state) == ["cached", "complete"]
    assert result.outputs["b"]["examples"].uri == "fake://run/b/examples/4"  # never over the partial one
    assert fs.read_text(result.outputs["b"]["examples"].path("value.txt")) == "a;b;"
    assert writer.is_published(result.outputs["b"]["examples"].uri)
    assert list(text_chain("fake://run").run(progress=False).summary.state) == ["cached", "cached"]


def test_a_toy_pipeline_on_ram_runs_and_reruns_from_cache():
    root = ram_root()
    first = text_chain(root).run(progress=False)
    uri = first.outputs["b"]["examples"].uri
    assert uri == f"{root}/b/examples/2" and fs.read_text(f"{uri}/value.txt") == "a;b;"
    assert tf.io.gfile.exists(f"{uri}/_SUCCESS") and tf.io.gfile.exists(f"{uri}/sub/params.json")
    assert not fs.glob_names(f"{root}/b/examples", ".staging-*")
    assert list(text_chain(root).run(progress=False).summary.state) == ["cached", "cached"]
    tf.io.gfile.remove(f"{uri}/value.txt")  # a deleted file on the remote root is seen
    again = text_chain(root).run(progress=False)
    assert list(again.summary.state) == ["cached", "complete"] and "value.txt is missing" in again.store.cache_misses[0]


# --- A real pipeline whose root and serving directory are on ram:// ---


@pytest.mark.slow
def test_a_pipeline_on_ram_runs_end_to_end_and_reruns_from_cache(cifar_npz, tmp_path, monkeypatch):
    from crash_helpers import crash_pipeline

    from kerasadv import io
    from kerasadv.data import tfrecords

    monkeypatch.chdir(tmp_path)
    root, serving = ram_root(), ram_root() + "-serving"
    result = crash_pipeline(root, cifar_npz, serving).run(progress=False)
    assert set(result.summary.state) == {"complete"}
    examples, model = result.outputs["ImageExampleGen"]["examples"], result.outputs["Trainer"]["model"]
    assert examples.uri.startswith(f"{root}/ImageExampleGen/examples/")
    assert tf.io.gfile.glob(f"{examples.uri}/train-*.tfrecord") and tf.io.gfile.exists(f"{examples.uri}/_SUCCESS")
    assert sum(1 for _ in tfrecords.read_split(examples.uri, "eval", 8).unbatch()) == 63
    images, _ = tfrecords.first_examples(examples.uri, "eval", 4)
    assert io.load_model(model.path("model.keras"))(images).shape == (4, 10)
    assert not tf.io.gfile.exists(model.path("backup"))  # the training backup is removed on a remote store too
    adversarial = result.outputs["AttackGen"]["adversarial_examples"]
    assert tfrecords.read_schema(adversarial.uri)["image_dtype"] == "float32"
    evaluation = fs.read_json(result.outputs["Evaluator"]["evaluation"].path("evaluation.json"))
    assert 0.0 <= evaluation["metrics"]["examples_accuracy"] <= 1.0
    pushed = result.outputs["Pusher"]["pushed_model"].properties
    assert pushed["pushed"] and pushed["path"] == f"{serving}/m/1"
    assert tf.io.gfile.exists(f"{serving}/m/1/saved_model.pb") and writer.is_published(f"{serving}/m/1")
    assert f"base_path: '{serving}/m'" in fs.read_text(f"{serving}/models.config")
    assert not [name for name in os.listdir(tmp_path) if name.startswith("ram")]  # no local ./ram: folder
    again = crash_pipeline(root, cifar_npz, serving).run(progress=False)
    assert set(again.summary.state) == {"cached"}, again.summary
