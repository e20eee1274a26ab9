"""Time to accuracy: training throughput, FLOPs, the share of the CPU's peak, and seconds to a target accuracy.

  python benchmarks/time_to_accuracy.py --quick
  python benchmarks/time_to_accuracy.py --models simple_cnn,resnet18 --output /tmp/tta
  # a 4-epoch pilot of EfficientNet-B0 with Keras's stochastic depth (its recipe turns it off):
  python benchmarks/time_to_accuracy.py --models efficientnet_b0 --epochs 4 --model_options '{"drop_connect_rate":0.2}'

Per model of `MODELS` (32x32x3 inputs, 10 classes, each model's default training batch size):

- Training throughput (images per second) in float32 and in the policy `dtype_policy="auto"`
  picks (`kerasadv.training.choose_dtype_policy`; its reason is printed): the median
  time of a round of compiled `model.train_on_batch` steps on random [0, 1] images, the two
  policies interleaved round by round so drift of the machine's speed affects both alike. Where
  auto picks float32 the two are one configuration: it is timed once and the ratio is 1.
- FLOPs per training image (`kerasadv.models.flops.training_flops`: 3 x the forward pass's,
  a multiply-add = 2 FLOPs), the achieved FLOP rate (images/s x FLOPs per image, under the auto
  policy) and its share of the CPU's peak under that policy
  (`kerasadv.training.hardware.peak_flops`). The peak, as that module computes it:

      peak = cores x clock x FLOPs per core per cycle

  with FLOPs per core per cycle (a fused multiply-add counts 2) from the CPU's flags: 64 in
  float32 with Intel AVX-512 (`avx512f`, two 512-bit FMA ports), 32 with AMD Zen 4's AVX-512 or
  with AVX2 + FMA, 16 otherwise (SSE); in bfloat16 2 x float32's with AVX-512 BF16
  (`avx512_bf16`), 2,048 with AMX (`amx_bf16`, `amx_tile`: 1,024 bfloat16 multiply-adds per
  cycle), float32's where bfloat16 is emulated. The clock is the highest `cpu MHz` in
  /proc/cpuinfo (nominal: turbo is not counted, so a share can exceed the nominal bound by the
  turbo margin); cores are those this process may run on. The peak is the CPU's even where a GPU
  trains (there the share means nothing).
- Full mode only (no `--quick`): `kerasadv.training.train(..., dtype_policy="auto",
  in_memory=True)` on the CIFAR-10 archive ($KERASADV_CIFAR10_TAR) with a callback that records,
  after every epoch, the wall seconds since `train` was called (loading the data, building and
  tracing the model included) and the accuracy on the 10,000 test images, and stops once
  `TARGETS[model]`'s accuracy is reached or its time (x `--budget_factor`) is spent. Prints each
  accuracy-vs-time curve and the seconds to the target, and writes all curves to
  `<output>/time_to_accuracy.json`.

Ends with `ratio auto_vs_float32_<model>` (auto's throughput over float32's: at least 0.95 when
"auto" chooses well) and `ratio peak_share_<model>` lines; full mode adds
`ratio seconds_to_target_<model>` (seconds to the target over the target's seconds, for the
models that reached it).
"""

import argparse
import json
import math
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from common import cifar_archive, median_seconds, print_ratios, print_table, random_batch  # noqa: E402

from kerasadv import models, training  # noqa: E402
from kerasadv.data.load import default_source  # noqa: E402
from kerasadv.errors import KerasAdvError  # noqa: E402
from kerasadv.models.flops import training_flops  # noqa: E402
from kerasadv.orchestration import writer  # noqa: E402
from kerasadv.training import choose_dtype_policy, hardware  # noqa: E402

MODELS = {"simple_cnn": {}, "base_cnn": {}, "efficientnet_b0": {}, "resnet18": {"width": 32}, "vgg16": {"width": 32}}
"""Model name -> builder options (over those of its recipe, `TrainingDefaults.model_options`)."""


def builder_options(model_name, overrides):
    """The builder options `model_name` is measured with: its recipe's, `MODELS`', then `overrides`."""
    return {**training.training_defaults(model_name).model_options, **MODELS[model_name], **overrides}


TARGETS = {
    "simple_cnn": (0.78, 5 * 60),
    "base_cnn": (0.8775, 45 * 60),
    "efficientnet_b0": (0.80, 60 * 60),
    "resnet18": (0.90, 60 * 60),
    "vgg16": (0.88, 60 * 60),
}
"""Model name -> (test accuracy, seconds to reach it on 2 cores)."""

