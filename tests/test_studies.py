"""The study pipelines' `ci` profiles on real CIFAR-10: every component runs, and the reports hold
the right tables (rows, columns, finite values, the paper's column beside ours); and a study
whose components would not record its paper's findings fails when it is built."""

import json
import os
import sys
import time

import numpy as np
import pytest

from kerasadv import analysis, io, training
from kerasadv.analysis.thresholds import load_thresholds
from kerasadv.certify import max_radius
from kerasadv.components.example_gen import ImageExampleGen
from kerasadv.components.neural_ranking import NeuralRankingExecutor
from kerasadv.components.study_report import StudyReport
from kerasadv.components.trainer import Trainer
from kerasadv.data.paired import given_images
from kerasadv.data.tfrecords import first_examples
from kerasadv.errors import KerasAdvError
from kerasadv.orchestration import Artifact, SpecError
from kerasadv.pipelines import attack_defense_study, efficientnet_transfer, vgg16_layer_vulnerability
from kerasadv.pipelines import toggle_activity_study as toggle_study
from kerasadv.pipelines.attack_defense_study.certified import CERTIFIED_MODELS
from kerasadv.pipelines.attack_defense_study.components import LatentSpace
from kerasadv.pipelines.attack_defense_study.paper import COHEN_MODEL, TABLE1_EPS, TABLE1_PAPER
from kerasadv.pipelines.vgg16_layer_vulnerability.components import LayerVulnerability, VulnerabilityStudyReport
from kerasadv.reporting import Sections
from kerasadv.reporting.paper import comparison_table

sys.path.insert(0, os.path.dirname(__file__))
from pipeline_helpers import RAN, paper_comparison, report_page, report_table, run_ci_study, workers_shared_root  # noqa: E402

STUDIES = [toggle_study, attack_defense_study, vgg16_layer_vulnerability, efficientnet_transfer]


@pytest.fixture(scope="module")
def toggle_run(cifar_tar, tmp_path_factory):
    return run_ci_study(toggle_study, cifar_tar, workers_shared_root(tmp_path_factory, "toggle_study"))


@pytest.mark.slow
def test_toggle_study_report_puts_ours_beside_every_paper_row(toggle_run):
    pipeline, result = toggle_run
    assert set(result.summary.state) in RAN
    assert np.isfinite(paper_comparison(result, toggle_study).ours).all()
    report = result.outputs["ToggleStudyReport"]["report"]
    page = report_page(result)
    for heading in ("Configuration", "Ours beside the paper", "What differs", "Example images", "Lineage"):
        assert f"<h2>{heading}" in page
    for image in ("examples.png", "ranking_layers.png", "binary_toggle_gain_vs_size.png", "ternary_toggle_vs_eps.png"):
        assert f"src='{image}'" in page and open(report.path(image), "rb").read(4) == b"\x89PNG"
    markdown = open(report.path("report.md")).read()
    assert "eval accuracy" in markdown and '"class_name": "FGSM"' in markdown
    model_id = result.outputs["Trainer"]["model"].id
    assert (
        f"- model: python -m kerasadv.orchestration.lineage --pipeline_root {pipeline.root} --artifact_id {model_id}"
        in markdown
    )


