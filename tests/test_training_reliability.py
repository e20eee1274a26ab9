"""Training and attack internals that failed silently or with raw framework errors (issue 27, part A)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasadv import attacks, callbacks, training
from kerasadv.errors import AttackInputError, ModelError, RecipeError

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
X = np.random.default_rng(0).random((4, 8, 8, 3), dtype=np.float32)


def tiny(classes=3):
    return keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(2, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(classes),
        ]
    )


def compiled(wrapper):
    wrapper.compile("sgd", LOSS)
    return wrapper


def labels(classes=3):
    return np.arange(len(X)) % classes


@pytest.mark.parametrize("images", [X * 255, (X * 255).astype(np.uint8)], ids=["float_0_255", "uint8"])
def test_adversarial_training_refuses_0_255_images(images):
    wrapper = compiled(training.AdversarialModel(tiny(), attacks.FGSM(0.03)))
    with pytest.raises(AttackInputError, match=r"\[0, 1\].*(255|to_unit_float)"):
        wrapper.fit(images, labels(), batch_size=4, verbose=0)


def test_range_error_names_observed_range_and_stops_fit_after_the_first_step():
    wrapper = compiled(training.AdversarialModel(tiny(), attacks.FGSM(0.03)))
    data = tf.data.Dataset.from_tensor_slices((X * 255, labels())).batch(2)
    with pytest.raises(AttackInputError, match=r"got values in \[[0-9.]+, 2[0-9.]+\].*Divide") as error:
        wrapper.fit(data, epochs=3, verbose=0)
    assert "kerasadv.data" in str(error.value)
    assert int(wrapper.optimizer.iterations.numpy()) == 1


def test_range_check_resets_so_the_fixed_data_trains_on_the_same_wrapper():
    wrapper = compiled(training.AdversarialModel(tiny(), attacks.FGSM(0.03)))
    with pytest.raises(AttackInputError):
        wrapper.fit(X * 255, labels(), batch_size=4, verbose=0)
    wrapper.fit(X, labels(), batch_size=4, verbose=0)  # [0, 1] now: no error
    wrapper.train_on_batch(X, labels())


def test_nan_images_are_refused_in_training():
    bad = X.copy()
    bad[0, 0, 0, 0] = np.nan
    wrapper = compiled(training.TrainingWrapper(tiny()))
    with pytest.raises(AttackInputError, match="NaN or inf"):
        wrapper.train_on_batch(bad, labels())


def test_free_at_batch_larger_than_its_buffer_is_our_error():
    wrapper = compiled(training.FreeAdversarialModel(tiny(), attacks.FGSM(0.03), replays=1, batch_size=2))
    with pytest.raises(RecipeError, match="batch of 4 examples.*holds 2; pass batch_size=4"):
        wrapper.fit(X, labels(), batch_size=4, verbose=0)


def test_free_at_smaller_batches_still_train():
    wrapper = compiled(training.FreeAdversarialModel(tiny(), attacks.FGSM(0.03), replays=1, batch_size=4))
    history = wrapper.fit(X[:3], labels()[:3], batch_size=2, verbose=0)  # batches of 2 and 1
    assert np.isfinite(history.history["loss"][-1]) and int(wrapper.optimizer.iterations) == 2


def test_adversarial_examples_callback_refuses_bad_images_at_construction(tmp_path):
    with pytest.raises(AttackInputError, match="uint8"):
        callbacks.AdversarialExamples("fgsm", (X * 255).astype(np.uint8), labels(), str(tmp_path))
    with pytest.raises(AttackInputError, match="one label per image"):
        callbacks.AdversarialExamples("fgsm", X, [0, 1, 2], str(tmp_path))


def test_adversarial_examples_callback_checks_the_model_before_the_first_epoch(tmp_path):
    model = training.compile_classifier(tiny(), "sgd")
    wrong_size = np.random.default_rng(1).random((2, 16, 16, 3), dtype=np.float32)
    callback = callbacks.AdversarialExamples("fgsm", wrong_size, [0, 1], str(tmp_path))
    epochs = []
    seen = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: epochs.append(epoch))
    with pytest.raises(AttackInputError, match=r"expects \(8, 8, 3\)"):
        model.fit(X, labels(), epochs=1, verbose=0, callbacks=[callback, seen])
    assert epochs == []  # refused in on_train_begin


def test_apgd_dlr_on_two_classes_names_the_fix():
    with pytest.raises(AttackInputError, match=r"needs >= 3 classes.*loss='ce'"):
        attacks.APGD(0.03, steps=2, loss="dlr")(tiny(2), X, labels(2))


def test_autoattack_on_two_classes_names_the_fix():
    with pytest.raises(AttackInputError, match=r"needs >= 4 classes.*version='custom'"):
        attacks.AutoAttack(0.03)(tiny(2), X, labels(2))


def _two_inputs():
    a, b = keras.Input((8, 8, 3)), keras.Input((8, 8, 3))
    return keras.Model([a, b], keras.layers.Dense(3)(keras.layers.Flatten()(keras.layers.Add()([a, b]))))


def _two_outputs():
    inputs = keras.Input((8, 8, 3))
    features = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, [keras.layers.Dense(3)(features), keras.layers.Dense(3)(features)])


def _dict_output():
    inputs = keras.Input((8, 8, 3))
    return keras.Model(inputs, {"logits": keras.layers.Dense(3)(keras.layers.Flatten()(inputs))})


STRUCTURES = {"two_inputs": _two_inputs, "two_outputs": _two_outputs, "dict_output": _dict_output}
ENTRY_POINTS = {
    "fgsm": lambda model: attacks.FGSM(0.03)(model, X, labels()),
    "pgd": lambda model: attacks.PGD(0.03, steps=1)(model, X, labels()),
    "square": lambda model: attacks.Square(0.03, queries=2)(model, X, labels()),
    "eot": lambda model: attacks.EOT(attacks.PGD(0.03, steps=1), samples=2)(model, X, labels()),
    "autoattack": lambda model: attacks.AutoAttack(0.03, version="custom", attacks=["fgsm"])(model, X, labels()),
    "evaluate_attack": lambda model: attacks.evaluate_attack("fgsm", model, (X, labels()), progress=False),
    "eps_sweep": lambda model: attacks.eps_sweep(attacks.FGSM(0.0), model, (X, labels()), [0.0, 0.1]),
    "wrapper": lambda model: training.AdversarialModel(model, "fgsm"),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("structure", sorted(STRUCTURES))
def test_models_with_several_inputs_or_outputs_are_refused_with_the_fix(structure, entry):
    with pytest.raises(ModelError, match=r"keras\.Model\("):
        ENTRY_POINTS[entry](STRUCTURES[structure]())