INPUT_SHAPE = (32, 32, 3)
QUICK = {"images_per_round": 256, "rounds": 3}
FULL = {"images_per_round": 1024, "rounds": 5}


def compiled_model(model_name, model_options, policy):
    """`model_name` under `policy`, compiled with its default optimizer as `training.train` compiles it."""
    model = training.with_dtype_policy(models.build(model_name, INPUT_SHAPE, 10, **model_options), policy)
    return training.compile_classifier(model, training.training_defaults(model_name).make_optimizer(1000))


def throughput(model_name, model_options, policies, batch_size, steps, rounds):
    """Training images per second of each policy: median of `rounds` interleaved rounds of `steps` steps.

    Returns:
        `{policy: images per second}`.
    """
    x, y = (tf.constant(a) for a in random_batch(batch_size, INPUT_SHAPE, 10))
    compiled = {policy: compiled_model(model_name, model_options, policy) for policy in policies}

    def steps_of(model):
        return lambda: [model.train_on_batch(x, y) for _ in range(steps)]

    seconds = median_seconds({policy: steps_of(model) for policy, model in compiled.items()}, rounds)
    return {policy: steps * batch_size / s for policy, s in seconds.items()}


def measure(model_name, model_options, images_per_round, rounds, cpu):
    """One table row: the auto policy's choice, both throughputs, FLOPs per image and the share of the peak."""
    batch_size = training.training_defaults(model_name).batch_size
    choice = choose_dtype_policy(model_name, model_options, input_shape=INPUT_SHAPE, batch_size=batch_size)
    policies = ["float32"] if choice.policy == "float32" else ["float32", choice.policy]
    steps = max(1, math.ceil(images_per_round / batch_size))
    ips = throughput(model_name, model_options, policies, batch_size, steps, rounds)
    flops = training_flops(models.build(model_name, INPUT_SHAPE, 10, **model_options))
    achieved, peak = ips[choice.policy] * flops, hardware.peak_flops(cpu, choice.policy)
    return {
        "model": model_name,
        "policy": choice.policy,
        "reason": choice.reason,
        "float32_images_per_s": ips["float32"],
        "auto_images_per_s": ips[choice.policy] if len(policies) > 1 else "= float32 (same configuration, timed once)",
        "auto_vs_float32": ips[choice.policy] / ips["float32"],
        "gflops_per_image": flops / 1e9,
        "achieved_gflop_per_s": achieved / 1e9,
        "peak_gflop_per_s": peak / 1e9,
        "peak_share": achieved / peak if peak else float("nan"),
    }


COLUMNS = [
    "model",
    "policy",
    "float32_images_per_s",
    "auto_images_per_s",
    "gflops_per_image",
    "achieved_gflop_per_s",
    "peak_gflop_per_s",
    "peak_share",
    "reason",
]


def throughput_report(model_options, images_per_round, rounds):
    """Measures and prints the table and the CPU line for `{model: options}`; returns the ratios."""
    cpu = hardware.cpu_info()
    rows = [measure(name, options, images_per_round, rounds, cpu) for name, options in model_options.items()]
    print(f"CPU: {cpu.describe()}")
    print_table(rows, COLUMNS)
    ratios = {f"auto_vs_float32_{row['model']}": row["auto_vs_float32"] for row in rows}
    ratios.update({f"peak_share_{row['model']}": row["peak_share"] for row in rows})
    return ratios


class TimeToAccuracy(keras.callbacks.Callback):
    """Records test accuracy against wall time after each epoch; stops at the target or past the budget.

    Args:
        target: the test accuracy to reach.
        budget_seconds: wall seconds after which training stops (checked when an epoch ends).
        monitor: the `logs` key of the test accuracy (`train` validates on the test split).

    Attributes:
        curve: `[{"epoch", "seconds", "accuracy"}]`, one entry per finished epoch.
        seconds_to_target: wall seconds when the target was first reached (None: not reached).
    """

    def __init__(self, target, budget_seconds, monitor="val_accuracy"):
        super().__init__()
        self.target, self.budget_seconds, self.monitor = target, budget_seconds, monitor
        self.curve, self.seconds_to_target, self._start = [], None, None

    def start_clock(self):
        """Starts the clock now (before the data are loaded and the model built), not at `fit`'s start."""
        self._start = time.perf_counter()

    def on_train_begin(self, logs=None):
        if self._start is None:
            self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        if self.monitor not in (logs or {}):
            raise KerasAdvError(
                f"logs have no {self.monitor!r}, got keys {sorted(logs or {})}: expected a fit with the test split as "
                "validation data"
            )
        accuracy = float(logs[self.monitor])
        self.curve.append({"epoch": epoch + 1, "seconds": seconds, "accuracy": accuracy})
        if accuracy >= self.target and self.seconds_to_target is None:
            self.seconds_to_target = seconds
        if self.seconds_to_target is not None or seconds > self.budget_seconds:
            self.model.stop_training = True

    def result(self):
        """The curve, the target, the budget, the seconds to target and the best accuracy, as a dict."""
        return {
            "target": self.target,
            "budget_seconds": self.budget_seconds,
            "seconds_to_target": self.seconds_to_target,
            "best_accuracy": max((point["accuracy"] for point in self.curve), default=None),
            "curve": self.curve,
        }


