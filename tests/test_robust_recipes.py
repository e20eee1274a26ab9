"""TRADES, MART and AWP: configs, fit with callbacks, precision, strategies, and losses by hand."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasadv import attacks, callbacks, models, training
from kerasadv.errors import AttackInputError, RecipeError

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
EPS = 8 / 255

RECIPES = {
    "trades": lambda clf: training.TRADESModel(clf, attacks.KLPGD(EPS, steps=2, seed=0)),
    "mart": lambda clf: training.MARTModel(clf, training.mart_attack(EPS, steps=2, seed=0)),
    "awp": lambda clf: training.AWPModel(clf, training.awp_at_attack(EPS, steps=2, seed=0)),
    "trades_awp": lambda clf: training.TRADESAWPModel(clf, attacks.KLPGD(EPS, steps=2, seed=0), awp_warmup=1),
}


def toy_data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 32, 32, 3), dtype=np.float32), (np.arange(n) % 10).astype(np.int32)


def tiny_classifier(seed=0, classes=3):
    """Flatten + Dense on 2x2x1 images, fixed weights: losses computable by hand."""
    inputs = keras.Input((2, 2, 1))
    outputs = keras.layers.Dense(classes)(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=(4, classes)).astype(np.float32), rng.normal(size=classes).astype(np.float32)])
    return model


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def logits_of(model, x):
    w, b = model.get_weights()
    return x.reshape(len(x), -1) @ w + b


def step_loss(wrapper, x, y):
    """The loss the wrapper logs for one step on (x, y) (the optimizer's rate is 0: no update)."""
    wrapper.compile(keras.optimizers.SGD(0.0), LOSS)
    return float(wrapper.train_on_batch(x, y, return_dict=True)["loss"])


def tiny_batch():
    rng = np.random.default_rng(1)
    return rng.random((6, 2, 2, 1), dtype=np.float32), np.array([0, 1, 2, 0, 1, 2], np.int32)


@pytest.mark.parametrize("name", ["trades", "mart", "awp", "trades_awp"])
def test_recipe_by_name_round_trips_and_serialises(name):
    recipe = training.get_recipe(name, seed=0)
    wrapper = training.wrap(models.simple_cnn(), recipe)
    assert type(wrapper).__name__ == recipe["class_name"]
    rebuilt = type(wrapper).from_config(wrapper.get_config())
    assert rebuilt.recipe_config() == wrapper.recipe_config()
    assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(wrapper)).recipe_config() == (
        wrapper.recipe_config()
    )


def test_published_defaults():
    trades = training.wrap(models.simple_cnn(), "trades")
    assert (trades.beta, trades.attack.eps, trades.attack.steps, trades.attack.step_size) == (6.0, 0.031, 10, 0.007)
    assert trades.attack.random_start == "normal" and not trades.attack.training
    mart = training.wrap(models.simple_cnn(), "mart")
    assert (mart.beta, mart.attack.eps, mart.attack.steps, mart.attack.step_size) == (6.0, 0.031, 10, 0.007)
    assert mart.attack.random_start == "normal"
    awp = training.wrap(models.simple_cnn(), "awp")
    assert (awp.awp_gamma, awp.awp_warmup, awp.adv_ratio, awp.attack.steps) == (0.01, 0, 1.0, 10)
    assert awp.attack.step_size == pytest.approx(2 / 255) and awp.attack.eps == pytest.approx(8 / 255)
    trades_awp = training.wrap(models.simple_cnn(), "trades_awp")
    assert (trades_awp.awp_gamma, trades_awp.awp_warmup, trades_awp.beta) == (0.005, 10, 6.0)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_fits_with_standard_callbacks_and_an_epsilon_schedule(name, tmp_path):
    keras.utils.set_random_seed(0)
    x, y = toy_data()
    model = RECIPES[name](models.simple_cnn())
    model.compile(keras.optimizers.Adam(1e-3), LOSS, metrics=["accuracy"])
    schedule = callbacks.EpsilonSchedule(callbacks.linear_ramp(EPS / 2, EPS, 2))
    history = model.fit(
        x,
        y,
        batch_size=16,
        epochs=2,
        validation_data=(x[:16], y[:16]),
        callbacks=[
            schedule,
            keras.callbacks.EarlyStopping("val_loss", patience=3),
            keras.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), save_best_only=True),
            keras.callbacks.TensorBoard(str(tmp_path / "logs")),
        ],
        verbose=0,
    )
    assert history.history["eps"] == pytest.approx([EPS / 2, EPS])
    assert np.isfinite(history.history["loss"]).all()
    best = keras.saving.load_model(tmp_path / "best.keras", safe_mode=True)
    assert best.name == model.classifier.name  # the checkpoint is the plain classifier
    assert float(model.attack_eps.numpy()) == pytest.approx(EPS)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_trains_under_mixed_bfloat16_and_saves_float32(name, tmp_path):
    keras.utils.set_random_seed(0)
    x, y = toy_data(16)
    model = RECIPES[name](training.with_dtype_policy(models.simple_cnn(), "mixed_bfloat16"))
    model.compile(keras.optimizers.Adam(1e-3), LOSS)
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    model.save(tmp_path / "m.keras")
    saved = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert training.dtype_policy_name(saved) == "float32"


