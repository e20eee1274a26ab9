"""Figures a reader can trust: robust accuracies carry n and a 95% Wilson interval, and stores
and artifacts written by another kerasadv version are read or refused with the version needed."""

import json
import sqlite3
import types

import keras
import numpy as np
import pandas as pd
import pytest

import kerasadv
from components.report import ReportExecutor
from kerasadv import attacks
from kerasadv.attacks.metrics import accuracy_figure, summarise, wilson_interval
from kerasadv.errors import AttackInputError, KerasAdvError
from kerasadv.evaluation import blessing
from kerasadv.evaluation.engine import LIVE_ATTACK_COLUMNS, live_row
from kerasadv.orchestration import Artifact, MetadataStore
from kerasadv.orchestration.artifacts import ARTIFACT_FORMAT
from kerasadv.orchestration.metadata import STORE_FORMAT

# --- Wilson intervals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (50, 100, 0.4038, 0.5962),  # the textbook value
        (0, 20, 0.0, 0.1611),  # z^2 / (n + z^2): not the normal approximation's empty interval
        (20, 20, 0.8389, 1.0),
        (96, 200, 0.4118, 0.5490),
        (0, 0, 0.0, 1.0),  # no examples: no information
    ],
)
def test_wilson_interval_known_values(successes, n, low, high):
    assert wilson_interval(successes, n) == pytest.approx((low, high), abs=1e-4)


@pytest.mark.parametrize(("successes", "n", "confidence"), [(5, 4, 0.95), (-1, 4, 0.95), (2, 4, 1.0)])
def test_wilson_interval_refuses_bad_counts(successes, n, confidence):
    with pytest.raises(AttackInputError, match=r"got (successes=|1\.0)"):
        wilson_interval(successes, n, confidence)


def _model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3)])


def test_evaluate_attack_carries_its_sample_size_and_intervals():
    x = np.random.default_rng(0).random((10, 8, 8, 3), dtype=np.float32)
    result = attacks.evaluate_attack(attacks.FGSM(0.03), _model(), (x, np.arange(10) % 3), progress=False)
    n = result["num_examples"]
    for name in ("clean_accuracy", "adversarial_accuracy"):
        low, high = result[f"{name}_interval"]
        assert (low, high) == wilson_interval(round(result[name] * n), n)
        assert low <= result[name] <= high and high - low > 0.1  # ten examples: a wide interval


def test_an_ensembles_interval_is_of_its_per_point_worst_case():
    """AutoAttack's robust accuracy is replaced by the ensemble's worst case: its interval follows."""
    ensemble = types.SimpleNamespace(names=("clean", "apgd-ce", "apgd-t"), targeted=False)
    totals = np.array([4, 3, 3, 3, 0, 0.1, 0.2, 2.0, 2.0])  # the single attacks left 3 of 4 correct
    result = summarise(ensemble, totals, broken_by=np.array([0, 1, -1, -1]))
    assert result["adversarial_accuracy"] == 0.5
    assert result["adversarial_accuracy_interval"] == wilson_interval(2, 4)


def test_accuracy_figure_shows_n_and_the_interval():
    assert accuracy_figure(0.48, 200) == "0.480 (n=200, 95% CI 0.412-0.549)"


# --- the interval in evaluation tables, blessing checks and the report ---------------------------


def _evaluation(robust=0.5, n=100, clean=0.8):
    result = {key: 0.0 for key in LIVE_ATTACK_COLUMNS}
    result.update(
        num_examples=n,
        clean_accuracy=clean,
        adversarial_accuracy=robust,
        adversarial_accuracy_interval=wilson_interval(round(robust * n), n),
    )
    config = {"class_name": "PGD", "config": {"eps": 0.03, "steps": 5}}
    content = {
        "attacks": {"PGD-0.03": config},
        "robust_examples": n,
        "split": "eval",
        "seed": 0,
        "examples": "fingerprint",
        "metrics": {"examples_accuracy": clean, "robust_accuracy_PGD-0.03": robust},
        "live_attacks": [live_row("PGD-0.03", result)],
        "per_attack": {},
        "self_checks": {},
    }
    parameters = {"min_accuracy": 0.5, "min_robust_accuracy": 0.3, "robust_margin": 0.0, "no_worse_than_baseline": []}
    content["checks"] = blessing.blessing_checks(content, parameters)
    return content


def test_live_rows_and_blessing_checks_carry_the_interval():
    content = _evaluation()
    row = content["live_attacks"][0]
    interval = (row["adversarial_accuracy_ci_low"], row["adversarial_accuracy_ci_high"])
    assert interval == pytest.approx((0.4038, 0.5962), abs=1e-4)
    (robust,) = [c for c in content["checks"] if c["check"].startswith("robust accuracy")]
    assert robust["n"] == 100 and robust["interval"] == pytest.approx([0.4038, 0.5962], abs=1e-4)
    assert "0.5000 (n=100, 95% CI 0.4038-0.5962)" in blessing.check_line(robust)
    table = blessing.blessing_table(content["checks"])
    assert table.loc[table["rule"] == robust["check"], "95% CI"].item() == "0.4038-0.5962"


