"""tf.distribute: strategies by name, the Trainer's option, and MultiWorkerMirroredStrategy for real."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from kerasadv import training
from kerasadv.errors import KerasAdvError

HELPER = os.path.join(os.path.dirname(__file__), "multi_worker_helpers.py")


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_strategies_by_name_and_bad_names():
    assert training.get_strategy("default").num_replicas_in_sync == 1
    with pytest.raises(KerasAdvError, match=r"Unknown distribution strategy 'tpu'; expected one of \['default'"):
        training.get_strategy("tpu")
    assert training.distribute.reducible_logs({"loss": 2.0}) == {"loss": 2.0}  # unchanged without workers


def test_the_trainer_refuses_an_unknown_strategy(cifar_npz):
    from kerasadv.components.example_gen import ImageExampleGen
    from kerasadv.components.trainer import Trainer
    from kerasadv.orchestration import SpecError

    examples = ImageExampleGen(source=cifar_npz).outputs["examples"]
    with pytest.raises(SpecError, match="strategy.*parameter_server"):
        Trainer(examples=examples, strategy="parameter_server")


def test_a_multi_worker_strategy_asked_for_late_says_where_to_make_it():
    script = textwrap.dedent("""
        import json, os
        workers = ["127.0.0.1:1", "127.0.0.1:2"]  # never reached: the strategy is refused first
        os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": 0}})
        import tensorflow as tf
        tf.constant(1.0)  # TensorFlow has started
        from kerasadv import training
        from kerasadv.errors import KerasAdvError
        try:
            training.get_strategy("multi_worker")
        except KerasAdvError as error:
            print("REFUSED", error)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "REFUSED" in result.stdout and "at the start of the program" in result.stdout, result.stderr[-2000:]


def tiny_classifier():
    """Deterministic in training (no dropout): one worker and two must follow the same path."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    hidden = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
    hidden = keras.layers.GlobalAveragePooling2D()(hidden)
    return keras.Model(inputs, keras.layers.Dense(10)(hidden))


@pytest.mark.slow
def test_two_workers_train_like_one_worker_on_the_same_global_batch(tmp_path, cifar_npz):
    model_path = str(tmp_path / "tiny.keras")
    tiny_classifier().save(model_path)
    ports = [str(p) for p in free_ports(2)]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}

    def launch(name, strategy, *task):
        command = [sys.executable, HELPER, str(tmp_path / name), cifar_npz, model_path, strategy, *task]
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    runs = [launch("w0", "multi_worker", "0", *ports), launch("w1", "multi_worker", "1", *ports)]
    results = []
    for run in runs:
        out, err = run.communicate(timeout=400)
        assert run.returncode == 0 and "RESULT" in out, err[-3000:]
        results.append(json.loads(out.split("RESULT ", 1)[1]))
    single_run = launch("one", "default")
    out, err = single_run.communicate(timeout=400)
    assert single_run.returncode == 0, err[-3000:]
    single = json.loads(out.split("RESULT ", 1)[1])

    assert [r["replicas"] for r in results] == [2, 2] and single["replicas"] == 1
    assert results[0] == results[1]  # synchronous: both workers hold the same model
    assert single["loss"][0] > single["loss"][1]  # it learned something
    for key in ("loss", "val_loss", "weights"):
        np.testing.assert_allclose(results[0][key], single[key], rtol=1e-4, atol=1e-4)
    assert abs(results[0]["test_accuracy"] - single["test_accuracy"]) <= 1 / 63 + 1e-9