def probabilities_by_hand(wrapper, x, y):
    """The tiny classifier's softmax on `x` and on the wrapper's attack of `x` (as its first step will make it)."""
    wrapper.attack.reseed(0)
    x_adv = wrapper.attack(wrapper.classifier, x, y).numpy()
    assert np.abs(x_adv - x).max() > 0.05  # the attack moved
    wrapper.attack.reseed(0)  # the step attacks from the same random start
    return softmax(logits_of(wrapper.classifier, x)), softmax(logits_of(wrapper.classifier, x_adv))


def test_trades_loss_is_clean_ce_plus_beta_times_the_batch_mean_of_kl_clean_to_adversarial():
    x, y = tiny_batch()
    wrapper = training.TRADESModel(tiny_classifier(), attacks.KLPGD(0.3, steps=3, step_size=0.1, seed=0), beta=2.5)
    p, q = probabilities_by_hand(wrapper, x, y)
    cross_entropy = -np.log(p[np.arange(6), y]).mean()
    kl = (p * np.log(p / q)).sum(1).mean()  # KL(f(x) || f(x')): summed over classes, mean over the batch
    reverse = (q * np.log(q / p)).sum(1).mean()
    assert abs(kl - reverse) > 1e-3  # the direction is tested
    assert step_loss(wrapper, x, y) == pytest.approx(cross_entropy + 2.5 * kl, rel=1e-5)


def test_trades_attack_ascends_the_kl_from_a_small_normal_start():
    x, y = tiny_batch()
    clf = tiny_classifier()
    start = attacks.KLPGD(0.3, steps=1, step_size=1e-9, seed=0)(clf, x).numpy()
    assert 0 < np.abs(start - x).max() < 0.01  # x + 0.001 N(0, I), one negligible step
    p = softmax(logits_of(clf, x))
    kl = lambda xa: (p * np.log(p / softmax(logits_of(clf, xa)))).sum(1)  # noqa: E731
    x_adv = attacks.KLPGD(0.3, steps=5, step_size=0.1, seed=0)(clf, x).numpy()
    assert (kl(x_adv) > kl(start)).all()
    with pytest.raises(AttackInputError, match="targeted"):
        attacks.KLPGD(targeted=True)
    with pytest.raises(RecipeError, match="KLPGD"):
        training.TRADESModel(clf, attacks.PGD(0.03))


def test_mart_loss_weights_the_kl_by_one_minus_the_clean_true_class_probability():
    x, y = tiny_batch()
    wrapper = training.MARTModel(tiny_classifier(), training.mart_attack(0.3, steps=3, step_size=0.1, seed=0), beta=3.0)
    p, q = probabilities_by_hand(wrapper, x, y)
    rows = np.arange(6)
    others = q.copy()
    others[rows, y] = -1
    boosted = -np.log(q[rows, y]) - np.log(1.0001 - q[rows, others.argmax(1)] + 1e-12)
    weighted_kl = (p * np.log(p / q)).sum(1) * (1.0000001 - p[rows, y])
    expected = boosted.mean() + 3.0 * weighted_kl.mean()
    unweighted = boosted.mean() + 3.0 * (p * np.log(p / q)).sum(1).mean()
    assert abs(expected - unweighted) > 1e-3  # the (1 - p_y) weight is tested
    assert step_loss(wrapper, x, y) == pytest.approx(expected, rel=1e-5)


