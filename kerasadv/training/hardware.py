"""What the machine computes with: the CPU's vector units, cores and clock, and its peak FLOP rate.

The peak is an upper bound from the CPU's flags, cores and clock, the figure a training run's
measured FLOP rate is compared with (`peak_share`):

    peak = cores x clock x FLOPs per core per cycle

FLOPs per core per cycle (a fused multiply-add counts 2):

| unit (flag) | float32 | bfloat16 |
|---|---|---|
| AVX-512 (`avx512f`), Intel: two 512-bit FMA ports | 64 | 64 (emulated: no faster) |
| AVX-512 on AMD Zen 4: 512-bit ops on two 256-bit FMA pipes | 32 | 32 |
| AVX2 + FMA (`avx2`, `fma`): two 256-bit FMA ports | 32 | 32 |
| AVX-512 BF16 (`avx512_bf16`): `vdpbf16ps` does 2 products and 2 adds per 32-bit lane | as above | 2 x float32 |
| AMX (`amx_bf16`, `amx_tile`): the tile unit's 1,024 bfloat16 multiply-adds per cycle | as above | 2,048 |
| anything else (SSE) | 16 | 16 |

The clock is the highest `cpu MHz` in /proc/cpuinfo (a virtual machine reports its nominal
clock there; turbo is not counted, so a share can exceed what the nominal peak allows by the
turbo margin). Cores are the ones this process may run on (`os.sched_getaffinity`).
"""

import dataclasses
import os

BFLOAT16_UNITS = {"amx_bf16": "amx", "avx512_bf16": "avx512_bf16"}
"""CPU flag -> the bfloat16 unit it names (AMX first: where both exist, AMX does the work)."""


@dataclasses.dataclass(frozen=True)
class CpuInfo:
    """The CPU as /proc/cpuinfo describes it.

    Attributes:
        model_name: e.g. "AMD EPYC 9R14" ("unknown" when not reported).
        vendor: "GenuineIntel", "AuthenticAMD", ... ("unknown" when not reported).
        flags: the CPU's feature flags.
        cores: cores this process may use.
        mhz: the highest clock reported, in MHz (0.0 when not reported).
    """

    model_name: str
    vendor: str
    flags: frozenset
    cores: int
    mhz: float

    @property
    def bfloat16_unit(self):
        """ "amx", "avx512_bf16", or None where bfloat16 is emulated (several times slower than float32)."""
        return next((unit for flag, unit in BFLOAT16_UNITS.items() if flag in self.flags), None)

    def describe(self):
        """One line: model, cores, clock and the vector units that set the peak."""
        units = [f for f in ("amx_bf16", "avx512_bf16", "avx512f", "avx2", "fma") if f in self.flags]
        return (
            f"{self.model_name} ({self.vendor}), {self.cores} cores at {self.mhz:.0f} MHz, {' '.join(units) or 'SSE'}"
        )


def cpu_info(path="/proc/cpuinfo"):
    """Reads the CPU's model, vendor, flags and clock.

    Args:
        path: the cpuinfo file (tests pass a fake one).

    Returns:
        A `CpuInfo` (empty flags where the file cannot be read).

    Example:
    >>> info = cpu_info()
    >>> info.cores >= 1 and info.bfloat16_unit in (None, "amx", "avx512_bf16")
    True
    """
    fields, clocks = {}, []
    try:
        with open(path) as f:
            for line in f:
                key, _, value = (part.strip() for part in line.partition(":"))
                if key == "cpu MHz":
                    clocks.append(float(value))
                fields.setdefault(key, value)
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return CpuInfo(
        model_name=fields.get("model name", "unknown"),
        vendor=fields.get("vendor_id", "unknown"),
        flags=frozenset(fields.get("flags", "").split()),
        cores=cores,
        mhz=max(clocks, default=0.0),
    )


def flops_per_cycle(info, policy="float32"):
    """FLOPs one core does per cycle at best under `policy` (the table in the module's docstring).

    Args:
        info: a `CpuInfo`.
        policy: "float32" or "mixed_bfloat16" (the bfloat16 units count only where they exist).

    Returns:
        An int.

    Example:
    >>> zen4 = CpuInfo("AMD EPYC", "AuthenticAMD", frozenset({"avx512f", "avx512_bf16", "avx2", "fma"}), 2, 2600.0)
    >>> flops_per_cycle(zen4), flops_per_cycle(zen4, "mixed_bfloat16")
    (32, 64)
    """
    flags = info.flags
    if "avx512f" in flags and info.vendor != "AuthenticAMD":
        fp32 = 64
    elif ("avx2" in flags and "fma" in flags) or "avx512f" in flags:
        fp32 = 32
    else:
        fp32 = 16
    if policy != "mixed_bfloat16":
        return fp32
    unit = info.bfloat16_unit
    if unit == "amx":
        return 2048
    return 2 * fp32 if unit == "avx512_bf16" else fp32


def peak_flops(info=None, policy="float32"):
    """The machine's peak FLOP rate under `policy`: cores x clock x `flops_per_cycle`.

    Args:
        info: a `CpuInfo` (default: this machine's).
        policy: "float32" or "mixed_bfloat16".

    Returns:
        FLOPs per second (0.0 where the clock is not reported).

    Example:
    >>> zen4 = CpuInfo("AMD EPYC", "AuthenticAMD", frozenset({"avx512f", "avx512_bf16"}), 2, 2600.0)
    >>> peak_flops(zen4, "mixed_bfloat16") / 1e9
    332.8
    """
    info = info or cpu_info()
    return info.cores * info.mhz * 1e6 * flops_per_cycle(info, policy)


FEW_CORES = 4
"""On at most this many cores the input pipeline gets one private thread and no autotuning (`input_options`)."""


def input_options(cores=None):
    """`tf.data.Options` that keep a training input pipeline off the cores the model computes on.

    On a few cores tf.data's shared threads and its autotuner compete with the training step's
    own threads: on 2 cores a third to two thirds of the simple CNN's 50,000-image epochs took
    41 s instead of 24 s. With one private thread and autotuning off, every epoch took 24-25 s
    (in-memory CIFAR-10, bfloat16, AMD Zen 4). Above `FEW_CORES` cores the defaults are kept.

    Args:
        cores: the cores this process may use (default: `cpu_info().cores`).

    Returns:
        A `tf.data.Options`.

    Example:
    >>> input_options(cores=2).threading.private_threadpool_size
    1
    """
    import tensorflow as tf

    options = tf.data.Options()
    if (cores or cpu_info().cores) <= FEW_CORES:
        options.threading.private_threadpool_size = 1
        options.autotune.enabled = False
    return options
