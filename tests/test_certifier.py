"""The Certifier component: a Certification artifact from a tiny pipeline, the same on Beam, nothing lost silently."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from kerasadv import certify, io
from kerasadv.certify import split
from kerasadv.components.certifier import Certifier
from kerasadv.components.example_gen import ImageExampleGen
from kerasadv.components.trainer import Trainer
from kerasadv.data.tfrecords import first_examples
from kerasadv.errors import CertificationError
from kerasadv.orchestration import MetadataStore, Pipeline
from kerasadv.reporting import artifact_sections, read_sections

SHAPE = (10, 10, 1)  # the smallest input simple_cnn's two valid convolutions and pools take
NUM_EVAL = 14
PROTOCOL = dict(sigma=0.25, n0=20, n=400, alpha=0.001, batch_size=200, num_examples=11, skip=2, seed=3)
CERTIFIED = list(range(0, 11, 2))  # every 2nd of the first 11 eval images
TWO_WORKERS = ["--runner=DirectRunner", "--direct_num_workers=2", "--direct_running_mode=multi_processing"]
_CERTIFY_BATCH = split.certify_batch


def brightness_source(path):
    """Dark (class 0) and bright (class 1) 10x10 images, with a few near the middle grey."""
    rng = np.random.default_rng(0)

    def images(low, high, n):
        return rng.integers(low, high, (n, *SHAPE)).astype(np.uint8)

    def arrays(n):
        x = np.concatenate([images(20, 80, n), images(175, 235, n), images(110, 145, 2)])
        return x, np.array([0] * n + [1] * n + [0, 1])

    (x_train, y_train), (x_test, y_test) = arrays(48), arrays(6)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, class_names=["dark", "bright"])
    return f"npz:{path}"


def pipeline(root, source, certifiers):
    """ExampleGen -> Trainer (simple_cnn, 5 epochs: eval accuracy about 0.93) -> a Certifier per `{id: parameters}`."""
    gen = ImageExampleGen(source=source, num_eval=NUM_EVAL, seed=0)
    train = Trainer(examples=gen.outputs["examples"], model="simple_cnn", epochs=5, batch_size=16, seed=0)
    steps = [
        Certifier(component_id=name, model=train.outputs["model"], examples=gen.outputs["examples"], **parameters)
        for name, parameters in certifiers.items()
    ]
    return Pipeline("certifier", str(root), [gen, train, *steps])


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return brightness_source(tmp_path_factory.mktemp("data") / "brightness.npz")


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, source):
    root = tmp_path_factory.mktemp("certifier")
    certifiers = {"certify": {**PROTOCOL, "finding_prefix": "sigma025_"}}
    return root, source, certifiers, pipeline(root, source, certifiers).run(progress=False)


def _certification(result, name="certify"):
    return result.outputs[name]["certification"]


def _csv(artifact):
    return pd.read_csv(artifact.path("certification.csv"))


def test_the_certification_has_its_files_rows_and_table(local_run):
    _, _, _, result = local_run
    artifact = _certification(result)
    assert artifact.type_name == "Certification"
    for name in ("certification.csv", "certification.json", "certified_accuracy.csv", "certified_accuracy.png"):
        assert os.path.isfile(artifact.path(name)), name
    rows = _csv(artifact)
    assert list(rows.columns) == list(split.COLUMNS)
    assert rows["index"].tolist() == CERTIFIED
    assert (rows["n"] == PROTOCOL["n"]).all()
    assert (rows["correct"] == (rows["prediction"] == rows["label"])).all()
    expected = certify.certified_accuracy({"predictions": rows["prediction"], "radius": rows["radius"]}, rows["label"])
    table = pd.read_csv(artifact.path("certified_accuracy.csv"))
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    assert table["radius"].tolist() == list(certify.RADII)
    assert table["certified_accuracy"].iloc[0] > 0.5  # a model that learned something: a comparison that can fail


def test_the_summary_records_the_protocol(local_run):
    _, _, _, result = local_run
    artifact = _certification(result)
    with open(artifact.path("certification.json")) as f:
        summary = json.load(f)
    rows = _csv(artifact)
    expected_ceiling = certify.max_radius(PROTOCOL["n"], PROTOCOL["alpha"], PROTOCOL["sigma"])
    assert {k: summary[k] for k in PROTOCOL} == PROTOCOL
    assert summary["certified_examples"] == len(rows) == len(CERTIFIED)
    assert summary["max_radius"] == pytest.approx(expected_ceiling)
    assert (rows["radius"] <= expected_ceiling + 1e-12).all()
    assert summary["dtype"] == "float32"
    assert summary["runner"] == "local" and summary["split"] == "eval"
    assert summary["clean_accuracy"] == pytest.approx(rows["correct"].mean())
    assert summary["abstention_rate"] == pytest.approx((rows["prediction"] == certify.ABSTAIN).mean())
    assert summary["seconds"] > 0


def test_findings_and_report_sections(local_run, tmp_path):
    _, _, _, result = local_run
    artifact = _certification(result)
    findings = read_sections(artifact)["findings"]
    keys = ["sigma025_certified_accuracy_r0", "sigma025_certified_accuracy_r0.25", "sigma025_certified_accuracy_r0.5"]
    keys += ["sigma025_certified_accuracy_r0.75", "sigma025_certified_accuracy_r1"]
    assert sorted(findings) == sorted(keys)
    table = pd.read_csv(artifact.path("certified_accuracy.csv"))
    assert [findings[k] for k in keys] == pytest.approx(table["certified_accuracy"].tolist())
    assert artifact.properties["findings"] == findings
    titles = [title for title, _, _ in artifact_sections(artifact, str(tmp_path))]
    assert titles == ["Certified accuracy (randomized smoothing, L2)", "Certified accuracy, sigma 0.25"]
    assert os.path.isfile(tmp_path / "certification.csv")


def test_a_rerun_reuses_the_certification(local_run):
    root, source, certifiers, first = local_run
    again = pipeline(root, source, certifiers).run(progress=False)
    assert dict(zip(again.summary.component, again.summary.state))["certify"] == "cached"
    assert _certification(again).uri == _certification(first).uri


def test_the_library_gives_the_components_rows(local_run):
    _, _, _, result = local_run
    model = result.outputs["Trainer"]["model"].path("model.keras")
    examples = result.outputs["ImageExampleGen"]["examples"].uri
    parameters = {k: v for k, v in PROTOCOL.items() if k != "sigma"}
    again = split.certify_split(model, examples, "eval", PROTOCOL["sigma"], progress=False, **parameters)
    rows = split.certification_table(again).drop(columns="seconds")
    pd.testing.assert_frame_equal(rows, _csv(_certification(result)).drop(columns="seconds"), check_dtype=False)


def test_an_examples_noise_is_keyed_by_its_index_in_the_split(local_run):
    _, _, _, result = local_run
    model = io.load_model_artifact(result.outputs["Trainer"]["model"])
    examples = result.outputs["ImageExampleGen"]["examples"].uri
    x, _ = first_examples(examples, "eval", max(CERTIFIED) + 1)
    smoothing = {k: PROTOCOL[k] for k in ("sigma", "batch_size", "seed")}
    whole = certify.Smoothed(model, **smoothing).certify(
        x, PROTOCOL["n0"], PROTOCOL["n"], PROTOCOL["alpha"], progress=False
    )  # the first 11 images in one call: image i keyed by i
    rows = _csv(_certification(result))
    np.testing.assert_array_equal(rows["count"], whole["count"][CERTIFIED])
    np.testing.assert_array_equal(rows["prediction"], whole["predictions"][CERTIFIED])
    np.testing.assert_allclose(rows["radius"], whole["radius"][CERTIFIED], rtol=0, atol=1e-12)


def drop_the_second(model, worker, element):
    """`certify_batch` that loses batch 1's row: an engine dropping an element."""
    rows = _CERTIFY_BATCH(model, worker, element)
    return [] if element[1] == 1 else rows