def awp_perturbation(clf, x_adv, y, gamma):
    """By hand: gamma * ||w|| * g / ||g|| for the kernel, g = d CE(f(x'), y) / d kernel; bias untouched."""
    w, b = clf.get_weights()
    kernel = tf.Variable(w)
    with tf.GradientTape() as tape:
        logits = tf.reshape(x_adv, [len(x_adv), -1]) @ kernel + b
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
    g = tape.gradient(loss, kernel).numpy()
    return gamma * np.linalg.norm(w) / np.linalg.norm(g) * g


def test_awp_steps_at_perturbed_weights_and_restores_them():
    x, y = tiny_batch()
    clf = tiny_classifier()
    attack = training.awp_at_attack(0.3, steps=3, step_size=0.1, seed=0)
    wrapper = training.AWPModel(clf, attack, awp_gamma=0.5)
    attack.reseed(0)
    x_adv = attack(clf, x, y).numpy()
    w, b = clf.get_weights()
    v = awp_perturbation(clf, x_adv, y, 0.5)
    perturbed = tiny_classifier()
    perturbed.set_weights([w + v, b])
    kernel, bias = tf.Variable(w + v), tf.Variable(b)
    with tf.GradientTape() as tape:
        logits = tf.reshape(x_adv, [6, -1]) @ kernel + bias
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
    g_kernel, g_bias = tape.gradient(loss, [kernel, bias])

    attack.reseed(0)
    assert step_loss(wrapper, x, y) == pytest.approx(float(loss), rel=1e-5)  # the loss at w + v
    np.testing.assert_allclose(clf.get_weights()[0], w, atol=1e-6)  # rate 0: w + v - v = w
    wrapper.compile(keras.optimizers.SGD(0.1), LOSS)
    attack.reseed(0)
    wrapper.train_on_batch(x, y)
    np.testing.assert_allclose(clf.get_weights()[0], w - 0.1 * g_kernel.numpy(), atol=1e-5)
    np.testing.assert_allclose(clf.get_weights()[1], b - 0.1 * g_bias.numpy(), atol=1e-5)


def test_awp_waits_for_its_warm_up_epochs_and_keeps_batchnorm_statistics():
    x, y = toy_data(16)
    clf = models.resnet18(width=4)
    wrapper = training.TRADESAWPModel(clf, attacks.KLPGD(EPS, steps=1, seed=0), awp_warmup=2)
    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(int(wrapper.epoch.numpy()))

    wrapper.compile(keras.optimizers.SGD(0.01), LOSS)
    wrapper.fit(x, y, batch_size=8, epochs=3, callbacks=[Record()], verbose=0)
    assert seen == [0, 1, 2]
    moving = [w for w in clf.non_trainable_weights if "moving_mean" in w.path]
    before = [w.numpy().copy() for w in moving]
    training.awp.proxy_gradients(clf, lambda logits: tf.reduce_mean(logits(tf.constant(x))))
    for old, variable in zip(before, moving):
        np.testing.assert_array_equal(old, variable.numpy())  # the proxy pass is stateless


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda clf: training.TRADESModel(clf, beta=-1), "beta"),
        (lambda clf: training.MARTModel(clf, beta="x"), "beta"),
        (lambda clf: training.AWPModel(clf, awp_gamma=-0.1), "awp_gamma"),
        (lambda clf: training.TRADESAWPModel(clf, awp_warmup=1.5), "awp_warmup"),
        (lambda clf: training.MARTModel(clf, attacks.PGD(0.03, targeted=True)), "untargeted"),
    ],
)
def test_bad_recipe_arguments_name_the_value(make, message):
    with pytest.raises(RecipeError, match=message):
        make(models.simple_cnn())


