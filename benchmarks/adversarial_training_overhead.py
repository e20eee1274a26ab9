"""Adversarial training recipes against standard training: epoch cost, then robustness per budget.

    python benchmarks/adversarial_training_overhead.py --quick

Part 1, epoch cost. Each variant trains the simple CNN with `model.fit` on the same cached
batches (real CIFAR-10 from $KERASADV_CIFAR10_TAR when set, random images otherwise). After one
untimed epoch each (tracing), the variants take turns, one epoch each per round, and the median
epoch counts, so drift of the machine's speed hits all alike. The input pipeline runs on one
private thread: on a 2-core machine tf.data's autotuned threads otherwise compete with the
training step and distort the ratios. Free AT with m replays processes each batch m times, so
its ratio is its epoch time over m standard epochs.

Part 2, what the cost buys (needs $KERASADV_CIFAR10_TAR; `--no_robustness` skips it). Fast AT,
PGD-AT, TRADES, MART, AT-AWP and standard training each train a fresh simple CNN from scratch on
the same shuffled, flipped images for the same wall-clock budget (Adam, eps warm-up over the
first epoch), then clean accuracy, PGD-20 (step eps / 4, random start) and AutoAttack (standard)
robust accuracy at Linf 8/255 are measured on the first test images. The published figures
beside ours are other models (WRN-34-10, PreActResNet-18), 100-200 epochs on GPUs: they say
where the recipes end, not what a CPU budget reaches. Ends with `ratio <name> <value>` lines.
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from common import cached_train_batches, print_ratios, print_table  # noqa: E402

from kerasadv import attacks, callbacks, data, models, training  # noqa: E402

EPS, REPLAYS, INNER_STEPS = 8 / 255, 4, 10
KL_PGD = attacks.KLPGD(EPS, steps=INNER_STEPS, step_size=None, rel_step_size=0.25, seed=0)
MART_PGD = training.mart_attack(EPS, steps=INNER_STEPS, step_size=EPS / 4, seed=0)

VARIANTS = {
    "standard": lambda clf, b: clf,
    "fgsm_at": lambda clf, b: training.AdversarialModel(clf, attacks.FGSM(EPS), adv_ratio=1.0),
    "fast_fgsm_rs_at": lambda clf, b: training.AdversarialModel(clf, training.fast_at_attack(EPS, seed=0), 1.0),
    "free_at": lambda clf, b: training.FreeAdversarialModel(clf, attacks.FGSM(EPS), replays=REPLAYS, batch_size=b),
    "pgd7_at": lambda clf, b: training.AdversarialModel(clf, training.pgd_at_attack(EPS, 7, seed=0), 1.0),
    "pgd10_at": lambda clf, b: training.AdversarialModel(clf, training.awp_at_attack(EPS, seed=0), 1.0),
    "trades10": lambda clf, b: training.TRADESModel(clf, KL_PGD),
    "mart10": lambda clf, b: training.MARTModel(clf, MART_PGD),
    "awp_pgd10": lambda clf, b: training.AWPModel(clf, training.awp_at_attack(EPS, seed=0)),
    "trades_awp10": lambda clf, b: training.TRADESAWPModel(clf, KL_PGD, awp_warmup=0),
}
# Robustness at equal budget: the recipes, their names in part 1, and the published figures
# (clean / AutoAttack, %, CIFAR-10 Linf 8/255) of the reference models.
ROBUSTNESS = {
    "standard": ("standard", None),
    "fast_at": ("fast_fgsm_rs_at", None),
    "pgd_at": ("pgd10_at", "PreActResNet-18 PGD-AT (Rice et al. 2020, early stopped): about 82 / 48"),
    "trades": ("trades10", "WRN-34-10 TRADES (Zhang et al. 2019): 84.92 / 53.08"),
    "mart": ("mart10", "none read without extra data (the MART-AWP WRN-34-10 of csdongxian/AWP: 84.43 / 54.23)"),
    "awp": ("awp_pgd10", "WRN-34-10 AT-AWP (csdongxian/AWP AutoAttack log): 86.23 / 53.97"),
}


def build(name, batch_size):
    keras.utils.set_random_seed(0)
    model = VARIANTS[name](models.simple_cnn(), batch_size)
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def epoch_seconds(ds, batch_size, rounds, names):
    """Median epoch time of each variant, epochs interleaved round by round."""
    variants = {name: build(name, batch_size) for name in names}
    for model in variants.values():
        model.fit(ds, epochs=1, verbose=0)  # tracing
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, model in variants.items():
            start = time.perf_counter()
            model.fit(ds, epochs=1, verbose=0)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


class StopAfter(keras.callbacks.Callback):
    """Stops `fit` at the first batch that ends past `seconds` (the wall-clock budget)."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds, self.start, self.batches = seconds, None, 0

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True


