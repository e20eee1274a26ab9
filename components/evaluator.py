"""Evaluator: Model + example sets -> ModelEvaluation (metrics, tables) and ModelBlessing."""

import pandas as pd

from kerasadv import attacks, io
from kerasadv.components.attack_gen import RUNNERS
from kerasadv.components.configs import attack_config, attack_label
from kerasadv.components.evaluation_engine import EvaluationEngine, first_examples
from kerasadv.constants import DEFAULT_BATCH_SIZE
from kerasadv.data import tfrecords
from kerasadv.orchestration import BaseComponent, ComponentSpec, Input, Parameter, SpecError
from kerasadv.orchestration.component import at_least, between, flag_list, number_list, one_of

SETS = ("examples", "adversarial_examples", "filtered_examples")
# What a live attack's row holds beyond the robust accuracy (evaluation.json "live_attacks").
LIVE_ATTACK_COLUMNS = (
    "num_examples",
    "clean_accuracy",
    "adversarial_accuracy",
    "accuracy_on_correct",
    "success_rate",
    "mean_linf",
    "mean_l2",
    "mean_clean_confidence",
    "mean_adversarial_confidence",
)


def attack_labels(configs):
    """Unique table labels of the Evaluator's attack configs."""
    labels = [attack_label(c) for c in configs]
    return [f"{label}#{i}" if labels.count(label) > 1 else label for i, label in enumerate(labels)]


def _robust_results(engine, directory, p):
    """`evaluate_attack`'s results per attack label (with `per_attack` for AutoAttack)."""
    return {
        label: engine.robust(config, directory, p["split"], p["robust_examples"])
        for label, config in zip(attack_labels(p["attacks"]), p["attacks"])
    }


def _self_checks(model, directory, p):
    """`attacks.self_checks` of each live attack on the first `self_check_examples` examples."""
    if not p["self_check_examples"]:
        return {}
    x, y = first_examples(directory, p["split"], p["self_check_examples"])
    results = {}
    for label, config in zip(attack_labels(p["attacks"]), p["attacks"]):
        results[label] = attacks.self_checks(attacks.get(config), model, x, y, max_examples=len(x))
        failed = [c["check"] for c in results[label] if not c["passed"]]
        print(
            f"self-checks of {label}: {len(results[label]) - len(failed)}/{len(results[label])} passed"
            + (f"; FAILED: {', '.join(failed)}" if failed else "")
        )
    return results


def _baseline_pair(name, metrics, worst, baseline, input_dict, p):
    """`(candidate, baseline)` values of a compared metric: `robust_accuracy` (worst live attack)
    or `<set>_accuracy` of an input example set; `baseline` is the baseline's engine."""
    if name == "robust_accuracy":
        results = _robust_results(baseline, input_dict["examples"].uri, p)
        return worst, min(r["adversarial_accuracy"] for r in results.values())
    set_name = name.removesuffix("_accuracy")
    return metrics[name], baseline.accuracy(input_dict[set_name].uri, p["split"])[0]


class EvaluatorExecutor:
    def Do(self, input_dict, output_dict, exec_properties):
        p, evaluation, blessing = exec_properties, output_dict["evaluation"], output_dict["blessing"]
        engine = EvaluationEngine(input_dict["model"], p["runner"], p["beam_options"], p["batch_size"])
        model, split = engine.model, p["split"]
        metrics, per_class = {}, {}
        for name in SETS:
            if name in input_dict:
                metrics[f"{name}_accuracy"], per_class[name] = engine.accuracy(input_dict[name].uri, split)
        results = _robust_results(engine, input_dict["examples"].uri, p)
        robust = {label: result["adversarial_accuracy"] for label, result in results.items()}
        metrics.update({f"robust_accuracy_{n}": v for n, v in robust.items()})
        per_attack = {label: r["per_attack"] for label, r in results.items() if "per_attack" in r}
        live = [{"attack": label, **{k: r[k] for k in LIVE_ATTACK_COLUMNS}} for label, r in results.items()]
        pd.DataFrame(live, columns=["attack", *LIVE_ATTACK_COLUMNS]).to_csv(
            evaluation.path("live_attacks.csv"), index=False
        )
        self_checks = _self_checks(model, input_dict["examples"].uri, p)
        sweep = attacks.eps_sweep(
            attacks.FGSM(0.0),
            model,
            tfrecords.read_split(input_dict["examples"].uri, split, p["batch_size"]),
            [float(e) for e in p["eps_sweep"].split(",")],
        )
        sweep.to_csv(evaluation.path("fgsm_eps_sweep.csv"), index=False)
        pd.DataFrame(per_class).rename_axis("class").to_csv(evaluation.path("per_class_accuracy.csv"))
        checks = self._checks(metrics, robust, p, input_dict)
        blessed = all(c["passed"] for c in checks)
        generated_by = (
            input_dict["adversarial_examples"].properties.get("attack")
            if "adversarial_examples" in input_dict
            else None
        )
        io.write_json(
            {
                "metrics": metrics,
                "checks": checks,
                "blessed": blessed,
                "attacks": dict(zip(attack_labels(p["attacks"]), p["attacks"])),
                "robust_examples": next(iter(results.values()))["num_examples"] if results else 0,
                "per_attack": per_attack,
                "live_attacks": live,
                "self_checks": self_checks,
                "adversarial_examples_attack": generated_by,
            },
            evaluation.path("evaluation.json"),
        )
        open(blessing.path("BLESSED" if blessed else "NOT_BLESSED"), "w").close()
        evaluation.properties.update(metrics=metrics, model_uri=input_dict["model"].uri)
        blessing.properties.update(blessed=blessed, checks=checks)

    @staticmethod
    def _checks(metrics, robust, p, input_dict):
        checks = [
            {
                "check": f"clean accuracy >= {p['min_accuracy']}",
                "value": metrics["examples_accuracy"],
                "passed": metrics["examples_accuracy"] >= p["min_accuracy"],
            }
        ]
        worst = min(robust.values()) if robust else None
        if worst is not None:
            checks.append(
                {
                    "check": f"robust accuracy >= {p['min_robust_accuracy']}",
                    "value": worst,
                    "passed": worst >= p["min_robust_accuracy"],
                }
            )
        if "baseline_model" in input_dict:
            baseline = EvaluationEngine(input_dict["baseline_model"], p["runner"], p["beam_options"], p["batch_size"])
            for name in p["no_worse_than_baseline"]:
                value, base = _baseline_pair(name, metrics, worst, baseline, input_dict, p)
                checks.append(
                    {"check": f"{name} >= baseline's", "value": value, "baseline": base, "passed": value >= base}
                )
        return checks


