"""Bring your own model: every public entry point that takes a model x the model kinds users bring.

Each cell runs the entry point on a tiny model of that kind and either works or raises the
project's `ModelError` naming the fix (a softmax output, a subclassed model for layer-level
analyses, no BatchNormalization for AdvProp). The table is the parametrization: pytest's
output lists every cell.
"""

import keras
import numpy as np
import pytest

from kerasadv import analysis, attacks, callbacks, serving, training
from kerasadv.errors import ModelError

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _layers(classes, softmax=False):
    return [
        keras.layers.Conv2D(4, 3, activation="relu", name="c1"),
        keras.layers.BatchNormalization(name="bn"),
        keras.layers.Conv2D(4, 3, strides=2, activation="relu", name="c2"),
        keras.layers.Flatten(name="flat"),
        keras.layers.Dense(8, activation="relu", name="d1"),
        keras.layers.Dense(classes, activation="softmax" if softmax else None, name="logits"),
    ]


def _functional(shape, classes, softmax=False, preprocess=False):
    inputs = x = keras.Input(shape)
    if preprocess:
        x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_pm1")(x)
    for layer in _layers(classes, softmax):
        x = layer(x)
    return keras.Model(inputs, x)


class Subclassed(keras.Model):
    def __init__(self, classes=4, **kwargs):
        super().__init__(**kwargs)
        self.body = _layers(classes)

    def call(self, x, training=False):
        for layer in self.body:
            x = layer(x, training=training)
        return x


def build(kind, tmp_path):
    """`(model, input shape, classes)` of a model kind."""
    shape, classes = {
        "grayscale_28x28": ((28, 28, 1), 10),
        "nonsquare_48x64": ((48, 64, 3), 4),
        "classes_100": ((16, 16, 3), 100),
    }.get(kind, ((16, 16, 3), 4))
    keras.utils.set_random_seed(0)
    if kind in ("sequential", "sequential_from_keras"):
        model = keras.Sequential([keras.Input(shape), *_layers(classes)])
        if kind == "sequential_from_keras":
            model.save(tmp_path / "seq.keras")
            model = keras.saving.load_model(tmp_path / "seq.keras", safe_mode=True)
    elif kind == "subclassed":
        model = Subclassed(classes)
        model(np.zeros((1, *shape), np.float32))
    else:
        model = _functional(shape, classes, softmax=kind == "softmax", preprocess=kind == "own_preprocessing")
    return model, shape, classes


KINDS = [
    "functional",
    "sequential",
    "sequential_from_keras",
    "subclassed",
    "softmax",
    "own_preprocessing",
    "grayscale_28x28",
    "nonsquare_48x64",
    "classes_100",
]


def _fit(wrapper, x, y):
    wrapper.compile("adam", LOSS)
    return wrapper.fit(x, y, batch_size=4, epochs=1, verbose=0)


def _attack(name, **config):
    return lambda m, x, y, tmp: attacks.get({"class_name": name, "config": config})(m, x, y)


def _probe_stats(m, x, y, tmp):
    probe = analysis.probe_model(m)
    return analysis.binary_thresholds(analysis.ActivationStatistics(probe, x))