MIRRORED = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, numpy as np
from kerasadv import attacks, training
x = np.random.default_rng(0).random((32, 32, 32, 3), dtype=np.float32)
y = np.arange(32) % 10
RECIPES = {
    "adversarial": lambda c: training.AdversarialModel(c, attacks.PGD(0.03, steps=2, random_start=False), 1.0),
    "trades": lambda c: training.TRADESModel(c, attacks.KLPGD(0.03, steps=2, random_start=False)),
    "mart": lambda c: training.MARTModel(c, attacks.PGD(0.03, steps=2, random_start=False)),
    "awp": lambda c: training.AWPModel(c, attacks.PGD(0.03, steps=2, random_start=False), awp_gamma=0.05),
    "trades_awp": lambda c: training.TRADESAWPModel(
        c, attacks.KLPGD(0.03, steps=2, random_start=False), awp_gamma=0.05, awp_warmup=1
    ),
}

def fit(strategy):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        inputs = keras.Input((32, 32, 3))
        hidden = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
        classifier = keras.Model(inputs, keras.layers.Dense(10)(hidden))
        model = RECIPES[sys.argv[1]](classifier)
        model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0).history["loss"]
    return history, strategy.num_replicas_in_sync, [w.numpy() for w in classifier.weights]

mirrored, replicas, mirrored_weights = fit(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
single, _, single_weights = fit(tf.distribute.get_strategy())
assert replicas == 2, replicas
np.testing.assert_allclose(mirrored, single, rtol=1e-5)  # the global batch's loss
for a, b in zip(mirrored_weights, single_weights):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)  # the same steps (AWP: the same perturbation)
print("OK")
"""


@pytest.mark.parametrize("name", ["adversarial", "trades", "mart", "awp", "trades_awp"])
def test_mirrored_strategy_on_two_logical_cpus_trains_like_one_device(name):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", MIRRORED, name], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "OK" in result.stdout, result.stderr[-3000:]


def fit_on_cifar(wrapper, data, epochs=3):
    keras.utils.set_random_seed(0)
    ds = tf.data.Dataset.from_tensor_slices(data).shuffle(len(data[0]), seed=0).batch(32)
    wrapper.compile(keras.optimizers.Adam(1e-3), LOSS)
    wrapper.fit(ds, epochs=epochs, verbose=0)
    return getattr(wrapper, "classifier", wrapper)


@pytest.fixture(scope="module")
def cifar_2000(cifar_small):
    train = (cifar_small["x_train"], cifar_small["y_train"])
    test = (cifar_small["x_test"], cifar_small["y_test"])
    keras.utils.set_random_seed(0)
    standard = fit_on_cifar(models.simple_cnn(), train)
    pgd = attacks.PGD(EPS, steps=10, seed=0)
    return train, test, attacks.evaluate_attack(pgd, standard, test, progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["trades", "mart", "awp", "trades_awp"])
def test_recipe_raises_pgd_robust_accuracy_above_standard_training(name, cifar_2000):
    """2,000 real CIFAR-10 images, 3 epochs, 3 inner steps at 8/255: PGD-10 accuracy on 500 test images.

    Two epochs on 1,000 images were too few for any recipe to separate from standard training
    (all near chance under PGD at 8/255). AWP gets one warm-up epoch: from scratch, on the simple
    CNN (no BatchNorm), gamma 0.01 from the first step kept it at chance for 2 epochs (0.001 did not).
    """
    train, test, standard = cifar_2000
    recipe = training.get_recipe(name, seed=0)
    attack = recipe["config"]["attack"]["config"]
    attack.update(eps=EPS, steps=3, step_size=EPS / 3)
    if "awp" in name:
        recipe["config"].update(awp_warmup=1, awp_gamma=0.005 if name == "trades_awp" else 0.002)
    robust = fit_on_cifar(training.wrap(models.simple_cnn(), recipe), train)
    result = attacks.evaluate_attack(attacks.PGD(EPS, steps=10, seed=0), robust, test, progress=False)
    assert result["clean_accuracy"] > 0.15  # learned something: chance is 0.1
    assert result["adversarial_accuracy"] > standard["adversarial_accuracy"] + 0.03, (result, standard)
