"""Models and data handed to kerasadv are released after use: every per-model cache holds them weakly.

Each case keeps the library object that owns a cache (an attack, a fuzzer) alive, uses it on a
tiny model, drops the model and the data, collects, and asserts that weak references to them are dead.
"""

import gc
import weakref

import keras
import numpy as np
import pytest

from kerasadv import analysis, attacks, certify, training
from kerasadv.models import logits

Y = np.arange(4) % 4
KEPT = []  # the cache owners of the cases: alive until the end of the module


def tiny():
    return keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(2, 3, activation="relu", name="conv"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(4, name="logits"),
        ]
    )


def images():
    return np.random.default_rng(0).random((4, 8, 8, 3), dtype=np.float32)


def attacked_by(attack):
    KEPT.append(attack)
    return lambda model, x: attack(model, x, Y)


def fit(model, x):
    wrapper = training.AdversarialModel(model, attacks.FGSM(0.03))
    wrapper.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    wrapper.fit(x, Y, batch_size=4, verbose=0)


def fuzz(model, x):
    fuzzer = analysis.DLFuzz(iterations=1, max_mutations=2)
    KEPT.append(fuzzer)
    fuzzer(model, x)


def probe(model, x):
    probe = analysis.probe_model(model)
    analysis.probes.probe_outputs(probe, x)
    return probe


USES = {
    "gradient_attack": attacked_by(attacks.PGD(0.03, steps=2, seed=0)),
    "apgd": attacked_by(attacks.APGD(0.03, steps=2, seed=0)),
    "square": attacked_by(attacks.Square(0.03, queries=3, seed=0)),
    "eot": attacked_by(attacks.EOT(attacks.PGD(0.03, steps=1, seed=0), samples=2)),
    "autoattack": attacked_by(attacks.AutoAttack(0.03, version="custom", attacks=["apgd", "square"])),
    "predictions": lambda model, x: attacks.predict_labels(model, x),
    "evaluate_attack": lambda model, x: attacks.evaluate_attack("fgsm", model, (x, Y), progress=False),
    "eps_sweep": lambda model, x: attacks.eps_sweep(attacks.FGSM(0.0), model, (x, Y), [0.0, 0.1]),
    "logits_check": lambda model, x: logits.check_logits(model),
    "certify_sampler": lambda model, x: certify.Smoothed(model, 0.25, batch_size=8).certify(
        x[:1], n0=4, n=8, progress=False
    ),
    "training_wrapper": fit,
    "dlfuzz": fuzz,
    "probes": probe,
}


def _released(use):
    model, x = tiny(), images()
    refs = [weakref.ref(model), weakref.ref(x)]
    made = use(model, x)
    if isinstance(made, keras.Model):  # a model the library made from the user's (a probe): released too
        refs.append(weakref.ref(made))
    del model, x, made
    gc.collect()
    return [ref() is None for ref in refs]


@pytest.mark.parametrize("use", sorted(USES))
def test_model_and_data_are_released_after_use(use):
    assert all(_released(USES[use]))


def test_a_sweep_of_models_does_not_grow():
    attack = attacks.PGD(0.03, steps=1, seed=0)
    refs = []
    for _ in range(3):
        model = tiny()
        attack(model, images(), Y)
        refs.append(weakref.ref(model))
        del model
    gc.collect()
    assert [ref() for ref in refs] == [None] * 3
    assert len(attack._compiled._functions) == 0
