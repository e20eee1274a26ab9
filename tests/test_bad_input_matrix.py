"""Bad-input matrix: every bad value gets kerasadv's own error naming it and what was expected,
within 5 s, with nothing written. The table is the parametrization (see pytest -v)."""

import os
import re
import time

import keras
import numpy as np
import pytest

from kerasadv import attacks, data, io, models, training
from kerasadv.certify import split as certify_split
from kerasadv.components.activation_thresholds import ActivationThresholds
from kerasadv.components.attack_gen import AttackGen
from kerasadv.components.certifier import Certifier
from kerasadv.components.evaluator import Evaluator
from kerasadv.components.example_gen import ImageExampleGen
from kerasadv.components.filter import Filter
from kerasadv.components.filter_sweep import FilterSweep
from kerasadv.components.model_importer import ModelImporter
from kerasadv.components.neural_ranking import NeuralRanking
from kerasadv.components.neuron_coverage import NeuronCoverage
from kerasadv.components.pusher import Pusher
from kerasadv.components.report import Report
from kerasadv.components.toggle_activity import ToggleActivity
from kerasadv.components.trainer import Trainer
from kerasadv.data import tfrecords
from kerasadv.errors import (
    AttackInputError,
    CertificationError,
    DataSourceError,
    KerasAdvError,
    ModelError,
    RecipeError,
)
from kerasadv.orchestration import MetadataStore, SpecError
from kerasadv.pipelines.attack_defense_study.components import AttackDefenseReport, AttackDefenseTables, LatentSpace
from kerasadv.pipelines.efficientnet_transfer.components import TransferAnalysis, TransferStudyReport
from kerasadv.pipelines.toggle_activity_study.components import ToggleStudyReport
from kerasadv.pipelines.vgg16_layer_vulnerability.components import LayerVulnerability, VulnerabilityStudyReport

SECONDS = 5.0
RNG = np.random.default_rng(0)
X = RNG.random((4, 8, 8, 3), dtype=np.float32)
Y = np.array([0, 1, 2, 0])


def logits_model():
    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3)])


def softmax_model():
    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3, "softmax")])


def with_pixel(value):
    x = X.copy()
    x[1, 2, 3, 0] = value
    return x


def corrupt_keras(tmp):
    path = os.path.join(tmp, "model.keras")
    logits_model().save(path)
    with open(path, "rb") as f:
        head = f.read(1500)
    with open(path, "wb") as f:
        f.write(head)
    return path


def truncated_shard(tmp):
    directory = os.path.join(tmp, "examples")
    count, _ = tfrecords.write_split([{"image": X, "label": Y}], directory, "train", "float32")
    tfrecords.write_schema(directory, (8, 8, 3), "float32", ["a", "b", "c"], {"train": count})
    shard = os.path.join(directory, "train-00000.tfrecord")
    with open(shard, "rb") as f:
        head = f.read(os.path.getsize(shard) - 7)
    with open(shard, "wb") as f:
        f.write(head)
    return directory


def corrupt_store(tmp):
    path = os.path.join(tmp, "metadata.sqlite")
    with open(path, "wb") as f:
        f.write(b"SQLite format 3\x00" + b"\x07" * 4000)
    return path


def empty_npz(tmp):
    path = os.path.join(tmp, "empty.npz")
    empty = np.zeros((0, 8, 8, 3), np.float32)
    np.savez(path, x_train=empty, y_train=np.zeros(0), x_test=X, y_test=Y)
    return f"npz:{path}"


