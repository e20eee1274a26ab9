import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasadv import attacks, models
from kerasadv.errors import AttackInputError, ModelError


def tiny_model(num_classes=4, shape=(6, 6, 3), batchnorm=False, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape)
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    if batchnorm:
        x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))


def images(n=8, shape=(6, 6, 3), seed=0):
    return np.random.default_rng(seed).uniform(0.05, 0.95, (n, *shape)).astype(np.float32)


def reference_gradient(model, x, y):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = keras.losses.sparse_categorical_crossentropy(y, model(x), from_logits=True)
    return tape.gradient(loss, x).numpy()


def test_fgsm_equals_eps_sign_grad():
    model, x, y = tiny_model(), images(), np.arange(8) % 4
    expected = np.clip(x + 0.05 * np.sign(reference_gradient(model, x, y)), 0, 1)
    np.testing.assert_allclose(attacks.FGSM(0.05)(model, x, y), expected, atol=1e-6)


def test_targeted_fgsm_descends_target_loss():
    model, x, targets = tiny_model(), images(), np.full(8, 2)
    expected = np.clip(x - 0.05 * np.sign(reference_gradient(model, x, targets)), 0, 1)
    np.testing.assert_allclose(attacks.FGSM(0.05, targeted=True)(model, x, targets), expected, atol=1e-6)


@pytest.mark.parametrize("norm, eps", [("linf", 0.03), ("l2", 0.5)])
def test_pgd_stays_in_ball_and_pixel_range(norm, eps):
    model, x, y = tiny_model(), images(16), np.arange(16) % 4
    x_adv = attacks.PGD(eps, steps=7, norm=norm, seed=0)(model, x, y).numpy()
    delta = (x_adv - x).reshape(16, -1)
    size = np.abs(delta).max(1) if norm == "linf" else np.linalg.norm(delta, axis=1)
    assert size.max() <= eps + 1e-5 and size.max() > 0.5 * eps
    assert x_adv.min() >= 0 and x_adv.max() <= 1


def test_targeted_attacks_raise_target_probability():
    model, x, targets = tiny_model(), images(16), np.full(16, 3)
    before = tf.nn.softmax(model(x))[:, 3].numpy()
    for attack in (attacks.FGSM(0.05, targeted=True), attacks.PGD(0.05, steps=10, targeted=True, seed=0)):
        after = tf.nn.softmax(model(attack(model, x, targets)))[:, 3].numpy()
        assert np.mean(after > before) > 0.9 and after.mean() > before.mean()


def test_target_selection_modes():
    model, x, y = tiny_model(), images(32), np.arange(32) % 4
    out = attacks.FGSM(0.01, targeted=True, target="random", seed=1).run(model, x, y)
    assert np.all(out["targets"].numpy() != y)
    out = attacks.FGSM(0.01, targeted=True, target="least_likely").run(model, x, y)
    np.testing.assert_array_equal(out["targets"], np.argmin(model(x), axis=1))


def test_iterative_fgs_stops_per_example():
    model, x = tiny_model(), images(16)
    predicted = np.argmax(model(x), 1)
    y = predicted.copy()
    y[:4] = (predicted[:4] + 1) % 4  # already misclassified: no step taken
    out = attacks.IterativeFGS(step_size=0.01, steps=50).run(model, x, y)
    steps, success = out["steps"].numpy(), out["success"].numpy()
    assert np.all(steps[:4] == 0) and np.all(success[:4])
    assert np.all(steps[4:] >= 1) and steps.max() <= 50
    fooled = np.argmax(model(out["x_adv"]), 1) != y
    np.testing.assert_array_equal(fooled, success)
    delta = np.abs(out["x_adv"].numpy() - x).reshape(16, -1).max(1)
    assert np.all(delta <= 0.01 * steps + 1e-5)


def test_iterative_fgs_respects_step_budget():
    model, x = tiny_model(), images(8)
    out = attacks.IterativeFGS(step_size=0.001, steps=2).run(model, x, np.argmax(model(x), 1))
    assert out["steps"].numpy().max() <= 2


def test_attack_inside_tf_function_matches_eager():
    model, x, y = tiny_model(), images(), np.arange(8) % 4
    attack = attacks.FGSM(0.02)

    @tf.function
    def graph(images, labels):
        return attack(model, images, labels)

    np.testing.assert_allclose(graph(x, y), attack(model, x, y), atol=1e-6)


def test_eps_sweep_and_batch_sizes_do_not_retrace():
    model, x, y = tiny_model(), images(), np.arange(8) % 4
    attack = attacks.PGD(0.01, steps=2, seed=0)
    for eps, n in ((0.01, 8), (0.02, 5), (0.05, 8), (0.05, 1)):
        attack(model, x[:n], y[:n], eps=eps)
    assert attack._compiled.tracing_count(model) == 1


