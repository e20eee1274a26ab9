"""Evaluator: Model + example sets -> ModelEvaluation (metrics, tables) and ModelBlessing."""

import warnings

import pandas as pd

from kerasadv import attacks
from kerasadv.configs import attack_config, attack_label
from kerasadv.constants import DEFAULT_BATCH_SIZE
from kerasadv.data import tfrecords
from kerasadv.data.tfrecords import first_examples
from kerasadv.evaluation import blessing, engine
from kerasadv.evaluation.engine import LIVE_ATTACK_COLUMNS, EvaluationEngine, live_row
from kerasadv.orchestration import (
    BaseComponent,
    BaseExecutor,
    ComponentSpec,
    Input,
    Parameter,
    SpecError,
    filesystem,
    writer,
)
from kerasadv.orchestration.component import at_least, between, flag_list, number_list, one_of

SETS = ("examples", "adversarial_examples", "filtered_examples")
# What a live attack's row holds beyond the robust accuracy (evaluation.json "live_attacks").


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
        with warnings.catch_warnings():  # a failed check is printed below and recorded: not warned twice
            warnings.simplefilter("ignore", attacks.RobustnessWarning)
            results[label] = attacks.self_checks(attacks.get(config), model, x, y, max_examples=len(x))
        failed = [c["check"] for c in results[label] if not c["passed"]]
        print(
            f"self-checks of {label}: {len(results[label]) - len(failed)}/{len(results[label])} passed"
            + (f"; FAILED: {', '.join(failed)}" if failed else "")
        )
    return results


def _protocol(input_dict, p):
    """What the candidate and its baseline evaluation must share (`blessing.PROTOCOL`), before any attack runs."""
    examples = input_dict["examples"]
    size = tfrecords.split_size(examples.uri, p["split"])
    robust = (min(p["robust_examples"], size) if p["robust_examples"] else size) if p["attacks"] else 0
    return {
        "attacks": dict(zip(attack_labels(p["attacks"]), p["attacks"])),
        "robust_examples": robust,
        "split": p["split"],
        "seed": p["seed"],
        "examples": examples.fingerprint,
    }


def _baseline(input_dict, protocol):
    """The baseline's evaluation.json content, refused (SpecError) when made under another protocol."""
    if "baseline_evaluation" not in input_dict:
        return None
    baseline = filesystem.read_json(input_dict["baseline_evaluation"].path("evaluation.json"))
    blessing.require_same_protocol(protocol, baseline, "Evaluator")
    return baseline


class EvaluatorExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        p, evaluation, blessing_artifact = exec_properties, output_dict["evaluation"], output_dict["blessing"]
        protocol = _protocol(input_dict, p)
        baseline = _baseline(input_dict, protocol)
        engine = EvaluationEngine(input_dict["model"], p["runner"], p["beam_options"], p["batch_size"])
        model, split = engine.model, p["split"]
        metrics, per_class = {}, {}
        for name in SETS:
            if name in input_dict:
                metrics[f"{name}_accuracy"], per_class[name] = engine.accuracy(input_dict[name].uri, split)
        results = _robust_results(engine, input_dict["examples"].uri, p)
        metrics.update({f"robust_accuracy_{n}": r["adversarial_accuracy"] for n, r in results.items()})
        per_attack = {label: r["per_attack"] for label, r in results.items() if "per_attack" in r}
        live = [live_row(label, r) for label, r in results.items()]  # with the 95% Wilson interval
        live_table = pd.DataFrame(live, columns=["attack", *LIVE_ATTACK_COLUMNS])
        writer.write_csv(live_table, evaluation.path("live_attacks.csv"), index=False)
        sweep = attacks.eps_sweep(
            attacks.FGSM(0.0),
            model,
            tfrecords.read_split(input_dict["examples"].uri, split, p["batch_size"]),
            [float(e) for e in p["eps_sweep"].split(",")],
        )
        writer.write_csv(sweep, evaluation.path("fgsm_eps_sweep.csv"), index=False)
        writer.write_csv(pd.DataFrame(per_class).rename_axis("class"), evaluation.path("per_class_accuracy.csv"))
        generated_by = (
            input_dict["adversarial_examples"].properties.get("attack")
            if "adversarial_examples" in input_dict
            else None
        )
        content = {
            **protocol,
            "metrics": metrics,
            "per_attack": per_attack,
            "live_attacks": live,
            "self_checks": _self_checks(model, input_dict["examples"].uri, p),
            "adversarial_examples_attack": generated_by,
        }
        content["checks"] = blessing.blessing_checks(content, p, baseline)
        content["blessed"] = blessed = blessing.is_blessed(content["checks"])
        writer.write_json(content, evaluation.path("evaluation.json"))
        writer.touch(blessing_artifact.path("BLESSED" if blessed else "NOT_BLESSED"))
        evaluation.properties.update(metrics=metrics, model_uri=input_dict["model"].uri)
        if engine.engines:  # what really ran the Beam passes
            evaluation.properties["engine"] = sorted(engine.engines)
        blessing_artifact.properties.update(blessed=blessed, checks=content["checks"])


