"""`dtype_policy="auto"`: the CPU's flags, the measured speed-ups, the choice recorded with the model."""

import json

import numpy as np
import pytest

from kerasadv.errors import ModelError
from kerasadv.training import auto_policy, hardware
from kerasadv.training.auto_policy import choose_dtype_policy, resolve_dtype_policy
from kerasadv.training.hardware import CpuInfo, cpu_info, flops_per_cycle, peak_flops

ZEN4 = CpuInfo("AMD EPYC 9R14", "AuthenticAMD", frozenset({"avx2", "fma", "avx512f", "avx512_bf16"}), 2, 2600.0)
AVX2 = CpuInfo("AMD EPYC 7B13", "AuthenticAMD", frozenset({"avx2", "fma"}), 2, 2450.0)
SAPPHIRE = CpuInfo(
    "Intel Xeon Platinum 8481C",
    "GenuineIntel",
    frozenset({"avx2", "fma", "avx512f", "amx_bf16", "amx_tile"}),
    2,
    2000.0,
)


def test_cpu_info_reads_flags_vendor_model_and_the_highest_clock(tmp_path):
    path = tmp_path / "cpuinfo"
    cpu = "vendor_id\t: GenuineIntel\nmodel name\t: Intel Xeon\ncpu MHz\t\t: {}\nflags\t\t: fpu avx2 fma amx_bf16\n\n"
    path.write_text(cpu.format("1999.9") + cpu.format("2100.5"))
    info = cpu_info(str(path))
    assert (info.vendor, info.model_name, info.mhz) == ("GenuineIntel", "Intel Xeon", 2100.5)
    assert info.bfloat16_unit == "amx" and "avx2" in info.flags and info.cores >= 1
    assert cpu_info(str(tmp_path / "missing")).flags == frozenset()


@pytest.mark.parametrize(
    "cpu, float32, bfloat16",
    [(ZEN4, 32, 64), (AVX2, 32, 32), (SAPPHIRE, 64, 2048)],
    ids=["zen4-avx512_bf16", "avx2-emulated", "intel-amx"],
)
def test_the_peak_counts_the_units_the_flags_name(cpu, float32, bfloat16):
    assert (flops_per_cycle(cpu), flops_per_cycle(cpu, "mixed_bfloat16")) == (float32, bfloat16)
    assert peak_flops(cpu, "mixed_bfloat16") == pytest.approx(2 * cpu.mhz * 1e6 * bfloat16)


def test_auto_picks_float32_on_a_cpu_without_bfloat16_units():
    for model_name in ("simple_cnn", "vgg16", "resnet18"):
        choice = choose_dtype_policy(model_name, cpu=AVX2, gpu=False)
        assert choice.policy == "float32" and "emulated" in choice.reason and choice.speedup is None


def test_auto_picks_bfloat16_where_the_unit_exists_and_the_family_is_faster():
    faster = choose_dtype_policy("simple_cnn", cpu=ZEN4, gpu=False)
    assert faster.policy == "mixed_bfloat16" and faster.speedup > 1 and "avx512_bf16" in faster.reason
    slower = choose_dtype_policy("efficientnet_b0", cpu=ZEN4, gpu=False)
    assert slower.policy == "float32" and slower.speedup < 1 and "not" in slower.reason


def test_amx_uses_its_measured_row():
    faster = choose_dtype_policy("vgg16", cpu=SAPPHIRE, gpu=False)
    assert faster.policy == "mixed_bfloat16" and faster.speedup == 2.26 and "measured for amx" in faster.reason
    assert choose_dtype_policy("efficientnet_b0", cpu=SAPPHIRE, gpu=False).policy == "float32"


def test_a_gpu_gets_bfloat16_and_an_unknown_family_float32():
    assert choose_dtype_policy("simple_cnn", cpu=AVX2, gpu=True).policy == "mixed_bfloat16"
    unknown = choose_dtype_policy("my_net", cpu=ZEN4, gpu=False)
    assert unknown.policy == "float32" and "not a kerasadv builder" in unknown.reason


def test_an_unmeasured_unit_is_measured_once_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASADV_CACHE_DIR", str(tmp_path))
    calls = []
    monkeypatch.setattr(auto_policy, "measure_speedup", lambda *args: calls.append(args) or 1.8)
    first = choose_dtype_policy("resnet18", {"width": 8}, (28, 28, 1), cpu=SAPPHIRE, gpu=False)  # not in the table
    second = choose_dtype_policy("resnet18", {"width": 8}, (28, 28, 1), cpu=SAPPHIRE, gpu=False)
    assert first == second and first.policy == "mixed_bfloat16" and first.speedup == 1.8
    assert len(calls) == 1 and "measured on this machine" in first.reason
    cached = json.loads((tmp_path / auto_policy.SPEEDUP_CACHE).read_text())
    assert list(cached.values()) == [1.8]


def test_measure_speedup_times_both_policies():
    speedup = auto_policy.measure_speedup("simple_cnn", input_shape=(16, 16, 3), batch_size=8, steps=2)
    assert np.isfinite(speedup) and speedup > 0


def test_a_given_policy_is_kept_and_a_bad_one_refused():
    assert resolve_dtype_policy("mixed_bfloat16").policy == "mixed_bfloat16"
    with pytest.raises(ModelError, match="'auto' or one of .*'mixed_float8'"):
        resolve_dtype_policy("mixed_float8")


def test_train_records_the_policy_it_used(tmp_path, monkeypatch):
    from kerasadv import training

    monkeypatch.setattr(hardware, "cpu_info", lambda path="/proc/cpuinfo": AVX2)
    _, metrics = training.train(
        "simple_cnn", "fashion_mnist", str(tmp_path), epochs=1, num_examples=256, num_test_examples=128, verbose=0
    )
    assert metrics["dtype_policy"]["policy"] == "float32" and "emulated" in metrics["dtype_policy"]["reason"]
    recorded = json.loads((tmp_path / "metrics.json").read_text())["dtype_policy"]
    assert recorded == metrics["dtype_policy"]


def test_the_trainer_records_the_policy_and_why(tmp_path, monkeypatch, cifar_npz):
    from kerasadv.components.example_gen import ImageExampleGen
    from kerasadv.components.trainer import Trainer
    from kerasadv.orchestration import Pipeline

    monkeypatch.setattr(hardware, "cpu_info", lambda path="/proc/cpuinfo": ZEN4)
    monkeypatch.setattr("tensorflow.config.list_physical_devices", lambda kind=None: [])
    gen = ImageExampleGen(source=cifar_npz, seed=0)
    train = Trainer(examples=gen.outputs["examples"], epochs=1)
    assert train.parameters["dtype_policy"] == "auto"
    artifact = Pipeline("auto", str(tmp_path), [gen, train]).run(progress=False).outputs["Trainer"]["model"]
    assert artifact.properties["dtype_policy"] == "mixed_bfloat16"
    assert "simple_cnn trains 1.62x" in artifact.properties["dtype_policy_reason"]
