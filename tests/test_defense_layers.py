import keras
import numpy as np
import pytest

from kerasadv import analysis, attacks, layers, models, training
from kerasadv.reporting import plots


def round_trip(model, tmp_path, x):
    path = tmp_path / "m.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    return restored(x, training=False)


@pytest.mark.parametrize("sigma", [0.0, 0.3, 0.5, 0.8, 1.0, 2.0])
def test_gaussian_blur_equals_scipy(sigma):
    x = np.random.default_rng(0).random((3, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(layers.GaussianBlur(sigma)(x), layers.gaussian_filter(x, sigma), atol=1e-5)


def test_noise_defense_is_on_at_inference_and_seeded():
    x = np.zeros((4, 8, 8, 2), np.float32)
    a = layers.GaussianNoiseDefense(0.1, seed=3)(x, training=False).numpy()
    b = layers.GaussianNoiseDefense(0.1, seed=3)(x, training=False).numpy()
    np.testing.assert_array_equal(a, b)
    assert 0.07 < a.std() < 0.13


@pytest.mark.parametrize("position", ["first_conv", "dense"])
def test_base_cnn_with_noise_layer(position, tmp_path):
    model = models.base_cnn(noise_stddev=0.05, noise_position=position, noise_seed=0)
    x = np.random.default_rng(1).random((2, 32, 32, 3)).astype(np.float32)
    first, second = model(x, training=False), model(x, training=False)
    assert not np.allclose(first, second)  # noisy at inference
    assert round_trip(model, tmp_path, x).shape == (2, 10)


def test_every_layer_round_trips(tmp_path):
    inputs = keras.Input((16, 16, 3))
    x = layers.ImageNetPreprocessing("torch")(inputs)
    x = layers.GaussianBlur(0.7)(x)
    x = layers.GaussianNoiseDefense(0.0)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    z = layers.ContrastiveHead(2)(x)
    nearest = layers.NearestPrototypes(3, per_class=2)
    outputs = nearest(z)
    nearest.set_prototypes(np.random.default_rng(0).random((3, 2, 2)))
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(1).random((2, 16, 16, 3)).astype(np.float32)
    np.testing.assert_allclose(round_trip(model, tmp_path, x), model(x), atol=1e-6)
    noisy = keras.Model(inputs, layers.GaussianNoiseDefense(0.1, seed=1)(inputs))
    assert round_trip(noisy, tmp_path, x).shape == x.shape


def test_contrastive_loss_by_hand():
    z = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.5, 0.0]], np.float32)
    y = np.array([0, 0, 1, 1])
    # pairs: (0,1) same d2=1; (0,2) diff d=1 -> 1; (0,3) diff d=.5 -> 2.25;
    # (1,2) diff d=sqrt2 -> (2-1.414)^2; (1,3) diff d=sqrt(1.25) -> (2-1.118)^2; (2,3) same d2=.25
    expected = (1 + 1 + 2.25 + (2 - 2**0.5) ** 2 + (2 - 1.25**0.5) ** 2 + 0.25) / 6
    assert float(layers.pairwise_contrastive_loss(z, y, margin=2.0)) == pytest.approx(expected, rel=1e-5)


def test_contrastive_training_and_prototype_classifier(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((60, 32, 32, 3), dtype=np.float32)
    y = (np.arange(60) % 3).astype(np.int32)
    x[y == 1, :, :, 0] = 1.0  # make classes separable
    x[y == 2, :, :, 1] = 1.0
    model = training.ContrastiveModel(models.simple_cnn(num_classes=3), latent_dim=2, per_class=2)
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=20, epochs=8, verbose=0)
    assert model.fit_prototypes((x, y)).shape == (3, 2, 2)
    nearest = model.prototype_classifier()
    assert np.mean(np.argmax(nearest(x), 1) == y) > 0.8
    np.testing.assert_allclose(round_trip(nearest, tmp_path, x[:4]), nearest(x[:4]), atol=1e-5)
    x_adv = attacks.FGSM(0.03)(nearest, x[:10], y[:10])  # attacks apply to the 1-NN model
    path = plots.plot_latent_space(model.latent(x[:10]), model.latent(x_adv), y[:10], tmp_path / "latent.png")
    assert path.stat().st_size > 1000


def test_gaussian_filter_sweep_table():
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)))
    x = np.random.default_rng(0).random((20, 8, 8, 1)).astype(np.float32)
    y = np.argmax(model(x), 1)
    table = analysis.gaussian_filter_sweep(model, (x, y), (x[::-1], y), sigmas=[0.0, 0.5, 1.0])
    assert list(table.columns) == ["sigma", "clean_accuracy", "adversarial_accuracy"]
    assert table.clean_accuracy.iloc[0] == 1.0 and len(table) == 3
