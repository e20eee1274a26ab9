"""runner="beam" (DirectRunner, 2 worker processes) gives the local runner's examples and metrics; no job loses data.

`both_runners` and `assert_same_as_local` also serve `tests/test_dask.py` (Beam's Dask runner).
"""

import json

import numpy as np
import pytest

from kerasadv.components.attack_gen import AttackGen
from kerasadv.components.evaluator import Evaluator
from kerasadv.components.example_gen import ImageExampleGen
from kerasadv.components.trainer import Trainer
from kerasadv.data import tfrecords
from kerasadv.orchestration import MetadataStore, Pipeline

pytest.importorskip("apache_beam", reason="the beam extra is not installed: pip install -e '.[beam]'")

TWO_WORKERS = ["--runner=DirectRunner", "--direct_num_workers=2", "--direct_running_mode=multi_processing"]
PGD = {"class_name": "PGD", "config": {"eps": 0.004, "steps": 3, "random_start": True}}  # random: reseeding shows
AUTO = {
    "class_name": "AutoAttack",
    "config": {
        "eps": 2 / 255,
        "version": "custom",
        "attacks": [
            {"class_name": "APGD", "config": {"eps": 2 / 255, "steps": 4}},
            {"class_name": "Square", "config": {"eps": 2 / 255, "queries": 20}},
        ],
    },
}


def both_runners(root, source, beam_options=TWO_WORKERS):
    """One model; AttackGen and Evaluator once per runner, on the same examples and seeds; the Beam jobs' `JobRun`s."""
    from kerasadv.beam import recorded_runs

    gen = ImageExampleGen(source=source, seed=0)
    train = Trainer(examples=gen.outputs["examples"], model="simple_cnn", epochs=1, seed=0)
    components = [gen, train]
    for runner in ("local", "beam"):
        options = beam_options if runner == "beam" else []
        attack = AttackGen(
            component_id=f"attack_{runner}",
            model=train.outputs["model"],
            examples=gen.outputs["examples"],
            attack=PGD,
            batch_size=16,  # 200 train images: 13 batches in 4 chunks
            runner=runner,
            beam_options=options,
        )
        evaluate = Evaluator(
            component_id=f"evaluate_{runner}",
            model=train.outputs["model"],
            examples=gen.outputs["examples"],
            adversarial_examples=attack.outputs["adversarial_examples"],
            attacks=[PGD, AUTO],
            robust_examples=40,  # 3 batches of 16, the last one short
            self_check_examples=0,
            eps_sweep="0.0",
            batch_size=16,
            runner=runner,
            beam_options=options,
        )
        components += [attack, evaluate]
    with recorded_runs() as runs:
        result = Pipeline("beam", root, components).run(progress=False)
    return result, runs


def split_arrays(directory, split):
    images, labels, extras = [], [], []
    for x, y, facts in tfrecords.read_split(directory, split, 64, with_extras=True):
        images.append(x.numpy())
        labels.append(y.numpy())
        extras.append(np.stack([facts[k].numpy() for k in sorted(facts)], 1))
    return np.concatenate(images), np.concatenate(labels), np.concatenate(extras)


JOBS = {"attack_split": 2, "class_counts": 2, "evaluate_attack": 2}  # both splits; both splits; PGD, AutoAttack


@pytest.mark.slow
def test_beam_runner_equals_the_local_runner(tmp_path, cifar_npz):
    result, runs = both_runners(str(tmp_path), cifar_npz)
    assert {run.engine for run in runs} == {"FnApiRunner"}  # the DirectRunner's engine: not Prism, not a fallback
    assert {job: sum(run.job == job for run in runs) for job in JOBS} == JOBS
    assert_same_as_local(result)


