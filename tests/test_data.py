import os
import time

import numpy as np
import pytest

from kerasadv import data
from kerasadv.data import image_folder, tfds_source
from kerasadv.errors import DataNotAvailableError, DataSourceError, KerasAdvError


def test_tar_source_reads_real_cifar_test_split(cifar_tar):
    ds, info = data.load(f"tar:{cifar_tar}", "test", num_examples=300, batch_size=64)
    x, y = data.to_arrays(ds)
    assert x.shape == (300, 32, 32, 3) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.std() > 0.1
    assert y.dtype == np.int32 and np.bincount(y).tolist() == [30] * 10
    assert info.class_names[3] == "cat" and info.image_shape == (32, 32, 3)
    assert info.split_sizes == {"train": 50000, "test": 10000} and info.num_examples == 300


def test_selection_is_stratified_and_seeded():
    labels = np.repeat(np.arange(3), [50, 30, 20])
    a = data.select_indices(labels, 10, seed=3)
    assert np.bincount(labels[a]).tolist() == [5, 3, 2]
    np.testing.assert_array_equal(a, data.select_indices(labels, 10, seed=3))
    assert not np.array_equal(a, data.select_indices(labels, 10, seed=4))
    assert len(data.select_indices(labels, None)) == 100


def test_shuffle_is_seeded_and_reshuffles_per_epoch(cifar_tar):
    def labels(seed):
        ds, _ = data.load(f"tar:{cifar_tar}", "test", num_examples=100, shuffle=True, seed=seed)
        return [data.to_arrays(ds)[1] for _ in range(2)]

    first, second = labels(7), labels(7)
    np.testing.assert_array_equal(first[0], second[0])
    assert not np.array_equal(first[0], first[1])


def test_dir_source_matches_tar_source(cifar_tar):
    root = os.path.join(image_folder.extract_archive(cifar_tar), "cifar10")
    x_dir, y_dir = data.to_arrays(data.load(f"dir:{root}", "test", num_examples=50)[0])
    x_tar, y_tar = data.to_arrays(data.load(f"tar:{cifar_tar}", "test", num_examples=50)[0])
    np.testing.assert_array_equal(x_dir, x_tar)
    np.testing.assert_array_equal(y_dir, y_tar)


def test_dir_source_resizes_on_request(cifar_tar):
    root = os.path.join(image_folder.extract_archive(cifar_tar), "cifar10")
    ds, info = data.load(f"dir:{root}", "test", num_examples=10, image_size=(48, 40))
    x, _ = data.to_arrays(ds)
    assert x.shape == (10, 48, 40, 3) and info.image_shape == (48, 40, 3) and x.max() <= 1.0


def test_array_sources_resize_on_request_like_tf_image_resize(cifar_small, tmp_path):
    import tensorflow as tf

    path = tmp_path / "small.npz"
    x8 = np.round(cifar_small["x_test"][:20] * 255).astype(np.uint8)
    y = cifar_small["y_test"][:20]
    np.savez(path, x_train=x8, y_train=y, x_test=x8, y_test=y)
    ds, info = data.load(f"npz:{path}", "test", image_size=(48, 40))
    x, _ = data.to_arrays(ds)
    assert x.shape == (20, 48, 40, 3) and info.image_shape == (48, 40, 3)
    np.testing.assert_allclose(x, tf.image.resize(x8 / 255.0, (48, 40)).numpy(), atol=1e-6)
    same, _ = data.to_arrays(data.load(f"npz:{path}", "test", image_size=(32, 32))[0])  # its own size: as stored
    np.testing.assert_array_equal(same, x8 / np.float32(255.0))


def test_npz_source(cifar_small, tmp_path):
    path = tmp_path / "small.npz"
    x8 = np.round(cifar_small["x_test"] * 255).astype(np.uint8)
    np.savez(
        path,
        x_train=x8[:60],
        y_train=cifar_small["y_test"][:60],
        x_test=x8[60:100],
        y_test=cifar_small["y_test"][60:100, None],
    )
    ds, info = data.load(f"npz:{path}", "test", batch_size=16)
    x, y = data.to_arrays(ds)
    np.testing.assert_allclose(x, x8[60:100] / 255.0, atol=1e-6)
    np.testing.assert_array_equal(y, cifar_small["y_test"][60:100])
    assert info.split_sizes == {"train": 60, "test": 40}


def test_fashion_mnist_source():
    folder = data.array_sources.FASHION_MNIST_DIRS[0]
    if not os.path.isdir(folder):
        pytest.skip("Fashion-MNIST not installed: apt-get install dataset-fashion-mnist")
    ds, info = data.load("fashion_mnist", "test", num_examples=200)
    x, y = data.to_arrays(ds)
    assert x.shape == (200, 28, 28, 1) and info.num_classes == 10 and np.bincount(y).min() == 20