def test_the_report_shows_n_and_the_interval(tmp_path):
    """The quick-start Report: the live-attack table and the blessing table hold n and the 95% interval."""
    evaluation = Artifact("ModelEvaluation", str(tmp_path / "evaluation"))
    (tmp_path / "evaluation").mkdir()
    (tmp_path / "evaluation" / "evaluation.json").write_text(json.dumps(_evaluation()))
    pd.DataFrame({"eps": [0.0, 0.03], "adversarial_accuracy": [0.8, 0.5]}).to_csv(
        tmp_path / "evaluation" / "fgsm_eps_sweep.csv", index=False
    )
    report = Artifact("Report", str(tmp_path / "report"))
    (tmp_path / "report").mkdir()
    ReportExecutor().Do({"baseline_evaluation": evaluation}, {"report": report}, {"title": "t"})
    text = (tmp_path / "report" / "report.md").read_text()
    live, blessing_section = (text.split(f"## {name}")[1].split("\n## ")[0] for name in ("Live attacks", "Blessing"))
    assert "| 100 |" in live and "0.4038" in live and "0.5962" in live  # n and the interval's two ends
    assert "95% CI" in blessing_section and "0.4038-0.5962" in blessing_section


# --- versions of the metadata store and of artifacts ---------------------------------------------

# The tables of a store written before versions were recorded (format 1, before manifests too).
FORMAT_1_SCHEMA = """
CREATE TABLE contexts (id INTEGER PRIMARY KEY, pipeline TEXT, run_id TEXT, started REAL);
CREATE TABLE executions (id INTEGER PRIMARY KEY, context_id INTEGER, component_id TEXT, component_type TEXT,
    cache_key TEXT, parameters TEXT, state TEXT, cached_from INTEGER, started REAL, finished REAL);
CREATE TABLE artifacts (id INTEGER PRIMARY KEY, type TEXT, uri TEXT, properties TEXT, fingerprint TEXT, state TEXT);
CREATE TABLE events (execution_id INTEGER, artifact_id INTEGER, kind TEXT, name TEXT);
INSERT INTO contexts VALUES (1, 'old', 'run-1', 0);
INSERT INTO executions VALUES (1, 1, 'Trainer', 'Trainer', 'key', '{"epochs": 2}', 'complete', NULL, 0, 1);
INSERT INTO artifacts VALUES (1, 'Model', '/root/Trainer/model/1', '{"accuracy": 0.9}', 'fp', 'live');
INSERT INTO events VALUES (1, 1, 'output', 'model');
"""


def _published(tmp_path):
    """A store with one published Model artifact; returns `(path, store, execution id)`."""
    path = str(tmp_path / "metadata.sqlite")
    store = MetadataStore(path)
    component = types.SimpleNamespace(id="Trainer", parameters={"epochs": 1})
    execution = store.start_execution(store.new_context("p", "run"), component, "key", {})
    (tmp_path / "model").mkdir()
    store.publish(execution, {"model": Artifact("Model", str(tmp_path / "model"), {"accuracy": 0.9})})
    return path, store, execution


def test_a_store_records_its_format_and_each_artifacts_writer(tmp_path):
    path, store, _ = _published(tmp_path)
    info = dict(store.db.execute("SELECT key, value FROM store_info"))
    assert info == {"format": str(STORE_FORMAT), "kerasadv_version": kerasadv.__version__}
    row = store.db.execute("SELECT format, written_by FROM artifacts").fetchone()
    assert row == (ARTIFACT_FORMAT, kerasadv.__version__)


def test_a_store_without_a_version_is_read_as_format_1_and_migrated(tmp_path):
    path = str(tmp_path / "metadata.sqlite")
    with sqlite3.connect(path) as db:
        db.executescript(FORMAT_1_SCHEMA)
    store = MetadataStore(path)
    (model,) = store.outputs_of(1).values()
    assert (model.type_name, model.uri, model.properties) == ("Model", "/root/Trainer/model/1", {"accuracy": 0.9})
    assert store.lineage(1)[0]["parameters"] == {"epochs": 2}
    assert dict(store.db.execute("SELECT key, value FROM store_info"))["format"] == str(STORE_FORMAT)
    assert MetadataStore(path).outputs_of(1)["model"].properties == {"accuracy": 0.9}  # reopened: still read


def test_a_store_of_a_newer_format_is_refused_with_the_version_it_needs(tmp_path):
    path, store, _ = _published(tmp_path)
    store.db.execute("UPDATE store_info SET value = ? WHERE key = 'format'", (str(STORE_FORMAT + 1),))
    store.db.execute("UPDATE store_info SET value = '99.1' WHERE key = 'kerasadv_version'")
    with pytest.raises(KerasAdvError) as raised:
        MetadataStore(path)
    message = str(raised.value)
    assert f"kerasadv 99.1 in store format {STORE_FORMAT + 1}" in message
    assert f"up to {STORE_FORMAT}" in message and "kerasadv >= 99.1" in message and path in message


def test_an_artifact_of_a_newer_format_is_refused_never_misread(tmp_path):
    path, store, execution = _published(tmp_path)
    store.db.execute("UPDATE artifacts SET format = ?, written_by = '99.1'", (ARTIFACT_FORMAT + 1,))
    with pytest.raises(KerasAdvError) as raised:
        MetadataStore(path).outputs_of(execution)
    message = str(raised.value)
    assert "Model#1" in message and f"kerasadv 99.1 in artifact format {ARTIFACT_FORMAT + 1}" in message
    assert f"up to {ARTIFACT_FORMAT}" in message and "kerasadv >= 99.1" in message
    with pytest.raises(KerasAdvError, match="99.1"):
        MetadataStore(path).cached_outputs("key")  # the cache does not serve it either
