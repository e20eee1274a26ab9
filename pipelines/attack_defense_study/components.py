"""The base-CNN study's components: its tables (AttackDefenseTables), the latent defense (LatentSpace), its report."""

import keras
import pandas as pd

from kerasadv import attacks, io
from kerasadv.analysis import evaluation_tables, latent, perturbation
from kerasadv.components.study_report import StudyReport
from kerasadv.data import tfrecords
from kerasadv.data.paired import given_images
from kerasadv.data.tfrecords import first_examples
from kerasadv.models.graph import functional_view, layer_output
from kerasadv.orchestration import BaseComponent, BaseExecutor, ComponentSpec, Input, Parameter, SpecError, filesystem
from kerasadv.orchestration.component import at_least, between
from kerasadv.orchestration.executor import output
from kerasadv.pipelines.attack_defense_study import paper
from kerasadv.reporting import Sections, plots

LATENT_FILE = "latent.keras"
NOISE_MODELS = [name for name in paper.NOISE if name != "baseline"]
ONE_NN_KEYS = ("accuracy_clean", "accuracy_fgsm", "mean_distance_to_1nn_clean", "mean_distance_to_1nn_attacked")
"""The keys of `kerasadv.analysis.latent.one_nn_row`: the findings are `latent_<key>`."""


class AttackDefenseTablesExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        out, evaluations, sweeps = output(output_dict), {}, {}
        for name, artifact in input_dict.items():
            evaluations[name] = filesystem.read_json(artifact.path("evaluation.json"))
            with filesystem.open_file(artifact.path("fgsm_eps_sweep.csv")) as f:
                sweeps[name] = pd.read_csv(f)
        first = evaluation_tables.accuracy_table(evaluations["baseline"], paper.TABLE1_PAPER, paper.TABLE1_EPS)
        second = evaluation_tables.defense_table(evaluations, paper.TABLE2_PAPER, paper.TABLE2_EPS, paper.DEFENSES)
        noise = evaluation_tables.sweep_table(sweeps, paper.NOISE)
        examples = evaluations["baseline"]["robust_examples"]
        sections = Sections(out, AttackDefenseTables.findings(exec_properties, input_dict))
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
        curves = {column: (noise.index, noise[column]) for column in noise.columns}
        title = "Gaussian-noise defense under FGSM"
        path = plots.line_plot(curves, out.path("noise_defense.png"), "FGSM eps", "accuracy (%)", title, "symlog")
        sections.plot(path, title)
        sections.table(
            "confidence",
            "Confidence of clean vs adversarial predictions",
            evaluation_tables.confidence_table({n: evaluations[n] for n in paper.DEFENSES}, paper.DEFENSES),
            "Mean softmax probability of the predicted class, clean and attacked images (the paper's example: "
            "FGSM horse 48.65 % -> cat 61.76 %; PGD -> cat 99.99 %).",
        )
        sections.finding("base_accuracy", 100 * evaluations["baseline"]["metrics"]["examples_accuracy"])
        sections.update({f"table1_{row.attack}_{row.eps:g}": row.ours for row in first.itertuples()})
        base = noise[paper.NOISE["baseline"]]
        sections.update({f"{n}_minus_base": (noise[paper.NOISE[n]] - base).mean() for n in NOISE_MODELS if n in sweeps})
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

    CODE_MODULES = (evaluation_tables,)
    SPEC = ComponentSpec(
        inputs={
            **{name: Input("ModelEvaluation") for name in paper.DEFENSES},
            **{name: Input("ModelEvaluation", optional=True) for name in NOISE_MODELS},
        },
        outputs={"analysis": "Analysis"},
        parameters={},
    )
    EXECUTOR = AttackDefenseTablesExecutor

    @staticmethod
    def findings(parameters, inputs):
        """The base accuracy, Table 1's cells, and each noise model given minus the base model."""
        table1 = [f"table1_{attack}_{eps:g}" for attack in paper.TABLE1_PAPER for eps in paper.TABLE1_EPS]
        return ["base_accuracy", *table1, *(f"{name}_minus_base" for name in NOISE_MODELS if name in inputs)]


class LatentSpaceExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        p, out, examples = exec_properties, output(output_dict), input_dict["examples"].uri
        num_classes = len(tfrecords.read_schema(examples)["class_names"])
        latent_model = io.load_model(input_dict["model"].path(LATENT_FILE))
        given_x, _ = given_images(examples, p["per_class"], p["seed"])
        codes = latent.predict(latent_model, given_x)
        one_nn = latent.nearest_neighbour_model(latent_model, codes, num_classes, p["per_class"])
        count = min(p["num_examples"], tfrecords.split_size(examples, "eval"))
        x, y = first_examples(examples, "eval", count)
        x_adv = perturbation.attacked(attacks.FGSM(p["eps"]), one_nn, x, y, p["eps"])
        row = {"images": count, "given_images": len(given_x), "eps": p["eps"]}
        row.update(latent.one_nn_row(latent.predict(one_nn, x), latent.predict(one_nn, x_adv), y))
        sections = Sections(out, LatentSpace.findings(p, input_dict))
        sections.table(
            "latent_one_nn",
            "Contrastive latent space: 1-NN against the given images",
            pd.DataFrame([row]),
            f"Each eval image takes the class of its nearest neighbour among {p['per_class']} random training "
            f"images per class, in the latent space of the model trained with the contrastive loss; FGSM (eps "
            f"{p['eps']}) attacks that 1-NN classifier through its distances (white-box). Distances: latent "
            "distance to the nearest given image, clean vs attacked.",
        )
        sections.update({f"latent_{key}": row[key] for key in ONE_NN_KEYS})
        shown = slice(0, min(p["plot_examples"], count))
        path = plots.plot_latent_space(
            latent.predict(latent_model, x[shown]),
            latent.predict(latent_model, x_adv[shown]),
            y[shown],
            out.path("latent_contrastive.png"),
            f"With the contrastive loss: clean vs FGSM eps {p['eps']}",
        )
        sections.plot(path, "Latent space with the contrastive loss")
        sections.plot(
            self.reference_plot(input_dict["reference_model"], x[shown], y[shown], p["eps"], out),
            "Latent space without the contrastive loss (the reference model's penultimate features, 2 principal axes)",
        )
        sections.save()
        out.properties.update(**row)

    @staticmethod
    def reference_plot(artifact, x, y, eps, out):
        model = io.load_model_artifact(artifact)
        graph = functional_view(model)
        features = keras.Model(graph.input, layer_output(graph, graph.layers[-2].name))
        x_adv = perturbation.attacked(attacks.FGSM(eps), model, x, y, eps)
        title = f"Without the contrastive loss: clean vs FGSM eps {eps}"
        codes = [latent.predict(features, images) for images in (x, x_adv)]
        return plots.plot_latent_space(*codes, y, out.path("latent_reference.png"), title)


class LatentSpace(BaseComponent):
    """1-NN classification in a contrastive latent space, clean vs attacked, with latent plots.

    The base-CNN setup's latent defense: a model trained with cross-entropy plus the contrastive
    loss (alpha = 2) classifies an image by its nearest neighbour among `per_class` given
    training images per class in the latent space (`kerasadv.analysis.latent`). This component
    measures that 1-NN accuracy before and after FGSM (white-box, through the differentiable
    1-NN), the mean distance of an image and of its attacked version to their nearest given
    image, and plots the latent space with the contrastive loss and without it (the reference
    model's penultimate features, projected on two principal axes), clean points beside
    attacked ones.

    Args:
        model: a Model trained with the contrastive recipe (its artifact holds `latent.keras`).
        reference_model: a Model trained without it (its penultimate features are plotted).
        examples: Examples (train: the given images; eval: the images classified).
        per_class: given training images per class.
        eps: FGSM radius.
        num_examples: eval images classified (the first of the split).
        plot_examples: points per latent plot.
        seed: the given images' seed.

    Raises:
        SpecError: `model` does not come from a Trainer with the contrastive recipe.
    """

    CODE_MODULES = (latent,)
    SPEC = ComponentSpec(
        inputs={"model": Input("Model"), "reference_model": Input("Model"), "examples": Input("Examples")},
        outputs={"analysis": "Analysis"},
        parameters={
            "per_class": Parameter(int, 5, at_least(1)),
            "eps": Parameter(float, 0.01, between(0, 1)),
            "num_examples": Parameter(int, 1000, at_least(1)),
            "plot_examples": Parameter(int, 300, at_least(1)),
            "seed": Parameter(int, 0, at_least(0)),
        },
    )
    EXECUTOR = LatentSpaceExecutor

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        recipe = getattr(self.inputs["model"].producer, "parameters", {}).get("adversarial_training")
        if not recipe or recipe["class_name"] != "ContrastiveModel":
            raise SpecError(
                f"{self.id}: model must come from a Trainer with the contrastive recipe "
                f"(adversarial_training='contrastive'), got recipe {recipe!r}."
            )

    @staticmethod
    def findings(parameters, inputs):
        """The 1-NN accuracies and mean distances, clean and attacked (`latent_<one_nn_row key>`)."""
        return [f"latent_{key}" for key in ONE_NN_KEYS]


class AttackDefenseReport(StudyReport):
    """The study's report: its tables and the latent defense beside the paper's figures."""

    ANALYSES = ("tables", "latent", "certified")
    TITLE, PAPER, PROTOCOL = paper.TITLE, paper.PAPER, paper.PROTOCOL