class Evaluator(BaseComponent):
    """Evaluates a model on clean / adversarial / filtered sets and decides its blessing.

    The blessing's rules (`kerasadv.evaluation.blessing`), each a check in evaluation.json and
    the report: clean accuracy >= `min_accuracy`; with a `baseline_evaluation`, robust accuracy
    under the strongest live attack (the lowest of them: AutoAttack where it runs) above the
    baseline's by `robust_margin`, and each `no_worse_than_baseline` set accuracy >= the
    baseline's; without one (or where > 0), robust accuracy >= `min_robust_accuracy`; no failed
    self-check of a live attack, except the unbounded-radius check of a single-step attack
    (FGSM), which is reported but does not block.

    Args:
        model: the Model.
        examples: clean Examples (robust accuracy under `attacks` is measured live on them;
            each live attack's row in `live_attacks.csv` adds the accuracy on the examples the
            model classifies correctly, the success rate, the perturbation norms and the mean
            softmax confidence of the clean and the adversarial predictions).
        adversarial_examples, filtered_examples: optional pre-generated sets.
        baseline_evaluation: optional ModelEvaluation of the baseline model (its own
            Evaluator's output), made with the same attacks, robust_examples, split, seed and
            examples (else SpecError); the candidate is compared with its stored numbers, the
            baseline is never attacked a second time.
        attacks: attacks of the robust accuracy, each a name, a config dict or its JSON text
            (stored as full configs; a component `seed` fills unset attack seeds). An
            `AutoAttack` adds its per-attack table; its robust accuracy is the worst case.
        robust_examples: the live attacks run on the first this many examples of the split
            (0: all of it); AutoAttack's full budgets make a subset the usual choice. Robust
            accuracies carry n, their standard error sqrt(p (1 - p) / n) and their 95% Wilson
            interval in the checks, and the interval in `live_attacks.csv`.
        self_check_examples: `attacks.self_checks` of every live attack run on the first this
            many examples, stored and gated as above (0: skipped).
        eps_sweep: comma-separated eps values of the FGSM sweep table.
        min_accuracy: clean accuracy floor.
        min_robust_accuracy: floor of the robust accuracy under the strongest live attack.
        robust_margin: with a `baseline_evaluation`, blessed only when the robust accuracy under
            the strongest live attack minus the baseline's is >= this margin and > 0 (so with
            0.0 a candidate that only equals its baseline is not blessed).
        allow_vacuous: a Pusher refuses a blessing whose gate passes any model (no
            `baseline_evaluation` and `min_robust_accuracy` 0, or no live attack) unless True.
        split: split evaluated ("eval").
        no_worse_than_baseline: set accuracies compared with the baseline evaluation's:
            "examples_accuracy", "adversarial_examples_accuracy", "filtered_examples_accuracy"
            (both Evaluators must have that set); robust accuracy is `robust_margin`'s.
        seed: the attacks' seed when their configs leave it unset.
        runner: "local" or "beam": the accuracy counts and the live attacks run per batch on
            Beam workers (`kerasadv.beam`), with the local runner's results; self-checks and
            the FGSM sweep stay in this process.
        beam_options: Beam pipeline flags for runner="beam".
        batch_size: examples per batch of the accuracy and attack passes.

    Raises:
        SpecError: at construction, for a bad parameter, a `robust_margin` or
            `no_worse_than_baseline` without a `baseline_evaluation`, or a baseline Evaluator
            of another protocol or without a compared set; at execution, for a baseline
            evaluation.json of another protocol.
    """

    CODE_MODULES = (blessing, engine)
    SPEC = ComponentSpec(
        inputs={
            "model": Input("Model"),
            "examples": Input("Examples"),
            "adversarial_examples": Input("AdversarialExamples", optional=True),
            "filtered_examples": Input("Examples", optional=True),
            "baseline_evaluation": Input("ModelEvaluation", optional=True),
        },
        outputs={"evaluation": "ModelEvaluation", "blessing": "ModelBlessing"},
        parameters={
            "attacks": Parameter(list, ["fgsm", "pgd"]),
            "eps_sweep": Parameter(str, "0.0,0.005,0.01,0.02,0.03,0.05,0.1", number_list(0, 1)),
            "min_accuracy": Parameter(float, 0.0, between(0, 1)),
            "min_robust_accuracy": Parameter(float, 0.0, between(0, 1)),
            "robust_margin": Parameter(float, 0.0, between(0, 1)),
            "allow_vacuous": Parameter(bool, False),
            "split": Parameter(str, "eval", one_of("train", "eval")),
            "robust_examples": Parameter(int, 0, at_least(0)),
            "self_check_examples": Parameter(int, 64, at_least(0)),
            "no_worse_than_baseline": Parameter(list, []),
            "seed": Parameter(int, 0, at_least(0)),
            "runner": Parameter(str, "local", one_of(*engine.RUNNERS)),
            "beam_options": Parameter(list, [], flag_list()),
            "batch_size": Parameter(int, DEFAULT_BATCH_SIZE, at_least(1)),
        },
    )
    EXECUTOR = EvaluatorExecutor

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._check_compared_sets()
        self.parameters["attacks"] = [
            attack_config(self.id, a, self.parameters["seed"]) for a in self.parameters["attacks"]
        ]
        self._check_baseline()

    def _check_compared_sets(self):
        allowed = [f"{name}_accuracy" for name in SETS]
        unknown = [n for n in self.parameters["no_worse_than_baseline"] if n not in allowed]
        if unknown:
            hint = " (robust accuracy is compared by robust_margin)" if "robust_accuracy" in unknown else ""
            raise SpecError(
                f"{self.id}: no_worse_than_baseline has unknown metric(s) {unknown}{hint}; expected some of {allowed}."
            )
        sets = [n.removesuffix("_accuracy") for n in self.parameters["no_worse_than_baseline"]]
        missing = [name for name in sets if name not in self.inputs]
        if missing:
            raise SpecError(
                f"{self.id}: no_worse_than_baseline compares {self.parameters['no_worse_than_baseline']}; "
                f"expected input(s) {missing} to compare."
            )

    def protocol(self):
        """This Evaluator's `blessing.PROTOCOL` values, before anything runs."""
        examples = self.inputs["examples"]
        return {
            "attacks": self.parameters["attacks"],
            "robust_examples": self.parameters["robust_examples"],
            "split": self.parameters["split"],
            "seed": self.parameters["seed"],
            "examples": f"{examples.producer.id}.outputs[{examples.name!r}]",
        }

    def _check_baseline(self):
        """The baseline comparison's parameters, and its Evaluator's protocol where it is one."""
        baseline = self.inputs.get("baseline_evaluation")
        p = self.parameters
        if baseline is None:
            for name, value in (
                ("robust_margin", p["robust_margin"]),
                ("no_worse_than_baseline", p["no_worse_than_baseline"]),
            ):
                if value:
                    raise SpecError(
                        f"{self.id}: {name}={value!r} compares with a baseline, but there is none; expected "
                        "baseline_evaluation=<the baseline's Evaluator>.outputs['evaluation']."
                    )
            return
        producer = baseline.producer
        if not isinstance(producer, Evaluator):
            return
        blessing.require_same_protocol(self.protocol(), producer.protocol(), self.id, f"its baseline {producer.id}")
        for name in p["no_worse_than_baseline"]:
            set_name = name.removesuffix("_accuracy")
            if set_name not in producer.inputs:
                raise SpecError(
                    f"{self.id}: no_worse_than_baseline compares {name!r}, but the baseline Evaluator {producer.id} "
                    f"does not evaluate that set; expected {producer.id} to have input {set_name!r}."
                )

    def vacuous_gate(self):
        """Why this blessing would pass any model (a string), or None (also where `allow_vacuous`)."""
        if self.parameters["allow_vacuous"]:
            return None
        return blessing.vacuous_gate(self.parameters, "baseline_evaluation" in self.inputs)
