"""Fine-tuned `keras.applications` models: a backbone nested as one layer of the classifier.

Grad-CAM, probes, coverage, toggle activity, ranking, the layer vulnerability study and
DLFuzz open the nested model and address its layers by path, `"<backbone name>/<layer name>"`
(the backbone is a real MobileNetV2 with random weights, and a small stand-in whose flat twin,
the same layer objects called inline, gives the reference values).
"""

import keras
import numpy as np
import pytest

from kerasadv import analysis
from kerasadv.analysis.probes import probe_outputs
from kerasadv.errors import ModelError

L = keras.layers
X = np.random.default_rng(0).random((4, 8, 8, 3), dtype=np.float32)
Y = np.array([0, 1, 2, 0])


@pytest.fixture(scope="module")
def mobilenet():
    """`(classifier, backbone)`: 8x8 images resized to 32x32 into MobileNetV2, as users fine-tune it."""
    keras.utils.set_random_seed(0)
    backbone = keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, include_top=False, weights=None)
    image = keras.Input((8, 8, 3))
    x = L.Rescaling(2.0, offset=-1.0, name="to_pm1")(L.Resizing(32, 32, name="resize")(image))
    x = backbone(x, training=False)
    return keras.Model(image, L.Dense(3, name="logits")(L.GlobalAveragePooling2D(name="pool")(x))), backbone


def _backbone_layers():
    return [
        L.Conv2D(4, 3, padding="same", name="conv1"),
        L.BatchNormalization(name="bn1"),
        L.ReLU(name="relu1"),
        L.Conv2D(4, 3, padding="same", activation="relu", name="conv2"),
    ]


@pytest.fixture(scope="module")
def twins():
    """`(nested, flat)`: a classifier with a nested backbone, and the same layer objects called inline."""
    keras.utils.set_random_seed(1)
    conv1, bn1, relu1, conv2 = _backbone_layers()
    head = L.GlobalAveragePooling2D(name="pool"), L.Dense(3, name="logits")
    inner = keras.Input((8, 8, 3))
    features = relu1(bn1(conv1(inner)))
    backbone = keras.Model(inner, L.Add(name="add")([features, conv2(features)]), name="backbone")
    image = keras.Input((8, 8, 3))
    nested = keras.Model(image, head[1](head[0](backbone(image, training=False))), name="nested")
    flat_features = relu1(bn1(conv1(image)))
    flat = keras.Model(image, head[1](head[0](L.Add(name="add")([flat_features, conv2(flat_features)]))), name="flat")
    return nested, flat


def test_layer_paths_open_the_nested_backbone(mobilenet):
    model, backbone = mobilenet
    convs, probed = analysis.conv_layer_names(model), analysis.default_probe_layers(model)
    assert len(convs) == 35 and f"{backbone.name}/block_1_expand" in convs
    assert f"{backbone.name}/block_1_expand_relu" in probed and f"{backbone.name}/out_relu" in probed


def test_a_probe_reads_a_nested_layer_as_the_backbone_computes_it(mobilenet):
    model, backbone = mobilenet
    path = f"{backbone.name}/block_2_add"
    inside = keras.Model(backbone.input, backbone.get_layer("block_2_add").output)
    before = keras.Model(model.input, model.get_layer("to_pm1").output)
    probed = probe_outputs(analysis.probe_model(model, [path]), X)
    np.testing.assert_allclose(probed[path], inside(before(X), training=False), atol=1e-6)
    np.testing.assert_allclose(probed["logits"], model(X, training=False), atol=1e-6)  # predictions unchanged


def test_gradcam_of_nested_layers_agrees_with_tf_keras_vis(mobilenet):
    model, backbone = mobilenet
    path = f"{backbone.name}/block_1_expand"
    fast = analysis.AllLayerGradcam(model, [path])(X, Y)[path]
    assert fast.shape == (4, 8, 8)
    np.testing.assert_allclose(analysis.gradcam_tfkerasvis(model, X, Y, path), fast, atol=1e-4)


def test_coverage_toggle_and_ranking_count_nested_neurons(mobilenet):
    model, backbone = mobilenet
    probe = analysis.probe_model(model, [f"{backbone.name}/Conv1_relu", f"{backbone.name}/block_1_expand_relu"])
    per_layer = analysis.NeuronCoverage(probe).update(X).coverage(per_layer=True)
    assert sorted(per_layer) == sorted(name for name in probe.output if name != "logits")
    stats = analysis.ActivationStatistics(probe, X)
    assert 0.0 <= analysis.toggle_activity(probe, analysis.binary_thresholds(stats), X)["total"] <= 1.0
    assert set(analysis.neural_ranking(probe, X, 3, top=5).layer) <= set(per_layer)


