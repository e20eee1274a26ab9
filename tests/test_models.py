import time

import keras
import numpy as np
import pytest

from kerasadv import models
from kerasadv.errors import ModelError


@pytest.mark.parametrize("name", sorted(models.BUILDERS))
def test_builder_outputs_logits_and_round_trips(name, tmp_path):
    model = models.build(name, (32, 32, 3), 7)
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    logits = model(x, training=False).numpy()
    assert logits.shape == (2, 7)
    assert not models.ends_in_softmax(model)
    assert not np.allclose(logits.sum(axis=1), 1.0)  # raw scores, not probabilities
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(restored(x, training=False), logits, atol=1e-5)


def test_grey_inputs_and_resizing():
    assert models.build("simple_cnn", (28, 28, 1)).output_shape == (None, 10)
    vgg = models.vgg16((28, 28, 1), image_size=(32, 32))
    assert vgg(np.zeros((1, 28, 28, 1), np.float32)).shape == (1, 10)


def test_vgg16_keeps_keras_layer_names():
    names = {layer.name for layer in models.vgg16().layers}
    assert {f"block{b}_conv1" for b in range(1, 6)} <= names and "block5_conv3" in names


def test_vgg16_width_keeps_the_13_named_convs_and_include_top_keeps_the_head():
    full, narrow = models.vgg16(), models.vgg16(width=16)
    convs = [l.name for l in full.layers if isinstance(l, keras.layers.Conv2D)]
    assert convs == [l.name for l in narrow.layers if isinstance(l, keras.layers.Conv2D)] and len(convs) == 13
    assert [narrow.get_layer(n).filters for n in ("block1_conv1", "block4_conv1", "block5_conv3")] == [16, 128, 128]
    with pytest.raises(ModelError, match="width 64"):
        models.vgg16(width=16, weights="imagenet")
    classifier = models.vgg16((224, 224, 3), 1000, include_top=True)  # the ImageNet classifier's graph
    assert classifier.output_shape == (None, 1000) and classifier.get_layer("fc2").units == 4096
    assert classifier.get_layer("predictions").activation is keras.activations.linear  # logits
    with pytest.raises(ModelError, match="224x224"):
        models.vgg16(include_top=True)
    with pytest.raises(ModelError, match="width must be 64"):
        models.vgg16((224, 224, 3), 1000, include_top=True, width=16)
    for builder in (models.vgg16, models.efficientnet_b0):  # too small for five stride-2 stages: say the fix
        with pytest.raises(ModelError, match=r"at least 32x32, got 28x28; pass image_size=\(32, 32\)"):
            builder((28, 28, 1))
        assert builder((28, 28, 1), image_size=(32, 32)).output_shape == (None, 10)


def test_efficientnet_b0_stochastic_depth_scales_every_block_and_survives_saving(tmp_path):
    def drop_rates(model):
        return {layer.name: layer.rate for layer in model.layers if layer.name.endswith("_drop")}

    keras_rates = drop_rates(models.efficientnet_b0())
    assert len(keras_rates) == 9 and max(keras_rates.values()) < models.applications.KERAS_DROP_CONNECT_RATE
    halved = models.efficientnet_b0(drop_connect_rate=0.1)
    assert drop_rates(halved) == pytest.approx({name: rate / 2 for name, rate in keras_rates.items()})
    off = models.efficientnet_b0(drop_connect_rate=0.0)
    path = str(tmp_path / "off.keras")
    off.save(path)
    assert set(drop_rates(keras.models.load_model(path)).values()) == {0.0}
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    np.testing.assert_allclose(off(x, training=True), off(x, training=True), rtol=1e-5)  # no random branch drops
    with pytest.raises(ModelError, match=r"drop_connect_rate must be in \[0, 1\), got 1.5"):
        models.efficientnet_b0(drop_connect_rate=1.5)


def test_resnet18_shape_and_names():
    model = models.resnet18()
    assert 11_000_000 < model.count_params() < 11_300_000
    assert model.get_layer("stem_conv").kernel_size == (3, 3)
    assert not any(isinstance(l, keras.layers.MaxPooling2D) for l in model.layers)


def test_imagenet_weights_fail_fast_offline(monkeypatch):
    from keras.src.applications import vgg16

    monkeypatch.setattr(vgg16, "WEIGHTS_PATH_NO_TOP", "http://127.0.0.1:9/vgg16_notop.h5")
    start = time.perf_counter()
    with pytest.raises(ModelError, match="weights=None"):
        models.vgg16(weights="imagenet")
    assert time.perf_counter() - start < 10


def test_bad_model_name_and_weights():
    with pytest.raises(ModelError, match=r"Unknown model 'alexnet'.*resnet18"):
        models.build("alexnet")
    with pytest.raises(ModelError, match="weights must be"):
        models.vgg16(weights="bogus")


def test_softmax_model_is_detected_and_converted():
    inputs = keras.Input((4,))
    probs = keras.layers.Dense(3, activation="softmax")(keras.layers.Dense(5)(inputs))
    model = keras.Model(inputs, probs)
    with pytest.raises(ModelError, match="ends in softmax"):
        models.check_logits(model)
    logits = models.logits_model(model)
    x = np.random.default_rng(1).random((6, 4), dtype=np.float32)
    np.testing.assert_allclose(keras.ops.softmax(logits(x)), model(x), atol=1e-6)
    models.check_logits(logits)