ENTRY_POINTS = {
    "fgsm": _attack("fgsm"),
    "pgd": _attack("pgd", steps=2, seed=0),
    "pgd_l2": _attack("pgd_l2", steps=2, seed=0),
    "bim": _attack("bim", steps=2),
    "iterative_fgs": _attack("iterative_fgs", steps=3),
    "noise": lambda m, x, y, tmp: attacks.get("noise")(m, x, y),
    "one_pixel": lambda m, x, y, tmp: attacks.OnePixel(steps=1, popsize=2, seed=0)(m, x[:1], y[:1]),
    "dlfuzz": lambda m, x, y, tmp: analysis.DLFuzz(iterations=1, max_mutations=1).run(m, x),
    "eps_sweep": lambda m, x, y, tmp: attacks.eps_sweep(attacks.FGSM(0.0), m, (x, y), [0.0, 0.01]),
    "evaluate_attack": lambda m, x, y, tmp: attacks.evaluate_attack("fgsm", m, (x, y), progress=False),
    "adversarial_model": lambda m, x, y, tmp: _fit(training.AdversarialModel(m, "fgsm"), x, y),
    "free_at": lambda m, x, y, tmp: _fit(training.wrap(m, "free", batch_size=4), x, y),
    "advprop": lambda m, x, y, tmp: _fit(training.wrap(m, "advprop"), x, y),
    "contrastive": lambda m, x, y, tmp: _fit(training.ContrastiveModel(m, feature_layer="d1"), x, y),
    "robust_accuracy_cb": lambda m, x, y, tmp: training.compile_classifier(m, "adam").fit(
        x, y, epochs=1, verbose=0, callbacks=[callbacks.RobustAccuracy("fgsm", (x, y))]
    ),
    "adversarial_examples_cb": lambda m, x, y, tmp: training.compile_classifier(m, "adam").fit(
        x, y, epochs=1, verbose=0, callbacks=[callbacks.AdversarialExamples("fgsm", x[:2], y[:2], str(tmp))]
    ),
    "toggle_monitor_cb": lambda m, x, y, tmp: training.compile_classifier(m, "adam").fit(
        x, y, epochs=1, verbose=0, callbacks=[callbacks.ToggleActivityMonitor(x)]
    ),
    "probe_statistics_thresholds": _probe_stats,
    "toggle_activity": lambda m, x, y, tmp: analysis.toggle_activity(
        analysis.probe_model(m), _probe_stats(m, x, y, tmp), x
    ),
    "neuron_coverage": lambda m, x, y, tmp: analysis.NeuronCoverage(analysis.probe_model(m)).update(x).coverage(),
    "neural_ranking": lambda m, x, y, tmp: analysis.neural_ranking(
        analysis.probe_model(m), x, m.output_shape[-1], top=3
    ),
    "gradcam_all_layers": lambda m, x, y, tmp: analysis.AllLayerGradcam(m)(x, y),
    "gradcam_tfkerasvis": lambda m, x, y, tmp: analysis.gradcam_tfkerasvis(m, x, y, "c2"),
    "layer_vulnerability": lambda m, x, y, tmp: analysis.layer_vulnerability(
        m, (x, y), "fgsm", strengths=(1.0,), progress=False
    ),
    "serving_export": lambda m, x, y, tmp: serving.export_for_serving(m, str(tmp / "sm")),
}

LAYER_LEVEL = {
    "dlfuzz",
    "advprop",
    "contrastive",
    "toggle_monitor_cb",
    "probe_statistics_thresholds",
    "toggle_activity",
    "neuron_coverage",
    "neural_ranking",
    "gradcam_all_layers",
    "gradcam_tfkerasvis",
    "layer_vulnerability",
}
NO_LOGITS_NEEDED = {
    "noise",
    "probe_statistics_thresholds",
    "toggle_activity",
    "neuron_coverage",
    "toggle_monitor_cb",
}
NEED_INPUT_SHAPE = {"free_at", "serving_export"}  # they size buffers / signatures by the input shape


def expected_error(kind, entry):
    """The message of the ModelError a cell must raise, or None when it must work."""
    if kind == "softmax" and entry not in NO_LOGITS_NEEDED:
        return "softmax"
    if kind == "subclassed" and entry in LAYER_LEVEL | NEED_INPUT_SHAPE:
        return "subclassed"
    return None


CELLS = [(kind, entry) for kind in KINDS for entry in ENTRY_POINTS]
WORKS = [cell for cell in CELLS if expected_error(*cell) is None]
REFUSED = [cell for cell in CELLS if expected_error(*cell) is not None]


def _run(kind, entry, tmp_path):
    model, shape, classes = build(kind, tmp_path)
    x = np.random.default_rng(0).random((4, *shape), dtype=np.float32)
    return ENTRY_POINTS[entry](model, x, np.arange(4) % classes, tmp_path)


def test_the_table_is_what_the_readme_says():
    assert len(CELLS) == 225 and len(REFUSED) == 33  # softmax: 20 entry points; subclassed: 13


@pytest.mark.parametrize("kind, entry", WORKS)
def test_entry_point_works(kind, entry, tmp_path):
    assert _run(kind, entry, tmp_path) is not None


@pytest.mark.parametrize("kind, entry", REFUSED)
def test_entry_point_refuses_with_the_fix(kind, entry, tmp_path):
    with pytest.raises(ModelError, match=expected_error(kind, entry)):
        _run(kind, entry, tmp_path)