def time_to_accuracy(model_name, model_options, source, output_dir, budget_factor=1.0, recipe=None):
    """Trains `model_name` with `dtype_policy="auto"` until it reaches its target; returns `TimeToAccuracy.result()`.

    `recipe` holds fields of the model's `TrainingDefaults` to override (None: its recipe as it is).
    """
    target, seconds = TARGETS[model_name]
    callback = TimeToAccuracy(target, seconds * budget_factor)
    callback.start_clock()  # the time to accuracy includes decoding the data, building and tracing the model
    _, metrics = training.train(
        model_name,
        source,
        os.path.join(output_dir, model_name),
        training_options=recipe,
        dtype_policy="auto",
        in_memory=True,
        model_options=model_options,
        callbacks=[callback],
        verbose=2,
    )
    return {
        **callback.result(),
        "target_seconds": seconds,
        "metrics": {k: v for k, v in metrics.items() if k != "history"},
    }


def print_curve(model_name, result):
    """Prints the accuracy-vs-time curve and the seconds to target (or "not reached" with the best accuracy)."""
    print(f"\n{model_name}: target {result['target']} within {result['target_seconds']} s")
    print_table(result["curve"], ["epoch", "seconds", "accuracy"])
    if result["seconds_to_target"] is None:
        print(f"not reached: best accuracy {result['best_accuracy']:.4f}")
    else:
        print(f"seconds to target: {result['seconds_to_target']:.0f}")


def accuracy_report(model_options, output_dir, budget_factor, recipe=None):
    """Trains each model to its target, prints the curves, writes them as JSON; returns the ratios."""
    cifar_archive()  # exits saying how to set $KERASADV_CIFAR10_TAR when it is missing
    source = default_source()
    results = {
        name: time_to_accuracy(name, options, source, output_dir, budget_factor, recipe)
        for name, options in model_options.items()
    }
    for name, result in results.items():
        print_curve(name, result)
    path = writer.write_json(
        {"cpu": hardware.cpu_info().describe(), "models": results}, os.path.join(output_dir, "time_to_accuracy.json")
    )
    print(f"curves written to {path}")
    return {
        f"seconds_to_target_{name}": result["seconds_to_target"] / result["target_seconds"]
        for name, result in results.items()
        if result["seconds_to_target"] is not None
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="throughput, FLOPs and peak share only (about 3 minutes)")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated names of MODELS")
    parser.add_argument("--output", default=None, help="where models and curves go (default: a new temporary folder)")
    parser.add_argument("--budget_factor", type=float, default=1.0, help="multiplies each target's seconds")
    parser.add_argument("--epochs", type=int, default=None, help="epochs of the schedule (default: the model's)")
    parser.add_argument("--learning_rate", type=float, default=None, help="peak rate (default: the model's recipe)")
    parser.add_argument("--model_options", type=json.loads, default={}, help="builder options as JSON (merged)")
    parser.add_argument("--training_options", type=json.loads, default={}, help="recipe fields as JSON, e.g. cutout")
    args = parser.parse_args(argv)
    unknown = [name for name in args.models.split(",") if name not in MODELS]
    if unknown:
        parser.error(f"unknown models {unknown}: expected names from {list(MODELS)}")
    chosen = {name: builder_options(name, args.model_options) for name in args.models.split(",")}
    ratios = throughput_report(chosen, **(QUICK if args.quick else FULL))
    if not args.quick:
        output_dir = args.output or tempfile.mkdtemp(prefix="time_to_accuracy_")
        flags = {"epochs": args.epochs, "learning_rate": args.learning_rate}
        recipe = {**args.training_options, **{field: value for field, value in flags.items() if value is not None}}
        ratios.update(accuracy_report(chosen, output_dir, args.budget_factor, recipe))
    print_ratios(ratios)


if __name__ == "__main__":
    main()