@pytest.mark.slow
def test_toggle_study_tables_have_the_experiments_rows(toggle_run):
    _, result = toggle_run
    profile = toggle_study.PROFILES["ci"]
    sizes = [int(s) for s in profile.sizes.split(",")]
    by_size = report_table(result, "toggle_vs_size.csv")
    assert list(by_size.columns) == ["thresholds", "size", "clean", "with_adversarial", "gain"]
    assert by_size.thresholds.tolist() == ["binary"] * len(sizes) + ["ternary"] * len(sizes)
    assert by_size["size"].tolist() == sizes * 2
    assert by_size[["clean", "with_adversarial"]].stack().between(0, 1).all()
    np.testing.assert_allclose(by_size.gain, by_size.with_adversarial - by_size.clean)
    assert (by_size.gain >= 0).all()  # adding images never untoggles a neuron
    equal = report_table(result, "toggle_equal_size.csv")
    assert len(equal) == 4 and set(equal.dataset) == {"clean", "half adversarial"}
    assert (equal["size"] == profile.equal_size).all() and np.isfinite(equal.std_total).all()
    by_eps = report_table(result, "toggle_vs_eps.csv")
    eps = [float(e) for e in profile.eps_values.split(",")]
    assert by_eps.eps.tolist() == eps * 2 and (by_eps[by_eps.eps == 0].gain == 0).all()
    high = report_table(result, "toggle_high_perturbation.csv")
    assert high["size"].tolist() == sizes * 2 and np.isfinite(high.gain).all()
    thresholds = report_table(result, "thresholds.csv")
    assert len(thresholds) == 17 and thresholds.bimodal_share.between(0, 1).all()  # ResNet-18's ReLU layers
    layers = report_table(result, "ranking_layers.csv")
    assert layers.layer.tolist() == thresholds.layer.tolist() and (layers.iloc[:, 2:].sum() == 20).all()
    for name in ("clean", "clean_adversarial", "dog_clean", "dog_clean_adversarial"):
        ranking = report_table(result, f"ranking_{name}.csv")
        assert list(ranking.columns) == ["rank", "layer", "depth", "index", "value", "class"]
        assert len(ranking) == 20 and ranking.value.is_monotonic_decreasing
        assert set(ranking.layer) <= set(thresholds.layer)
    coverage = report_table(result, "coverage_vs_size.csv")
    assert coverage["size"].tolist() == [10, 100] and coverage.iloc[:, 1:].stack().between(-1, 1).all()


@pytest.mark.slow
def test_toggle_activity_component_equals_the_library_on_its_inputs(toggle_run):
    """The smallest size's binary gain, recomputed from the artifacts with the library."""
    _, result = toggle_run
    outputs = result.outputs
    model = io.load_model_artifact(outputs["Trainer"]["model"])
    examples, adversarial = outputs["ImageExampleGen"]["examples"], outputs["AttackGen"]["adversarial_examples"]
    x, _ = first_examples(examples.uri, "eval", 200)
    x_adv, _ = first_examples(adversarial.uri, "eval", 200)
    chosen = np.random.default_rng(0).permutation(len(x))[:5]
    binary, _ = load_thresholds(outputs["ActivationThresholds"]["thresholds"].uri)
    probe = analysis.probe_model(model)
    clean = analysis.toggle_activity(probe, binary, x[chosen])["total"]
    mixed = analysis.toggle_activity(probe, binary, np.concatenate([x[chosen], x_adv[chosen]]))["total"]
    findings = outputs["ToggleActivity"]["analysis"].properties["findings"]
    assert findings["binary_gain_smallest_size"] == pytest.approx(mixed - clean, abs=1e-9)


@pytest.mark.slow
def test_toggle_study_second_run_is_served_from_the_cache(toggle_run):
    pipeline, _ = toggle_run
    assert set(pipeline.run(progress=False).summary.state) == {"cached"}


@pytest.mark.slow
def test_neural_ranking_records_a_class_the_data_lacks_as_missing(toggle_run, tmp_path):
    pipeline, result = toggle_run
    inputs = {
        "model": result.outputs["Trainer"]["model"],
        "examples": result.outputs["ImageExampleGen"]["examples"],
        "adversarial_examples": result.outputs["AttackGen"]["adversarial_examples"],
    }
    (component,) = [c for c in pipeline.components if c.id == "NeuralRanking"]
    out = Artifact("Analysis", str(tmp_path))
    NeuralRankingExecutor().Do(inputs, {"analysis": out}, {**component.parameters, "class_name": "zebra"})
    with open(out.path("sections.json")) as f:
        findings = json.load(f)["findings"]
    for key in ("clean_mean_depth", "clean_adversarial_top_depth"):
        assert findings[f"zebra_{key}"] is None and 0 < findings[key] <= 1  # not in the data: missing, never made up
    with open(result.outputs["NeuralRanking"]["analysis"].path("sections.json")) as f:
        assert 0 < json.load(f)["findings"]["dog_clean_mean_depth"] <= 1  # a class CIFAR-10 has


def test_comparison_table_names_a_finding_no_analysis_produced():
    paper = [{"finding": "gain", "paper": "about 0.05", "key": "max_gain"}]
    assert comparison_table(paper, {"max_gain": 0.04}).ours.tolist() == [0.04]
    with pytest.raises(SpecError, match="max_gain.*expected keys among \\['gain'\\]"):
        comparison_table(paper, {"gain": 0.04})


