"""The order pipelines train in: examples shuffled at ingest and every epoch, never class blocks."""

import numpy as np
import pytest
import tensorflow as tf

from kerasadv import training
from kerasadv.components.example_gen import ImageExampleGen
from kerasadv.components.trainer import train_dataset
from kerasadv.data import tfrecords
from kerasadv.orchestration import Pipeline

BATCH = 128


@pytest.fixture(scope="module")
def cifar_examples(cifar_tar, tmp_path_factory):
    """ImageExampleGen over the class-sorted CIFAR-10 image folders (2,000 train images)."""
    gen = ImageExampleGen(source=f"tar:{cifar_tar}", num_train=2000, num_eval=100, seed=3)
    root = tmp_path_factory.mktemp("order")
    return Pipeline("order", str(root), [gen]).run(progress=False).outputs["ImageExampleGen"]["examples"]


def _labels(dataset):
    return [y.numpy() for _, y in dataset]


def test_ingest_writes_a_seeded_random_order(cifar_examples):
    labels = np.concatenate(_labels(tfrecords.read_split(cifar_examples.uri, "train", BATCH)))
    assert np.count_nonzero(np.diff(labels)) > 0.8 * len(labels)  # sorted: 9 label changes
    assert tfrecords.read_schema(cifar_examples.uri)["order"] == {"shuffled": True, "seed": 3}
    assert cifar_examples.properties["order"] == "shuffled"


def test_every_trainer_batch_holds_at_least_half_of_the_classes(cifar_examples):
    dataset, count = train_dataset(cifar_examples.uri, BATCH, seed=0)
    assert count == 2000
    full_batches = [y for y in _labels(dataset) if len(y) == BATCH]
    assert len(full_batches) == 2000 // BATCH
    assert min(len(np.unique(y)) for y in full_batches) >= 5


def test_trainer_reshuffles_examples_every_epoch(cifar_examples):
    dataset, _ = train_dataset(cifar_examples.uri, BATCH, seed=0)
    first, second = np.concatenate(_labels(dataset)), np.concatenate(_labels(dataset))
    assert sorted(first) == sorted(second) and not np.array_equal(first, second)


def _sorted_set(directory, labels, value):
    images = np.full((len(labels), 4, 4, 1), value, np.float32)
    count, _ = tfrecords.write_split([{"image": images, "label": labels}], directory, "train", "float32")
    tfrecords.write_schema(directory, (4, 4, 1), "float32", [str(c) for c in range(10)], {"train": count})


def test_retraining_batches_mix_classes_and_sets_from_sorted_inputs(tmp_path):
    sorted_labels = np.repeat(np.arange(10), 100)  # class blocks, as an unshuffled folder
    _sorted_set(str(tmp_path / "clean"), sorted_labels, 0.0)
    _sorted_set(str(tmp_path / "adv"), sorted_labels, 1.0)
    dataset, count = train_dataset(str(tmp_path / "clean"), 100, 0, adversarial_uri=str(tmp_path / "adv"))
    assert count == 2000 and int(dataset.cardinality()) == 20
    batches = list(dataset)
    assert all(len(np.unique(labels)) >= 5 for _, labels in batches)
    # Both sets in every batch but the last (sampling draws the leftovers of one set last).
    assert all(0.2 < float(tf.reduce_mean(images)) < 0.8 for images, _ in batches[:-1])


def test_mix_datasets_shuffles_sorted_inputs():
    x = np.zeros((200, 2, 2, 1), np.float32)
    y = np.repeat(np.arange(10), 20).astype(np.int32)
    clean = tf.data.Dataset.from_tensor_slices((x, y)).batch(50)
    mixed = training.mix_datasets(clean, clean, batch_size=40, seed=0)
    assert all(len(np.unique(labels)) >= 5 for _, labels in mixed)
