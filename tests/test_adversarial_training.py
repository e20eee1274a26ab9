import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasadv import attacks, callbacks, data, models, training
from kerasadv.errors import AttackInputError

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def toy_data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 32, 32, 3), dtype=np.float32), (np.arange(n) % 10).astype(np.int32)


def standard_callbacks(tmp_path, monitor="val_robust_accuracy"):
    return [
        keras.callbacks.EarlyStopping(monitor, mode="max", patience=5),
        keras.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), monitor=monitor, mode="max", save_best_only=True),
        keras.callbacks.TensorBoard(str(tmp_path / "logs")),
        keras.callbacks.ReduceLROnPlateau(monitor, mode="max", patience=1),
        keras.callbacks.BackupAndRestore(str(tmp_path / "backup")),
    ]


VARIANTS = {
    "pgd_at": lambda: training.AdversarialModel(models.simple_cnn(), training.pgd_at_attack(0.03, 2, seed=0), 1.0),
    "fgsm_at": lambda: training.AdversarialModel(models.simple_cnn(), attacks.FGSM(0.03), 0.5),
    "fast_at": lambda: training.AdversarialModel(models.simple_cnn(), training.fast_at_attack(0.03, seed=0), 1.0),
    "free_at": lambda: training.FreeAdversarialModel(models.simple_cnn(), attacks.FGSM(0.03), replays=2, batch_size=16),
    "advprop": lambda: training.AdvPropModel(models.resnet18(width=4), attacks.PGD(0.03, steps=1, seed=0)),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_trains_in_fit_with_standard_callbacks(variant, tmp_path):
    keras.utils.set_random_seed(0)
    x, y = toy_data()
    model = VARIANTS[variant]()
    model.compile(keras.optimizers.Adam(1e-3), LOSS, metrics=["accuracy"])
    robust = callbacks.RobustAccuracy(attacks.FGSM(0.03), (x[:16], y[:16]))
    history = model.fit(
        x,
        y,
        batch_size=16,
        epochs=2,
        validation_data=(x[:16], y[:16]),
        callbacks=[robust, *standard_callbacks(tmp_path)],
        verbose=0,
    )
    assert len(history.history["val_robust_accuracy"]) == 2
    assert np.isfinite(history.history["loss"]).all() and "learning_rate" in history.history
    best = keras.saving.load_model(tmp_path / "best.keras", safe_mode=True)
    assert best.name == model.classifier.name  # the checkpoint is the plain classifier
    assert not any("_aux" in layer.name for layer in best.layers)
    assert os.listdir(tmp_path / "logs")
    np.testing.assert_allclose(
        model.evaluate(x, y, verbose=0)[0],
        model.classifier.compile(loss=LOSS) or model.classifier.evaluate(x, y, verbose=0),
        rtol=1e-5,
    )


def test_adversarial_batch_mixes_the_requested_fraction():
    x, y = toy_data(10)
    model = training.AdversarialModel(models.simple_cnn(), attacks.FGSM(0.05), adv_ratio=0.3)
    mixed = model.adversarial_batch(tf.constant(x), tf.constant(y)).numpy()
    changed = np.abs(mixed - x).reshape(10, -1).max(1) > 0
    assert changed.tolist() == [True] * 3 + [False] * 7


def test_saved_wrapper_is_the_servable_classifier(tmp_path):
    x, y = toy_data(16)
    model = training.AdversarialModel(models.simple_cnn(), attacks.FGSM(0.03))
    model.compile("adam", LOSS)
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "robust.keras")
    restored = keras.saving.load_model(tmp_path / "robust.keras", safe_mode=True)
    np.testing.assert_allclose(restored(x), model.classifier(x), atol=1e-5)


def test_backup_and_restore_resumes_after_a_crash(tmp_path):
    x, y = toy_data(16)

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("simulated crash")

    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    model = training.AdversarialModel(models.simple_cnn(), attacks.FGSM(0.03))
    model.compile("adam", LOSS)
    with pytest.raises(RuntimeError):
        model.fit(x, y, epochs=4, callbacks=[backup, Crash()], verbose=0)
    rerun = training.AdversarialModel(models.simple_cnn(), attacks.FGSM(0.03))
    rerun.compile("adam", LOSS)
    history = rerun.fit(x, y, epochs=4, callbacks=[backup], verbose=0)
    assert len(history.history["loss"]) == 2  # epochs 0 and 1 were backed up: 2 and 3 remain


class CountingFGSM(attacks.FGSM):
    """Counts how often the attack is traced (Python runs `perturb` only while tracing)."""

    traces = 0

    def perturb(self, model, x, labels, eps):
        self.traces += 1
        return super().perturb(model, x, labels, eps)