@pytest.fixture(scope="module")
def attack_defense_run(cifar_tar, tmp_path_factory):
    root = workers_shared_root(tmp_path_factory, "attack_defense_study")
    return run_ci_study(attack_defense_study, cifar_tar, root)[1]


@pytest.mark.slow
def test_attack_defense_report_has_the_papers_tables_beside_ours(attack_defense_run):
    result = attack_defense_run
    assert set(result.summary.state) in RAN
    first = report_table(result, "table1.csv")
    assert list(first.columns) == ["attack", "eps", "ours", "paper"]
    assert first.attack.tolist() == ["FGSM"] * 6 + ["PGD"] * 6 and first.eps.tolist() == list(TABLE1_EPS) * 2
    assert first.ours.between(0, 100).all() and first.paper.tolist() == [*TABLE1_PAPER["FGSM"], *TABLE1_PAPER["PGD"]]
    second = report_table(result, "table2.csv")
    assert list(second.columns) == [
        "attack",
        "defense",
        "ours eps 0.01",
        "paper eps 0.01",
        "ours eps 0.05",
        "paper eps 0.05",
    ]
    assert len(second) == 6 and second.filter(like="ours").stack().between(0, 100).all()
    noise = report_table(result, "noise_defense.csv")
    assert list(noise.columns) == ["eps", "base model", "noise after conv1", "noise between dense"]
    assert noise.eps.tolist() == [0.0, *TABLE1_EPS] and noise.iloc[:, 1:].stack().between(0, 100).all()
    confidence = report_table(result, "confidence.csv")
    assert len(confidence) == 12 + 4 + 4 and confidence.filter(like="confidence").stack().between(0, 1).all()
    assert np.isfinite(paper_comparison(result, attack_defense_study).ours).all()
    certified = report_table(result, "certified_accuracy.csv")
    radii = [f"r = {r:g}" for r in (0, 0.25, 0.5, 0.75, 1.0)]
    assert certified.model.tolist() == [*CERTIFIED_MODELS.values(), COHEN_MODEL]
    assert certified.sigma.tolist() == [0.12, 0.25, 0.05, 0.05, 0.25]
    ours = certified.iloc[:4]
    assert ours[radii].stack().between(0, 1).all() and (ours["images"] == 4).all() and (ours["n"] == 100).all()
    # the ceiling sigma * Phi^-1(alpha^(1/n)) of n = 100: 0.075 at sigma 0.05, so nothing is certified at 0.25
    assert (ours["max radius"] == [max_radius(100, 0.001, s) for s in (0.12, 0.25, 0.05, 0.05)]).all()
    assert (ours.iloc[2:][radii[1:]] == 0).all().all()
    assert certified.iloc[4][radii[1:4]].tolist() == [0.60, 0.43, 0.27]
    page = report_page(result)
    for image in ("examples.png", "noise_defense.png", "latent_contrastive.png", "latent_reference.png"):
        assert f"src='{image}'" in page
    assert "src='certified_accuracy.png'" in page


@pytest.mark.slow
def test_latent_one_nn_equals_a_brute_force_nearest_neighbour(attack_defense_run):
    outputs = attack_defense_run.outputs
    examples = outputs["ImageExampleGen"]["examples"]
    latent = io.load_model(outputs["ContrastiveTrainer"]["model"].path("latent.keras"))
    given_x, given_y = given_images(examples.uri, 5, seed=0)
    x, y = first_examples(examples.uri, "eval", attack_defense_study.PROFILES["ci"].latent_examples)
    references, codes = latent.predict(given_x, verbose=0), latent.predict(x, verbose=0)
    distances = np.linalg.norm(codes[:, None] - references[None], axis=-1)
    row = report_table(attack_defense_run, "latent_one_nn.csv").iloc[0]
    assert row.given_images == 50 and sorted(np.bincount(given_y)) == [5] * 10
    assert row.accuracy_clean == pytest.approx(np.mean(given_y[distances.argmin(1)] == y))
    assert row.mean_distance_to_1nn_clean == pytest.approx(distances.min(1).mean(), rel=1e-4)


def test_latent_space_refuses_a_model_trained_without_the_contrastive_recipe():
    gen = ImageExampleGen(source="fashion_mnist")
    plain = Trainer(examples=gen.outputs["examples"])
    with pytest.raises(SpecError, match="contrastive recipe.*got recipe None"):
        LatentSpace(
            model=plain.outputs["model"], reference_model=plain.outputs["model"], examples=gen.outputs["examples"]
        )


