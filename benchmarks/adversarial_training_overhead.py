"""Epoch time of adversarial training variants over a standard epoch, same model and data.

    python benchmarks/adversarial_training_overhead.py --quick

Each variant trains the simple CNN with `model.fit` on the same cached batches (real CIFAR-10
from $KERASADV_CIFAR10_TAR when set, random images otherwise). After one untimed epoch each
(tracing), the variants take turns, one epoch each per round, and the median epoch counts, so
drift of the machine's speed hits all alike. The input pipeline runs on one private thread:
on a 2-core machine tf.data's autotuned threads otherwise compete with the training step and
distort the ratios. Free AT with m replays processes each batch m times, so its ratio is its
epoch time over m standard epochs. Ends with `ratio <name> <value>` lines.
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
from common import cached_train_batches, print_ratios, print_table  # noqa: E402

from kerasadv import attacks, models, training  # noqa: E402

EPS, REPLAYS = 8 / 255, 4


VARIANTS = {
    "standard": lambda clf, b: clf,
    "fgsm_at": lambda clf, b: training.AdversarialModel(clf, attacks.FGSM(EPS), adv_ratio=1.0),
    "fast_fgsm_rs_at": lambda clf, b: training.AdversarialModel(clf, training.fast_at_attack(EPS, seed=0), 1.0),
    "free_at": lambda clf, b: training.FreeAdversarialModel(clf, attacks.FGSM(EPS), replays=REPLAYS, batch_size=b),
    "pgd7_at": lambda clf, b: training.AdversarialModel(clf, training.pgd_at_attack(EPS, 7, seed=0), 1.0),
}


def build(name, batch_size):
    keras.utils.set_random_seed(0)
    model = VARIANTS[name](models.simple_cnn(), batch_size)
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def epoch_seconds(ds, batch_size, rounds):
    """Median epoch time of each variant, epochs interleaved round by round."""
    variants = {name: build(name, batch_size) for name in VARIANTS}
    for model in variants.values():
        model.fit(ds, epochs=1, verbose=0)  # tracing
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, model in variants.items():
            start = time.perf_counter()
            model.fit(ds, epochs=1, verbose=0)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,048 images, 3 rounds (about a minute)")
    parser.add_argument("--num_examples", type=int, default=None)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    num_examples = args.num_examples or (2048 if args.quick else 10240)
    ds = cached_train_batches(num_examples, args.batch)
    seconds = epoch_seconds(ds, args.batch, 3 if args.quick else 5)
    base = seconds["standard"]
    ratios = {f"{name}_vs_standard": s / base for name, s in seconds.items() if name != "standard"}
    ratios["free_at_vs_standard"] = seconds["free_at"] / (REPLAYS * base)
    print_table(
        [{"variant": k, "epoch_seconds": v, "examples": num_examples} for k, v in seconds.items()],
        ["variant", "examples", "epoch_seconds"],
    )
    print(f"(free_at: {REPLAYS} replays per batch; its ratio is over {REPLAYS} standard epochs)")
    print_ratios(ratios)


if __name__ == "__main__":
    main()
