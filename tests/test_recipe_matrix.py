"""Recipe matrix: every `training.RECIPE_NAMES` entry x model forms x data forms, one fit step each.

Each cell either trains (finite loss) or raises kerasadv's own error naming the fix:
AdvProp needs BatchNormalization (all forms here have it); free AT, AdvProp and the contrastive
recipe need a graph (a subclassed classifier is refused with a `ModelError`); multi-output and
single-logit classifiers are refused by every recipe; 0..255 images by every wrapper.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasadv import training
from kerasadv.errors import AttackInputError, KerasAdvError, ModelError

RECIPES = training.RECIPE_NAMES
LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
X = np.random.default_rng(0).random((4, 8, 8, 3), dtype=np.float32)
Y = np.arange(4) % 4
NEEDS_GRAPH = {"free", "advprop", "contrastive"}  # buffer shape / BN twin / feature layer from the graph


def _layers():
    return [
        keras.layers.Conv2D(2, 3, activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(4),
    ]


def functional():
    outputs = inputs = keras.Input((8, 8, 3))
    for layer in _layers():
        outputs = layer(outputs)
    return keras.Model(inputs, outputs)


def sequential():
    return keras.Sequential([keras.Input((8, 8, 3)), *_layers()])


@keras.saving.register_keras_serializable(package="kerasadv_tests")
class RecipeNet(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.stack = _layers()

    def call(self, x, training=None):
        for layer in self.stack:
            x = layer(x, training=training) if isinstance(layer, keras.layers.BatchNormalization) else layer(x)
        return x


@pytest.fixture(scope="module")
def saved_sequential(tmp_path_factory):
    path = tmp_path_factory.mktemp("recipes") / "sequential.keras"
    sequential().save(path)
    return path


def _model(form, saved_sequential):
    if form == "loaded_sequential":
        return keras.saving.load_model(saved_sequential)
    if form == "subclassed":
        model = RecipeNet()
        model(X[:1])
        return model
    return {"functional": functional, "sequential": sequential}[form]()


def _cheap(recipe):
    """The recipe with a one-step inner attack (the matrix checks forms, not attack strength)."""
    config = training.get_recipe(recipe)
    attack = (config or {}).get("config", {}).get("attack")
    if attack is not None and "steps" in attack["config"]:
        attack["config"]["steps"] = 1
    return config


def _fit_one_step(recipe, model, data, **fit_kwargs):
    wrapper = training.wrap(model, _cheap(recipe), batch_size=4)
    wrapper.compile("sgd", LOSS)
    return wrapper.fit(data, **fit_kwargs, epochs=1, verbose=0).history["loss"][0]


@pytest.mark.slow
@pytest.mark.parametrize("form", ["functional", "sequential", "loaded_sequential", "subclassed"])
@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_x_model_form(recipe, form, saved_sequential):
    model = _model(form, saved_sequential)
    if form == "subclassed" and recipe in NEEDS_GRAPH:
        with pytest.raises(ModelError, match="keras.Input|subclassed|functional"):
            _fit_one_step(recipe, model, X, y=Y, batch_size=4)
        return
    assert np.isfinite(_fit_one_step(recipe, model, X, y=Y, batch_size=4))


@pytest.mark.slow
@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_x_weighted_dataset(recipe):
    weights = np.array([1.0, 0.0, 2.0, 1.0], np.float32)
    data = tf.data.Dataset.from_tensor_slices((X, Y, weights)).batch(4)
    assert np.isfinite(_fit_one_step(recipe, functional(), data))


@pytest.mark.slow
@pytest.mark.parametrize("recipe", [name for name in RECIPES if name != "none"])
def test_recipe_x_0_255_images_is_refused(recipe):
    data = tf.data.Dataset.from_tensor_slices((X * 255, Y)).batch(4)
    with pytest.raises(AttackInputError, match=r"\[0, 1\].*255"):
        _fit_one_step(recipe, functional(), data)


def _two_outputs():
    inputs = keras.Input((8, 8, 3))
    features = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, [keras.layers.Dense(4)(features), keras.layers.Dense(4)(features)])


def _single_logit():
    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(1)])


@pytest.mark.parametrize("build", [_two_outputs, _single_logit], ids=["multi_output", "single_logit"])
@pytest.mark.parametrize("recipe", [name for name in RECIPES if name != "none"])
def test_recipe_refuses_models_it_cannot_train(recipe, build):
    with pytest.raises(KerasAdvError, match="keras.Model|Dense\\(2\\)"):
        _fit_one_step(recipe, build(), X, y=Y % 1, batch_size=4)
