"""Robust evaluation: AutoAttack and APGD vs the hardware floor and ART; early exit's speed-up.

    python benchmarks/robust_evaluation.py --quick      # under 3 minutes on 2 cores (Intel)

One simple CNN trained normally on real CIFAR-10 ($KERASADV_CIFAR10_TAR), one batch of test
images and eps = 8/255 Linf for every row, measured in this run:

- `apgd_step_vs_floor`: one forward + backward pass over APGD-CE's cost per iteration (no
  early exit, eps small enough that nothing is broken: every example runs every step).
- `early_exit_speedup`: PGD-20 robust-accuracy evaluation with early exit over without; the
  two robust accuracies are printed and must be identical.
- `apgd_vs_art_apgd`: APGD-CE (100 iterations, 1 restart) against ART's
  `AutoProjectedGradientDescent` with the same budget: speed ratio; robust accuracies printed.
- `autoattack_vs_art`: kerasadv `AutoAttack` standard against ART's `AutoAttack` with its
  defaults on the same batch: speed ratio; robust accuracies printed (ours should be <= ART's).
  ART's ensemble restarts Square 5 times per surviving point (566 s on 16 images on an AMD
  EPYC), so `--quick` runs this row only with `--art_autoattack`, on the first 16 images.

The input pipeline is plain arrays (no tf.data threads); timed runs alternate between methods.
Ends with `ratio <name> <value>` lines; ratios above 1 mean kerasadv is faster.
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from common import cifar_archive, floor_fn, median_seconds, print_ratios, print_table, round_seconds  # noqa: E402

from kerasadv import attacks, data, models, training  # noqa: E402
from kerasadv.orchestration import writer

EPS = 8 / 255


def trained_model(archive, num_train, epochs):
    """The benchmark's model, trained once and kept in ~/.cache/kerasadv (training is not measured)."""
    path = os.path.expanduser(f"~/.cache/kerasadv/bench_simple_cnn_{num_train}x{epochs}.keras")
    if os.path.isfile(path):
        return keras.models.load_model(path)
    keras.utils.set_random_seed(0)
    train_ds, _ = data.load(f"tar:{archive}", "train", num_examples=num_train, shuffle=True, seed=0)
    model = training.compile_classifier(models.simple_cnn(), keras.optimizers.Adam(1e-3))
    model.fit(train_ds, epochs=epochs, verbose=0)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with writer.atomic_path(path) as tmp:
        model.save(tmp)
    return model


def robust_accuracy(model, x, y, x_adv):
    return float(np.mean(np.asarray(attacks.predict_labels(model, np.asarray(x_adv))) == y))


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def apgd_floor_rows(model, x, y, steps, reps):
    """APGD-CE's cost per iteration: (time of 2 * steps - time of steps) / steps, over the floor.

    The difference removes what a run pays once (checks, the start point's gradient); it is
    taken within each interleaved round (the three runs back to back) and the median over
    rounds is used, so drift of the machine's speed between rounds cancels.
    """
    floor = floor_fn(model)
    xt, yt = tf.constant(x), tf.constant(y)
    short = attacks.APGD(1e-4, steps=steps, early_exit=False, seed=0)
    long = attacks.APGD(1e-4, steps=2 * steps, early_exit=False, seed=0)
    fns = {"floor": lambda: floor(xt, yt), f"apgd_ce_{steps}": lambda: short(model, x, y)}
    times = round_seconds({**fns, f"apgd_ce_{2 * steps}": lambda: long(model, x, y)}, reps)
    differences = [(b - a) / steps for a, b in zip(times[f"apgd_ce_{steps}"], times[f"apgd_ce_{2 * steps}"])]
    per_iteration = statistics.median(differences)
    rows = [{"row": k, "seconds": statistics.median(v)} for k, v in times.items()]
    rows.append({"row": "apgd_ce_per_iteration", "seconds": per_iteration})
    ratios_per_round = [f / d for f, d in zip(times["floor"], differences)]
    return rows, statistics.median(times["floor"]) / per_iteration, ratios_per_round


def early_exit_rows(model, x, y, reps):
    with_exit = attacks.PGD(EPS, steps=20, seed=0, early_exit=True)
    without = attacks.PGD(EPS, steps=20, seed=0, early_exit=False)
    seconds = median_seconds(
        {"pgd20_early_exit": lambda: with_exit(model, x, y), "pgd20": lambda: without(model, x, y)}, reps
    )
    accuracies = {
        "pgd20_early_exit": robust_accuracy(model, x, y, with_exit(model, x, y)),
        "pgd20": robust_accuracy(model, x, y, without(model, x, y)),
    }
    rows = [{"row": k, "seconds": seconds[k], "robust_accuracy": accuracies[k]} for k in seconds]
    return rows, seconds["pgd20"] / seconds["pgd20_early_exit"]