def shuffled_batches(archive, num_examples, batch_size):
    """Real training images, reshuffled each epoch and flipped, on one private thread."""
    x, y = data.to_arrays(data.load(f"tar:{archive}", "train", num_examples=num_examples)[0])
    ds = tf.data.Dataset.from_tensor_slices((x, y)).cache().shuffle(len(x), seed=0).batch(batch_size)
    ds = training.augment(ds, True, 0, 0)
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.autotune.enabled = False
    return ds.with_options(options), len(x)


def robustness_rows(archive, args):
    """Each recipe trained for the same budget, then clean / PGD-20 / AutoAttack accuracy."""
    ds, num_train = shuffled_batches(archive, args.robust_train, args.batch)
    test = data.load(f"tar:{archive}", "test", num_examples=args.robust_test, shuffle=True, seed=0)[0]
    x_test, y_test = data.to_arrays(test)  # shuffled: the stratified subset comes sorted by class
    rows = []
    for label, (variant, published) in ROBUSTNESS.items():
        model = build(variant, args.batch)
        stop = StopAfter(args.budget)
        schedule = [] if label == "standard" else [callbacks.EpsilonSchedule(callbacks.linear_ramp(EPS / 2, EPS, 2))]
        model.fit(ds, epochs=1000, verbose=0, callbacks=[stop, *schedule])
        classifier = getattr(model, "classifier", model)
        pgd = attacks.PGD(EPS, steps=20, rel_step_size=0.25, seed=0)
        aa_data = (x_test[: args.autoattack_test], y_test[: args.autoattack_test])
        rows.append(
            {
                "recipe": label,
                "epochs": round(stop.batches * args.batch / num_train, 2),
                "clean": attacks.clean_accuracy(classifier, (x_test, y_test)),
                "pgd20": attacks.evaluate_attack(pgd, classifier, (x_test, y_test), progress=False)[
                    "adversarial_accuracy"
                ],
                "autoattack": attacks.evaluate_attack(
                    attacks.AutoAttack(EPS, seed=0), classifier, aa_data, progress=False
                )["adversarial_accuracy"],
                "published (clean / AA)": published or "",
            }
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,048 images, 3 rounds; 90 s budgets on 10,000 images")
    parser.add_argument("--num_examples", type=int, default=None)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--no_robustness", action="store_true", help="part 1 only")
    parser.add_argument("--budget", type=float, default=None, help="seconds of training per recipe (part 2)")
    parser.add_argument("--robust_train", type=int, default=None, help="training images of part 2")
    parser.add_argument("--robust_test", type=int, default=500, help="test images of clean and PGD-20 accuracy")
    parser.add_argument("--autoattack_test", type=int, default=200, help="test images of AutoAttack")
    args = parser.parse_args()
    args.budget = args.budget or (90.0 if args.quick else 600.0)
    args.robust_train = args.robust_train or (10000 if args.quick else 50000)
    num_examples = args.num_examples or (2048 if args.quick else 10240)
    ds = cached_train_batches(num_examples, args.batch)
    seconds = epoch_seconds(ds, args.batch, 3 if args.quick else 5, VARIANTS)
    base = seconds["standard"]
    ratios = {f"{name}_vs_standard": s / base for name, s in seconds.items() if name != "standard"}
    ratios["free_at_vs_standard"] = seconds["free_at"] / (REPLAYS * base)
    print_table(
        [{"variant": k, "epoch_seconds": v, "examples": num_examples} for k, v in seconds.items()],
        ["variant", "examples", "epoch_seconds"],
    )
    print(f"(free_at: {REPLAYS} replays per batch; its ratio is over {REPLAYS} standard epochs)")
    archive = os.environ.get("KERASADV_CIFAR10_TAR", "")
    if not args.no_robustness and os.path.isfile(archive):
        print(
            f"\nrobustness after {args.budget:g} s of training each ({args.robust_train} CIFAR-10 images; "
            f"clean and PGD-20 on {args.robust_test} test images, AutoAttack on {args.autoattack_test}; Linf 8/255):"
        )
        rows = robustness_rows(archive, args)
        print_table(rows, list(rows[0]))
    elif not args.no_robustness:
        print("\n(part 2 skipped: set KERASADV_CIFAR10_TAR to the CIFAR-10 archive)")
    print_ratios(ratios)


if __name__ == "__main__":
    main()