# name: (call(tmp) -> raises, error type, the bad value as the message shows it, what it expects)
API_CASES = {
    "pixels_0_255": (lambda t: attacks.FGSM(0.03)(logits_model(), X * 255, Y), AttackInputError, "254", r"\[0, 1\]"),
    "pixels_uint8": (
        lambda t: attacks.FGSM(0.03)(logits_model(), (X * 255).astype(np.uint8), Y),
        AttackInputError,
        "uint8",
        "float32 pixels in",
    ),
    "pixels_rank3": (
        lambda t: attacks.FGSM(0.03)(logits_model(), X[0], Y[:1]),
        AttackInputError,
        r"\(8, 8, 3\)",
        "n, height",
    ),
    "pixels_rank5": (
        lambda t: attacks.PGD(0.03)(logits_model(), X[None], Y),
        AttackInputError,
        r"\(1, 4, 8",
        "n, height",
    ),
    "pixels_nan": (
        lambda t: attacks.PGD(0.03)(logits_model(), with_pixel(np.nan), Y),
        AttackInputError,
        "non-finite",
        r"\[0, 1\]",
    ),
    "pixels_inf": (
        lambda t: attacks.FGSM(0.03)(logits_model(), with_pixel(np.inf), Y),
        AttackInputError,
        "non-finite",
        r"\[0, 1\]",
    ),
    "pixels_wrong_size_for_model": (
        lambda t: attacks.FGSM(0.03)(logits_model(), np.zeros((2, 9, 9, 3), np.float32), [0, 1]),
        AttackInputError,
        r"\(9, 9, 3\)",
        r"expects \(8, 8, 3\)",
    ),
    "labels_out_of_range": (
        lambda t: attacks.FGSM(0.03)(logits_model(), X, [0, 1, 5, 0]),
        AttackInputError,
        r"\[0, 5\]",
        r"\[0, 2\]",
    ),
    "labels_negative": (
        lambda t: attacks.FGSM(0.03)(logits_model(), X, [0, -1, 2, 0]),
        AttackInputError,
        "-1",
        r"\[0, 2\]",
    ),
    "labels_fractional": (
        lambda t: attacks.FGSM(0.03)(logits_model(), X, [0.5, 1, 2, 0]),
        AttackInputError,
        "0.5",
        "class ids",
    ),
    "labels_wrong_length": (
        lambda t: attacks.FGSM(0.03)(logits_model(), X, [0, 1]),
        AttackInputError,
        r"\(2,\)",
        r"\(4,\)",
    ),
    "labels_wrong_width": (
        lambda t: attacks.FGSM(0.03)(logits_model(), X, np.zeros((4, 2))),
        AttackInputError,
        r"\(4, 2\)",
        r"\(4, 3\)",
    ),
    "clean_accuracy_rank3": (
        lambda t: attacks.clean_accuracy(logits_model(), (X[0], np.zeros(8, int))),
        AttackInputError,
        r"\(8, 8, 3\)",
        "n, height",
    ),
    "x_y_length_mismatch": (
        lambda t: attacks.clean_accuracy(logits_model(), (X, Y[:3])),
        AttackInputError,
        "4 and 3",
        "same length",
    ),
    "softmax_model_attack": (lambda t: attacks.PGD(0.03)(softmax_model(), X, Y), ModelError, "softmax", "logits_model"),
    "softmax_model_sweep": (
        lambda t: attacks.eps_sweep(attacks.FGSM(0.0), softmax_model(), (X, Y), [0.0, 0.01]),
        ModelError,
        "softmax",
        "logits_model",
    ),
    "softmax_model_training": (
        lambda t: training.AdversarialModel(softmax_model(), attacks.FGSM(0.03)),
        ModelError,
        "softmax",
        "logits",
    ),
    "eps_negative": (lambda t: attacks.FGSM(-0.1), AttackInputError, "-0.1", r"\[0, 1\]"),
    "eps_huge": (lambda t: attacks.PGD(5.0), AttackInputError, "got 5", r"\[0, 1\]"),
    "eps_nan": (lambda t: attacks.PGD(float("nan")), AttackInputError, "nan", r"\[0, 1\]"),
    "eps_l2_beyond_image": (
        lambda t: attacks.PGD(100.0, norm="l2")(logits_model(), X, Y),
        AttackInputError,
        "100",
        r"\[0, 13.856",
    ),
    "steps_zero": (lambda t: attacks.PGD(0.03, steps=0), AttackInputError, "got 0", ">= 1"),
    "unknown_attack": (lambda t: attacks.get("fgsn"), AttackInputError, "'fgsn'", "'fgsm'"),
    "attack_config_wrong_key": (
        lambda t: attacks.deserialize({"class_name": "PGD", "config": {"epsilon": 0.1}}),
        AttackInputError,
        "epsilon",
        "PGD",
    ),
    "unknown_recipe": (lambda t: training.get_recipe("pdg"), RecipeError, "'pdg'", "'pgd'"),
    "recipe_config_wrong_key": (
        lambda t: training.get_recipe({"class_name": "AdversarialModel", "config": {"atack": "pgd"}}),
        RecipeError,
        "atack",
        "'attack'",
    ),
    "unknown_model": (lambda t: models.build("resnet19"), ModelError, "'resnet19'", "'resnet18'"),
    "unknown_source": (lambda t: data.load("foo:bar", "train"), DataSourceError, "'foo:bar'", "npz:PATH"),
    "num_examples_negative": (
        lambda t: data.load(empty_npz(t).replace("empty", "x"), "train"),
        DataSourceError,
        "x.npz",
        "exist",
    ),
    "empty_split": (lambda t: data.load(empty_npz(t), "train"), DataSourceError, "0 examples", "at least one"),
    "empty_evaluation": (
        lambda t: attacks.evaluate_attack(attacks.FGSM(0.03), logits_model(), (X[:0], Y[:0]), progress=False),
        AttackInputError,
        "0 examples",
        "at least one",
    ),
    "corrupt_keras_file": (lambda t: io.load_model(corrupt_keras(t)), ModelError, "model.keras", "re-create"),
    "missing_keras_file": (
        lambda t: io.load_model(os.path.join(t, "none.keras")),
        ModelError,
        "none.keras",
        ".keras model",
    ),
    "truncated_tfrecord_shard": (
        lambda t: tfrecords.read_split(truncated_shard(t), "train"),
        DataSourceError,
        "train-00000.tfrecord",
        "Re-create",
    ),
    "corrupt_metadata_store": (lambda t: MetadataStore(corrupt_store(t)), KerasAdvError, "metadata.sqlite", "corrupt"),
    "certify_split_runner": (
        lambda t: certify_split.certify_split(logits_model(), t, "eval", 0.25, runner="spark"),
        CertificationError,
        "'spark'",
        "one of",
    ),
    "certify_split_beam_without_a_file": (
        lambda t: certify_split.certify_split(logits_model(), t, "eval", 0.25, runner="beam"),
        CertificationError,
        "Sequential",
        r"\.keras file",
    ),
    "certify_split_sigma_zero": (
        lambda t: certify_split.certify_split(logits_model(), t, "eval", 0.0),
        CertificationError,
        "got 0.0",
        r"\(0, inf\)",
    ),
    "certify_split_alpha_above_one": (
        lambda t: certify_split.certify_split(logits_model(), t, "eval", 0.25, alpha=1.5),
        CertificationError,
        "1.5",
        r"\(0, 1\]",
    ),
    "certify_split_num_examples_negative": (
        lambda t: certify_split.certify_split(logits_model(), t, "eval", 0.25, num_examples=-1),
        CertificationError,
        "-1",
        ">= 0",
    ),
    "certify_split_skip_zero": (
        lambda t: certify_split.certify_split(logits_model(), t, "eval", 0.25, skip=0),
        CertificationError,
        "got 0",
        ">= 1",
    ),
}