def test_gradcam_on_a_nested_backbone_equals_its_flat_twin(twins):
    nested, flat = twins
    got = analysis.AllLayerGradcam(nested)(X, Y)
    want = analysis.AllLayerGradcam(flat)(X, Y)
    assert sorted(got) == ["backbone/conv1", "backbone/conv2"]
    assert max(float(cams.std()) for cams in want.values()) > 0.01  # heatmaps with structure, not all zero
    for name in ("conv1", "conv2"):
        np.testing.assert_allclose(got[f"backbone/{name}"], want[name], atol=1e-5)


def test_layer_vulnerability_and_dlfuzz_name_nested_layers(twins):
    nested, flat = twins
    similarities, probability, _ = analysis.layer_vulnerability(nested, (X, Y), "fgsm", (1.0,), progress=False)
    assert sorted(probability.columns) == ["backbone/conv1", "backbone/conv2"] and len(similarities) == 8
    fuzz = analysis.DLFuzz(iterations=1, max_mutations=1)
    assert fuzz.run(nested, X)["coverage_after"] > 0.0
    flat_fuzz = analysis.DLFuzz(iterations=1, max_mutations=1)
    flat_fuzz.run(flat, X)
    np.testing.assert_allclose(fuzz.fuzzer(nested).weights, flat_fuzz.fuzzer(flat).weights)  # nested kernels found


def test_a_nested_backbone_loaded_from_keras_is_opened(twins, tmp_path):
    nested, _ = twins
    nested.save(tmp_path / "nested.keras")
    loaded = keras.saving.load_model(tmp_path / "nested.keras", safe_mode=True)
    np.testing.assert_allclose(
        analysis.AllLayerGradcam(loaded)(X, Y)["backbone/conv2"],
        analysis.AllLayerGradcam(nested)(X, Y)["backbone/conv2"],
        atol=1e-5,
    )


def test_backbones_nested_twice_and_sequential_are_opened():
    keras.utils.set_random_seed(2)
    stem = keras.Sequential([keras.Input((8, 8, 3)), L.Conv2D(4, 3, activation="relu", name="conv")], name="stem")
    inner = keras.Input((8, 8, 3))
    trunk = keras.Model(inner, L.Conv2D(4, 3, name="mix")(stem(inner)), name="trunk")
    image = keras.Input((8, 8, 3))
    model = keras.Model(image, L.Dense(3)(L.Flatten()(trunk(image))))
    assert analysis.conv_layer_names(model) == ["trunk/stem/conv", "trunk/mix"]
    assert sorted(analysis.AllLayerGradcam(model)(X, Y)) == ["trunk/mix", "trunk/stem/conv"]
    assert probe_outputs(analysis.probe_model(model), X)["trunk/stem/conv"].shape == (4, 6, 6, 4)


def test_an_unknown_path_is_refused_with_the_known_ones(twins):
    nested, _ = twins
    with pytest.raises(ModelError, match=r"no layer 'backbone/conv9'.*'backbone/conv1'"):
        analysis.probe_model(nested, ["backbone/conv9"])


def test_gradcam_of_a_layer_without_feature_maps_names_conv_layers(twins):
    nested, _ = twins
    with pytest.raises(ModelError, match=r"feature maps.*'pool'.*backbone/conv2"):
        analysis.AllLayerGradcam(nested, ["pool"])


def _small_nested_classifier():
    backbone = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(4, 3),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.ReLU(name="out"),
        ],
        name="backbone",
    )
    x = keras.Input((8, 8, 3))
    return keras.Model(x, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(backbone(x))))


def test_the_contrastive_head_reads_a_nested_layer_by_path():
    from kerasadv import training

    model = training.ContrastiveModel(_small_nested_classifier(), feature_layer="backbone/out")
    assert model.feature_layer == "backbone/out" and model.encoder.output.shape[1:] == (6, 6, 4)
    with pytest.raises(ModelError, match="has no layer 'backbone/relu'"):
        training.ContrastiveModel(_small_nested_classifier(), feature_layer="backbone/relu")


def test_advprop_on_nested_batchnorms_names_the_fix():
    from kerasadv import attacks, training

    with pytest.raises(ModelError, match=r"inside a nested model \('backbone/bn'"):
        training.AdvPropModel(_small_nested_classifier(), attacks.PGD(0.03, steps=1))