def test_attacks_leave_batchnorm_statistics_alone():
    model, x, y = tiny_model(batchnorm=True), images(), np.arange(8) % 4
    before = [w.numpy().copy() for w in model.non_trainable_weights]
    attacks.PGD(0.03, steps=3, seed=0)(model, x, y)
    attacks.IterativeFGS(steps=3)(model, x, y)
    for old, new in zip(before, model.non_trainable_weights):
        np.testing.assert_array_equal(old, new.numpy())
    assert model.trainable


def test_fgsm_sweep_fast_path_matches_per_eps_evaluation():
    model, x, y = tiny_model(), images(40), np.arange(40) % 4
    table = attacks.eps_sweep(attacks.FGSM(0.0), model, (x, y), [0.0, 0.02, 0.1], batch_size=16)
    for row in table.itertuples():
        slow = attacks.evaluate_attack(attacks.FGSM(row.eps), model, (x, y), batch_size=16, progress=False)
        assert row.adversarial_accuracy == pytest.approx(slow["adversarial_accuracy"])
        assert row.success_rate == pytest.approx(slow["success_rate"])
    assert table.adversarial_accuracy.iloc[0] == pytest.approx(table.clean_accuracy.iloc[0])


def test_stream_over_dataset_yields_batches():
    model = tiny_model()
    ds = tf.data.Dataset.from_tensor_slices((images(20), np.arange(20) % 4)).batch(8)
    batches = list(attacks.stream(attacks.FGSM(0.01), model, ds, progress=True))
    assert [int(b["x_adv"].shape[0]) for b in batches] == [8, 8, 4]


def test_matched_noise_matches_perturbation_statistics():
    x = images(4, (16, 16, 3))
    delta = np.random.default_rng(2).normal(0.01, 0.02, x.shape).astype(np.float32)
    noisy = attacks.matched_noise(x * 0 + 0.5, x * 0 + 0.5 + delta, strength=1.0, seed=(1, 2)).numpy()
    noise = noisy - 0.5
    np.testing.assert_allclose(noise.mean(axis=(1, 2, 3)), delta.mean(axis=(1, 2, 3)), atol=3e-3)
    np.testing.assert_allclose(noise.std(axis=(1, 2, 3)), delta.std(axis=(1, 2, 3)), rtol=0.1)
    double = attacks.matched_noise(x * 0 + 0.5, x * 0 + 0.5 + delta, 2.0, (1, 2)).numpy() - 0.5
    np.testing.assert_allclose(double, 2 * noise, atol=1e-6)


def test_gaussian_noise_control():
    x = np.full((2, 8, 8, 3), 0.5, np.float32)
    noisy = attacks.GaussianNoise(0.05, strength=2.0, seed=0)(None, x).numpy()
    assert 0.08 < noisy.std() < 0.12


def test_one_pixel_attack_changes_one_pixel_and_succeeds():
    # A "model" whose class 1 logit is 10x the red value of any pixel in rows 1..4.
    inputs = keras.Input((6, 6, 3))
    flat = keras.layers.Flatten()(inputs)
    dense = keras.layers.Dense(2, use_bias=True)
    model = keras.Model(inputs, dense(flat))
    kernel = np.zeros((108, 2), np.float32)
    kernel[[(r * 6 + c) * 3 for r in range(1, 5) for c in range(6)], 1] = 10.0
    dense.set_weights([kernel, np.array([5.0, 0.0], np.float32)])
    x = np.zeros((2, 6, 6, 3), np.float32)
    out = attacks.OnePixel(steps=20, popsize=10, seed=0).run(model, x, np.zeros(2, int))
    changed = (np.abs(out["x_adv"].numpy() - x).max(-1) > 0).sum(axis=(1, 2))
    assert np.all(changed <= 1) and np.all(out["success"].numpy())
    assert np.all(np.argmax(model(out["x_adv"]), 1) == 1) and out["seconds"].shape == (2,)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: attacks.FGSM(-0.1), r"eps must be in \[0, 1\].*-0.1"),
        (lambda: attacks.FGSM(1.5), r"eps must be in \[0, 1\].*1.5"),
        (lambda: attacks.PGD(0.1, steps=0), "steps must be an integer >= 1, got 0"),
        (lambda: attacks.PGD(0.1, norm="l1"), "norm must be one of"),
        (lambda: attacks.FGSM(0.1, target="best"), "target must be one of"),
    ],
)
def test_bad_hyper_parameters(make, match):
    with pytest.raises(AttackInputError, match=match):
        make()


