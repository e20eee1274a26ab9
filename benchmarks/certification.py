"""Randomized smoothing: noise-sampling throughput vs a plain forward pass; certifying CIFAR-10 images.

    python benchmarks/certification.py --quick      # the bars: about a minute on 2 cores
    python benchmarks/certification.py              # trains, then certifies 100 test images (minutes)

`--quick` measures, on the base CNN (`models.build("base_cnn")`) and the simple CNN, freshly
initialised on 32x32x3 inputs (the cost of a forward pass does not depend on the weights):

- `certify_samples_vs_forward_<model>`: noise samples per second of `Smoothed`'s sampler
  (`NoiseSampler.counts` on one image: tile, add `sigma * N(0, I)`, forward, argmax, count, in
  one compiled loop) over images per second of a plain forward pass (a `tf.function` of
  `model(batch, training=False)` + argmax) on batches of the same size, called as many times
  as the sampler draws batches. The sampler's extra work is drawing the noise and counting;
  the goal is >= 0.9. Each ratio is the median over interleaved rounds of the round's ratio
  (the two ran back to back); `certify_samples_vs_forward` is the smaller of the two models'.
- the samples per second of `Smoothed.certify` on one image (n0 + n samples, statistics and
  all) beside them, for the cost of a certificate: seconds per image = (n0 + n) / that rate.

Full mode trains the attack / defense study's quick noise-trained model, as its quick profile's
Trainer would: the base CNN (dropout 0.2) on 8,000 CIFAR-10 training images
($KERASADV_CIFAR10_TAR, a stratified seeded subset), 5 epochs, batch 32, learning rate 0.01
(the base CNN's defaults otherwise: SGD with Nesterov momentum, cosine decay, weight decay
5e-4, flips and 4-pixel crops), with the "gaussian_augmentation" recipe at sigma 0.25; the
model is kept in ~/.cache/kerasadv (training is timed once, then reused) unless `--model
path.keras` names one. It then certifies `--num-images` CIFAR-10 test images (a stratified
seeded subset) at n0 = 100, `--n` (10,000), alpha = 0.001, `--sigma` (0.25) and prints the
wall time, seconds per image, the certified-accuracy table at `certify.RADII` and the base
model's clean accuracy on the same images.

Timed runs alternate between methods (median over rounds); input pipelines get one private
thread, so tf.data does not compete with the model on 2 cores. Ends with `ratio <name>
<value>` lines; above 1 means sampling is faster than the plain forward pass.
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
from common import cifar_archive, print_ratios, print_table, private_thread, round_seconds  # noqa: E402

from kerasadv import attacks, certify, data, io, models, training  # noqa: E402

SIGMA, N0, ALPHA = 0.25, 100, 0.001
QUICK_MODELS = ("base_cnn", "simple_cnn")
# The attack / defense study's quick profile (pipelines/attack_defense_study/pipeline.py PROFILES["quick"]).
TRAIN_IMAGES, EPOCHS, BATCH, LEARNING_RATE, DROPOUT = 8000, 5, 32, 0.01, 0.2


def machine():
    """One line on the machine: CPU model, cores this process may use, native bfloat16 units."""
    name = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), name)
    except OSError:
        pass
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{name}, {cores} cores, GPUs {gpus or 'none'}, native bfloat16 {training.native_bfloat16()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )


def forward_fn(model):
    """The floor of sampling: a compiled forward pass in inference mode + argmax, one batch."""

    @tf.function
    def forward(x):
        return tf.argmax(tf.cast(model(x, training=False), tf.float32), -1, output_type=tf.int32)

    return forward


def measure_sampling(name, batch, batches, reps):
    """Samples per second of the sampler, the forward floor and `certify` on one model."""
    keras.utils.set_random_seed(0)
    model = models.build(name)
    image = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    x = tf.constant(np.random.default_rng(1).random((batch, 32, 32, 3), dtype=np.float32))
    forward, smoothed = forward_fn(model), certify.Smoothed(model, SIGMA, batch_size=batch, seed=0)
    n = batch * batches

    def floor():
        for _ in range(batches - 1):
            forward(x)
        return forward(x)

    fns = {
        "forward": floor,
        "sampler": lambda: smoothed.sampler.counts(image, n, (0, 0)),
        "certify": lambda: smoothed.certify(image[None], n0=N0, n=n, alpha=ALPHA, progress=False),
    }
    times = round_seconds(fns, reps, warmup=2)  # the first timed runs after one warm-up were still slow
    seconds = {k: statistics.median(v) for k, v in times.items()}
    per_round = [f / s for f, s in zip(times["forward"], times["sampler"])]  # round i ran back to back
    samples = {"forward": n, "sampler": n, "certify": N0 + n}
    rows = [
        {"model": name, "batch": batch, "method": k, "samples": samples[k], "seconds": s,
         "samples_per_s": samples[k] / s}
        for k, s in seconds.items()
    ]  # fmt: skip
    print(f"{name}: sampler vs forward per round {' '.join(f'{r:.3f}' for r in per_round)}")
    return rows, statistics.median(per_round)


def quick(args):
    rows, ratios = [], {}
    for name in QUICK_MODELS:
        model_rows, ratios[f"certify_samples_vs_forward_{name}"] = measure_sampling(
            name, args.batch, args.batches, args.reps
        )
        rows += model_rows
    print(f"load average {os.getloadavg()[0]:.2f} (other work on the machine slows the rows unevenly)")
    print_table(rows, ["model", "batch", "method", "samples", "seconds", "samples_per_s"])
    print_ratios({"certify_samples_vs_forward": min(ratios.values()), **ratios})


def train_model(archive, args, eval_arrays):
    """The quick noise-trained base CNN, as the study's quick Trainer trains it (cached in ~/.cache/kerasadv)."""
    output_dir = os.path.expanduser(
        f"~/.cache/kerasadv/bench_certify_base_cnn_sigma{args.sigma:g}_{args.train_images}x{args.epochs}"
    )
    path = os.path.join(output_dir, "model.keras")
    if os.path.isfile(path):
        print(f"model: {path} (cached; delete it to train again)")
        return io.load_model(path)
    keras.utils.set_random_seed(0)
    config = training.training_defaults("base_cnn", epochs=args.epochs, batch_size=BATCH, learning_rate=LEARNING_RATE)
    x, y = data.to_arrays(data.load(f"tar:{archive}", "train", num_examples=args.train_images, seed=0)[0])
    train_ds = private_thread(
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(x), seed=0, reshuffle_each_iteration=True)
        .batch(config.batch_size)
    )
    eval_ds = private_thread(tf.data.Dataset.from_tensor_slices(eval_arrays).batch(config.batch_size))
    classifier = models.build("base_cnn", dropout=DROPOUT)
    recipe = {"class_name": "gaussian_augmentation", "config": {"sigma": args.sigma, "seed": 0}}
    model = training.wrap(classifier, recipe, config.batch_size)
    training.compile_classifier(model, config.make_optimizer(-(-len(x) // config.batch_size) * config.epochs))
    start = time.perf_counter()
    metrics = training.fit_classifier(model, train_ds, eval_ds, config, output_dir, len(x), seed=0, verbose=2)
    print(
        f"trained base CNN (dropout {DROPOUT}) with gaussian_augmentation sigma {args.sigma} on {len(x)} images, "
        f"{config.epochs} epochs, batch {config.batch_size}, lr {config.learning_rate}: "
        f"{time.perf_counter() - start:.1f} s; last epoch's accuracy on noisy training images "
        f"{metrics['history']['accuracy'][-1]:.3f}"
    )
    print(f"model: {path}")
    return classifier


def full(args):
    archive = cifar_archive()
    x, y = data.to_arrays(data.load(f"tar:{archive}", "test", num_examples=args.num_images, seed=0)[0])
    x, y = x.astype(np.float32), y.astype(np.int64)
    model = io.load_model(args.model) if args.model else train_model(archive, args, (x, y.astype(np.int32)))
    if args.model:
        print(f"model: {args.model}")
    clean = float(np.mean(np.asarray(attacks.predict_labels(model, x)) == y))
    smoothed = certify.Smoothed(model, args.sigma, batch_size=args.batch, seed=0)
    warm = args.batch + args.n % args.batch  # every batch size the timed run uses, traced outside the timing
    smoothed.certify(x[:1], n0=N0, n=warm, alpha=ALPHA, progress=False)
    print(f"certifying {len(x)} images at n = {args.n} (--progress shows a bar)...", flush=True)
    start = time.perf_counter()
    result = smoothed.certify(x, n0=N0, n=args.n, alpha=ALPHA, progress=args.progress)
    wall = time.perf_counter() - start
    abstained = int(np.sum(result["predictions"] == certify.ABSTAIN))
    print(
        f"certified {len(x)} CIFAR-10 test images: sigma {args.sigma}, n0 {N0}, n {args.n}, alpha {ALPHA}, "
        f"batch {args.batch}, dtype {result['dtype']}, max radius {result['max_radius']:.3f}"
    )
    print(
        f"wall {wall:.1f} s, {wall / len(x):.3f} s per image, "
        f"{len(x) * (N0 + args.n) / wall:.0f} samples/s; abstained {abstained} of {len(x)}"
    )
    print(f"clean accuracy of the base model on these images: {clean:.3f}")
    print(certify.certified_accuracy(result, y).to_string(index=False))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sampling vs forward throughput only (about a minute)")
    parser.add_argument("--batch", type=int, default=1000, help="noise samples per forward pass (Smoothed's default)")
    parser.add_argument("--batches", type=int, default=4, help="--quick: batches per timed run")
    parser.add_argument("--reps", type=int, default=5, help="--quick: interleaved timed rounds")
    parser.add_argument("--num-images", type=int, default=100, help="test images to certify")
    parser.add_argument("--n", type=int, default=10_000, help="noise samples estimating each image's top class")
    parser.add_argument("--sigma", type=float, default=SIGMA, help="noise standard deviation (training and certify)")
    parser.add_argument("--model", help="certify this .keras model instead of training one")
    parser.add_argument("--train-images", type=int, default=TRAIN_IMAGES, help="CIFAR-10 training images")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="training epochs")
    parser.add_argument("--progress", action="store_true", help="a progress bar over the certified images")
    args = parser.parse_args()
    print(machine())
    if args.quick:
        quick(args)
    else:
        full(args)


if __name__ == "__main__":
    main()
