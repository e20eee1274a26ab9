"""`data.load(in_memory=...)` feeds the same examples as the streamed path; batched augmentation is exact."""

import importlib

import numpy as np
import pytest
import tensorflow as tf

from kerasadv import data
from kerasadv.data import tfrecords
from kerasadv.errors import DataSourceError
from kerasadv.training import augment

load_module = importlib.import_module("kerasadv.data.load")  # `data.load` is the function
augment_module = importlib.import_module("kerasadv.training.augment")  # `training.augment` is the function


@pytest.mark.parametrize("shuffle", [False, True])
def test_the_in_memory_split_feeds_the_same_examples_in_the_same_order(cifar_tar, shuffle):
    source = f"tar:{cifar_tar}"
    streamed, info = data.load(source, "train", 600, 64, shuffle=shuffle, seed=4)
    held, held_info = data.load(source, "train", 600, 64, shuffle=shuffle, seed=4, in_memory=True)
    assert info == held_info
    for _epoch in range(2):  # reshuffled alike each epoch
        pairs = list(zip(streamed, held, strict=True))
        assert len(pairs) == 10
        for (x, y), (x_held, y_held) in pairs:
            assert x_held.dtype == tf.float32 and y_held.dtype == tf.int32
            np.testing.assert_array_equal(x.numpy(), x_held.numpy())
            np.testing.assert_array_equal(y.numpy(), y_held.numpy())


def test_auto_holds_a_small_split_and_a_bad_value_is_refused(monkeypatch):
    held, _ = data.load("fashion_mnist", "test", 100, 50, in_memory="auto")
    assert sum(len(y) for _, y in held) == 100
    monkeypatch.setattr(load_module, "IN_MEMORY_LIMIT", 10)
    streamed, _ = data.load("fashion_mnist", "test", 100, 50, in_memory="auto")
    assert sum(len(y) for _, y in streamed) == 100
    with pytest.raises(DataSourceError, match="in_memory must be True, False or 'auto', got 'yes'"):
        data.load("fashion_mnist", "test", 10, in_memory="yes")


def test_batched_crops_and_flips_are_windows_of_the_padded_image():
    images = tf.random.stateless_uniform((16, 8, 8, 3), (3, 4))
    ds = tf.data.Dataset.from_tensors((images, tf.zeros(16, tf.int32)))
    out = next(iter(augment(ds, flip=True, crop_padding=2, seed=1)))[0].numpy()
    padded = np.pad(images.numpy(), [(0, 0), (2, 2), (2, 2), (0, 0)], mode="reflect")
    flips = crops = 0
    for image, source in zip(out, padded):
        windows = {
            (flip, r, c): (source[:, ::-1] if flip else source)[r : r + 8, c : c + 8]
            for flip in (False, True)
            for r in range(5)
            for c in range(5)
        }
        found = [key for key, window in windows.items() if np.array_equal(window, image)]
        assert found, "an augmented image is no window of its padded (flipped) original"
        flips += found[0][0]
        crops += found[0][1:] != (2, 2)
    assert 0 < flips < 16 and crops > 0


@pytest.mark.parametrize("image_dtype", ["uint8", "float32"])
def test_an_example_set_held_in_memory_reads_as_the_streamed_one(tmp_path, image_dtype):
    rng = np.random.default_rng(0)
    batch = {"image": rng.random((70, 4, 4, 3)), "label": rng.integers(0, 10, 70), "steps": rng.random(70)}
    count, _ = tfrecords.write_split([batch], str(tmp_path), "train", image_dtype=image_dtype, shard_size=32)
    tfrecords.write_schema(str(tmp_path), (4, 4, 3), image_dtype, list("abcdefghij"), {"train": count}, ["steps"])
    read = dict(batch_size=16, with_extras=True, shuffle_seed=3)
    streamed = tfrecords.read_split(str(tmp_path), "train", **read)
    held = tfrecords.read_split(str(tmp_path), "train", in_memory=True, **read)
    for _epoch in range(2):  # reshuffled alike each epoch
        pairs = list(zip(streamed, held, strict=True))
        assert len(pairs) == 5
        for (x, y, extras), (x_held, y_held, extras_held) in pairs:
            assert x_held.dtype == tf.float32
            np.testing.assert_array_equal(x.numpy(), x_held.numpy())
            np.testing.assert_array_equal(y.numpy(), y_held.numpy())
            np.testing.assert_array_equal(extras["steps"].numpy(), extras_held["steps"].numpy())
    with pytest.raises(DataSourceError, match="in_memory must be True, False or 'auto', got 1.5"):
        tfrecords.read_split(str(tmp_path), "train", in_memory=1.5)


def test_cutout_sets_one_clipped_square_per_image_to_grey_and_nothing_else():
    images = tf.random.stateless_uniform((32, 8, 8, 3), (5, 6), 0.6, 1.0)  # never the fill value
    ds = tf.data.Dataset.from_tensors((images, tf.zeros(32, tf.int32)))
    out = next(iter(augment(ds, flip=False, seed=3, cutout=4)))[0].numpy()
    sides = set()
    for image, source in zip(out, images.numpy()):
        erased = (image == augment_module.CUTOUT_FILL).all(-1)
        rows, cols = np.flatnonzero(erased.any(1)), np.flatnonzero(erased.any(0))
        assert erased[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].all()  # one filled rectangle
        assert erased.sum() == len(rows) * len(cols) and len(rows) == rows[-1] - rows[0] + 1
        np.testing.assert_array_equal(image[~erased], source[~erased])  # the rest untouched
        sides.update((len(rows), len(cols)))
    assert sides == {2, 3, 4}  # whole 4x4 squares, and squares clipped at the border (centre at an edge)
    again = next(iter(augment(ds, flip=False, seed=3, cutout=4)))[0].numpy()
    np.testing.assert_array_equal(out, again)  # seeded