def _files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files)


@pytest.mark.parametrize("case", list(API_CASES))
def test_public_api_bad_input(tmp_path, case):
    call, error_type, bad, expected = API_CASES[case]
    before = None
    start = time.perf_counter()
    with pytest.raises(error_type) as raised:
        before = _files(tmp_path)  # the inputs the case prepares are in place once it runs
        call(str(tmp_path))
    seconds = time.perf_counter() - start
    message = str(raised.value)
    assert re.search(bad, message), f"the bad value {bad!r} is not named: {message}"
    assert re.search(expected, message), f"what is expected ({expected!r}) is not said: {message}"
    assert seconds < SECONDS, f"{case} took {seconds:.1f} s"
    assert set(_files(tmp_path)) - set(before or []) <= set(_prepared(case, tmp_path)), "something was written"


def _prepared(case, tmp_path):
    """Files a case writes itself as its bad input (never the library's output)."""
    return _files(tmp_path) if case in PREPARES_FILES else []


PREPARES_FILES = {
    "corrupt_keras_file",
    "truncated_tfrecord_shard",
    "corrupt_metadata_store",
    "empty_split",
    "num_examples_negative",
}


def _channels():
    gen = ImageExampleGen(source="fashion_mnist")
    train = Trainer(examples=gen.outputs["examples"])
    attack = AttackGen(model=train.outputs["model"], examples=gen.outputs["examples"])
    evaluate = Evaluator(model=train.outputs["model"], examples=gen.outputs["examples"], allow_vacuous=True)
    push = Pusher(model=train.outputs["model"], blessing=evaluate.outputs["blessing"])
    thresholds = ActivationThresholds(model=train.outputs["model"], examples=gen.outputs["examples"])
    contrastive = Trainer(examples=gen.outputs["examples"], adversarial_training="contrastive")
    return {
        "contrastive": contrastive.outputs["model"],
        "thresholds": thresholds.outputs["thresholds"],
        "examples": gen.outputs["examples"],
        "model": train.outputs["model"],
        "adversarial": attack.outputs["adversarial_examples"],
        "evaluation": evaluate.outputs["evaluation"],
        "blessing": evaluate.outputs["blessing"],
        "pushed": push.outputs["pushed_model"],
    }


