"""Trains every study model at full width: the first step of `benchmarks/gpu_suite.sh`.

    python benchmarks/gpu_train_models.py --output runs/models                # the full runs (a GPU)
    python benchmarks/gpu_train_models.py --output /tmp/models --smoke        # seconds per model

Each model of `MODELS` (the four studies' models, ResNet-18 and VGG-16 at their papers' width
64) trains with `kerasadv.training.train` under `dtype_policy="auto"`: full mode on the whole
training split for the epochs of `kerasadv.training.training_defaults(name)`, tested on the whole
test split; `--smoke` on 128 training images for 1 epoch, tested on 50. Writes
`OUTPUT/<model>/model.keras` and `metrics.json`, appends a `train_<model>` row (seconds, status)
to `--timings` when given, and ends with one line per model: accuracy, seconds, dtype policy.
Data: `--data`, else the CIFAR-10 archive at $KERASADV_CIFAR10_TAR.
"""

import argparse
import os
import sys
import time
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kerasadv import training  # noqa: E402

MODELS = {
    "simple_cnn": None,
    "base_cnn": None,
    "efficientnet_b0": None,
    "resnet18": {"width": 64},
    "vgg16": {"width": 64},
}
"""The study models and the builder options that make them full width (None: the builder's defaults)."""

SMOKE = {"epochs": 1, "num_examples": 128, "num_test_examples": 50}
"""`train` arguments of a smoke run: every model builds, trains a step or more, is tested and saved."""


def run_options(name, smoke):
    """`kerasadv.training.train` keyword arguments for model `name`, full or smoke.

    Example:
    >>> run_options("resnet18", smoke=True)["model_options"], run_options("vgg16", smoke=False)["epochs"] > 1
    ({'width': 64}, True)
    """
    sizes = SMOKE if smoke else {"epochs": training.training_defaults(name).epochs}
    return {**sizes, "model_options": MODELS[name], "dtype_policy": "auto"}


def train_one(name, source, output, smoke, seed=0):
    """Trains model `name` into `output/<name>` (`model.keras`, `metrics.json`).

    Args:
        name: a key of `MODELS`.
        source: a `kerasadv.data` source.
        output: the folder of all the models.
        smoke: the sizes of `SMOKE` instead of the full run's.
        seed: seeds weights, data order and augmentation.

    Returns:
        `(metrics, seconds)`: `kerasadv.training.train`'s metrics dict and the wall time.
    """
    start = time.perf_counter()
    _, metrics = training.train(
        name, source, os.path.join(output, name), seed=seed, verbose=2, **run_options(name, smoke)
    )
    return metrics, time.perf_counter() - start


def append_timing(path, step, seconds, status):
    """Appends `step<TAB>seconds<TAB>status` to the timings file `path` (nothing when `path` is None)."""
    if path:
        with open(path, "a") as f:
            f.write(f"{step}\t{seconds:.1f}\t{status}\n")


def main(argv=None):
    """Parses the command line (`argv`, default `sys.argv[1:]`) and trains the models; exits 1 when any failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True, help="the models go to OUTPUT/<model>/model.keras")
    parser.add_argument("--data", help="kerasadv.data source (default: tar:$KERASADV_CIFAR10_TAR)")
    parser.add_argument("--smoke", action="store_true", help="128 training images, 1 epoch, 50 test images")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of the models")
    parser.add_argument("--timings", help="append a train_<model> row (seconds, status) per model to this TSV")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    archive = os.environ.get("KERASADV_CIFAR10_TAR", "")
    if not args.data and not os.path.isfile(archive):
        parser.error(f"no data: pass --data or set KERASADV_CIFAR10_TAR to the CIFAR-10 archive (got {archive!r})")
    source = args.data or f"tar:{archive}"
    unknown = sorted(set(args.models.split(",")) - set(MODELS))
    if unknown:
        parser.error(f"--models: unknown {unknown}, expected names from {list(MODELS)}")
    failed, lines = [], []
    for name in args.models.split(","):
        print(f"== {name} {run_options(name, args.smoke)}", flush=True)
        try:
            metrics, seconds = train_one(name, source, args.output, args.smoke, args.seed)
        except Exception as error:  # one model's failure must not lose the others' hours of training
            traceback.print_exc()
            print(f"!! {name} failed: {type(error).__name__}: {error}", flush=True)
            append_timing(args.timings, f"train_{name}", 0.0, "failed")
            failed.append(name)
            continue
        append_timing(args.timings, f"train_{name}", seconds, "ok")
        policy = metrics.get("dtype_policy", {})
        policy = policy.get("policy", policy) if isinstance(policy, dict) else policy
        lines.append(f"{name}: test accuracy {metrics['test_accuracy']:.3f}, {seconds:.0f} s, dtype policy {policy}")
    print("\n".join(["", *lines]))
    if failed:
        sys.exit(f"training failed for {failed} (see above)")


if __name__ == "__main__":
    main()
