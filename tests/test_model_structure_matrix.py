"""The models users really bring x every entry point that takes a model (beside `test_model_matrix.py`).

Cases: several inputs, several outputs, a dict of outputs, a per-pixel output, a single logit, two classes, a
pretrained-style backbone nested as one layer, activations fused into Conv / Dense, no
activation at all (linear conv / dense layers), and, for the entry points the older matrix
leaves out, Sequential and subclassed models. Each cell works (and its result is checked) or
raises the project's own error naming the fix. Models are built once per module; images are 8x8.
"""

import gc
import os
import weakref

import keras
import numpy as np
import pytest

from kerasadv import analysis, attacks, certify, models, serving, training
from kerasadv.analysis.transfer import accuracy_and_loss
from kerasadv.errors import AttackInputError, KerasAdvError, ModelError

L = keras.layers
SHAPE = (8, 8, 3)


def _features(x, activations=True):
    x = L.Conv2D(4, 3, padding="same", name="c1")(x)
    x = L.ReLU(name="r1")(x) if activations else x
    x = L.Conv2D(4, 3, strides=2, padding="same", activation="relu" if activations else None, name="c2")(x)
    return L.GlobalAveragePooling2D(name="gap")(x)


def _backbone():
    """A stand-in for a `keras.applications` model: its own functional graph, a residual, BatchNorm."""
    inputs = keras.Input(SHAPE)
    x = L.ReLU(name="relu1")(L.BatchNormalization(name="bn1")(L.Conv2D(4, 3, padding="same", name="conv1")(inputs)))
    y = L.Conv2D(4, 3, padding="same", activation="relu", name="conv2")(x)
    return keras.Model(inputs, L.Add(name="add")([x, y]), name="backbone")