def _valid_arguments(component, ch, tmp_path):
    model_file = tmp_path / "user.keras"
    if component is ModelImporter and not model_file.exists():
        logits_model().save(model_file)
    analysed = {"model": ch["model"], "examples": ch["examples"], "adversarial_examples": ch["adversarial"]}
    return {
        ImageExampleGen: {"source": "fashion_mnist"},
        Trainer: {"examples": ch["examples"]},
        AttackGen: {"model": ch["model"], "examples": ch["examples"]},
        Evaluator: {"model": ch["model"], "examples": ch["examples"]},
        Filter: {"examples": ch["adversarial"]},
        Pusher: {"model": ch["model"], "blessing": ch["blessing"]},
        Report: {"baseline_evaluation": ch["evaluation"]},
        ModelImporter: {"path": str(model_file)},
        ActivationThresholds: {"model": ch["model"], "examples": ch["examples"]},
        ToggleActivity: {**analysed, "thresholds": ch["thresholds"]},
        NeuralRanking: analysed,
        NeuronCoverage: analysed,
        ToggleStudyReport: {
            **analysed,
            **{name: ch["thresholds"] for name in ToggleStudyReport.ANALYSES},
        },
        AttackDefenseReport: {
            **analysed,
            **{name: ch["thresholds"] for name in AttackDefenseReport.ANALYSES},
        },
        LatentSpace: {"model": ch["contrastive"], "reference_model": ch["model"], "examples": ch["examples"]},
        AttackDefenseTables: {name: ch["evaluation"] for name in ("baseline", "fgsm_trained", "pgd_trained")},
        FilterSweep: analysed,
        TransferAnalysis: {
            "original_model": ch["model"],
            "retrained_model": ch["model"],
            "examples": ch["examples"],
            "adversarial_examples": ch["adversarial"],
        },
        LayerVulnerability: {"model": ch["model"], "examples": ch["examples"]},
        TransferStudyReport: {
            **analysed,
            **{name: ch["thresholds"] for name in TransferStudyReport.ANALYSES},
            "blessing": ch["blessing"],
            "pushed_model": ch["pushed"],
        },
        Certifier: {"model": ch["model"], "examples": ch["examples"], "sigma": 0.25},
        VulnerabilityStudyReport: {
            "model": ch["model"],
            "examples": ch["examples"],
            **{name: ch["thresholds"] for name in VulnerabilityStudyReport.ANALYSES},
        },
    }[component]