def art_classifier(model, x):
    from art.estimators.classification import TensorFlowV2Classifier

    return TensorFlowV2Classifier(
        model,
        model.output_shape[-1],
        x.shape[1:],
        clip_values=(0.0, 1.0),
        loss_object=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )


def apgd_vs_art_rows(model, x, y):
    from art.attacks.evasion import AutoProjectedGradientDescent

    ours = attacks.APGD(EPS, steps=100, seed=0)
    art_apgd = AutoProjectedGradientDescent(
        art_classifier(model, x), eps=EPS, eps_step=2 * EPS, max_iter=100, nb_random_init=1,
        batch_size=len(x), loss_type="cross_entropy", verbose=False,
    )  # fmt: skip
    for size in (2, 3):  # trace once, outside the timing
        ours(model, x[:size], y[:size])
    x_ours, t_ours = timed(lambda: ours(model, x, y))
    x_art, t_art = timed(lambda: art_apgd.generate(x, np.eye(model.output_shape[-1])[y]))
    rows = [
        {"row": "apgd_ce_100", "seconds": t_ours, "robust_accuracy": robust_accuracy(model, x, y, x_ours)},
        {"row": "art_apgd_ce_100", "seconds": t_art, "robust_accuracy": robust_accuracy(model, x, y, x_art)},
    ]
    return rows, t_art / t_ours


def autoattack_vs_art_rows(model, x, y):
    from art.attacks.evasion import AutoAttack as ArtAutoAttack

    ours = attacks.AutoAttack(EPS, seed=0)
    for size in (2, 3):  # trace every attack of the ensemble once (a second size relaxes the batch dimension)
        ours.run(model, x[:size], y[:size])
    out, t_ours = timed(lambda: ours.run(model, x, y))
    table = attacks.per_attack_table(out["broken_by"], ours.names)
    art_auto = ArtAutoAttack(art_classifier(model, x), eps=EPS, eps_step=2 * EPS, batch_size=len(x))
    x_art, t_art = timed(lambda: art_auto.generate(x, np.eye(model.output_shape[-1])[y]))
    rows = [
        {"row": "autoattack_standard", "seconds": t_ours, "robust_accuracy": table[-1]["robust_accuracy"]},
        {"row": "art_autoattack_defaults", "seconds": t_art, "robust_accuracy": robust_accuracy(model, x, y, x_art)},
    ]
    rows += [{"row": f"  after {r['attack']}", "robust_accuracy": r["robust_accuracy"]} for r in table]
    return rows, t_art / t_ours


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small model training and batch (under 3 minutes)")
    parser.add_argument("--no_peers", action="store_true", help="skip the ART rows")
    parser.add_argument("--art_autoattack", action="store_true", help="with --quick: run ART's AutoAttack row too")
    parser.add_argument("--floor_rounds", type=int, help="interleaved rounds of the APGD floor rows (default 2 x reps)")
    parser.add_argument("--only_floor", action="store_true", help="measure apgd_step_vs_floor only")
    args = parser.parse_args()
    archive = cifar_archive()
    num_train, epochs, batch, reps = (5000, 4, 64, 3) if args.quick else (20000, 8, 256, 5)
    model = trained_model(archive, num_train, epochs)
    test = data.to_arrays(data.load(f"tar:{archive}", "test", num_examples=batch, seed=1)[0])
    x, y = test[0].astype(np.float32), test[1].astype(np.int32)
    print(f"simple CNN, {num_train} train images x {epochs} epochs; {batch} test images, clean accuracy "
          f"{robust_accuracy(model, x, y, x):.3f}; eps {EPS:.4f} Linf")  # fmt: skip
    rows, ratios = [], {}
    rounds = args.floor_rounds or 2 * reps  # a difference: more rounds
    floor_rows, ratios["apgd_step_vs_floor"], per_round = apgd_floor_rows(model, x, y, 20, rounds)
    print(f"apgd_step_vs_floor over {rounds} rounds: min {min(per_round):.3f}, median "
          f"{statistics.median(per_round):.3f}, max {max(per_round):.3f}")  # fmt: skip
    rows += floor_rows
    if not args.only_floor:
        exit_rows, ratios["early_exit_speedup"] = early_exit_rows(model, x, y, reps)
        rows += exit_rows
    if not args.no_peers and not args.only_floor:
        try:
            apgd_rows, ratios["apgd_vs_art_apgd"] = apgd_vs_art_rows(model, x, y)
            rows += apgd_rows
            if args.quick and not args.art_autoattack:
                print("ART's AutoAttack row skipped with --quick (it took 566 s on 16 images): add --art_autoattack")
            else:
                auto = slice(0, 16 if args.quick else None)
                auto_rows, ratios["autoattack_vs_art"] = autoattack_vs_art_rows(model, x[auto], y[auto])
                rows += auto_rows
        except ImportError:
            print("ART is not installed (pip install -e '.[bench]'): its rows are skipped")
    print_table(rows, ["row", "seconds", "robust_accuracy"])
    print_ratios(ratios)


if __name__ == "__main__":
    main()
