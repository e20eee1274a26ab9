"""Evaluator: Model + example sets -> ModelEvaluation (metrics, tables) and ModelBlessing."""

import keras
import numpy as np
import pandas as pd

from kerasadv import attacks, io
from kerasadv.data import tfrecords
from kerasadv.orchestration import BaseComponent, ComponentSpec, Input, Parameter

SETS = ("examples", "adversarial_examples", "filtered_examples")


def _accuracy(model, directory, split):
    correct = total = 0
    per_class = {}
    for x, y in tfrecords.read_split(directory, split, 256):
        hit = (attacks.predict_labels(model, x) == y).numpy()
        for label, h in zip(y.numpy(), hit):
            per_class.setdefault(int(label), []).append(h)
        correct, total = correct + int(hit.sum()), total + len(hit)
    return correct / max(total, 1), {c: float(np.mean(v)) for c, v in sorted(per_class.items())}


def _robust_accuracy(model, directory, split, names, eps, seed):
    ds = tfrecords.read_split(directory, split, 256)
    return {name: attacks.evaluate_attack(attacks.make_attack(name, eps, 10, seed), model, ds,
                                          progress=False)["adversarial_accuracy"] for name in names}


class EvaluatorExecutor:
    def Do(self, input_dict, output_dict, exec_properties):
        p, evaluation, blessing = exec_properties, output_dict["evaluation"], output_dict["blessing"]
        model = keras.saving.load_model(input_dict["model"].path("model.keras"))
        split = p["split"]
        metrics, per_class = {}, {}
        for name in SETS:
            if name in input_dict:
                metrics[f"{name}_accuracy"], per_class[name] = _accuracy(model, input_dict[name].uri, split)
        names = [n for n in p["attacks"].split(",") if n]
        robust = _robust_accuracy(model, input_dict["examples"].uri, split, names, p["eps"], p["seed"])
        metrics.update({f"robust_accuracy_{n}": v for n, v in robust.items()})
        sweep = attacks.eps_sweep(attacks.FGSM(0.0), model, tfrecords.read_split(input_dict["examples"].uri, split, 256),
                                  [float(e) for e in p["eps_sweep"].split(",")])
        sweep.to_csv(evaluation.path("fgsm_eps_sweep.csv"), index=False)
        pd.DataFrame(per_class).rename_axis("class").to_csv(evaluation.path("per_class_accuracy.csv"))
        checks = self._checks(metrics, robust, p, input_dict)
        blessed = all(c["passed"] for c in checks)
        io.write_json({"metrics": metrics, "checks": checks, "blessed": blessed, "eps": p["eps"]},
                      evaluation.path("evaluation.json"))
        open(blessing.path("BLESSED" if blessed else "NOT_BLESSED"), "w").close()
        evaluation.properties.update(metrics=metrics, model_uri=input_dict["model"].uri)
        blessing.properties.update(blessed=blessed, checks=checks)

    @staticmethod
    def _checks(metrics, robust, p, input_dict):
        checks = [{"check": f"clean accuracy >= {p['min_accuracy']}", "value": metrics["examples_accuracy"],
                   "passed": metrics["examples_accuracy"] >= p["min_accuracy"]}]
        worst = min(robust.values()) if robust else None
        if worst is not None:
            checks.append({"check": f"robust accuracy >= {p['min_robust_accuracy']}", "value": worst,
                           "passed": worst >= p["min_robust_accuracy"]})
        if "baseline_model" in input_dict and worst is not None:
            baseline = keras.saving.load_model(input_dict["baseline_model"].path("model.keras"))
            base_robust = min(_robust_accuracy(baseline, input_dict["examples"].uri, p["split"],
                                               list(robust), p["eps"], p["seed"]).values())
            checks.append({"check": "robust accuracy >= baseline's", "value": worst, "baseline": base_robust,
                           "passed": worst >= base_robust})
        return checks


class Evaluator(BaseComponent):
    """Evaluates a model on clean / adversarial / filtered sets and decides its blessing.

    Args:
        model: the Model.
        examples: clean Examples (robust accuracy under `attacks` is measured live on them).
        adversarial_examples, filtered_examples: optional pre-generated sets.
        baseline_model: optional Model the candidate's robust accuracy must not fall below.
        attacks: comma-separated attack names for robust accuracy ("fgsm,pgd").
        eps: radius of those attacks.
        eps_sweep: comma-separated eps values of the FGSM sweep table.
        min_accuracy, min_robust_accuracy: blessing thresholds.
        split: split evaluated ("eval").
    """

    SPEC = ComponentSpec(
        inputs={"model": Input("Model"), "examples": Input("Examples"),
                "adversarial_examples": Input("AdversarialExamples", optional=True),
                "filtered_examples": Input("Examples", optional=True),
                "baseline_model": Input("Model", optional=True)},
        outputs={"evaluation": "ModelEvaluation", "blessing": "ModelBlessing"},
        parameters={"attacks": Parameter(str, "fgsm,pgd"), "eps": Parameter(float, 0.03),
                    "eps_sweep": Parameter(str, "0.0,0.005,0.01,0.02,0.03,0.05,0.1"),
                    "min_accuracy": Parameter(float, 0.0), "min_robust_accuracy": Parameter(float, 0.0),
                    "split": Parameter(str, "eval"), "seed": Parameter(int, 0)})
    EXECUTOR = EvaluatorExecutor
