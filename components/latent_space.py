"""LatentSpace: a contrastive model's latent space -> 1-NN accuracy against given images, clean vs attacked.

The base-CNN setup's latent defense: a model trained with cross-entropy plus the contrastive
loss (alpha = 2) classifies an image by its nearest neighbour among 5 x 10 given training
images (5 per class) in the latent space. This component measures that 1-NN accuracy before
and after FGSM (white-box, through the differentiable 1-NN), the mean distance of an image and
of its attacked version to their nearest given image, and plots the latent space with the
contrastive loss and without it (the reference model's penultimate features, projected on two
principal axes), clean points beside attacked ones.
"""

import keras
import numpy as np
import pandas as pd

from kerasadv import attacks, io
from kerasadv.components.evaluation_engine import first_examples
from kerasadv.components.example_arrays import attacked
from kerasadv.components.sections import Sections
from kerasadv.data import tfrecords
from kerasadv.layers.contrastive import NearestPrototypes
from kerasadv.models.graph import functional_view, layer_output
from kerasadv.orchestration import BaseComponent, ComponentSpec, Input, Parameter, SpecError
from kerasadv.orchestration.component import at_least, between
from kerasadv.training.contrastive import plot_latent_space

LATENT_FILE = "latent.keras"


def given_images(examples_uri, per_class, num_classes, seed):
    """`per_class` random training images of each class: `(images, labels)`, class by class."""
    x, y = first_examples(examples_uri, "train", tfrecords.split_size(examples_uri, "train"))
    rng = np.random.default_rng(seed)
    chosen = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in range(num_classes)])
    return x[chosen], y[chosen]


def nearest_neighbour_model(latent_model, codes, num_classes, per_class):
    """Images -> minus the distance to the nearest given image of each class (argmax: the 1-NN class)."""
    layer = NearestPrototypes(num_classes, per_class, name="given_images")
    model = keras.Model(latent_model.input, layer(latent_model.output), name="one_nn")
    layer.set_prototypes(np.reshape(codes, (num_classes, per_class, -1)))
    return model


def _predict(model, x):
    return np.concatenate([model(x[i : i + 256], training=False).numpy() for i in range(0, len(x), 256)])


class LatentSpaceExecutor:
    def Do(self, input_dict, output_dict, exec_properties):
        p, out = exec_properties, output_dict["analysis"]
        examples = input_dict["examples"]
        schema = tfrecords.read_schema(examples.uri)
        num_classes = len(schema["class_names"])
        latent = io.load_model(input_dict["model"].path(LATENT_FILE))
        given_x, _ = given_images(examples.uri, p["per_class"], num_classes, p["seed"])
        one_nn = nearest_neighbour_model(latent, _predict(latent, given_x), num_classes, p["per_class"])
        count = min(p["num_examples"], tfrecords.split_size(examples.uri, "eval"))
        x, y = first_examples(examples.uri, "eval", count)
        fgsm = attacks.FGSM(p["eps"])
        x_adv = attacked(fgsm, one_nn, x, y, p["eps"])
        scores, scores_adv = _predict(one_nn, x), _predict(one_nn, x_adv)
        row = {
            "images": count,
            "given_images": len(given_x),
            "eps": p["eps"],
            "accuracy_clean": float((scores.argmax(1) == y).mean()),
            "accuracy_fgsm": float((scores_adv.argmax(1) == y).mean()),
            "mean_distance_to_1nn_clean": float(-scores.max(1).mean()),
            "mean_distance_to_1nn_attacked": float(-scores_adv.max(1).mean()),
        }
        sections = Sections(out)
        sections.table(
            "latent_one_nn",
            "Contrastive latent space: 1-NN against the given images",
            pd.DataFrame([row]),
            f"Each eval image takes the class of its nearest neighbour among {p['per_class']} random training "
            f"images per class, in the latent space of the model trained with the contrastive loss; FGSM (eps "
            f"{p['eps']}) attacks that 1-NN classifier through its distances (white-box). Distances: latent "
            "distance to the nearest given image, clean vs attacked.",
        )
        for key in ("accuracy_clean", "accuracy_fgsm", "mean_distance_to_1nn_clean", "mean_distance_to_1nn_attacked"):
            sections.finding(f"latent_{key}", row[key])
        shown = slice(0, min(p["plot_examples"], count))
        path = plot_latent_space(
            _predict(latent, x[shown]),
            _predict(latent, x_adv[shown]),
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
        x_adv = attacked(attacks.FGSM(eps), model, x, y, eps)
        title = f"Without the contrastive loss: clean vs FGSM eps {eps}"
        return plot_latent_space(
            _predict(features, x), _predict(features, x_adv), y, out.path("latent_reference.png"), title
        )


class LatentSpace(BaseComponent):
    """1-NN classification in a contrastive latent space, clean vs attacked, with latent plots.

    Args:
        model: a Model trained with the contrastive recipe (its artifact holds `latent.keras`).
        reference_model: a Model trained without it (its penultimate features are plotted).
        examples: Examples (train: the given images; eval: the images classified).
        per_class: given training images per class.
        eps: FGSM radius.
        num_examples: eval images classified (the first of the split).
        plot_examples: points per latent plot.
        seed: the given images' seed.
    """

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
