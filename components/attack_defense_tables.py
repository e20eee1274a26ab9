"""AttackDefenseTables: the base-CNN study's evaluations -> its tables, our numbers beside the paper's.

Table 1 (FGSM and PGD accuracy on the test images the base model classifies correctly, by eps),
Table 2 (no defense / adversarial training vs FGSM / vs PGD, attacked by FGSM and PGD at eps
0.01 and 0.05, the same denominator), the Gaussian-noise defense beside the base model (FGSM
accuracy by eps, Figures 6 and 7) and the confidence of clean vs adversarial predictions.
Accuracies in percent, as the paper prints them.
"""

import json

import pandas as pd

from kerasadv import io
from kerasadv.components.sections import Sections
from kerasadv.orchestration import BaseComponent, ComponentSpec, Input

TABLE1_EPS = (0.001, 0.01, 0.05, 0.1, 0.3, 0.5)
TABLE1_PAPER = {
    "FGSM": (84.61, 54.05, 22.0, 21.74, 20.57, 13.77),
    "PGD": (27.75, 12.47, 7.71, 7.75, 7.79, 7.89),
}
TABLE2_EPS = (0.01, 0.05)
TABLE2_PAPER = {  # (attack, defense input): paper % at eps 0.01, 0.05
    ("FGSM", "baseline"): (47.95, 7.31),
    ("FGSM", "fgsm_trained"): (68.53, 43.15),
    ("FGSM", "pgd_trained"): (68.74, 16.92),
    ("PGD", "baseline"): (57.99, 0.0),
    ("PGD", "fgsm_trained"): (88.32, 3.55),
    ("PGD", "pgd_trained"): (91.28, 13.33),
}
DEFENSES = {"baseline": "Without defense", "fgsm_trained": "AT vs FGSM", "pgd_trained": "AT vs PGD"}
NOISE = {"baseline": "base model", "noise_first_conv": "noise after conv1", "noise_dense": "noise between dense"}


def live_row(evaluation, attack, eps):
    """The Evaluator's live-attack row of `attack` ("FGSM" / "PGD") at `eps`."""
    for row in evaluation["live_attacks"]:
        name, _, value = row["attack"].rpartition("-")
        if name == attack and abs(float(value) - eps) < 1e-9:
            return row
    known = [row["attack"] for row in evaluation["live_attacks"]]
    raise KeyError(f"no live attack {attack} at eps {eps} in the evaluation; it has {known}.")


def table1(evaluation):
    rows = []
    for attack, paper in TABLE1_PAPER.items():
        for eps, paper_value in zip(TABLE1_EPS, paper):
            row = live_row(evaluation, attack, eps)
            rows.append({"attack": attack, "eps": eps, "ours": 100 * row["accuracy_on_correct"], "paper": paper_value})
    return pd.DataFrame(rows)


def table2(evaluations):
    rows = []
    for (attack, defense), paper in TABLE2_PAPER.items():
        row = {"attack": attack, "defense": DEFENSES[defense]}
        for eps, paper_value in zip(TABLE2_EPS, paper):
            row[f"ours eps {eps}"] = 100 * live_row(evaluations[defense], attack, eps)["accuracy_on_correct"]
            row[f"paper eps {eps}"] = paper_value
        rows.append(row)
    return pd.DataFrame(rows)


def noise_table(sweeps):
    """FGSM accuracy (whole split, percent) by eps for the base model and the noise models."""
    return pd.DataFrame({NOISE[name]: 100 * s.set_index("eps")["adversarial_accuracy"] for name, s in sweeps.items()})


def confidence_table(evaluations):
    rows = [
        {
            "model": DEFENSES.get(name, name),
            "attack": row["attack"],
            "confidence clean": row["mean_clean_confidence"],
            "confidence adversarial": row["mean_adversarial_confidence"],
            "success rate": row["success_rate"],
        }
        for name, evaluation in evaluations.items()
        for row in evaluation["live_attacks"]
    ]
    return pd.DataFrame(rows)


def _plot_noise(table, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6, 4))
    for column in table.columns:
        ax.plot(table.index, table[column], marker="o", label=column)
    ax.set(xscale="symlog", xlabel="FGSM eps", ylabel="accuracy (%)", title="Gaussian-noise defense under FGSM")
    ax.set_xscale("symlog", linthresh=0.001)
    ax.legend()
    return io.save_figure(figure, path)


class AttackDefenseTablesExecutor:
    def Do(self, input_dict, output_dict, exec_properties):
        out = output_dict["analysis"]
        evaluations, sweeps = {}, {}
        for name, artifact in input_dict.items():
            with open(artifact.path("evaluation.json")) as f:
                evaluations[name] = json.load(f)
            sweeps[name] = pd.read_csv(artifact.path("fgsm_eps_sweep.csv"))
        first = table1(evaluations["baseline"])
        second = table2(evaluations)
        noise = noise_table({n: sweeps[n] for n in NOISE if n in sweeps})
        examples = evaluations["baseline"]["robust_examples"]
        sections = Sections(out)
        note = (
            f"Accuracy (%) under attack on the images the model classifies correctly among the first {examples} "
            "eval images (the paper's denominator: 8,805 of its 10,000 test images)."
        )
        sections.table("table1", "Table 1: base model under FGSM and PGD", first, note)
        sections.table("table2", "Table 2: adversarial training", second, note)
        sections.table(
            "noise_defense",
            "Gaussian-noise defense (sigma 0.05) under FGSM",
            noise.reset_index(),
            "FGSM accuracy (%) on the whole eval split, by eps (the paper's Figures 6 and 7: the noise models "
            "slightly below the base model).",
        )
        sections.plot(_plot_noise(noise, out.path("noise_defense.png")), "Gaussian-noise defense under FGSM")
        sections.table(
            "confidence",
            "Confidence of clean vs adversarial predictions",
            confidence_table({n: evaluations[n] for n in DEFENSES}),
            "Mean softmax probability of the predicted class, clean and attacked images (the paper's example: "
            "FGSM horse 48.65 % -> cat 61.76 %; PGD -> cat 99.99 %).",
        )
        sections.finding("base_accuracy", 100 * evaluations["baseline"]["metrics"]["examples_accuracy"])
        for _, row in first.iterrows():
            sections.finding(f"table1_{row.attack}_{row.eps:g}", row.ours)
        for name, column in NOISE.items():
            if name != "baseline" and column in noise:
                sections.finding(f"{name}_minus_base", (noise[column] - noise[NOISE["baseline"]]).mean())
        sections.save()
        out.properties.update(robust_examples=examples)


class AttackDefenseTables(BaseComponent):
    """The base-CNN study's tables from the evaluations of its models.

    Args:
        baseline: ModelEvaluation of the base model (live FGSM and PGD at Table 1's eps).
        fgsm_trained, pgd_trained: ModelEvaluations of the adversarially trained models
            (live FGSM and PGD at 0.01 and 0.05).
        noise_first_conv, noise_dense: optional ModelEvaluations of the Gaussian-noise models
            (their FGSM eps sweep is compared with the base model's).
    """

    SPEC = ComponentSpec(
        inputs={
            "baseline": Input("ModelEvaluation"),
            "fgsm_trained": Input("ModelEvaluation"),
            "pgd_trained": Input("ModelEvaluation"),
            "noise_first_conv": Input("ModelEvaluation", optional=True),
            "noise_dense": Input("ModelEvaluation", optional=True),
        },
        outputs={"analysis": "Analysis"},
        parameters={},
    )
    EXECUTOR = AttackDefenseTablesExecutor