def assert_same_as_local(result, engine="FnApiRunner"):
    """The Beam AttackGen's examples and the Beam Evaluator's metrics and tables equal the local runner's."""
    local, beam = (result.outputs[f"attack_{r}"]["adversarial_examples"] for r in ("local", "beam"))
    assert beam.properties["engine"] == {"train": engine, "eval": engine} and "engine" not in local.properties
    beam_evaluation = result.outputs["evaluate_beam"]["evaluation"]
    assert beam_evaluation.properties["engine"] == [engine]
    assert tfrecords.read_schema(local.uri) == tfrecords.read_schema(beam.uri)
    assert local.properties["splits"] == beam.properties["splits"] == {"train": 200, "eval": 63}
    for split in ("train", "eval"):
        (x_local, y_local, facts_local), (x_beam, y_beam, facts_beam) = (
            split_arrays(a.uri, split) for a in (local, beam)
        )
        np.testing.assert_array_equal(y_local, y_beam)
        np.testing.assert_allclose(x_beam, x_local, atol=1e-6)
        np.testing.assert_allclose(facts_beam, facts_local, atol=1e-6)
        assert beam.properties["success_rate"][split] == pytest.approx(local.properties["success_rate"][split])
    assert 0 < local.properties["success_rate"]["train"] < 1  # examples on both sides: a comparison that can fail

    evaluations = {}
    for runner in ("local", "beam"):
        with open(result.outputs[f"evaluate_{runner}"]["evaluation"].path("evaluation.json")) as f:
            evaluations[runner] = json.load(f)
    assert evaluations["beam"]["metrics"] == pytest.approx(evaluations["local"]["metrics"], abs=1e-9)
    assert evaluations["beam"]["per_attack"] == evaluations["local"]["per_attack"]
    # The runners batch the examples differently, so float32 forward passes differ in the last bits
    # (the artifacts above agree to 1e-6) and the live attack's iterations amplify that: counts must
    # agree exactly, means of continuous values (norms, confidences) to 1e-5.
    counted = ("num_examples", "clean_accuracy", "adversarial_accuracy", "accuracy_on_correct", "success_rate")
    for beam_row, local_row in zip(evaluations["beam"]["live_attacks"], evaluations["local"]["live_attacks"]):
        assert beam_row.keys() == local_row.keys()
        assert {k: beam_row[k] for k in counted} == pytest.approx({k: local_row[k] for k in counted}, abs=1e-12)
        assert beam_row == pytest.approx(local_row, rel=1e-5, abs=1e-5)
    assert evaluations["beam"]["robust_examples"] == evaluations["local"]["robust_examples"] == 40
    ((_, table),) = evaluations["local"]["per_attack"].items()
    assert [row["attack"] for row in table] == ["clean", "apgd", "square"]


BUILT = []


def count_build(model, config):
    """A worker object that records each time it is built."""
    BUILT.append(config)
    return {"offset": config}


def first_labels(model, worker, element):
    """Rows of one batch: its index, its first label and the worker's offset."""
    _, index, _, y = element
    return [{"batch": int(index), "label": int(y[0]) + worker["offset"]}]


def test_batch_rows_builds_the_worker_object_once_and_returns_every_row(tmp_path):
    import keras

    from kerasadv.beam import batch_rows

    model = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    model.save(tmp_path / "model.keras")
    labels = np.arange(11) % 3
    count, _ = tfrecords.write_split([{"image": np.zeros((11, 2, 2, 1)), "label": labels}], tmp_path, "eval")
    tfrecords.write_schema(tmp_path, (2, 2, 1), "uint8", ["a", "b", "c"], {"eval": count})
    BUILT.clear()
    rows = batch_rows(
        str(tmp_path / "model.keras"), first_labels, str(tmp_path), "eval", 2, 100, count_build, limit=9
    )  # 5 batches (the last one short) in 2 chunks, DirectRunner in this process
    assert sorted(rows, key=lambda row: row["batch"]) == [{"batch": b, "label": 100 + labels[2 * b]} for b in range(5)]
    assert BUILT == [100]


def tiny_examples(directory, num_examples=11):
    """A `.keras` model and an Examples set of `num_examples` 2x2 images ("eval" split) in `directory`."""
    import keras

    model = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    model.save(directory / "model.keras")
    images = np.random.default_rng(0).random((num_examples, 2, 2, 1))
    count, _ = tfrecords.write_split([{"image": images, "label": np.arange(num_examples) % 3}], directory, "eval")
    tfrecords.write_schema(directory, (2, 2, 1), "uint8", ["a", "b", "c"], {"eval": count})
    return str(directory / "model.keras"), str(directory)


