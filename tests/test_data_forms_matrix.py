"""Data-forms matrix: every form of data a user brings x every entry point that takes data.

Each cell either works, with the same result as the numpy form, or raises kerasadv's own
error naming the form given and the fix (`kerasadv.data.forms`). A cell another module still
gets wrong is a strict xfail naming the module to fix (`GAPS`): it fails the day it is fixed,
so the matrix is updated with it.
"""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasadv import analysis, attacks, certify, training
from kerasadv.data.load import default_source, load
from kerasadv.errors import AttackInputError, CertificationError, DataSourceError, KerasAdvError

RNG = np.random.default_rng(0)
X = RNG.random((10, 8, 8, 3), dtype=np.float32)
Y = np.arange(10) % 3
W = np.ones(10, np.float32)
WORKS = "works"


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 3), name="image")
    hidden = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    return keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(hidden)))


MODEL = _model()
PROBE = analysis.probe_model(MODEL)


def _batched(*tensors):
    return tf.data.Dataset.from_tensor_slices(tensors).batch(4)


# Form -> the data an entry point is given (built fresh for every cell).
DATA_FORMS = {
    "numpy": lambda: (X, Y),
    "tensors": lambda: (tf.constant(X), tf.constant(Y)),
    "variables": lambda: (tf.Variable(X), tf.Variable(Y)),
    "lists": lambda: (X.tolist(), Y.tolist()),
    "dataset_xy": lambda: _batched(X, Y),
    "dataset_xyw": lambda: _batched(X, Y, W),
    "dataset_tfds_dict": lambda: tf.data.Dataset.from_tensor_slices({"image": X, "label": Y, "id": Y}).batch(4),
    "dataset_keras_dict": lambda: tf.data.Dataset.from_tensor_slices(({"image": X}, Y)).batch(4),
    "dataset_unbatched": lambda: tf.data.Dataset.from_tensor_slices((X, Y)),
    "dataset_as_x": lambda: (_batched(X, Y), None),
    "dataset_as_x_with_y": lambda: (_batched(X, Y), Y),
    "empty_numpy": lambda: (X[:0], Y[:0]),
    "empty_dataset": lambda: _batched(X, Y).take(0),
    "images_only": lambda: X,
    "xyw_triple": lambda: (X, Y, W),
}

# The refusals: form -> (error, patterns the message must hold: the form given, the fix).
REFUSED = {
    "dataset_xyw": (AttackInputError, ["sample_weights", r"dataset\.map\(lambda x, y, w: \(x, y\)\)"]),
    "dataset_as_x_with_y": (AttackInputError, ["tf.data.Dataset as x and labels y", "pass it alone"]),
    "empty_numpy": (AttackInputError, ["0 examples", "at least one"]),
    "empty_dataset": (AttackInputError, ["0 examples", "at least one"]),
    "images_only": (AttackInputError, [r"ndarray of shape \(10, 8, 8, 3\)", r"\(x, y\)"]),
    "xyw_triple": (AttackInputError, [r"\(x, y, sample_weights\) triple", "dataset.map"]),
}


def _flat(table):
    return table.select_dtypes("number").to_numpy().ravel()


def _stream(data):
    """The adversarial images `attacks.stream` yields (none for empty data: a stream of nothing is empty)."""
    batches = attacks.stream(attacks.FGSM(0.03), MODEL, data, progress=False)
    return np.concatenate([b["x_adv"].numpy().ravel() for b in batches] or [np.zeros(0)])


def _evaluate(data):
    result = attacks.evaluate_attack(attacks.FGSM(0.03), MODEL, data, progress=False)
    return [result[k] for k in ("num_examples", "clean_accuracy", "adversarial_accuracy", "mean_linf")]


# Entry point -> a function of the data returning numbers to compare with the numpy form's.
DATA_ENTRY_POINTS = {
    "evaluate_attack": _evaluate,
    "clean_accuracy": lambda data: attacks.clean_accuracy(MODEL, data),
    "stream": _stream,
    "eps_sweep_fgsm": lambda data: _flat(attacks.eps_sweep(attacks.FGSM(0.0), MODEL, data, [0.0, 0.03])),
    "eps_sweep_pgd": lambda data: _flat(attacks.eps_sweep(attacks.PGD(0.03, steps=2, seed=0), MODEL, data, [0.03])),
    "gaussian_filter_sweep": lambda data: _flat(analysis.gaussian_filter_sweep(MODEL, data, data, sigmas=[0.5])),
    "layer_vulnerability": lambda data: _flat(
        analysis.layer_vulnerability(MODEL, data, attacks.FGSM(0.03), strengths=(1.0,), progress=False)[1]
    ),
    "neural_ranking": lambda data: _flat(analysis.neural_ranking(PROBE, data, 3, top=3)),
    "neuron_coverage": lambda data: analysis.NeuronCoverage(PROBE).update(data).coverage(),
}