def test_epsilon_schedule_ramps_without_retracing():
    x, y = toy_data(16)
    attack = CountingFGSM(0.0)
    model = training.AdversarialModel(models.simple_cnn(), attack, adv_ratio=1.0)
    model.compile("adam", LOSS)
    schedule = callbacks.EpsilonSchedule(callbacks.linear_ramp(0.0, 0.03, 3))
    traces = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(traces=attack.traces))
    history = model.fit(x, y, epochs=4, callbacks=[schedule, traces], verbose=0)
    np.testing.assert_allclose(history.history["eps"], [0.0, 0.015, 0.03, 0.03], atol=1e-6)
    assert len(set(history.history["traces"])) == 1  # traced in epoch 0 only, eps changes after
    assert type(attack) is CountingFGSM and attack.eps == 0.0  # the user's attack is untouched


def test_epsilon_schedule_drives_free_at_and_validates():
    x, y = toy_data(16)
    model = training.FreeAdversarialModel(models.simple_cnn(), attacks.FGSM(0.03), replays=2, batch_size=16)
    model.compile("adam", LOSS)
    history = model.fit(
        x, y, batch_size=16, epochs=2, verbose=0, callbacks=[callbacks.EpsilonSchedule(lambda epoch, eps: eps / 2)]
    )
    np.testing.assert_allclose(history.history["eps"], [0.015, 0.0075], atol=1e-6)
    assert np.abs(model.delta.numpy()).max() <= 0.0075 + 1e-6
    with pytest.raises(AttackInputError, match=r"schedule\(0\) returned"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.EpsilonSchedule(lambda epoch: 2.0)])
    plain = training.compile_classifier(models.simple_cnn(), "adam")
    with pytest.raises(AttackInputError, match="training wrapper"):
        plain.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.EpsilonSchedule(lambda epoch: 0.01)])


def test_free_at_perturbation_stays_in_the_ball():
    x, y = toy_data(32)
    model = training.FreeAdversarialModel(models.simple_cnn(), attacks.FGSM(0.02), replays=3, batch_size=16)
    model.compile("adam", LOSS)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    delta = model.delta.numpy()
    assert np.abs(delta).max() <= 0.02 + 1e-6 and np.abs(delta).max() > 0.01


def test_advprop_keeps_main_batchnorm_for_inference():
    x, y = toy_data(32)
    model = training.AdvPropModel(models.resnet18(width=4), attacks.PGD(0.05, steps=2, seed=0))
    model.compile("adam", LOSS)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    main = model.classifier.get_layer("stem_bn").moving_mean.numpy()
    aux = model.auxiliary.get_layer("stem_bn_aux").moving_mean.numpy()
    assert not np.allclose(main, aux)
    classifier_weights = {id(w) for w in model.classifier.weights}
    assert all(
        id(w) in classifier_weights for l in model.auxiliary.layers if "_aux" not in l.name for w in l.weights
    )  # everything but BatchNorm is shared


def test_retraining_on_a_pre_generated_adversarial_set():
    x, y = toy_data(40)
    clf = models.simple_cnn()
    x_adv = attacks.FGSM(0.03)(clf, x, y).numpy()
    clean = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    adversarial = tf.data.Dataset.from_tensor_slices((x_adv, y)).batch(8)
    mixed = training.mix_datasets(clean, adversarial, batch_size=16, seed=0)
    images = np.concatenate([b[0].numpy() for b in mixed])
    assert len(images) == 80
    assert sum(np.any(np.all(np.isclose(images, a), axis=(1, 2, 3))) for a in x_adv[:5]) == 5
    training.compile_classifier(clf, "adam").fit(mixed, epochs=1, verbose=0)


@pytest.mark.slow
def test_adversarial_training_raises_robust_accuracy(trained_simple_cnn, cifar_tar, cifar_small):
    keras.utils.set_random_seed(0)
    train_ds, _ = data.load(f"tar:{cifar_tar}", "train", num_examples=5000, shuffle=True, seed=0)
    robust = training.AdversarialModel(models.simple_cnn(), attacks.FGSM(0.02), adv_ratio=0.5)
    robust.compile(keras.optimizers.Adam(1e-3), LOSS)
    robust.fit(train_ds, epochs=4, verbose=0)  # same data, epochs and optimiser as the fixture
    test = (cifar_small["x_test"], cifar_small["y_test"])
    pgd = attacks.PGD(0.02, steps=10, seed=0)
    normal = attacks.evaluate_attack(pgd, trained_simple_cnn, test, progress=False)
    adversarial = attacks.evaluate_attack(pgd, robust.classifier, test, progress=False)
    assert adversarial["adversarial_accuracy"] > normal["adversarial_accuracy"] + 0.03