@pytest.mark.parametrize("study", STUDIES, ids=lambda study: study.__name__.rsplit(".", 1)[-1])
def test_every_study_is_built_with_its_paper_findings_declared(study, tmp_path):
    pipeline = study.create_pipeline("tar:cifar10.tar.gz", "ci", str(tmp_path))  # built, not run
    (report,) = [c for c in pipeline.components if isinstance(c, StudyReport)]
    assert {row["key"] for row in study.PAPER} <= report.declared_findings()
    assert not os.listdir(tmp_path)


def test_a_study_wired_without_a_component_fails_when_built_naming_the_missing_finding(tmp_path):
    pipeline = toggle_study.create_pipeline("tar:cifar10.tar.gz", "ci", str(tmp_path))
    parts = {c.id: c for c in pipeline.components}

    class WithoutCoverage(StudyReport):  # the toggle study's report, its NeuronCoverage left out
        ANALYSES = ("thresholds", "toggle", "ranking")
        PAPER = toggle_study.PAPER

    start = time.perf_counter()
    with pytest.raises(
        SpecError, match=r"WithoutCoverage: the paper rows need findings \['neuron_coverage_gain_largest_size'\]"
    ):
        WithoutCoverage(
            model=parts["Trainer"].outputs["model"],
            examples=parts["ImageExampleGen"].outputs["examples"],
            thresholds=parts["ActivationThresholds"].outputs["thresholds"],
            toggle=parts["ToggleActivity"].outputs["analysis"],
            ranking=parts["NeuralRanking"].outputs["analysis"],
        )
    assert time.perf_counter() - start < 1.0
    assert not os.listdir(tmp_path)


def test_an_analysis_configured_without_a_finding_fails_when_the_report_is_built():
    gen = ImageExampleGen(source="fashion_mnist")
    train = Trainer(examples=gen.outputs["examples"])
    vulnerability = LayerVulnerability(  # FGSM: no coverage campaign; no ranked layers
        model=train.outputs["model"], examples=gen.outputs["examples"], attack="fgsm"
    )
    missing = r"\['block4_conv1_rank', 'block5_conv1_rank', 'coverage_gradient_minus_random'\]"
    with pytest.raises(SpecError, match=f"need findings {missing}, which none of its analyses"):
        VulnerabilityStudyReport(
            model=train.outputs["model"],
            examples=gen.outputs["examples"],
            vulnerability=vulnerability.outputs["analysis"],
        )


def test_an_analysis_records_exactly_the_findings_it_declares(tmp_path):
    sections = Sections(Artifact("Analysis", str(tmp_path)), expected=["max_gain"])
    sections.finding("gain", 0.05)
    with pytest.raises(KerasAdvError, match=r"findings \['gain'\] it does not declare and lacks \['max_gain'\]"):
        sections.save()
    assert not os.listdir(tmp_path)


def test_a_study_run_as_a_program_exits_0(monkeypatch):
    """absl.app.run exits with main's return value: a study's main must return None, not the run's result."""
    from kerasadv.pipelines import study_cli
    from kerasadv.pipelines.toggle_activity_study import pipeline

    exits = []
    monkeypatch.setattr(study_cli, "define_common_flags", lambda *args: None)
    monkeypatch.setattr(study_cli, "run_study", lambda study, options: "a PipelineResult")
    monkeypatch.setattr(study_cli.app, "run", lambda main: exits.append(main(["study"])))
    monkeypatch.setattr(pipeline, "define_flags", lambda: (), raising=False)
    study_cli.main(pipeline)
    assert exits == [None]  # was: the PipelineResult, printed by sys.exit with status 1


@pytest.mark.parametrize("study", [attack_defense_study, toggle_study], ids=lambda s: s.__name__.split(".")[-1])
def test_studies_that_attack_their_models_train_them_without_label_smoothing(study, tmp_path):
    pipeline = study.create_pipeline("npz:/data/x.npz", "ci", str(tmp_path / "root"))
    trainers = [c for c in pipeline.components if isinstance(c, Trainer)]
    assert len(trainers) >= 1
    assert {c.id: c.parameters["training_options"].get("label_smoothing") for c in trainers} == {
        c.id: 0.0 for c in trainers
    }