def drop_batch(index):
    """`tfrecords.read_batches` that loses batch `index` of the split: an engine dropping an element."""
    read_batches = tfrecords.read_batches

    def dropping(directory, split, batch_size, first, stop, *args):
        batches = read_batches(directory, split, batch_size, first, stop, *args)
        return [batch for offset, batch in enumerate(batches) if first + offset != index]

    return dropping


JOB_CALLS = {
    "attack_split": lambda beam, m, d, tmp: beam.attack_split(m, "fgsm", d, "eval", str(tmp / "out"), 2),
    "evaluate_attack": lambda beam, m, d, tmp: beam.evaluate_attack(m, "fgsm", d, "eval", 2, limit=9),
    "class_counts": lambda beam, m, d, tmp: beam.class_counts(m, d, "eval", 2),
    "batch_rows": lambda beam, m, d, tmp: beam.batch_rows(m, first_labels, d, "eval", 2, 0, count_build),
}
READ = {"attack_split": 11, "evaluate_attack": 9, "class_counts": 11, "batch_rows": 11}
VERB = {
    "attack_split": "wrote",
    "evaluate_attack": "counted",
    "class_counts": "counted",
    "batch_rows": "returned the rows of",
}


@pytest.mark.parametrize("job", sorted(JOB_CALLS))
def test_a_job_that_loses_an_example_fails_naming_the_runner_and_both_counts(tmp_path, monkeypatch, job):
    from kerasadv import beam

    model_path, directory = tiny_examples(tmp_path)
    monkeypatch.setattr(tfrecords, "read_batches", drop_batch(1))  # DirectRunner in this process: 2 examples lost
    message = rf"{job} on the DirectRunner runner \(engine FnApiRunner\) {VERB[job]} {READ[job] - 2} examples "
    with pytest.raises(beam.ExampleCountError, match=message + rf"of split 'eval' for the {READ[job]} it read"):
        JOB_CALLS[job](beam, model_path, directory, tmp_path)


@pytest.mark.parametrize("job", sorted(JOB_CALLS))
def test_a_job_that_loses_nothing_records_its_engine(tmp_path, job):
    from kerasadv import beam

    model_path, directory = tiny_examples(tmp_path)
    with beam.recorded_runs() as runs:
        JOB_CALLS[job](beam, model_path, directory, tmp_path)
    assert runs == [beam.JobRun(job, "DirectRunner", "FnApiRunner", RESULT_TYPE, READ[job])]
    assert beam.last_run() == runs[0]


RESULT_TYPE = "apache_beam.runners.portability.fn_api_runner.fn_runner.RunnerResult"


def test_attack_gen_that_loses_an_example_records_nothing(tmp_path, monkeypatch):
    """The check runs inside the executor: the step fails and no AdversarialExamples artifact is recorded."""
    from kerasadv import beam
    from kerasadv.components.model_importer import ModelImporter

    model_path, _ = tiny_examples(tmp_path)
    rng = np.random.default_rng(0)
    images = {split: rng.integers(0, 256, (n, 2, 2, 1)).astype(np.uint8) for split, n in (("train", 12), ("test", 11))}
    labels = {split: np.arange(len(x)) % 3 for split, x in images.items()}
    np.savez(
        tmp_path / "tiny.npz", **{f"x_{k}": v for k, v in images.items()}, **{f"y_{k}": v for k, v in labels.items()}
    )
    gen = ImageExampleGen(source=f"npz:{tmp_path / 'tiny.npz'}", seed=0)
    model = ModelImporter(path=model_path)
    attack = AttackGen(
        model=model.outputs["model"], examples=gen.outputs["examples"], attack="fgsm", splits="eval", runner="beam"
    )
    monkeypatch.setattr(tfrecords, "read_batches", drop_batch(0))
    with pytest.raises(beam.ExampleCountError, match=r"attack_split .* wrote \d+ examples of split 'eval' for the 11"):
        Pipeline("lossy", str(tmp_path / "root"), [gen, model, attack]).run(progress=False)
    store = MetadataStore(str(tmp_path / "root" / "metadata.sqlite"))
    assert store.latest_artifact("AdversarialExamples") is None
    assert store.latest_artifact("Model") is not None  # the steps before it are recorded