def test_bad_images_and_labels():
    model, x, attack = tiny_model(), images(4), attacks.FGSM(0.1)
    with pytest.raises(AttackInputError, match="uint8"):
        attack(model, (x * 255).astype(np.uint8), np.zeros(4, int))
    with pytest.raises(AttackInputError, match=r"divide by 255"):
        attack(model, x * 255, np.zeros(4, int))
    with pytest.raises(AttackInputError, match=r"shape \(4,\).*got shape \(3,\)"):
        attack(model, x, np.zeros(3, int))
    with pytest.raises(AttackInputError, match=r"class ids in \[0, 3\].*\[0, 7\]"):
        attack(model, x, np.array([0, 1, 2, 7]))
    with pytest.raises(AttackInputError, match="eps must be"):
        attack(model, x, np.zeros(4, int), eps=2.0)
    with pytest.raises(AttackInputError, match=r"shape \(n, height, width, channels\)"):
        attack(model, x[0], np.zeros(1, int))


def test_label_conversions_and_empty_batch():
    model, x, y = tiny_model(), images(4), np.array([0, 3, 1, 2])
    sparse = attacks.FGSM(0.1)(model, x, y)
    np.testing.assert_array_equal(attacks.FGSM(0.1)(model, x, np.eye(4)[y]), sparse)
    np.testing.assert_array_equal(attacks.FGSM(0.1)(model, x, y[:, None]), sparse)
    assert attacks.FGSM(0.1)(model, x[:0], y[:0]).shape == (0, 6, 6, 3)


def test_softmax_models_are_rejected_with_the_fix():
    inputs = keras.Input((6, 6, 3))
    probs = keras.layers.Dense(4, activation="softmax")(keras.layers.Flatten()(inputs))
    with pytest.raises(ModelError, match="logits_model"):
        attacks.FGSM(0.1)(keras.Model(inputs, probs), images(2), [0, 1])


@pytest.mark.slow
def test_attacks_lower_accuracy_of_a_trained_cnn(trained_simple_cnn, cifar_small):
    data = (cifar_small["x_test"], cifar_small["y_test"])
    clean = attacks.clean_accuracy(trained_simple_cnn, data)
    fgsm = attacks.evaluate_attack(attacks.FGSM(0.03), trained_simple_cnn, data, progress=False)
    pgd = attacks.evaluate_attack(attacks.PGD(0.03, steps=10, seed=0), trained_simple_cnn, data, progress=False)
    assert clean > 0.4
    assert fgsm["adversarial_accuracy"] < 0.5 * clean
    assert pgd["adversarial_accuracy"] < fgsm["adversarial_accuracy"]
    assert pgd["mean_linf"] <= 0.03 + 1e-5
    x_adv = attacks.FGSM(0.03)(trained_simple_cnn, *data).numpy()  # deterministic: what evaluate_attack attacked
    for images_, key in ((data[0], "mean_clean_confidence"), (x_adv, "mean_adversarial_confidence")):
        probabilities = tf.nn.softmax(trained_simple_cnn.predict(images_, verbose=0)).numpy()
        assert fgsm[key] == pytest.approx(probabilities.max(axis=1).mean(), abs=1e-5)
    clean_correct = trained_simple_cnn.predict(data[0], verbose=0).argmax(1) == data[1]
    adv_correct = trained_simple_cnn.predict(x_adv, verbose=0).argmax(1) == data[1]
    assert fgsm["accuracy_on_correct"] == pytest.approx((clean_correct & adv_correct).sum() / clean_correct.sum())


def test_attacks_on_a_mixed_bfloat16_model():
    x, y = images(16), np.arange(16) % 4
    reference = tiny_model()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = tiny_model()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    model.set_weights(reference.get_weights())
    x_adv = attacks.FGSM(0.03)(model, x, y).numpy()
    assert x_adv.dtype == np.float32 and x_adv.min() >= 0 and x_adv.max() <= 1
    assert np.abs(x_adv - x).max() <= 0.03 + 1e-6
    same_sign = np.sign(x_adv - x) == np.sign(attacks.FGSM(0.03)(reference, x, y).numpy() - x)
    assert same_sign.mean() > 0.8  # bfloat16 gradients, mostly the same direction
    assert attacks.PGD(0.03, steps=3, seed=0)(model, x, y).dtype == tf.float32


@pytest.mark.parametrize("steps", [2, 10])
def test_unrolled_and_while_loop_pgd_give_the_same_bits(steps, monkeypatch):
    from kerasadv.attacks import pgd as pgd_module

    model = models.simple_cnn()
    x = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
    y = np.arange(8) % 10
    unrolled = attacks.PGD(8 / 255, steps=steps, seed=0)(model, x, y).numpy()
    monkeypatch.setattr(pgd_module, "UNROLLED_STEPS", 0)  # every step count through tf.while_loop
    looped = attacks.PGD(8 / 255, steps=steps, seed=0)(model, x, y).numpy()
    assert np.abs(unrolled - x).max() > 0  # the attack moved
    np.testing.assert_array_equal(unrolled, looped)