# Out-of-range values per parameter; every parameter also gets a value of the wrong type.
RANGE_CASES = [
    (ImageExampleGen, "source", "foo:bar"),
    (ImageExampleGen, "num_train", 0),
    (ImageExampleGen, "num_eval", -5),
    (Trainer, "model", "resnet19"),
    (Trainer, "model_options", {"depth": 50}),
    (Trainer, "epochs", 0),
    (Trainer, "dtype_policy", "mixed_float8"),
    (Trainer, "learning_rate", -0.1),
    (Trainer, "adversarial_training", "pdg"),
    (Trainer, "adversarial_training", {"class_name": "AdversarialModel", "config": {"atack": "pgd"}}),
    (Trainer, "adversarial_training", {"class_name": "TRADESModel", "config": {"beta": -6.0}}),
    (Trainer, "adversarial_training", {"class_name": "awp", "config": {"awp_gamma": -0.01}}),
    (Trainer, "eps_warmup_epochs", -1),
    (Trainer, "training_options", {"optimiser": "adam"}),
    (Trainer, "training_options", {"schedule": "linear"}),
    (Trainer, "training_options", {"crop_padding": -4}),
    (Trainer, "training_options", {"cutout": 16.5}),
    (Trainer, "eps_warmup_epochs", 2),  # plain training has no radius to ramp
    (AttackGen, "attack", "fgsn"),
    (AttackGen, "attack", {"class_name": "PGD", "config": {"eps": -0.1}}),
    (AttackGen, "attack", {"class_name": "PGD", "config": {"epsilon": 0.1}}),
    (AttackGen, "splits", "train,test"),
    (AttackGen, "runner", "spark"),
    (AttackGen, "beam_options", ["direct_num_workers=2"]),
    (Evaluator, "attacks", ["fgsm", "fgsn"]),
    (Evaluator, "eps_sweep", "0.0,x"),
    (Evaluator, "eps_sweep", "0.0,2"),
    (Evaluator, "min_accuracy", 1.5),
    (Evaluator, "min_robust_accuracy", -0.1),
    (Evaluator, "min_accuracy", float("nan")),
    (Evaluator, "no_worse_than_baseline", ["accuracy"]),
    (Evaluator, "no_worse_than_baseline", ["robust_accuracy"]),  # robust_margin's comparison
    (Evaluator, "no_worse_than_baseline", ["adversarial_examples_accuracy"]),  # no such set, no baseline
    (Evaluator, "robust_margin", -0.05),
    (Evaluator, "robust_margin", 1.5),
    (Evaluator, "robust_margin", 0.05),  # a margin over no baseline_evaluation
    (Evaluator, "robust_examples", -1),
    (Evaluator, "self_check_examples", -64),
    (Evaluator, "runner", "dask"),
    (Evaluator, "beam_options", ["--runner=DirectRunner", 2]),
    (Evaluator, "attacks", [{"class_name": "AutoAttack", "config": {"version": "fast"}}]),
    (Filter, "gaussian_sigma", -1.0),
    (Filter, "keep", "most"),
    (Filter, "classes", "cat,dog"),
    (Pusher, "serving_dir", ""),
    (Pusher, "model_name", "../evil"),
    (ModelImporter, "path", "/nonexistent/model.keras"),
    (ActivationThresholds, "num_examples", 1),
    (ActivationThresholds, "bins", 2),
    (ActivationThresholds, "low_fraction", -0.25),
    (ActivationThresholds, "high_fraction", 1.5),
    (ActivationThresholds, "low_fraction", 0.9),  # not below high_fraction (0.75)
    (ToggleActivity, "sizes", "5,ten"),
    (ToggleActivity, "equal_size", 1),
    (ToggleActivity, "draws", 0),
    (ToggleActivity, "eps_values", "0,1.5"),
    (ToggleActivity, "eps_examples", 0),
    (NeuralRanking, "num_examples", 0),
    (NeuralRanking, "top", 0),
    (NeuronCoverage, "sizes", "10;100"),
    (NeuronCoverage, "threshold", 1.5),
    (NeuronCoverage, "k", 0),
    (NeuronCoverage, "reference_examples", 0),
    (ToggleStudyReport, "paper", [{"finding": "gain", "paper": 0.05}]),
    (AttackDefenseReport, "paper", ["FGSM 22.0"]),
    (LatentSpace, "per_class", 0),
    (LatentSpace, "eps", 1.5),
    (LatentSpace, "num_examples", 0),
    (LatentSpace, "plot_examples", -1),
    (ImageExampleGen, "image_size", 0),
    (FilterSweep, "sigmas", "0.0,huge"),
    (FilterSweep, "sigmas", "-0.5"),
    (LayerVulnerability, "strengths", "1;2"),
    (LayerVulnerability, "seeds_per_class", 0),
    (LayerVulnerability, "gradcam", "tfkerasvis"),
    (LayerVulnerability, "reference_examples", -1),
    (TransferStudyReport, "paper", ["0.7545"]),
    (VulnerabilityStudyReport, "paper", [{"finding": "share", "paper": 0.48}]),
    (Certifier, "sigma", 0.0),
    (Certifier, "sigma", -0.25),
    (Certifier, "sigma", float("nan")),
    (Certifier, "n0", 0),
    (Certifier, "n", 0),
    (Certifier, "alpha", 0.0),
    (Certifier, "alpha", 1.0),
    (Certifier, "num_examples", -1),
    (Certifier, "skip", 0),
    (Certifier, "runner", "spark"),
    (Certifier, "beam_options", ["direct_num_workers=2"]),
    (Certifier, "finding_prefix", "sigma.25"),
]
COMPONENTS = [
    ImageExampleGen,
    Trainer,
    AttackGen,
    Evaluator,
    Filter,
    Pusher,
    Report,
    ModelImporter,
    ActivationThresholds,
    ToggleActivity,
    NeuralRanking,
    NeuronCoverage,
    ToggleStudyReport,
    AttackDefenseReport,
    LatentSpace,
    AttackDefenseTables,
    FilterSweep,
    TransferAnalysis,
    LayerVulnerability,
    TransferStudyReport,
    VulnerabilityStudyReport,
    Certifier,
]
# Parameters many components share, each with one bad value: every component that has one refuses it.
SHARED_BAD = {"split": "test", "seed": -1, "batch_size": 0}
RANGE_CASES += [(c, name, value) for c in COMPONENTS for name, value in SHARED_BAD.items() if name in c.SPEC.parameters]
WRONG_TYPE = {str: 3, int: "3", float: "x", bool: "yes", list: "fgsm", dict: 3}
TYPE_CASES = [
    (component, name, WRONG_TYPE[p.type[0] if isinstance(p.type, tuple) else p.type])
    for component in COMPONENTS
    for name, p in component.SPEC.parameters.items()
]


@pytest.mark.parametrize(
    "component,name,value",
    RANGE_CASES + TYPE_CASES,
    ids=[f"{c.__name__}.{n}={v!r}" for c, n, v in RANGE_CASES + TYPE_CASES],
)
def test_component_parameter_bad_input(tmp_path, component, name, value):
    ch = _channels()
    arguments = {**_valid_arguments(component, ch, tmp_path), name: value}
    before = _files(tmp_path)
    start = time.perf_counter()
    with pytest.raises(SpecError) as raised:
        component(**arguments)
    message = str(raised.value)
    shown = "nan" if isinstance(value, float) and value != value else repr(value)[:12].strip("'\"[{")
    assert component.__name__ in message and shown.split(",")[0] in message, message
    assert any(word in message for word in ("expected", "must be", "expects", "one of")), message
    assert time.perf_counter() - start < SECONDS
    assert _files(tmp_path) == before


def test_every_component_parameter_is_in_the_matrix():
    covered = {(c, n) for c, n, _ in TYPE_CASES}
    assert covered == {(c, n) for c in COMPONENTS for n in c.SPEC.parameters}
    assert len(API_CASES) + len(RANGE_CASES) + len(TYPE_CASES) >= 90