# Analyses of images need no labels: images alone work there.
LABEL_FREE = {"neural_ranking", "neuron_coverage"}

GAPS = {}  # cells other modules still get wrong (entry, form) -> the fix each needs: none left


def _expected(entry, form):
    if form == "images_only" and entry in LABEL_FREE or form.startswith("empty") and entry == "stream":
        return WORKS
    return REFUSED.get(form, WORKS)


def _cells(entries, forms, gaps):
    return [
        pytest.param(entry, form, marks=pytest.mark.xfail(strict=True, reason=gaps[entry, form]))
        if (entry, form) in gaps
        else pytest.param(entry, form)
        for entry in entries
        for form in forms
    ]


_REFERENCES = {}


def _reference(entry, form):
    """The entry point's result on the numpy form (on empty arrays for an empty form)."""
    key = (entry, form.startswith("empty"))
    if key not in _REFERENCES:
        _REFERENCES[key] = DATA_ENTRY_POINTS[entry]((X[:0], Y[:0]) if key[1] else (X, Y))
    return _REFERENCES[key]


def _check(call, expected, reference=None):
    """Runs `call` against the cell's expectation; returns `call()`'s result next to `reference()`'s, or the error."""
    if expected == WORKS:
        return np.asarray(call(), np.float64), np.asarray(reference(), np.float64)
    with pytest.raises(expected[0]) as raised:
        call()
    return raised.value


def _matches(outcome, expected):
    """Whether a `_check` outcome is the expected one: the reference's result, or a refusal saying each pattern."""
    if expected == WORKS:
        got, want = outcome
        return got.shape == want.shape and np.allclose(got, want, atol=1e-5, rtol=0)
    return all(re.search(pattern, str(outcome)) for pattern in expected[1])


@pytest.mark.parametrize(("entry", "form"), _cells(DATA_ENTRY_POINTS, DATA_FORMS, GAPS))
def test_data_form_x_entry_point(entry, form):
    expected = _expected(entry, form)
    outcome = _check(lambda: DATA_ENTRY_POINTS[entry](DATA_FORMS[form]()), expected, lambda: _reference(entry, form))
    assert _matches(outcome, expected), outcome


# One batch of images (attacks, certification): form -> (x, y) in that form.
BATCH_FORMS = {
    "numpy": lambda: (X, Y),
    "tensors": lambda: (tf.constant(X), tf.constant(Y)),
    "variables": lambda: (tf.Variable(X), tf.Variable(Y)),
    "lists": lambda: (X.tolist(), Y.tolist()),
    "empty": lambda: (X[:0], Y[:0]),
    "dataset_as_x": lambda: (_batched(X, Y), None),
}
DATASET_AS_BATCH = [r"tf\.data\.Dataset", r"kerasadv\.attacks\.stream\(attack, model, dataset\)"]


def _certify(x, y):
    result = certify.Smoothed(MODEL, 0.25, batch_size=16, seed=0).certify(x, n0=8, n=16, progress=False)
    return np.concatenate([result["predictions"], result["radius"]])


BATCH_ENTRY_POINTS = {
    "attack(model, x, y)": (lambda x, y: attacks.PGD(0.03, steps=2, seed=0)(MODEL, x, y), AttackInputError),
    "attack.run(model, x)": (lambda x, y: attacks.FGSM(0.03).run(MODEL, x)["x_adv"], AttackInputError),
    "Smoothed.certify(x)": (_certify, CertificationError),
}


