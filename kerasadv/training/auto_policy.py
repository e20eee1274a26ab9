"""`dtype_policy="auto"`: bfloat16 where the hardware computes it natively and the model trains faster in it.

bfloat16 halves the bytes moved and, on a CPU with AVX-512 BF16 or AMX, doubles (or more) the
multiply-add rate of convolutions; elsewhere it is emulated and several times slower than float32.
It does not help every model: EfficientNet-B0's depthwise convolutions and squeeze-excitation
blocks train 2x slower in it on AMD Zen 4, and the base CNN's batch normalisations eat its gain.
So "auto" picks `mixed_bfloat16` only where

1. a GPU is visible, or the CPU has a bfloat16 unit (`hardware.CpuInfo.bfloat16_unit`), and
2. the model family trains at least `MIN_SPEEDUP` times faster in it: the figure measured on
   that unit (`MEASURED_SPEEDUPS`), or, for a family or unit not measured there, a measurement
   made on first use (a few training steps under each policy) and kept in the cache folder.

The choice and why are recorded with the trained model (`PolicyChoice.as_dict`).
"""

import dataclasses
import json
import os
import time

import numpy as np

from kerasadv.errors import ModelError
from kerasadv.training import hardware

MIN_SPEEDUP = 1.05
"""bfloat16's training throughput over float32's at least this: below it, float32 (exact and as fast)."""

MEASURED_SPEEDUPS = {
    # mixed_bfloat16 / float32 training images per second, batch 128, 32x32x3 inputs, measured with
    # `python benchmarks/time_to_accuracy.py --quick` on 2 cores of an AMD EPYC (Zen 4).
    "avx512_bf16": {
        "simple_cnn": 1.62,
        "base_cnn": 1.00,
        "efficientnet_b0": 0.43,
        "resnet18": 1.36,
        "vgg16": 1.60,
    },
    # The same command on 2 cores of an Intel Xeon with AMX (amx_bf16, amx_tile); EfficientNet-B0's
    # figure is `measure_speedup`'s (the benchmark times it once, in the float32 "auto" keeps).
    "amx": {
        "simple_cnn": 2.37,
        "base_cnn": 1.35,
        "efficientnet_b0": 0.54,
        "resnet18": 1.45,
        "vgg16": 2.26,
    },
}
SPEEDUP_CACHE = "dtype_policy_speedups.json"


@dataclasses.dataclass(frozen=True)
class PolicyChoice:
    """The policy "auto" chose, and why.

    Attributes:
        policy: "float32" or "mixed_bfloat16".
        reason: one sentence: the hardware and the measurement behind the choice.
        speedup: bfloat16's training throughput over float32's for this model family (None: not
            measured, because bfloat16 would be emulated or the policy was given).
        device: what computes: the CPU's `describe()` line, or "GPU".
    """

    policy: str
    reason: str
    speedup: float = None
    device: str = ""

    def as_dict(self):
        return dataclasses.asdict(self)


def resolve_dtype_policy(dtype_policy, model_name=None, model_options=None, input_shape=(32, 32, 3), batch_size=128):
    """The `PolicyChoice` for a `dtype_policy` argument: "auto" chooses, a policy name is taken as given.

    Args:
        dtype_policy: "auto", "float32" or "mixed_bfloat16".
        model_name, model_options, input_shape, batch_size: the model family, as for
            `choose_dtype_policy`.

    Returns:
        A `PolicyChoice`.

    Raises:
        ModelError: an unknown policy name.

    Example:
    >>> resolve_dtype_policy("float32").reason
    'given: dtype_policy="float32"'
    """
    from kerasadv.training.precision import POLICIES

    if dtype_policy == "auto":
        return choose_dtype_policy(model_name, model_options, input_shape, batch_size)
    if dtype_policy not in POLICIES:
        raise ModelError(f"dtype_policy must be 'auto' or one of {POLICIES}, got {dtype_policy!r}.")
    return PolicyChoice(dtype_policy, f'given: dtype_policy="{dtype_policy}"')


