"""Reliability fixes found by trying kerasadv as a new user would (issue: reliability matrix)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasadv import attacks, models
from kerasadv.errors import AttackInputError, ModelError
from kerasadv.orchestration import SpecError


@pytest.fixture(scope="module")
def perfect_model():
    """A 'model' that is right on every input: logits = pixels 0..2, which one-hot encode the label."""
    inputs = keras.Input((4, 4, 1))
    flat = keras.layers.Flatten()(inputs)
    logits = keras.layers.Dense(3, use_bias=False)(flat)
    model = keras.Model(inputs, logits)
    kernel = np.zeros((16, 3), np.float32)
    kernel[:3] = 10.0 * np.eye(3)
    model.layers[-1].set_weights([kernel])
    return model


def _perfect_data():
    x = np.zeros((6, 4, 4, 1), np.float32)
    labels = np.array([0, 1, 2, 0, 1, 2])
    x[np.arange(6), 0, labels, 0] = 1.0
    return x, labels


@pytest.mark.parametrize("form", ["sparse", "column", "one_hot"])
def test_evaluate_attack_converts_labels(perfect_model, form):
    x, labels = _perfect_data()
    y = {"sparse": labels, "column": labels[:, None], "one_hot": np.eye(3)[labels]}[form]
    result = attacks.evaluate_attack(attacks.FGSM(0.0), perfect_model, (x, y), progress=False)
    assert result["clean_accuracy"] == 1.0 and result["adversarial_accuracy"] == 1.0
    assert attacks.clean_accuracy(perfect_model, (x, y)) == 1.0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_pixels_are_refused(bad):
    model = models.simple_cnn((16, 16, 3), 3)
    x = np.full((2, 16, 16, 3), 0.5, np.float32)
    x[1, 2, 3, 0] = bad
    with pytest.raises(AttackInputError, match="non-finite"):
        attacks.FGSM(0.03)(model, x, [0, 1])


def _hidden_softmax_models():
    base = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3)])
    dense_tf = keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3, activation=tf.nn.softmax)]
    )
    nested = keras.Sequential([base, keras.layers.Softmax()])
    inner = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3, "softmax")])
    outer = keras.Sequential([keras.Input((8, 8, 3)), inner])
    inputs = keras.Input((8, 8, 3))
    lam = keras.Model(inputs, keras.layers.Lambda(lambda t: tf.nn.softmax(t))(base(inputs)))
    return {
        "dense_tf_nn_softmax": dense_tf,
        "nested_then_softmax": nested,
        "softmax_inside_nested": outer,
        "lambda_softmax": lam,
    }


@pytest.mark.parametrize("kind", list(_hidden_softmax_models()))
def test_hidden_softmax_is_detected_everywhere(kind):
    model = _hidden_softmax_models()[kind]
    x = np.random.default_rng(0).random((4, 8, 8, 3), dtype=np.float32)
    with pytest.raises(ModelError, match="softmax"):
        attacks.FGSM(0.03)(model, x, [0, 1, 2, 0])
    with pytest.raises(ModelError, match="softmax"):
        attacks.eps_sweep(attacks.FGSM(0.0), model, (x, np.zeros(4, int)), [0.0, 0.01])  # the fast path too


def test_logits_models_pass_the_softmax_check():
    x = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    assert attacks.FGSM(0.03)(models.simple_cnn(), x, [0, 1, 2, 3]).shape == x.shape


def test_component_parameters_are_checked_before_anything_runs(tmp_path):
    from kerasadv.pipelines.quickstart import create_pipeline

    with pytest.raises(SpecError, match=r"eps must be in \[0, 1\].*got -0.1"):
        create_pipeline(
            "fashion_mnist",
            "simple_cnn",
            "ci",
            1,
            "fgsm",
            -0.1,
            str(tmp_path / "root"),
            str(tmp_path / "serving"),
            "qs",
        )
    with pytest.raises(SpecError, match="Unknown attack 'fgsn'"):
        create_pipeline(
            "fashion_mnist",
            "simple_cnn",
            "ci",
            1,
            "fgsn",
            0.03,
            str(tmp_path / "root"),
            str(tmp_path / "serving"),
            "qs",
        )
    assert not (tmp_path / "root").exists()


@pytest.mark.parametrize("damage", ["truncated", "not_a_zip", "missing"])
def test_corrupt_keras_files_give_a_model_error_naming_the_file(tmp_path, damage):
    from kerasadv import io

    path = tmp_path / "model.keras"
    models.simple_cnn((16, 16, 3), 3).save(path)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:2000])
    elif damage == "not_a_zip":
        path.write_text("hello")
    else:
        path.unlink()
    with pytest.raises(ModelError, match=r"Cannot load .*model\.keras"):
        io.load_model(str(path))


def test_lambda_models_are_refused_by_safe_mode(tmp_path):
    from kerasadv import io

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2)(inputs))
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(ModelError, match="safe mode refuses"):
        io.load_model(str(tmp_path / "lambda.keras"))


def test_corrupt_metadata_store_is_named(tmp_path):
    from kerasadv.errors import KerasAdvError
    from kerasadv.orchestration import MetadataStore

    path = tmp_path / "metadata.sqlite"
    path.write_bytes(b"SQLite format 3\x00" + b"\x07" * 4000)
    with pytest.raises(KerasAdvError, match="metadata store .* is corrupt"):
        MetadataStore(str(path))


def test_plain_tar_cut_on_a_member_boundary_is_refused(tmp_path, monkeypatch):
    import tarfile

    from kerasadv import data
    from kerasadv.errors import DataSourceError

    monkeypatch.setenv("KERASADV_CACHE_DIR", str(tmp_path / "cache"))
    tree = tmp_path / "tree" / "train"
    for label in ("a", "b"):
        (tree / label).mkdir(parents=True)
        for i in range(3):
            keras.utils.save_img(tree / label / f"{i}.png", np.full((4, 4, 3), 40 * i, np.uint8))
    archive = tmp_path / "data.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(tmp_path / "tree", arcname="tree")
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
    cut = members[-1].offset  # the last member's header starts here: everything before is whole
    truncated = tmp_path / "cut.tar"
    truncated.write_bytes(archive.read_bytes()[:cut])
    with pytest.raises(DataSourceError, match="truncated"):
        data.load(f"tar:{truncated}", "train")
    _, info = data.load(f"tar:{archive}", "train")
    assert info.num_examples == 6


def test_ingest_resizes_an_image_folder_of_mixed_sizes(tmp_path):
    from kerasadv.components.example_gen import ImageExampleGen
    from kerasadv.data import tfrecords
    from kerasadv.orchestration import Pipeline

    for split in ("train", "test"):
        for label, size in (("a", (30, 20)), ("b", (12, 40))):  # ImageNet-style: sizes differ
            (tmp_path / "data" / split / label).mkdir(parents=True)
            keras.utils.save_img(tmp_path / "data" / split / label / "0.png", np.full((*size, 3), 90, np.uint8))
    gen = ImageExampleGen(source=f"dir:{tmp_path / 'data'}", image_size=24)
    result = Pipeline("p", str(tmp_path / "root"), [gen]).run(progress=False)
    examples = result.outputs["ImageExampleGen"]["examples"]
    assert tfrecords.read_schema(examples.uri)["image_shape"] == [24, 24, 3]
    x, _ = next(iter(tfrecords.read_split(examples.uri, "eval", 8)))
    assert x.shape == (2, 24, 24, 3)


def test_a_corrupt_jpeg_is_named_at_ingest(tmp_path):
    from kerasadv.components.example_gen import ImageExampleGen
    from kerasadv.errors import DataSourceError
    from kerasadv.orchestration import Pipeline

    for split in ("train", "test"):
        for label in ("a", "b"):
            (tmp_path / "data" / split / label).mkdir(parents=True)
            for i in range(2):
                keras.utils.save_img(tmp_path / "data" / split / label / f"{i}.jpg", np.full((4, 4, 3), 90, np.uint8))
    bad = tmp_path / "data" / "train" / "b" / "1.jpg"
    bad.write_bytes(bad.read_bytes()[:20])
    gen = ImageExampleGen(source=f"dir:{tmp_path / 'data'}")
    with pytest.raises(DataSourceError, match=r"corrupt image .*b/1\.jpg"):
        Pipeline("p", str(tmp_path / "root"), [gen]).run(progress=False)


def test_a_single_logit_classifier_is_refused_not_reported_robust():
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(1)])
    x = np.random.default_rng(0).random((4, 8, 8, 3), np.float32)
    y = np.zeros(4, np.int64)
    with pytest.raises(ModelError, match=r"has 1 output; expected one logit per class .* Dense\(2\)"):
        attacks.evaluate_attack(attacks.PGD(0.03, steps=2), model, (x, y))  # was: robust accuracy 1.0
    with pytest.raises(ModelError, match="has 1 output"):
        attacks.FGSM(0.03)(model, x, y)
