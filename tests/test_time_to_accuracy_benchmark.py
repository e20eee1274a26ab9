"""benchmarks/time_to_accuracy.py at tiny sizes: throughput, peak share, the stopping callback, ratio lines."""

import importlib.util
import os

import keras
import numpy as np
import pytest

from kerasadv.training.auto_policy import PolicyChoice

SCRIPT = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks", "time_to_accuracy.py")


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("time_to_accuracy", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def float32_auto(bench, monkeypatch):
    """ "auto" chooses float32, as on a CPU without a bfloat16 unit."""
    choice = PolicyChoice("float32", "test: no bfloat16 unit")
    monkeypatch.setattr(bench, "choose_dtype_policy", lambda *args, **kwargs: choice)


def test_throughput_and_peak_share_of_simple_cnn(bench, float32_auto):
    cpu = bench.hardware.cpu_info()
    row = bench.measure("simple_cnn", {}, images_per_round=64, rounds=2, cpu=cpu)  # 2 steps of 32
    assert row["float32_images_per_s"] > 0
    assert 0 < row["peak_share"] < 1.5
    assert row["gflops_per_image"] == pytest.approx(3 * 41_694_858 / 1e9)
    assert row["auto_vs_float32"] == 1.0
    assert row["auto_images_per_s"].startswith("= float32")


def test_throughput_times_every_policy(bench):
    ips = bench.throughput("simple_cnn", {}, ["float32", "mixed_bfloat16"], batch_size=8, steps=1, rounds=1)
    assert sorted(ips) == ["float32", "mixed_bfloat16"]
    assert min(ips.values()) > 0


def _tiny_fit(callback, accuracies):
    """Fits a tiny model for len(accuracies) epochs at most, the callback seeing `accuracies` as val_accuracy."""

    class FakeValidation(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_accuracy"] = accuracies[epoch]

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.compile("sgd", "sparse_categorical_crossentropy")
    x, y = np.zeros((4, 2), np.float32), np.zeros(4, np.int32)
    return model.fit(x, y, epochs=len(accuracies), verbose=0, callbacks=[FakeValidation(), callback])


def test_callback_stops_at_the_target(bench):
    callback = bench.TimeToAccuracy(target=0.5, budget_seconds=600)
    history = _tiny_fit(callback, [0.2, 0.6, 0.7, 0.8])
    assert len(history.epoch) == 2
    assert [point["accuracy"] for point in callback.curve] == pytest.approx([0.2, 0.6])
    assert 0 < callback.curve[0]["seconds"] <= callback.curve[1]["seconds"] == callback.seconds_to_target
    assert callback.result()["best_accuracy"] == pytest.approx(0.6)


def test_callback_stops_past_the_budget(bench):
    callback = bench.TimeToAccuracy(target=0.9, budget_seconds=0.0)
    _tiny_fit(callback, [0.2, 0.3, 0.4])
    assert len(callback.curve) == 1
    assert callback.result()["seconds_to_target"] is None


def test_callback_needs_the_test_accuracy(bench):
    callback = bench.TimeToAccuracy(target=0.9, budget_seconds=60)
    callback.on_train_begin()
    with pytest.raises(bench.KerasAdvError, match="no 'val_accuracy'"):
        callback.on_epoch_end(0, {"loss": 1.0})


def test_full_mode_trains_each_model_with_auto_policy(bench, monkeypatch, tmp_path):
    calls = []

    def fake_train(model_name, source, output_dir, callbacks, **kwargs):
        calls.append({"model_name": model_name, "source": source, **kwargs})
        _tiny_fit(callbacks[0], [0.5, 0.95])
        return None, {"test_accuracy": 0.95, "history": {}}

    monkeypatch.setattr(bench.training, "train", fake_train)
    result = bench.time_to_accuracy("resnet18", {"width": 32}, "tar:cifar", str(tmp_path), budget_factor=2.0)
    assert calls[0]["dtype_policy"] == "auto" and calls[0]["in_memory"] is True
    assert calls[0]["model_options"] == {"width": 32}
    assert result["budget_seconds"] == 2 * 3600 and result["target"] == 0.90
    assert result["seconds_to_target"] == result["curve"][1]["seconds"]
    assert result["metrics"] == {"test_accuracy": 0.95}


def test_full_mode_passes_the_command_lines_overrides_to_train(bench, float32_auto, monkeypatch, tmp_path):
    calls = []

    def fake_train(model_name, source, output_dir, callbacks, **kwargs):
        calls.append(kwargs)
        _tiny_fit(callbacks[0], [0.5])
        return None, {"test_accuracy": 0.5, "history": {}}

    monkeypatch.setattr(bench.training, "train", fake_train)
    monkeypatch.setattr(bench, "FULL", {"images_per_round": 32, "rounds": 1})
    monkeypatch.setattr(bench, "cifar_archive", lambda: None)
    options = ["--models", "base_cnn", "--epochs", "3", "--learning_rate", "0.004", "--output", str(tmp_path)]
    bench.main([*options, "--model_options", '{"dropout": 0.1}', "--training_options", '{"cutout": 8}'])
    assert calls == [
        {
            "training_options": {"cutout": 8, "epochs": 3, "learning_rate": 0.004},
            "dtype_policy": "auto",
            "in_memory": True,
            "model_options": {"dropout": 0.1},
            "verbose": 2,
        }
    ]


def test_training_options_keep_their_epochs_and_rate_when_the_flags_are_absent(bench, monkeypatch, tmp_path):
    calls = []

    def fake_train(model_name, source, output_dir, callbacks, **kwargs):
        calls.append(kwargs["training_options"])
        _tiny_fit(callbacks[0], [0.5])
        return None, {"test_accuracy": 0.5, "history": {}}

    monkeypatch.setattr(bench.training, "train", fake_train)
    monkeypatch.setattr(bench, "FULL", {"images_per_round": 32, "rounds": 1})
    monkeypatch.setattr(bench, "cifar_archive", lambda: None)
    monkeypatch.setattr(bench, "throughput_report", lambda chosen, **sizes: {})
    recipe = '{"epochs": 36, "learning_rate": 0.02}'
    bench.main(["--models", "vgg16", "--output", str(tmp_path), "--training_options", recipe])
    assert calls == [{"epochs": 36, "learning_rate": 0.02}]  # not replaced by the absent flags' None


def test_quick_mode_prints_the_ratio_lines(bench, float32_auto, monkeypatch, capsys):
    monkeypatch.setattr(bench, "MODELS", {"simple_cnn": {}})
    monkeypatch.setattr(bench, "QUICK", {"images_per_round": 32, "rounds": 1})
    bench.main(["--quick", "--models", "simple_cnn"])
    lines = capsys.readouterr().out.splitlines()
    ratios = {line.split()[1]: float(line.split()[2]) for line in lines if line.startswith("ratio ")}
    assert sorted(ratios) == ["auto_vs_float32_simple_cnn", "peak_share_simple_cnn"]
    assert ratios["auto_vs_float32_simple_cnn"] == 1.0
    assert 0 < ratios["peak_share_simple_cnn"] < 1.5
    assert lines[0].startswith("CPU: ")


def test_unknown_model_is_refused(bench):
    with pytest.raises(SystemExit):
        bench.main(["--quick", "--models", "lenet"])