def test_tfds_source_with_mock_data(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(tfds_source, "_reachable", lambda urls: True)  # downloads are mocked
    with tfds.testing.mock_data(num_examples=24):
        ds, info = data.load("tfds:cifar10", "train", batch_size=8, data_dir=str(tmp_path))
        x, y = data.to_arrays(ds)
    assert x.shape == (24, 32, 32, 3) and x.max() <= 1.0 and info.num_classes == 10
    assert y.max() < 10


def test_tfds_offline_fails_fast_naming_archive(tmp_path, monkeypatch):
    monkeypatch.setattr(tfds_source, "_reachable", lambda urls: False)
    start = time.perf_counter()
    with pytest.raises(DataNotAvailableError, match="cifar-10-binary.tar.gz") as err:
        data.load("tfds:cifar10", "test", data_dir=str(tmp_path))
    assert time.perf_counter() - start < 10
    assert os.path.join(str(tmp_path), "downloads", "manual") in str(err.value)


def test_unreachable_host_is_detected_quickly():
    start = time.perf_counter()
    assert not tfds_source._reachable(["https://127.0.0.1:9/archive.tar.gz"], timeout=2)
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize(
    "source, match",
    [
        ("imagenet", "Unknown data source 'imagenet'"),
        ("dir:/no/such/folder", "does not exist"),
        ("tar:/no/such/archive.tar.gz", "does not exist"),
        ("npz:/no/such/file.npz", "does not exist"),
        ("tfds:no_such_dataset_xyz", "Unknown tfds data set"),
    ],
)
def test_bad_sources_raise_clear_errors(source, match):
    with pytest.raises(DataSourceError, match=match):
        data.load(source)


def test_corrupt_archive(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASADV_CACHE_DIR", str(tmp_path / "cache"))
    archive = tmp_path / "broken.tar.gz"
    archive.write_bytes(b"\x1f\x8b\x08\x00 this is not a tar archive" * 10)
    with pytest.raises(DataSourceError, match="Cannot unpack"):
        data.load(f"tar:{archive}")
    assert not os.listdir(tmp_path / "cache" / "archives")  # nothing half-extracted stays


def test_wrong_split_name(cifar_tar):
    with pytest.raises(DataSourceError, match=r"Unknown split 'validation'.*\['test', 'train'\]"):
        data.load(f"tar:{cifar_tar}", "validation")
    with pytest.raises(DataSourceError, match="Unknown split 'dev'"):
        data.load("fashion_mnist", "dev")


def test_too_many_examples(cifar_tar):
    with pytest.raises(DataSourceError, match=r"num_examples must be in \[1, 10000\]"):
        data.load(f"tar:{cifar_tar}", "test", num_examples=20000)


def test_pixel_checks():
    assert float(data.to_unit_float(np.full((1, 2, 2, 1), 255, np.uint8)).numpy().max()) == 1.0
    with pytest.raises(KerasAdvError, match="uint8"):
        data.check_unit_range(np.zeros((1, 2, 2, 1), np.uint8))
    with pytest.raises(KerasAdvError, match=r"divide by 255"):
        data.check_unit_range(np.full((1, 2, 2, 1), 200.0, np.float32))


def test_read_batches_gives_read_splits_batches_from_the_shards_that_hold_them(tmp_path):
    from kerasadv.data import tfrecords

    images = np.random.default_rng(0).random((23, 2, 2, 1))
    count, _ = tfrecords.write_split([{"image": images, "label": np.arange(23)}], str(tmp_path), "eval", shard_size=5)
    tfrecords.write_schema(str(tmp_path), (2, 2, 1), "uint8", [str(i) for i in range(23)], {"eval": count})
    whole = [(x.numpy(), y.numpy()) for x, y in tfrecords.read_split(str(tmp_path), "eval", 4)]
    assert len(whole) == 6
    for first, stop in [(0, 6), (1, 3), (4, 6), (5, 9), (2, 2)]:
        part = [(x.numpy(), y.numpy()) for x, y in tfrecords.read_batches(str(tmp_path), "eval", 4, first, stop)]
        assert len(part) == len(whole[first:stop])
        for (x, y), (wx, wy) in zip(part, whole[first:stop]):
            np.testing.assert_array_equal(x, wx)
            np.testing.assert_array_equal(y, wy)
    limited = [y.numpy().tolist() for _, y in tfrecords.read_batches(str(tmp_path), "eval", 4, 1, 9, limit=10)]
    assert limited == [[4, 5, 6, 7], [8, 9]]