def choose_dtype_policy(model_name, model_options=None, input_shape=(32, 32, 3), batch_size=128, cpu=None, gpu=None):
    """Chooses float32 or mixed_bfloat16 for training `model_name` on this machine.

    Args:
        model_name: a key of `kerasadv.models.BUILDERS` (None or another name: float32 unless a
            GPU is visible, since nothing was measured for it).
        model_options: the builder's keyword arguments (e.g. `{"width": 32}`): part of the key
            of a measurement made here.
        input_shape: the images' shape.
        batch_size: the training batch size (measurements use it, up to 128).
        cpu: a `hardware.CpuInfo` (default: this machine's; tests pass fakes).
        gpu: whether a GPU is visible (default: asks TensorFlow).

    Returns:
        A `PolicyChoice`.

    Example:
    >>> from kerasadv.training.hardware import CpuInfo
    >>> avx2 = CpuInfo("AMD EPYC 7B13", "AuthenticAMD", frozenset({"avx2", "fma"}), 2, 2450.0)
    >>> choose_dtype_policy("simple_cnn", cpu=avx2, gpu=False).policy
    'float32'
    """
    if gpu is None:
        import tensorflow as tf

        gpu = bool(tf.config.list_physical_devices("GPU"))
    if gpu:
        return PolicyChoice("mixed_bfloat16", "a GPU is visible: bfloat16 tensor cores", device="GPU")
    cpu = cpu or hardware.cpu_info()
    unit = cpu.bfloat16_unit
    if unit is None:
        reason = "the CPU has no bfloat16 unit (no avx512_bf16 / amx_bf16 flag): bfloat16 would be emulated"
        return PolicyChoice("float32", reason, device=cpu.describe())
    from kerasadv import models

    if model_name not in models.BUILDERS:
        reason = f"model {model_name!r} is not a kerasadv builder: nothing measured, float32 kept"
        return PolicyChoice("float32", reason, device=cpu.describe())
    speedup, where = _speedup(unit, cpu, model_name, model_options or {}, tuple(input_shape), batch_size)
    policy = "mixed_bfloat16" if speedup >= MIN_SPEEDUP else "float32"
    verdict = "faster" if policy == "mixed_bfloat16" else f"not {MIN_SPEEDUP}x faster"
    reason = f"{unit} unit; {model_name} trains {speedup:.2f}x as fast in bfloat16 ({where}): {verdict}"
    return PolicyChoice(policy, reason, round(speedup, 3), cpu.describe())


def _speedup(unit, cpu, model_name, options, input_shape, batch_size):
    """bfloat16 / float32 throughput of the family: the table's figure, a cached one, or measured now."""
    table = MEASURED_SPEEDUPS.get(unit, {})
    if model_name in table and input_shape == (32, 32, 3):
        return table[model_name], f"measured for {unit}, kerasadv.training.auto_policy.MEASURED_SPEEDUPS"
    key = json.dumps([cpu.model_name, unit, model_name, options, input_shape, min(batch_size, 128)])
    cached = _read_cache().get(key)
    if cached is None:
        cached = measure_speedup(model_name, options, input_shape, min(batch_size, 128))
        _write_cache({**_read_cache(), key: cached})  # re-read: another process may have written meanwhile
    return cached, f"measured on this machine, cached in {_cache_path()}"


def measure_speedup(model_name, model_options=None, input_shape=(32, 32, 3), batch_size=32, steps=4):
    """bfloat16's training throughput over float32's: `steps` timed training steps under each policy.

    The policies alternate step by step after one untimed step each (tracing), so drift of the
    machine's speed affects both alike; the median step times are compared.

    Args:
        model_name: a key of `kerasadv.models.BUILDERS`.
        model_options: the builder's keyword arguments.
        input_shape: the images' shape.
        batch_size: images per step.
        steps: timed steps per policy.

    Returns:
        float32's median step time over bfloat16's (above 1: bfloat16 is faster).
    """
    import keras

    from kerasadv import models
    from kerasadv.training.precision import with_dtype_policy

    rng = np.random.default_rng(0)
    x = rng.random((batch_size, *input_shape), dtype=np.float32)
    y = rng.integers(0, 10, batch_size).astype(np.int32)
    compiled = {}
    for policy in ("float32", "mixed_bfloat16"):
        model = with_dtype_policy(models.build(model_name, input_shape, 10, **(model_options or {})), policy)
        model.compile(keras.optimizers.SGD(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        compiled[policy] = model
        compiled[policy].train_on_batch(x, y)
    times = {policy: [] for policy in compiled}
    for _ in range(steps):
        for policy, model in compiled.items():
            start = time.perf_counter()
            model.train_on_batch(x, y)
            times[policy].append(time.perf_counter() - start)
    return float(np.median(times["float32"]) / np.median(times["mixed_bfloat16"]))


def _cache_path():
    from kerasadv.data.image_folder import cache_dir

    return os.path.join(cache_dir(), SPEEDUP_CACHE)


def _read_cache():
    try:
        with open(_cache_path()) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _write_cache(cache):
    from kerasadv.orchestration import writer

    writer.write_json(cache, _cache_path())
