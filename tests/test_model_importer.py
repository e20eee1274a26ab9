"""ModelImporter: a user's own .keras model evaluated and pushed without training one."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasadv import io, serving
from kerasadv.components.evaluator import Evaluator
from kerasadv.components.example_gen import ImageExampleGen
from kerasadv.components.model_importer import ModelImporter
from kerasadv.components.pusher import Pusher
from kerasadv.errors import ModelError
from kerasadv.orchestration import Pipeline, SpecError, writer


def users_model(head=None):
    """What a user brings: a Sequential CIFAR-10 classifier (the Keras example's shape)."""
    keras.utils.set_random_seed(0)
    layers = [
        keras.Input((32, 32, 3)),
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(10, activation=head),
    ]
    return keras.Sequential(layers)


def save(model, path):
    model.save(path)
    return str(path)


def pipeline(root, source, model_path, serving_dir, **importer_args):
    gen = ImageExampleGen(source=source, seed=0)
    importer = ModelImporter(path=model_path, examples=gen.outputs["examples"], **importer_args)
    evaluate = Evaluator(
        model=importer.outputs["model"],
        examples=gen.outputs["examples"],
        attacks=["fgsm"],
        eps_sweep="0.0",
        allow_vacuous=True,  # the user's model is pushed whatever its robustness: the import is tested
    )
    push = Pusher(
        model=importer.outputs["model"],
        blessing=evaluate.outputs["blessing"],
        examples=gen.outputs["examples"],
        serving_dir=str(serving_dir),
        model_name="users_model",
    )
    return Pipeline("import", str(root), [gen, importer, evaluate, push])


@pytest.mark.slow
def test_a_users_model_is_imported_evaluated_and_pushed(tmp_path, cifar_npz):
    model = users_model()
    path = save(model, tmp_path / "mine.keras")
    result = pipeline(tmp_path / "root", cifar_npz, path, tmp_path / "serving").run(progress=False)
    imported = result.outputs["ModelImporter"]["model"]
    assert imported.properties["source_sha256"] == writer.sha256_file(path)
    assert imported.properties["image_shape"] == [32, 32, 3] and imported.properties["num_classes"] == 10
    assert writer.sha256_file(imported.path("model.keras")) == writer.sha256_file(path)  # copied byte for byte
    pushed = result.outputs["Pusher"]["pushed_model"].properties
    assert pushed["pushed"]
    images = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    assert serving.check_servable(pushed["path"], model, images)["passed"]

    again = pipeline(tmp_path / "root", cifar_npz, path, tmp_path / "serving").run(progress=False)
    assert set(again.summary.state) == {"cached"}
    keras.utils.set_random_seed(1)
    save(users_model(), path)  # the user retrains and overwrites the file: imported again
    states = dict(
        pipeline(tmp_path / "root", cifar_npz, path, tmp_path / "serving").run(progress=False).summary.values[:, :2]
    )
    assert states["ImageExampleGen"] == "cached" and states["ModelImporter"] == "complete"


def test_softmax_models_are_refused_or_converted(tmp_path, cifar_npz):
    path = save(users_model(head="softmax"), tmp_path / "softmax.keras")
    with pytest.raises(ModelError, match="convert_softmax=True"):
        pipeline(tmp_path / "a", cifar_npz, path, tmp_path / "s").run(progress=False)
    assert not os.listdir(tmp_path / "a" / "ModelImporter" / "model")  # nothing published
    importer = ModelImporter(path=path, convert_softmax=True)
    result = Pipeline("convert", str(tmp_path / "b"), [importer]).run(progress=False)
    converted = io.load_model(result.outputs["ModelImporter"]["model"].path("model.keras"))
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    original = keras.saving.load_model(path)
    np.testing.assert_allclose(tf.nn.softmax(converted(x)), original(x), atol=1e-5)


def test_lambda_models_need_the_users_opt_in(tmp_path):
    inputs = keras.Input((32, 32, 3))
    logits = keras.layers.Dense(10)(keras.layers.Lambda(lambda t: t * 2.0)(keras.layers.Flatten()(inputs)))
    path = save(keras.Model(inputs, logits), tmp_path / "lambda.keras")
    with pytest.raises(ModelError, match="safe_mode=False"):
        Pipeline("p", str(tmp_path / "a"), [ModelImporter(path=path)]).run(progress=False)
    result = Pipeline("p", str(tmp_path / "b"), [ModelImporter(path=path, safe_mode=False)]).run(progress=False)
    imported = result.outputs["ModelImporter"]["model"]
    assert imported.properties["num_classes"] == 10 and imported.properties["safe_mode"] is False
    assert io.load_model_artifact(imported).count_params() == 30730  # the opt-out reaches every consumer
    imported.properties.pop("safe_mode")  # any other Model artifact: safe mode
    with pytest.raises(ModelError, match="safe_mode=False"):
        io.load_model_artifact(imported)


def test_a_model_that_does_not_fit_the_examples_is_refused(tmp_path, cifar_npz):
    gray = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    path = save(gray, tmp_path / "gray.keras")
    with pytest.raises(ModelError, match=r"shape \[28, 28, 1\], the Examples hold \[32, 32, 3\]"):
        pipeline(tmp_path / "a", cifar_npz, path, tmp_path / "s").run(progress=False)
    hundred = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(100)])
    path = save(hundred, tmp_path / "hundred.keras")
    with pytest.raises(ModelError, match="100 output classes, the Examples 10"):
        pipeline(tmp_path / "b", cifar_npz, path, tmp_path / "s").run(progress=False)


@pytest.mark.parametrize("name", ["missing.keras", "model.h5"])
def test_a_bad_path_is_refused_before_anything_runs(tmp_path, name):
    (tmp_path / "model.h5").write_bytes(b"HDF")
    with pytest.raises(SpecError, match=f"path '{tmp_path / name}'"):
        ModelImporter(path=str(tmp_path / name))