@pytest.mark.parametrize("runner", ["local", "beam"])
def test_a_lost_row_fails_the_step_and_nothing_is_recorded(tmp_path, source, monkeypatch, runner):
    if runner == "beam":
        pytest.importorskip("apache_beam", reason="the beam extra is not installed")
    monkeypatch.setattr(split, "certify_batch", drop_the_second)
    steps = {"certify": {**PROTOCOL, "runner": runner}}  # beam: DirectRunner in this process
    with pytest.raises(
        CertificationError, match=rf"the {runner} runner returned 5 certified examples .* the 6 it read"
    ):
        pipeline(tmp_path, source, steps).run(progress=False)
    store = MetadataStore(str(tmp_path / "metadata.sqlite"))
    assert store.latest_artifact("Certification") is None
    assert store.latest_artifact("Model") is not None  # the steps before it are recorded
    assert os.listdir(tmp_path / "certify" / "certification") == []


def test_beam_runner_equals_the_local_runner(tmp_path, source):
    """About 15 s on 2 cores (two worker processes start): not marked slow."""
    pytest.importorskip("apache_beam", reason="the beam extra is not installed: pip install -e '.[beam]'")
    steps = {"local": PROTOCOL, "beam": {**PROTOCOL, "runner": "beam", "beam_options": TWO_WORKERS}}
    result = pipeline(tmp_path, source, steps).run(progress=False)
    local, beam = (_csv(_certification(result, name)) for name in ("local", "beam"))
    pd.testing.assert_frame_equal(beam.drop(columns="seconds"), local.drop(columns="seconds"))
    assert local["index"].tolist() == CERTIFIED
    assert ((0 < local["count"]) & (local["count"] < PROTOCOL["n"])).any()  # the noise decides counts: keys matter
    findings = [read_sections(_certification(result, name))["findings"] for name in ("local", "beam")]
    assert findings[0] == findings[1]
