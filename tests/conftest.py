"""Shared fixtures: real CIFAR-10 images from the archive named by $KERASADV_CIFAR10_TAR."""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CIFAR_ENV = "KERASADV_CIFAR10_TAR"


@pytest.fixture(scope="session")
def cifar_tar():
    """Path of the CIFAR-10 JPEG archive; skips the test when it is not available."""
    path = os.environ.get(CIFAR_ENV, "")
    if not os.path.isfile(path):
        pytest.skip(
            f"real CIFAR-10 not available: set {CIFAR_ENV} to cifar10-jpeg.tar.gz "
            "(../shared/data/ in the project's checkout)"
        )
    return path


@pytest.fixture(scope="session")
def cifar_small(cifar_tar):
    """A stratified real-image subset: dict of x_train (2000), y_train, x_test (500), y_test."""
    from kerasadv import data

    arrays = {}
    for split, n in (("train", 2000), ("test", 500)):
        ds, _ = data.load(f"tar:{cifar_tar}", split, num_examples=n, seed=1)
        arrays[f"x_{split}"], arrays[f"y_{split}"] = data.to_arrays(ds)
    return arrays


@pytest.fixture(scope="session")
def cifar_npz(tmp_path_factory, cifar_small):
    """An `npz:` source of 200 train / 63 test real CIFAR-10 images of all 10 classes (fast pipelines)."""
    path = tmp_path_factory.mktemp("data") / "cifar_small.npz"
    np.savez(  # every 10th / 8th image of the stratified subset
        path,
        x_train=cifar_small["x_train"][::10],
        y_train=cifar_small["y_train"][::10],
        x_test=cifar_small["x_test"][::8],
        y_test=cifar_small["y_test"][::8],
        class_names=np.array([str(i) for i in range(10)]),
    )
    return f"npz:{path}"


@pytest.fixture(scope="session")
def trained_simple_cnn(cifar_tar):
    """A simple CNN trained for 4 epochs on 5,000 real CIFAR-10 images (about 30 s)."""
    import keras

    from kerasadv import data, models
    from kerasadv.training import compile_classifier

    keras.utils.set_random_seed(0)
    train_ds, _ = data.load(f"tar:{cifar_tar}", "train", num_examples=5000, shuffle=True, seed=0)
    model = compile_classifier(models.simple_cnn(), keras.optimizers.Adam(1e-3))
    model.fit(train_ds, epochs=4, verbose=0)
    return model


def assert_close(a, b, atol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=atol)