@pytest.mark.parametrize("profile, base_epochs", [("paper", 28), ("quick", 6)])
def test_the_paper_and_quick_profiles_fine_tune_every_other_model_from_the_trained_base(profile, base_epochs, tmp_path):
    parts = every_image_parts(attack_defense_study, tmp_path, profile)
    trainers = {cid: c for cid, c in parts.items() if isinstance(c, Trainer)}
    base = trainers.pop("BaseTrainer")
    assert "base_model" not in base.inputs and base.parameters["epochs"] == base_epochs
    assert (base.parameters["batch_size"], base.parameters["learning_rate"]) == (None, None)  # the recipe's
    assert len(trainers) == 7
    assert {cid: t.inputs["base_model"].producer.id for cid, t in trainers.items()} == dict.fromkeys(
        trainers, "BaseTrainer"
    )
    assert {t.parameters["learning_rate"] for t in trainers.values()} == {0.01}
    assert trainers["NoiseConvTrainer"].parameters["model_options"]["noise_stddev"] == 0.05


def profile_parts(study, profile, tmp_path):
    """The study's components for a profile, by id (built, not run)."""
    pipeline = study.create_pipeline("npz:/data/x.npz", profile, str(tmp_path / profile))
    return {c.id: c for c in pipeline.components}


def every_image_parts(study, tmp_path, profile="paper"):
    """The profile's components by id, after checking that it ingests every image of both splits."""
    parts = profile_parts(study, profile, tmp_path)
    gen = parts["ImageExampleGen"]
    assert (gen.parameters["num_train"], gen.parameters["num_eval"]) == (None, None)
    return parts


def test_the_toggle_paper_and_quick_profiles_train_resnet18_with_its_recipe_on_every_image(tmp_path):
    parts = every_image_parts(toggle_study, tmp_path)
    trainer = parts["Trainer"]
    assert trainer.parameters["model_options"] == {"width": 32}
    assert trainer.parameters["epochs"] == training.training_defaults("resnet18").epochs
    assert parts["ToggleActivity"].parameters["draws"] == toggle_study.PROFILES["full"].draws
    quick_trainer = every_image_parts(toggle_study, tmp_path, "quick")["Trainer"]  # the quick one on every image too
    assert (quick_trainer.parameters["model_options"], quick_trainer.parameters["epochs"]) == ({"width": 16}, 10)


def test_the_vgg16_paper_and_quick_profiles_train_with_the_recipe_on_every_image(tmp_path):
    trainer = every_image_parts(vgg16_layer_vulnerability, tmp_path)["Trainer"]
    assert trainer.parameters["model_options"] == {"width": 32}
    recipe = training.training_defaults("vgg16")
    assert trainer.parameters["epochs"] == recipe.epochs
    assert (trainer.parameters["batch_size"], trainer.parameters["learning_rate"]) == (None, None)  # the recipe's
    assert trainer.parameters["training_options"] == {} and recipe.cutout == 16  # the recipe's Cutout
    quick_trainer = every_image_parts(vgg16_layer_vulnerability, tmp_path, "quick")["Trainer"]
    assert quick_trainer.parameters["model_options"] == {"width": 16}
    assert quick_trainer.parameters["training_options"] == {"cutout": 0}  # 30 epochs: too short for Cutout to pay
    assert (quick_trainer.parameters["batch_size"], quick_trainer.parameters["learning_rate"]) == (None, None)


def test_the_transfer_paper_profile_trains_both_networks_with_their_recipes_on_every_image(tmp_path):
    parts = every_image_parts(efficientnet_transfer, tmp_path)
    source, target = parts["SourceTrainer"], parts["TargetTrainer"]
    assert source.parameters["epochs"] == training.training_defaults("efficientnet_b0").epochs
    assert source.parameters["batch_size"] is None  # the recipe's
    assert target.parameters["epochs"] == training.training_defaults("simple_cnn").epochs
    assert parts["TargetRetrainer"].inputs["base_model"].producer.id == "TargetTrainer"
    assert parts["AttackGen"].parameters["splits"] == "train,eval"
    quick_source = every_image_parts(efficientnet_transfer, tmp_path, "quick")["SourceTrainer"]
    assert (quick_source.parameters["epochs"], quick_source.parameters["batch_size"]) == (4, None)
