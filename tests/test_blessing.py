"""The Evaluator's blessing cannot pass a weaker model: the candidate against its baseline's stored
evaluation (same protocol, never attacked again), the self-checks that block, and a Pusher that
refuses a gate any model passes."""

import json
import math
import os
import shutil

import keras
import numpy as np
import pytest

from kerasadv.components.evaluator import Evaluator, EvaluatorExecutor
from kerasadv.components.example_gen import ImageExampleGen
from kerasadv.components.model_importer import ModelImporter
from kerasadv.components.pusher import Pusher
from kerasadv.components.report import Report
from kerasadv.evaluation import blessing
from kerasadv.evaluation import engine as evaluation_engine
from kerasadv.orchestration import Artifact, Pipeline, SpecError

PGD = {"class_name": "PGD", "config": {"eps": 8 / 255, "steps": 5}}
ATTACKS = ["fgsm", PGD]
FGSM_CONFIG = {"class_name": "FGSM", "config": {"eps": 8 / 255}}
PGD_CONFIG = {"class_name": "PGD", "config": {"eps": 8 / 255, "steps": 10}}
AUTOATTACK_CONFIG = {"class_name": "AutoAttack", "config": {"eps": 8 / 255, "version": "standard"}}
MARGIN = 0.05


# --- the rules on evaluation.json contents -------------------------------------------------------


def evaluation(robust, clean=0.8, self_checks=None, **protocol):
    """evaluation.json content: one live attack row per `{label: (config, robust accuracy)}`."""
    live = [
        {"attack": label, "adversarial_accuracy": accuracy, "num_examples": 500}
        for label, (_, accuracy) in robust.items()
    ]
    return {
        "attacks": {label: config for label, (config, _) in robust.items()},
        "robust_examples": 500,
        "split": "eval",
        "seed": 0,
        "examples": "examples-fingerprint",
        **protocol,
        "metrics": {"examples_accuracy": clean},
        "live_attacks": live,
        "self_checks": self_checks or {},
    }


def parameters(margin=MARGIN):
    return {"min_accuracy": 0.5, "min_robust_accuracy": 0.0, "robust_margin": margin, "no_worse_than_baseline": []}


def pgd_and_autoattack(pgd, autoattack):
    return {"PGD-0.0314": (PGD_CONFIG, pgd), "AutoAttack-0.0314": (AUTOATTACK_CONFIG, autoattack)}


def margin_check(checks):
    (check,) = [c for c in checks if c["check"].startswith("robust accuracy") and c["baseline"] is not None]
    return check


@pytest.mark.parametrize(
    "candidate,baseline,margin,passed",
    [
        (0.30, 0.34, 0.0, False),  # weaker (the pushed model)
        (0.34, 0.34, 0.0, False),  # equal is not more robust
        (0.35, 0.34, 0.0, True),
        (0.17, 0.12, MARGIN, True),  # exactly the margin (0.17 - 0.12 is 0.04999... in floats)
        (0.16, 0.12, MARGIN, False),  # more robust, by less than the margin
        (0.20, 0.12, MARGIN, True),
    ],
)
def test_the_candidate_must_beat_the_baseline_by_the_margin(candidate, baseline, margin, passed):
    checks = blessing.blessing_checks(
        evaluation(pgd_and_autoattack(0.5, candidate)),
        parameters(margin),
        evaluation(pgd_and_autoattack(0.5, baseline)),
    )
    check = margin_check(checks)
    assert check["passed"] is passed and check["blocking"]
    assert blessing.is_blessed(checks) is passed
    assert check["value"] == candidate and check["baseline"] == baseline and check["margin"] == margin


def test_the_margin_check_states_the_rule_and_both_standard_errors():
    candidate, baseline = evaluation(pgd_and_autoattack(0.35, 0.20)), evaluation(pgd_and_autoattack(0.18, 0.12))
    check = margin_check(blessing.blessing_checks(candidate, parameters(), baseline))
    assert check["check"] == "robust accuracy (worst live attack, AutoAttack-0.0314) >= baseline's 0.1200 + 0.05"
    assert set(check) >= {"check", "value", "baseline", "margin", "passed", "blocking"}
    assert check["n"] == check["baseline_n"] == 500
    assert check["stderr"] == pytest.approx(math.sqrt(0.2 * 0.8 / 500))
    assert check["baseline_stderr"] == pytest.approx(math.sqrt(0.12 * 0.88 / 500))
    zero = margin_check(blessing.blessing_checks(candidate, parameters(0.0), baseline))["check"]
    assert zero == "robust accuracy (worst live attack, AutoAttack-0.0314) > baseline's 0.1200"