@pytest.mark.parametrize("form", BATCH_FORMS)
@pytest.mark.parametrize("entry", BATCH_ENTRY_POINTS)
def test_batch_form_x_entry_point(entry, form):
    call, error = BATCH_ENTRY_POINTS[entry]
    size = 0 if form == "empty" else len(X)
    expected = (error, DATASET_AS_BATCH) if form == "dataset_as_x" else WORKS
    outcome = _check(lambda: call(*BATCH_FORMS[form]()), expected, lambda: call(X[:size], Y[:size]))
    assert _matches(outcome, expected), outcome


def _fit(data, **kwargs):
    keras.utils.set_random_seed(1)
    model = training.AdversarialModel(_model(1), attacks.FGSM(0.03))
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    if isinstance(data, tf.data.Dataset):
        history = model.fit(data, batch_size=4, epochs=1, verbose=0, shuffle=False, **kwargs)  # unbatched: by 4
    elif len(data) == 3:
        history = model.fit(data[0], data[1], sample_weight=data[2], batch_size=4, epochs=1, verbose=0, shuffle=False)
    else:
        history = model.fit(data[0], data[1], batch_size=4, epochs=1, verbose=0, shuffle=False)
    return history.history["loss"][-1]


FIT_FORMS = (
    "numpy",
    "tensors",
    "variables",
    "lists",
    "dataset_xy",
    "dataset_tfds_dict",
    "dataset_unbatched",
    "dataset_as_x_with_y",
    "empty_numpy",
)
FIT_REFUSED = {  # what fit should say (kerasadv's error naming the form and the fix)
    "dataset_as_x_with_y": (KerasAdvError, ["tf.data.Dataset", "labels"]),
    "empty_numpy": (KerasAdvError, ["0 examples"]),
}
FIT_GAPS = {}


@pytest.mark.parametrize(("entry", "form"), _cells(["fit"], FIT_FORMS, FIT_GAPS))
def test_fit_data_forms(entry, form):
    """`AdversarialModel.fit` on each form: the numpy form's loss (same seed, same batches)."""
    if "fit" not in _REFERENCES:
        _REFERENCES["fit"] = _fit((X, Y))
    expected = FIT_REFUSED.get(form, WORKS)
    outcome = _check(lambda: _fit(DATA_FORMS[form]()), expected, lambda: _REFERENCES["fit"])
    assert _matches(outcome, expected), outcome


def test_fit_honours_sample_weights():
    """(x, y, w) reaches the loss as weights (zero weights: zero loss), in arrays and in tf.data alike."""
    zero = np.zeros(10, np.float32)
    assert _fit((X, Y, zero)) == 0.0
    assert _fit(_batched(X, Y, zero)) == 0.0
    assert _fit(_batched(X, Y, W)) == pytest.approx(_fit((X, Y)), abs=1e-6)


@pytest.mark.parametrize("source", [X, _batched(X, Y)], ids=["numpy", "dataset"])
def test_train_names_a_non_string_source(source):
    """`training.train` / `data.load` take source strings: data in memory is named, with where it goes."""
    with pytest.raises(DataSourceError, match=r"got (ndarray of shape \(10, 8, 8, 3\)|_BatchDataset).*model\.fit"):
        load(source)


# --- the quick start's default data: $KERASADV_CIFAR10_TAR ----------------------------------------


def test_default_source_follows_the_archive_variable(tmp_path, monkeypatch):
    archive = tmp_path / "cifar10.tar.gz"
    archive.write_bytes(b"")
    monkeypatch.delenv("KERASADV_CIFAR10_TAR", raising=False)
    assert default_source() == "fashion_mnist"  # unset: the documented fallback
    monkeypatch.setenv("KERASADV_CIFAR10_TAR", str(archive))
    assert default_source() == f"tar:{archive}"


def test_a_misspelt_archive_path_is_an_error_not_another_data_set(tmp_path, monkeypatch):
    missing = str(tmp_path / "cifar10-jepg.tar.gz")
    monkeypatch.setenv("KERASADV_CIFAR10_TAR", missing)
    with pytest.raises(DataSourceError, match=re.escape(f"KERASADV_CIFAR10_TAR={missing!r} names no file")):
        default_source()


def test_the_quick_start_refuses_a_misspelt_archive_path(tmp_path, monkeypatch):
    from kerasadv.pipelines import quickstart

    monkeypatch.setenv("KERASADV_CIFAR10_TAR", str(tmp_path / "cifar10-jepg.tar.gz"))
    with pytest.raises(DataSourceError, match="names no file"):
        quickstart.default_source()