class Evaluator(BaseComponent):
    """Evaluates a model on clean / adversarial / filtered sets and decides its blessing.

    Args:
        model: the Model.
        examples: clean Examples (robust accuracy under `attacks` is measured live on them;
            each live attack's row in `live_attacks.csv` adds the accuracy on the examples the
            model classifies correctly, the success rate, the perturbation norms and the mean
            softmax confidence of the clean and the adversarial predictions).
        adversarial_examples, filtered_examples: optional pre-generated sets.
        baseline_model: optional Model the candidate must be no worse than, on `no_worse_than_baseline`.
        attacks: attacks of the robust accuracy, each a name, a config dict or its JSON text
            (stored as full configs; a component `seed` fills unset attack seeds). An
            `AutoAttack` adds its per-attack table; its robust accuracy is the worst case.
        robust_examples: the live attacks run on the first this many examples of the split
            (0: all of it); AutoAttack's full budgets make a subset the usual choice.
        self_check_examples: `attacks.self_checks` of every live attack run on the first this
            many examples, printed and stored (0: skipped).
        eps_sweep: comma-separated eps values of the FGSM sweep table.
        min_accuracy, min_robust_accuracy: blessing thresholds.
        split: split evaluated ("eval").
        no_worse_than_baseline: metrics compared with the baseline model's: "robust_accuracy"
            (worst live attack) and / or "<set>_accuracy" of an input set ("examples_accuracy",
            "adversarial_examples_accuracy", "filtered_examples_accuracy").
        seed: the attacks' seed when their configs leave it unset.
        runner: "local" or "beam": the accuracy counts and the live attacks run per batch on
            Beam workers (`kerasadv.beam`), with the local runner's results; self-checks and
            the FGSM sweep stay in this process.
        beam_options: Beam pipeline flags for runner="beam".
        batch_size: examples per batch of the accuracy and attack passes.
    """

    SPEC = ComponentSpec(
        inputs={
            "model": Input("Model"),
            "examples": Input("Examples"),
            "adversarial_examples": Input("AdversarialExamples", optional=True),
            "filtered_examples": Input("Examples", optional=True),
            "baseline_model": Input("Model", optional=True),
        },
        outputs={"evaluation": "ModelEvaluation", "blessing": "ModelBlessing"},
        parameters={
            "attacks": Parameter(list, ["fgsm", "pgd"]),
            "eps_sweep": Parameter(str, "0.0,0.005,0.01,0.02,0.03,0.05,0.1", number_list(0, 1)),
            "min_accuracy": Parameter(float, 0.0, between(0, 1)),
            "min_robust_accuracy": Parameter(float, 0.0, between(0, 1)),
            "split": Parameter(str, "eval", one_of("train", "eval")),
            "robust_examples": Parameter(int, 0, at_least(0)),
            "self_check_examples": Parameter(int, 64, at_least(0)),
            "no_worse_than_baseline": Parameter(list, ["robust_accuracy"]),
            "seed": Parameter(int, 0, at_least(0)),
            "runner": Parameter(str, "local", one_of(*RUNNERS)),
            "beam_options": Parameter(list, [], flag_list()),
            "batch_size": Parameter(int, DEFAULT_BATCH_SIZE, at_least(1)),
        },
    )
    EXECUTOR = EvaluatorExecutor

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        allowed = {"robust_accuracy", *(f"{name}_accuracy" for name in SETS)}
        unknown = set(self.parameters["no_worse_than_baseline"]) - allowed
        if unknown:
            raise SpecError(
                f"{self.id}: no_worse_than_baseline has unknown metric(s) {sorted(unknown)}; "
                f"expected some of {sorted(allowed)}."
            )
        self.parameters["attacks"] = [
            attack_config(self.id, a, self.parameters["seed"]) for a in self.parameters["attacks"]
        ]