def test_the_strongest_live_attack_decides_not_the_first():
    # Beats the baseline under PGD by far, but not under AutoAttack, the strongest here.
    checks = blessing.blessing_checks(
        evaluation(pgd_and_autoattack(0.60, 0.11)), parameters(), evaluation(pgd_and_autoattack(0.20, 0.12))
    )
    assert margin_check(checks)["attack"] == "AutoAttack-0.0314" and not blessing.is_blessed(checks)


def test_the_clean_accuracy_floor_holds():
    robust = pgd_and_autoattack(0.5, 0.4)
    checks = blessing.blessing_checks(
        evaluation(robust, clean=0.45), parameters(), evaluation(pgd_and_autoattack(0.3, 0.2))
    )
    assert checks[0]["check"] == "clean accuracy >= 0.5" and not checks[0]["passed"]
    assert not blessing.is_blessed(checks)


def failed(check, detail="symptom"):
    return {"check": check, "passed": False, "detail": detail}


PASSED = [{"check": name, "passed": True, "detail": ""} for name in ("logits", "deterministic", "eps_zero_is_clean")]


@pytest.mark.parametrize(
    "config,check_name,blocks",
    [
        (PGD_CONFIG, "more_iterations_do_not_help_the_model", True),
        (PGD_CONFIG, "unbounded_eps_reaches_zero", True),
        (AUTOATTACK_CONFIG, "unbounded_eps_reaches_zero", True),
        (FGSM_CONFIG, "unbounded_eps_reaches_zero", False),  # one step cannot reach 0: reported only
        ({"class_name": "PGD", "config": {"eps": 8 / 255, "steps": 1}}, "unbounded_eps_reaches_zero", False),
        (FGSM_CONFIG, "eps_zero_is_clean", True),  # a broken attack, single step or not
    ],
)
def test_failed_self_checks_block_except_a_single_step_unbounded_radius(config, check_name, blocks):
    label = "attack"
    robust = {label: (config, 0.30)}
    candidate = evaluation(robust, self_checks={label: [*PASSED, failed(check_name, "accuracy 0.23 > 0")]})
    checks = blessing.blessing_checks(candidate, parameters(), evaluation({label: (config, 0.10)}))
    (check,) = [c for c in checks if c["check"].startswith("self-check ")]
    assert check["detail"] == "accuracy 0.23 > 0" and check["value"] is None
    assert not check["passed"] and check["blocking"] is blocks
    assert margin_check(checks)["passed"]  # the robust rule alone would bless
    assert blessing.is_blessed(checks) is not blocks


def test_passing_self_checks_are_one_check_per_attack():
    candidate = evaluation(pgd_and_autoattack(0.5, 0.4), self_checks={"PGD-0.0314": PASSED})
    checks = blessing.blessing_checks(candidate, parameters(), evaluation(pgd_and_autoattack(0.3, 0.2)))
    assert [c["check"] for c in checks if "self-check" in c["check"]] == ["self-checks of PGD-0.0314 pass (3 checks)"]


@pytest.mark.parametrize(
    "key,value",
    [
        ("robust_examples", 1000),
        ("split", "train"),
        ("seed", 1),
        ("examples", "other-examples"),
    ],
)
def test_a_baseline_evaluated_another_way_is_refused(key, value):
    baseline = evaluation(pgd_and_autoattack(0.3, 0.2))
    baseline[key] = value
    with pytest.raises(SpecError) as raised:
        blessing.blessing_checks(evaluation(pgd_and_autoattack(0.5, 0.4)), parameters(), baseline)
    message = str(raised.value)
    candidate = evaluation(pgd_and_autoattack(0.5, 0.4))[key]
    assert f"used {key}={value!r} but this Evaluator uses {key}={candidate!r}" in message, message
    assert "expected the same" in message


def test_attacks_that_differ_in_one_setting_are_named_by_it():
    baseline = evaluation(pgd_and_autoattack(0.3, 0.2))
    baseline["attacks"]["PGD-0.0314"] = {"class_name": "PGD", "config": {"eps": 8 / 255, "steps": 20}}
    with pytest.raises(
        SpecError, match=r"used attacks=\[PGD steps=20\] but this Evaluator uses attacks=\[PGD steps=10\]"
    ):
        blessing.blessing_checks(evaluation(pgd_and_autoattack(0.5, 0.4)), parameters(), baseline)


