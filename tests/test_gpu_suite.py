"""benchmarks/gpu_suite.sh: its `--smoke` run trains every model and runs studies at tiny sizes on the
CPU and leaves the results, a log and a timing row per step; `--only` picks steps; bad arguments fail early."""

import importlib
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SUITE = ROOT / "benchmarks" / "gpu_suite.sh"
MODELS = ("simple_cnn", "base_cnn", "efficientnet_b0", "resnet18", "vgg16")
STUDIES = ("efficientnet_transfer", "attack_defense_study", "toggle_activity_study", "vgg16_layer_vulnerability")
SMOKED_STUDIES = ("toggle_activity_study", "vgg16_layer_vulnerability")
"""The studies CI's smoke runs. The other two are the suite's slowest smoke steps (EfficientNet-B0's
tracing, eight trainers: 170 s of the smoke's 250 s on 2 cores) and run in-process at `ci` size in
tests/test_transfer_study.py and tests/test_studies.py; their `smoke` profiles are built below."""
SMOKE_ONLY = ",".join(["train_models", *(f"study_{s}" for s in SMOKED_STUDIES)])
BENCHMARKS = (
    "attack_throughput",
    "robust_evaluation",
    "one_pixel_vs_iterative_fgs",
    "certification",
    "robustness_pairs",
    "adversarial_training_overhead",
    "analysis_speed",
)


def run_suite(*args, env=None):
    return subprocess.run(
        ["bash", str(SUITE), *args], capture_output=True, text=True, env=env or dict(os.environ), timeout=1200
    )


def timings(output):
    """OUTPUT/timings.tsv as {step: (seconds, status)} (the header row left out)."""
    rows = [line.split("\t") for line in (output / "timings.tsv").read_text().splitlines()[1:]]
    return {step: (float(seconds), status) for step, seconds, status in rows}


@pytest.fixture(scope="module")
def smoke(cifar_tar, tmp_path_factory):
    """One `gpu_suite.sh --smoke --only SMOKE_ONLY` run on the CIFAR-10 archive: (completed process, output folder)."""
    output = tmp_path_factory.mktemp("gpu_suite")
    env = {**os.environ, "KERASADV_CIFAR10_TAR": cifar_tar}
    result = run_suite("--smoke", "--only", SMOKE_ONLY, "--output", str(output), env=env)
    return result, output


@pytest.mark.slow
def test_smoke_exits_0_and_prints_the_estimate_and_the_summary(smoke):
    result, output = smoke
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "ESTIMATE" in result.stdout and "one H100" in result.stdout
    assert f"timings: {output}/timings.tsv" in result.stdout


@pytest.mark.slow
def test_smoke_writes_every_studys_report(smoke):
    result, output = smoke
    reports = {study: sorted((output / "studies" / study).rglob("report.html")) for study in SMOKED_STUDIES}
    assert all(reports.values()), reports
    assert all(f"report:     {paths[0]}" in result.stdout for paths in reports.values()), result.stdout[-4000:]


@pytest.mark.slow
def test_smoke_trains_every_model_at_full_width(smoke):
    _, output = smoke
    missing = [name for name in MODELS if not (output / "models" / name / "model.keras").is_file()]
    assert missing == []
    assert "'width': 64" in (output / "logs" / "train_models.log").read_text()


@pytest.mark.slow
def test_smoke_times_and_logs_every_step(smoke):
    _, output = smoke
    rows = timings(output)
    ran = ["train_models", *(f"train_{m}" for m in MODELS), *(f"study_{s}" for s in SMOKED_STUDIES)]
    assert {step: rows.get(step, (None, "missing"))[1] for step in ran} == dict.fromkeys(ran, "ok")
    assert all(rows[step][0] > 0 for step in ran)
    left_out = [f"study_{s}" for s in STUDIES if s not in SMOKED_STUDIES]
    assert {step: rows.get(step, (None, "missing"))[1] for step in left_out} == dict.fromkeys(left_out, "skipped")
    assert {rows.get(f"bench_{b}", (None, "missing"))[1] for b in BENCHMARKS} == {"skipped"}
    logged = {path.stem for path in (output / "logs").glob("*.log")}
    assert {"train_models", *(f"study_{s}" for s in SMOKED_STUDIES)} <= logged
    assert {step for step, (_, status) in rows.items() if step.startswith("bench_") and status == "ok"} <= logged


