"""The EfficientNet-B0 -> simple CNN transfer study's `ci` profile on real CIFAR-10: the attack runs until
misclassified with nothing hidden, and the report's tables hold the right rows, values that a
recomputation confirms, and the paper's column beside ours."""

import json
import os
import sys

import keras
import numpy as np
import pytest

from kerasadv import io
from kerasadv.data import tfrecords
from kerasadv.data.paired import paired_examples
from kerasadv.pipelines import efficientnet_transfer as study

sys.path.insert(0, os.path.dirname(__file__))
from pipeline_helpers import RAN, paper_comparison, report_page, report_table, run_ci_study, workers_shared_root  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def transfer_run(cifar_tar, tmp_path_factory):
    root = workers_shared_root(tmp_path_factory, "transfer_study")
    return run_ci_study(study, cifar_tar, root / "pipeline", serving_dir=str(root / "serving"), model_name="transfer")


def test_report_puts_ours_beside_every_paper_cell(transfer_run):
    _, result = transfer_run
    assert set(result.summary.state) in RAN
    comparison = paper_comparison(result, study)
    confidence = report_table(result, "confidence.csv").set_index("transferred attack")
    for outcome in ("succeeds", "fails"):  # a mean over no image is NaN, never a made-up number
        row = comparison[comparison.finding.str.endswith(f"where the transfer {outcome}")].iloc[0]
        assert np.isnan(row.ours) == (confidence.loc[outcome, "examples"] == 0)
    others = comparison[~comparison.finding.str.contains("confidence")]
    assert np.isfinite(others.ours).all()
    page = report_page(result)
    for heading in ("Configuration", "Ours beside the paper", "What differs", "Example images", "Blessing and push"):
        assert f"<h2>{heading}" in page
    for image in ("examples.png", "filter_sweep.png"):
        assert f"src='{image}'" in page


def test_the_source_trains_with_its_recipes_builder_options(transfer_run):
    _, result = transfer_run
    source = result.outputs["SourceTrainer"]["model"]
    assert source.properties["model_options"] == {"drop_connect_rate": 0.0}  # the recipe's stochastic depth: off
    drops = [layer for layer in io.load_model_artifact(source).layers if layer.name.endswith("_drop")]
    assert drops and {layer.rate for layer in drops} == {0.0}


def test_attack_runs_until_misclassified_and_counts_what_the_budget_stopped(transfer_run):
    _, result = transfer_run
    adversarial = result.outputs["AttackGen"]["adversarial_examples"]
    assert adversarial.properties["attack"]["config"]["step_size"] == 0.01
    attack = report_table(result, "attack.csv").set_index("split")
    assert attack.index.tolist() == ["train", "eval"]
    for split, row in attack.iterrows():
        facts = {"steps": [], "success": [], "linf": []}
        for _, _, extras in tfrecords.read_split(adversarial.uri, split, 256, with_extras=True):
            for name in facts:
                facts[name].append(extras[name].numpy())
        steps, success, linf = (np.concatenate(facts[n]) for n in facts)
        assert (
            row.examples == len(steps) == tfrecords.split_size(result.outputs["ImageExampleGen"]["examples"].uri, split)
        )
        assert row.failed_at_budget == ((success == 0) & (steps == 100)).sum()
        assert adversarial.properties["out_of_budget"][split] == row.failed_at_budget
        assert ((success == 1) | (steps == 100)).all()  # every image ran until fooled or out of budget
        assert (linf <= steps * 0.01 + 1e-5).all() and row.success_rate == pytest.approx(success.mean())
        assert row.seconds_per_image > 0


def test_transfer_accuracy_and_loss_equal_a_keras_recomputation(transfer_run):
    _, result = transfer_run
    outputs = result.outputs
    x, x_adv, y = paired_examples(
        outputs["ImageExampleGen"]["examples"].uri, outputs["AttackGen"]["adversarial_examples"].uri, "eval"
    )
    transfer = report_table(result, "transfer.csv").set_index(["network", "set"])
    assert transfer.index.tolist() == [(n, s) for n in ("original", "retrained") for s in ("original", "adversarial")]
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    for network, trainer in (("original", "TargetTrainer"), ("retrained", "TargetRetrainer")):
        model = io.load_model_artifact(outputs[trainer]["model"])
        for set_name, images in (("original", x), ("adversarial", x_adv)):
            logits = model.predict(images, verbose=0)
            row = transfer.loc[(network, set_name)]
            assert row.accuracy == pytest.approx((logits.argmax(1) == y).mean())
            assert row.loss == pytest.approx(float(loss(y, logits)), rel=1e-4)
    metrics = outputs["EvaluateRetrained"]["evaluation"].properties["metrics"]  # the Evaluator's counter agrees
    assert metrics["examples_accuracy"] == pytest.approx(transfer.loc[("retrained", "original"), "accuracy"])
    assert metrics["adversarial_examples_accuracy"] == pytest.approx(
        transfer.loc[("retrained", "adversarial"), "accuracy"]
    )


def test_filter_sweep_covers_both_networks_and_starts_unfiltered(transfer_run):
    _, result = transfer_run
    sweep = report_table(result, "filter_sweep.csv")
    sigmas = np.round(np.linspace(0, 1, 11), 2).tolist()
    assert sweep.network.tolist() == ["original"] * 11 + ["retrained"] * 11
    assert sweep.sigma.tolist() == sigmas * 2
    assert sweep[["clean_accuracy", "adversarial_accuracy"]].stack().between(0, 1).all()
    transfer = report_table(result, "transfer.csv").set_index(["network", "set"])
    for network, rows in sweep.groupby("network"):
        unfiltered = rows[rows.sigma == 0].iloc[0]
        assert unfiltered.clean_accuracy == pytest.approx(transfer.loc[(network, "original"), "accuracy"])
        assert unfiltered.adversarial_accuracy == pytest.approx(transfer.loc[(network, "adversarial"), "accuracy"])


def test_retrained_target_is_pushed_exactly_when_blessed(transfer_run):
    _, result = transfer_run
    blessing = result.outputs["EvaluateRetrained"]["blessing"].properties
    original = result.outputs["EvaluateOriginal"]["evaluation"].properties["metrics"]  # compared, not re-measured
    compared = {c["check"].split(" >=")[0]: c["baseline"] for c in blessing["checks"] if c["baseline"] is not None}
    assert compared == {name: original[name] for name in ("examples_accuracy", "adversarial_examples_accuracy")}
    push = json.load(open(result.outputs["Pusher"]["pushed_model"].path("push.json")))
    assert push["pushed"] == blessing["blessed"]
    markdown = open(result.outputs["TransferStudyReport"]["report"].path("report.md")).read()
    assert f"- blessed: {blessing['blessed']}" in markdown and f"- pushed: {push['pushed']}" in markdown


def test_second_run_is_served_from_the_cache(transfer_run):
    pipeline, _ = transfer_run
    assert set(pipeline.run(progress=False).summary.state) == {"cached"}