def test_a_compared_set_the_baseline_did_not_evaluate_is_named():
    p = {**parameters(), "no_worse_than_baseline": ["adversarial_examples_accuracy"]}
    candidate = evaluation(pgd_and_autoattack(0.5, 0.4))
    candidate["metrics"]["adversarial_examples_accuracy"] = 0.7
    with pytest.raises(SpecError, match="'adversarial_examples_accuracy'.*'adversarial_examples' set"):
        blessing.blessing_checks(candidate, p, evaluation(pgd_and_autoattack(0.3, 0.2)))


# --- construction: the protocol and a gate a weaker model cannot pass ---------------------------


@pytest.fixture(scope="module")
def channels(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("model") / "model.keras")
    brightness_model(0.5).save(path)
    gen = ImageExampleGen(source="npz:/nonexistent.npz")  # nothing runs: a channel is enough
    importer = ModelImporter(path=path)
    return gen.outputs["examples"], importer.outputs["model"]


def evaluator(channels, cid="Evaluator", **kwargs):
    examples, model = channels
    return Evaluator(component_id=cid, model=model, examples=examples, **kwargs)


def pusher(channels, evaluate):
    return Pusher(model=channels[1], blessing=evaluate.outputs["blessing"], serving_dir="/nonexistent")


@pytest.mark.parametrize("key,value", [("attacks", ["fgsm"]), ("robust_examples", 10), ("seed", 3), ("split", "train")])
def test_a_baseline_evaluator_of_another_protocol_is_refused_at_construction(channels, key, value):
    base = evaluator(channels, "EvaluateBaseline", **{"attacks": ATTACKS, key: value})
    with pytest.raises(SpecError, match=f"EvaluateRetrained: its baseline EvaluateBaseline used {key}="):
        evaluator(channels, "EvaluateRetrained", attacks=ATTACKS, baseline_evaluation=base.outputs["evaluation"])


def test_a_compared_set_needs_a_baseline_evaluator_that_evaluates_it(channels):
    base = evaluator(channels, "EvaluateBaseline")
    with pytest.raises(SpecError, match="EvaluateBaseline does not evaluate that set"):
        evaluator(
            channels,
            "EvaluateRetrained",
            adversarial_examples=None,
            filtered_examples=channels[0],
            baseline_evaluation=base.outputs["evaluation"],
            no_worse_than_baseline=["filtered_examples_accuracy"],
        )


def test_a_vacuous_gate_feeding_a_pusher_is_refused_at_construction(channels):
    with pytest.raises(SpecError) as raised:
        pusher(channels, evaluator(channels, "EvaluateRetrained"))
    message = str(raised.value)
    for part in (
        "EvaluateRetrained",
        "min_robust_accuracy=0.0",
        "robust_margin=",
        "baseline_evaluation=",
        "allow_vacuous=True",
    ):
        assert part in message, message
    base = evaluator(channels, "EvaluateBaseline", attacks=[])
    no_attack = evaluator(channels, "EvaluateRetrained", attacks=[], baseline_evaluation=base.outputs["evaluation"])
    with pytest.raises(SpecError, match=r"no live attack \(attacks=\[\]\)"):
        pusher(channels, no_attack)


def test_a_gated_or_explicitly_vacuous_blessing_is_accepted(channels):
    base = evaluator(channels, "EvaluateBaseline")
    compared = evaluator(channels, "EvaluateRetrained", baseline_evaluation=base.outputs["evaluation"])
    for evaluate in (
        compared,
        evaluator(channels, min_robust_accuracy=0.2),
        evaluator(channels, allow_vacuous=True),
        evaluator(channels, attacks=[], allow_vacuous=True),
    ):
        assert pusher(channels, evaluate).inputs["blessing"].producer is evaluate


# --- the Evaluator's executor on two tiny models ---------------------------------------------------


def brightness_model(threshold):
    """Class 1 where an image's mean pixel exceeds `threshold`: robust where images sit far from it."""
    inputs = keras.Input((8, 8, 1))
    dense = keras.layers.Dense(2)
    model = keras.Model(inputs, dense(keras.layers.GlobalAveragePooling2D()(inputs)))
    dense.set_weights([np.array([[-10.0, 10.0]], np.float32), np.array([10 * threshold, -10 * threshold], np.float32)])
    return model