def stub_env(tmp_path, no_gpu=False, fail_on=None):
    """An environment whose `python3` prints its arguments instead of running them: the full run's
    command lines in seconds. `no_gpu`: the GPU check finds none; `fail_on`: exit 3 for that step."""
    stub = tmp_path / "bin" / "python3"
    stub.parent.mkdir()
    checks = [f"if [[ $1 == -c ]]; then exit {int(no_gpu)}; fi"]  # the GPU check: python3 -c '...'
    if fail_on:
        checks.append(f'if [[ " $* " == *" {fail_on} "* ]]; then exit 3; fi')
    stub.write_text('#!/usr/bin/env bash\necho "python3 $*"\n' + "\n".join(checks) + "\n")
    stub.chmod(0o755)
    return {**os.environ, "PATH": f"{stub.parent}:{os.environ['PATH']}"}


def test_the_full_run_trains_and_runs_every_study_at_full_size_and_every_benchmark(tmp_path):
    output = tmp_path / "out"
    result = run_suite("--output", str(output), "--data", "npz:/data/x.npz", env=stub_env(tmp_path))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    steps = ["train_models", *(f"study_{s}" for s in STUDIES), *(f"bench_{b}" for b in BENCHMARKS)]
    assert {step: status for step, (_, status) in timings(output).items()} == dict.fromkeys(steps, "ok")
    log = {step: (output / "logs" / f"{step}.log").read_text() for step in steps}
    assert "--smoke" not in log["train_models"] and f"--output {output}/models" in log["train_models"]
    assert all(
        f"--profile full --pipeline_root {output}/studies/{s} --data npz:/data/x.npz" in log[f"study_{s}"]
        for s in STUDIES
    )
    assert f"--serving_dir {output}/saved_models" in log["study_efficientnet_transfer"]
    assert not any("--quick" in log[f"bench_{b}"] for b in BENCHMARKS)


def test_the_full_run_stops_before_any_step_without_a_gpu(tmp_path):
    output = tmp_path / "out"
    result = run_suite("--output", str(output), "--data", "npz:/data/x.npz", env=stub_env(tmp_path, no_gpu=True))
    assert result.returncode == 1
    assert "sees no GPU" in result.stderr and "--smoke" in result.stderr
    assert timings(output) == {}


def test_a_failed_step_is_recorded_and_the_later_steps_still_run(tmp_path):
    output = tmp_path / "out"
    env = stub_env(tmp_path, fail_on="kerasadv.pipelines.attack_defense_study")
    result = run_suite("--output", str(output), "--data", "npz:/data/x.npz", env=env)
    rows = timings(output)
    assert result.returncode == 1
    assert rows["study_attack_defense_study"][1] == "failed(rc=3)"
    assert rows["study_toggle_activity_study"][1] == "ok" and rows["bench_analysis_speed"][1] == "ok"
    assert "failed steps: study_attack_defense_study" in result.stderr


def test_an_unknown_argument_fails_naming_it_and_the_expected_ones(tmp_path):
    result = run_suite("--fast", "--output", str(tmp_path))
    assert result.returncode == 2
    assert "unknown argument '--fast'" in result.stderr and "--smoke" in result.stderr


def test_no_data_fails_before_any_step(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "KERASADV_CIFAR10_TAR"}
    result = run_suite("--smoke", "--output", str(tmp_path), env=env)
    assert result.returncode == 2
    assert "KERASADV_CIFAR10_TAR" in result.stderr and not (tmp_path / "timings.tsv").exists()


@pytest.mark.parametrize("study", [s for s in STUDIES if s not in SMOKED_STUDIES])
def test_the_smoke_profile_of_a_study_ci_does_not_smoke_builds_its_pipeline(study, tmp_path):
    module = importlib.import_module(f"kerasadv.pipelines.{study}")
    pipeline = module.create_pipeline("npz:/data/x.npz", "smoke", str(tmp_path / "root"))
    assert len(pipeline.components) > 5
    smoke, ci = module.PROFILES["smoke"], module.PROFILES["ci"]
    assert smoke.num_train <= ci.num_train and smoke.num_eval <= ci.num_eval


def test_only_runs_the_steps_it_names_and_skips_the_others(tmp_path):
    output = tmp_path / "out"
    only = "study_vgg16_layer_vulnerability,bench_certification"
    result = run_suite("--only", only, "--output", str(output), "--data", "npz:/data/x.npz", env=stub_env(tmp_path))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    statuses = {step: status for step, (_, status) in timings(output).items()}
    assert {step for step, status in statuses.items() if status == "ok"} == set(only.split(","))
    assert len(statuses) == 1 + len(STUDIES) + len(BENCHMARKS) and "not in --only" in result.stdout


def test_only_with_an_unknown_step_fails_naming_it_and_the_steps(tmp_path):
    result = run_suite("--only", "train_models,study_typo", "--output", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "unknown step 'study_typo'" in result.stderr and "study_toggle_activity_study" in result.stderr
    assert not (tmp_path / "out").exists()