class Subclassed(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv, self.flat, self.logits = L.Conv2D(4, 3, activation="relu"), L.Flatten(), L.Dense(4)

    def call(self, x, training=False):
        return self.logits(self.flat(self.conv(x)))


def build(kind):
    keras.utils.set_random_seed(0)
    image = keras.Input(SHAPE, name="image")
    if kind == "multi_input":
        extra = keras.Input((2,), name="extra")
        return keras.Model([image, extra], L.Dense(4)(L.Concatenate()([_features(image), extra])))
    if kind == "multi_output":
        f = _features(image)
        return keras.Model(image, [L.Dense(4, name="logits")(f), L.Dense(2, name="aux")(f)])
    if kind == "dict_output":
        f = _features(image)
        return keras.Model(image, {"logits": L.Dense(4, name="logits")(f), "aux": L.Dense(2, name="aux")(f)})
    if kind == "per_pixel_output":
        return keras.Model(image, L.Dense(4, name="logits")(L.Conv2D(4, 3, padding="same", activation="relu")(image)))
    if kind in ("single_logit", "two_classes"):
        return keras.Model(image, L.Dense(1 if kind == "single_logit" else 2, name="logits")(_features(image)))
    if kind == "nested_backbone":
        x = _backbone()(L.Rescaling(2.0, offset=-1.0, name="pre")(image), training=False)  # the fine-tuning idiom
        return keras.Model(image, L.Dense(4, name="logits")(L.GlobalAveragePooling2D(name="pool")(x)))
    if kind == "fused_activations":
        x = L.Conv2D(4, 3, padding="same", activation="relu", name="c1")(image)
        x = L.Conv2D(4, 3, strides=2, padding="same", activation="swish", name="c2")(x)
        x = L.Dense(8, activation="gelu", name="d1")(L.Flatten()(x))
        return keras.Model(image, L.Dense(4, name="logits")(x))
    if kind == "no_activations":
        return keras.Model(image, L.Dense(4, name="logits")(_features(image, activations=False)))
    if kind == "sequential":
        return keras.Sequential([image, L.Conv2D(4, 3, activation="relu", name="c1"), L.Flatten(), L.Dense(4)])
    model = Subclassed()
    model(np.zeros((1, *SHAPE), np.float32))
    return model


CASES = [
    "multi_input",
    "multi_output",
    "dict_output",
    "per_pixel_output",
    "single_logit",
    "two_classes",
    "nested_backbone",
    "fused_activations",
    "no_activations",
    "sequential",
    "subclassed",
]
X = np.random.default_rng(0).random((4, *SHAPE), dtype=np.float32)
Y = np.array([0, 1, 1, 0])


def _classes(model):
    return int(model.output_shape[-1]) if not isinstance(model, Subclassed) else 4


def _evaluate(attack):
    def run(model, tmp):
        result = attacks.evaluate_attack(attack(), model, (X, Y), progress=False)
        assert result["num_examples"] == 4 and 0.0 <= result["adversarial_accuracy"] <= 1.0
        assert result["mean_linf"] <= 0.03 + 1e-6
        return result

    return run


def _custom_autoattack():
    return attacks.AutoAttack(0.03, version="custom", attacks=[{"class_name": "APGD", "config": {"steps": 2}}, "fgsm"])


def _eps_sweep(model, tmp):
    table = attacks.eps_sweep(attacks.FGSM(0.0), model, (X, Y), [0.0, 0.03])
    assert len(table) == 2 and table.adversarial_accuracy[0] == table.clean_accuracy[0]  # eps 0 moves nothing
    return True  # every check above passed


def _gradcam(model, tmp):
    cams = analysis.AllLayerGradcam(model)(X, Y)
    assert cams and all(c.shape == (4, 8, 8) and 0.0 <= c.min() and c.max() <= 1.0 for c in cams.values())
    return True  # every check above passed


def _gradcam_reference(model, tmp):
    fast = analysis.AllLayerGradcam(model)
    layer = fast.layer_names[-1]
    reference = analysis.gradcam_tfkerasvis(model, X, Y, layer)
    np.testing.assert_allclose(reference, fast(X, Y)[layer], atol=1e-4)
    return True  # every check above passed


def _thresholds(model):
    return analysis.binary_thresholds(analysis.ActivationStatistics(analysis.probe_model(model), X))


def _statistics(model, tmp):
    thresholds = _thresholds(model)
    assert thresholds and all(np.isfinite(t).all() for t in thresholds.values())
    return True  # every check above passed


def _coverage(model, tmp):
    assert 0.0 < analysis.NeuronCoverage(analysis.probe_model(model)).update(X).coverage() <= 1.0
    return True  # every check above passed


def _multisection(model, tmp):
    assert 0.0 < analysis.MultisectionCoverage(analysis.probe_model(model), X, k=4).update(X).coverage() <= 1.0
    return True  # every check above passed


def _ranking(model, tmp):
    probe = analysis.probe_model(model)
    table = analysis.neural_ranking(probe, X, _classes(model), top=3)
    assert len(table) == 3 and set(table.layer) <= set(probe.output)
    return True  # every check above passed


def _toggle(model, tmp):
    assert 0.0 <= analysis.toggle_activity(analysis.probe_model(model), _thresholds(model), X)["total"] <= 1.0
    return True  # every check above passed


def _vulnerability(model, tmp):
    similarities, _, _ = analysis.layer_vulnerability(model, (X, Y), "fgsm", strengths=(1.0,), progress=False)
    assert len(similarities) == 4 * similarities.layer.nunique() > 0
    return True  # every check above passed


def _dlfuzz(model, tmp):
    report = analysis.DLFuzz(iterations=1, max_mutations=1).run(model, X)
    assert report["x_adv"].shape == X.shape and report["coverage_after"] >= report["coverage_before"] > 0.0
    return True  # every check above passed


def _certify(model, tmp):
    result = certify.Smoothed(model, 0.25, batch_size=50).certify(X[:1], n0=10, n=50, progress=False)
    assert result["predictions"].shape == (1,) and result["radius"][0] >= 0.0
    return True  # every check above passed


def _export(model, tmp):
    serving.export_for_serving(model, str(tmp / "export"))
    assert os.path.exists(tmp / "export" / "saved_model.pb")
    return True  # every check above passed


def _filter_sweep(model, tmp):
    table = analysis.gaussian_filter_sweep(model, (X, Y), (X, Y), sigmas=[0.0, 0.5])
    assert table.clean_accuracy.tolist() == table.adversarial_accuracy.tolist()  # the same images twice
    return True  # every check above passed


def _transfer(model, tmp):
    accuracy, loss, probabilities = accuracy_and_loss(model, X, Y)
    assert probabilities.shape == (4, _classes(model)) and 0.0 <= accuracy <= 1.0 and np.isfinite(loss)
    return True  # every check above passed


def _recipe(model, tmp):  # the call only: the recipe matrices fit every recipe
    assert training.wrap(model, "trades").classifier is model
    return True  # every check above passed


ENTRY_POINTS = {
    "evaluate_fgsm": _evaluate(lambda: attacks.FGSM(0.03)),
    "evaluate_pgd": _evaluate(lambda: attacks.PGD(0.03, steps=2, seed=0)),
    "evaluate_autoattack": _evaluate(_custom_autoattack),
    "evaluate_apgd_dlr": _evaluate(lambda: attacks.APGD(0.03, steps=2, loss="dlr")),
    "eps_sweep": _eps_sweep,
    "gradcam_all_layers": _gradcam,
    "gradcam_tfkerasvis": _gradcam_reference,
    "activation_statistics": _statistics,
    "neuron_coverage": _coverage,
    "multisection_coverage": _multisection,
    "neural_ranking": _ranking,
    "toggle_activity": _toggle,
    "layer_vulnerability": _vulnerability,
    "dlfuzz": _dlfuzz,
    "gaussian_filter_sweep": _filter_sweep,
    "transfer_accuracy_and_loss": _transfer,
    "smoothed_certify": _certify,
    "serving_export": _export,
    "recipe_trades": _recipe,
}
LAYER_LEVEL = {
    "gradcam_all_layers",
    "gradcam_tfkerasvis",
    "activation_statistics",
    "neuron_coverage",
    "multisection_coverage",
    "neural_ranking",
    "toggle_activity",
    "layer_vulnerability",
    "dlfuzz",
}
NO_LOGITS_NEEDED = {"activation_statistics", "neuron_coverage", "multisection_coverage", "toggle_activity"}
NEW_FOR_EVERY_MODEL = {
    "evaluate_autoattack",
    "evaluate_apgd_dlr",
    "multisection_coverage",
    "gaussian_filter_sweep",
    "transfer_accuracy_and_loss",
    "smoothed_certify",
    "recipe_trades",
}
IN_OLDER_MATRIX = set(ENTRY_POINTS) - NEW_FOR_EVERY_MODEL  # Sequential / subclassed meet these in test_model_matrix.py


def expected_error(case, entry):
    """`(error class, message pattern)` a cell must raise, or None where it must work."""
    if case == "multi_input":
        return ModelError, "takes 2 inputs"
    if case == "multi_output":
        return ModelError, r"model\.outputs\["
    if case == "dict_output":
        return ModelError, r"model\.output\["
    if case == "per_pixel_output":
        return ModelError, r"\(n, classes\).*GlobalAveragePooling2D|output has shape"
    if case == "single_logit" and entry not in NO_LOGITS_NEEDED:
        return ModelError, r"Dense\(2\)"
    if case == "two_classes" and entry == "evaluate_apgd_dlr":
        return AttackInputError, "needs >= 3 classes"
    if case == "subclassed" and (entry in LAYER_LEVEL or entry == "serving_export"):
        return ModelError, "subclassed"
    return None


CELLS = [
    (c, e) for c in CASES for e in ENTRY_POINTS if c not in ("sequential", "subclassed") or e not in IN_OLDER_MATRIX
]
WORKS = [cell for cell in CELLS if expected_error(*cell) is None]
REFUSED = [cell for cell in CELLS if expected_error(*cell) is not None]
SLOW = {"serving_export", "evaluate_apgd_dlr"}  # a SavedModel written, APGD traced: about a second a cell


def _marked(cells):
    return [pytest.param(*cell, marks=pytest.mark.slow) if cell[1] in SLOW else cell for cell in cells]


@pytest.fixture(scope="module")
def zoo():
    """One model per case, built on first use and shared by the module's cells."""
    built = {}

    def get(case):
        if case not in built:
            built[case] = build(case)
        return built[case]

    return get


def test_the_table_is_what_the_report_says():
    assert (len(CELLS), len(WORKS), len(REFUSED)) == (185, 92, 93)


@pytest.mark.parametrize("case, entry", _marked(WORKS))
def test_entry_point_works(case, entry, zoo, tmp_path):
    assert ENTRY_POINTS[entry](zoo(case), tmp_path)  # each entry point's checks ran on its result


@pytest.mark.parametrize("case, entry", _marked(REFUSED))
def test_entry_point_refuses_with_the_fix(case, entry, zoo, tmp_path):
    error, pattern = expected_error(case, entry)
    with pytest.raises(error, match=pattern):
        ENTRY_POINTS[entry](zoo(case), tmp_path)


def test_refusals_are_kerasadv_errors_not_framework_errors():
    assert all(issubclass(expected_error(*cell)[0], KerasAdvError) for cell in REFUSED)


def test_a_model_without_activations_is_probed_at_its_conv_and_dense_outputs(zoo):
    assert analysis.default_probe_layers(zoo("no_activations")) == ["c1", "c2"]
    assert analysis.default_probe_layers(zoo("fused_activations")) == ["c1", "c2", "d1"]


def test_a_model_with_no_neuron_to_probe_names_layer_names():
    model = keras.Sequential([keras.Input(SHAPE), L.Flatten(name="flat"), L.Dense(3, name="logits")])
    with pytest.raises(ModelError, match="layer_names="):
        analysis.probe_model(model)
    assert analysis.probe_model(model, ["flat"]).output["flat"].shape == (None, 192)  # named layers still work


def test_a_single_output_in_a_list_is_one_output():
    image = keras.Input(SHAPE)
    features = L.Conv2D(2, 3, activation="relu", name="conv")(image)
    model = keras.Model(image, [L.Dense(3)(L.Flatten()(features))])  # Keras unpacks it when called
    models.check_logits(model)
    assert models.num_classes(model) == 3
    assert analysis.AllLayerGradcam(model)(X, [0, 1, 2, 0])["conv"].shape == (4, 8, 8)


def test_a_subclassed_model_returning_a_dict_is_refused_on_its_first_call():
    class DictOutput(Subclassed):
        def call(self, x, training=False):
            return {"logits": super().call(x)}

    model = DictOutput()
    model(X[:1])
    with pytest.raises(ModelError, match=r"model\.output\["):
        certify.Smoothed(model, 0.25, batch_size=10).certify(X[:1], n0=5, n=10, progress=False)


@pytest.mark.parametrize("case", ["two_classes", "nested_backbone"])
def test_models_are_released_after_probes_dlfuzz_and_the_softmax_check(case):
    """The per-model caches of probes, DLFuzz and `ends_in_softmax` hold models (and probes) weakly."""
    fuzz, model = analysis.DLFuzz(iterations=1, max_mutations=1), build(case)
    probe = analysis.probe_model(model)
    analysis.probes.probe_outputs(probe, X)
    fuzz.run(model, X)
    models.ends_in_softmax(model)
    refs = [weakref.ref(model), weakref.ref(probe)]
    del model, probe
    gc.collect()
    assert [ref() for ref in refs] == [None, None]