def brightness_data(path):
    """Class 0 near 0.2, class 1 near 0.8 and a few class-1 images near 0.52 (within eps of 0.5)."""
    rng = np.random.default_rng(0)

    def images(low, high, n):
        return rng.integers(low, high, (n, 8, 8, 1)).astype(np.uint8)

    x = np.concatenate([images(40, 60, 20), images(200, 210, 16), images(130, 136, 4)])
    y = np.array([0] * 20 + [1] * 20)
    np.savez(path, x_train=x, y_train=y, x_test=x, y_test=y, class_names=np.array(["dark", "bright"]))
    return f"npz:{path}"


ROBUST, WEAK = 36 / 40, 20 / 40  # threshold 0.5 loses the 4 images near 0.52; 0.21 all 20 dark ones


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("blessing")
    source = brightness_data(root / "data.npz")
    gen = ImageExampleGen(source=source, seed=0)
    examples = gen.outputs["examples"]
    components, loaded = [gen], []
    protocol = dict(attacks=ATTACKS, self_check_examples=16, eps_sweep="0.0,0.03", seed=0)
    for name, threshold in (("robust", 0.5), ("weak", 0.21)):
        path = str(root / f"{name}.keras")
        brightness_model(threshold).save(path)
        importer = ModelImporter(component_id=f"import_{name}", path=path, examples=examples)
        base = Evaluator(
            component_id=f"evaluate_{name}", model=importer.outputs["model"], examples=examples, **protocol
        )
        components += [importer, base]
    for name, other in (("robust", "weak"), ("weak", "robust")):
        model = components[[c.id for c in components].index(f"import_{name}")].outputs["model"]
        baseline = components[[c.id for c in components].index(f"evaluate_{other}")].outputs["evaluation"]
        candidate = Evaluator(
            component_id=f"candidate_{name}",
            model=model,
            examples=examples,
            baseline_evaluation=baseline,
            robust_margin=MARGIN,
            **protocol,
        )
        push = Pusher(
            component_id=f"push_{name}",
            model=model,
            blessing=candidate.outputs["blessing"],
            serving_dir=str(root / "serving"),
            model_name=name,
        )
        components += [candidate, push]
    components.append(
        Report(
            baseline_evaluation=components[4].outputs["evaluation"],  # evaluate_weak
            candidate_evaluation=components[5].outputs["evaluation"],  # candidate_robust
            pushed_model=components[6].outputs["pushed_model"],
        )
    )
    original = evaluation_engine.EvaluationEngine.__init__

    def recording(self, artifact, *args, **kwargs):
        loaded.append(os.path.basename(os.path.dirname(os.path.dirname(artifact.uri))))
        original(self, artifact, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(evaluation_engine.EvaluationEngine, "__init__", recording)
        result = Pipeline("blessing", str(root / "pipeline"), components).run(progress=False)
    result.components = components
    return result, loaded


def stored(result, component):
    with open(result.outputs[component]["evaluation"].path("evaluation.json")) as f:
        return json.load(f)


def test_the_two_models_are_what_the_test_says(run):
    result, _ = run
    for name, robust in (("robust", ROBUST), ("weak", WEAK)):
        content = stored(result, f"evaluate_{name}")
        assert content["metrics"]["examples_accuracy"] == 1.0
        assert min(row["adversarial_accuracy"] for row in content["live_attacks"]) == pytest.approx(robust)
        assert all(c["passed"] for checks in content["self_checks"].values() for c in checks)


def test_a_weaker_candidate_is_not_blessed_nor_pushed(run):
    result, _ = run
    properties = result.outputs["candidate_weak"]["blessing"].properties
    check = margin_check(properties["checks"])
    assert not properties["blessed"] and not check["passed"]
    assert (check["value"], check["baseline"]) == pytest.approx((WEAK, ROBUST))
    assert not result.outputs["push_weak"]["pushed_model"].properties["pushed"]


def test_a_stronger_candidate_by_more_than_the_margin_is_blessed_and_pushed(run):
    result, _ = run
    properties = result.outputs["candidate_robust"]["blessing"].properties
    assert properties["blessed"], properties["checks"]
    check = margin_check(properties["checks"])
    assert check["check"].endswith(f">= baseline's {WEAK:.4f} + {MARGIN}") and check["margin"] == MARGIN
    assert (check["n"], check["stderr"], check["baseline_stderr"]) == pytest.approx(
        (40, math.sqrt(ROBUST * (1 - ROBUST) / 40), math.sqrt(WEAK * (1 - WEAK) / 40))
    )
    assert result.outputs["push_robust"]["pushed_model"].properties["pushed"]


def test_the_baseline_is_compared_from_its_evaluation_never_attacked_again(run):
    result, loaded = run
    assert sorted(loaded) == sorted(["import_robust", "import_weak"] * 2)  # each model: its own two evaluations
    baseline = stored(result, "evaluate_weak")
    check = margin_check(stored(result, "candidate_robust")["checks"])
    assert check["baseline"] == min(row["adversarial_accuracy"] for row in baseline["live_attacks"])


def test_an_execution_with_a_baseline_of_other_attacks_is_refused_before_attacking(run, tmp_path):
    result, _ = run
    baseline_dir = tmp_path / "baseline"
    shutil.copytree(result.outputs["evaluate_weak"]["evaluation"].uri, baseline_dir)
    content = stored(result, "evaluate_weak")
    content["attacks"] = {"FGSM-0.0314": content["attacks"]["FGSM-0.0314"]}  # PGD left out
    (baseline_dir / "evaluation.json").write_text(json.dumps(content))
    inputs = {
        "model": result.outputs["import_robust"]["model"],
        "examples": result.outputs["ImageExampleGen"]["examples"],
        "baseline_evaluation": Artifact("ModelEvaluation", str(baseline_dir)),
    }
    outputs = {name: Artifact(t, str(tmp_path / name)) for name, t in Evaluator.SPEC.outputs.items()}
    for artifact in outputs.values():
        os.makedirs(artifact.uri)
    (candidate,) = [c for c in result.components if c.id == "candidate_robust"]
    with pytest.raises(SpecError, match=r"used attacks=\['FGSM'\] but this Evaluator uses attacks=\['FGSM', 'PGD'\]"):
        EvaluatorExecutor().Do(inputs, outputs, dict(candidate.parameters))
    assert all(os.listdir(a.uri) == [] for a in outputs.values())  # refused before anything ran


def test_the_report_states_each_rule_both_values_and_the_verdict(run, tmp_path):
    result, _ = run
    report = result.outputs["Report"]["report"]
    markdown = open(report.path("report.md")).read()
    section = markdown.split("## Blessing")[1].split("\n## ")[0]
    assert "candidate: blessed" in section and "baseline: blessed" in section
    assert section.index("candidate: blessed") < section.index("baseline: blessed")
    assert f"robust accuracy (worst live attack, PGD-0.0314) >= baseline's {WEAK:.4f} + {MARGIN}" in section
    row = next(line for line in section.splitlines() if f"baseline's {WEAK:.4f}" in line)
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert [float(cell) for cell in cells[1:7]] == pytest.approx(
        [ROBUST, WEAK, MARGIN, 40, math.sqrt(ROBUST * (1 - ROBUST) / 40), math.sqrt(WEAK * (1 - WEAK) / 40)], abs=1e-4
    )
    assert all("-" in cell for cell in cells[7:9]) and cells[9:] == ["yes", "passed"]  # the two 95 % intervals
    page = open(report.path("report.html")).read()
    assert "<h2>Blessing</h2>" in page and "<th>baseline's SE</th>" in page


def test_the_report_names_what_blocked_and_the_self_check_messages():
    from kerasadv.components.report import _blessing_section

    label = "PGD-0.0314"
    candidate = evaluation(
        {label: (PGD_CONFIG, 0.30)},
        self_checks={label: [*PASSED, failed("unbounded_eps_reaches_zero", "an unbounded radius leaves 0.23")]},
    )
    candidate["checks"] = blessing.blessing_checks(candidate, parameters(0.0), evaluation({label: (PGD_CONFIG, 0.34)}))
    title, markdown, page = _blessing_section({"candidate": candidate})
    assert title == "Blessing"
    summary = markdown.split("**candidate: ")[1].split("**")[0]
    assert summary.startswith(
        "NOT blessed (failed: robust accuracy (worst live attack, PGD-0.0314) > baseline's 0.3400"
    )
    assert "self-check unbounded_eps_reaches_zero of PGD-0.0314 must pass" in summary
    message = "- self-check unbounded_eps_reaches_zero of PGD-0.0314 must pass: an unbounded radius leaves 0.23"
    assert message in markdown
    assert "an unbounded radius leaves 0.23</li>" in page and page.count("FAILED") == 2
