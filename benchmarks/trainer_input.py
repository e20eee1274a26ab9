"""The Trainer's input pipeline: an example set's training split read from its TFRecords every epoch
against parsed once and held in memory (`tfrecords.read_split(in_memory=...)`).

Writes the first `--examples` CIFAR-10 training images ($KERASADV_CIFAR10_TAR) as an example set (uint8
TFRecord shards, as ImageExampleGen does), then times whole epochs of the Trainer's reading (shuffled,
batch 128, cast to float) both ways on one private thread, interleaved. Prints images/s per way and
`ratio trainer_input_in_memory_vs_streamed` (epoch time streamed / in memory). What a training step
costs is not included: on 2 cores the input's share of an epoch is what the ratio saves.

    python benchmarks/trainer_input.py [--examples 50000] [--reps 3]
"""

import argparse
import os
import sys
import tempfile

import tensorflow as tf

sys.path.insert(0, os.path.dirname(__file__))
from common import cifar_archive, median_seconds, print_ratios, print_table, private_thread  # noqa: E402

from kerasadv import data  # noqa: E402
from kerasadv.data import tfrecords  # noqa: E402

BATCH_SIZE = 128


def write_example_set(archive, num_examples, directory):
    """The archive's first `num_examples` training images as an example set (uint8 shards + schema)."""
    dataset, info = data.load(f"tar:{archive}", "train", num_examples=num_examples, batch_size=1024)
    batches = ({"image": x, "label": y} for x, y in dataset)
    count, _ = tfrecords.write_split(batches, directory, "train")
    tfrecords.write_schema(directory, info.image_shape, "uint8", list(info.class_names), {"train": count})
    return count


def read(directory, in_memory):
    """The Trainer's read of the training split (shuffled each epoch), on one private thread."""
    return private_thread(tfrecords.read_split(directory, "train", BATCH_SIZE, shuffle_seed=0, in_memory=in_memory))


def epoch(dataset):
    """Reads one whole epoch; returns the number of images."""
    return sum(int(tf.shape(y)[0]) for _, y in dataset)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="trainer_input_")
    count = write_example_set(cifar_archive(), args.examples, directory)
    ways, load_seconds = {}, {}
    for way, held in (("streamed", False), ("in_memory", True)):  # in memory: parsed here, once
        load_seconds[way] = median_seconds({way: lambda held=held: read(directory, held)}, reps=1, warmup=0)[way]
        ways[way] = read(directory, held)
    seconds = median_seconds({way: (lambda d=d: epoch(d)) for way, d in ways.items()}, args.reps)
    rows = [
        {"way": way, "set_up_seconds": load_seconds[way], "epoch_seconds": s, "images_per_second": count / s}
        for way, s in seconds.items()
    ]
    print_table(rows, ["way", "set_up_seconds", "epoch_seconds", "images_per_second"])
    print_ratios({"trainer_input_in_memory_vs_streamed": seconds["streamed"] / seconds["in_memory"]})


if __name__ == "__main__":
    main()
