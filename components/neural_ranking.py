"""NeuralRanking: Model + clean and adversarial Examples -> the top neurons, on clean vs clean + adversarial data.

The ResNet-18 setup's ranking experiment: rank every neuron by activation x gradient of the
predicted logit (`kerasadv.analysis.neural_ranking`) over a random clean subset, then over the
same subset with its adversarial versions added; again for the images of one class (the paper:
only dogs). Where the top neurons sit is the finding: their layers' depth in the network.
"""

import numpy as np
import pandas as pd

from kerasadv import analysis, io
from kerasadv.components.example_arrays import PAIRED_INPUTS, SPLIT, paired_examples
from kerasadv.components.sections import Sections
from kerasadv.data import tfrecords
from kerasadv.orchestration import BaseComponent, ComponentSpec, Parameter
from kerasadv.orchestration.component import at_least


def _ranking_sets(x, x_adv, y, count, class_index, class_name, rng):
    """`{name: images}`: a random clean subset, it + its adversarial versions, and the same for one class."""
    chosen = rng.permutation(len(x))[:count]
    sets = {"clean": x[chosen], "clean + adversarial": np.concatenate([x[chosen], x_adv[chosen]])}
    if class_index is not None:
        of_class = rng.permutation(np.flatnonzero(y == class_index))[:count]
        sets[f"{class_name} clean"] = x[of_class]
        sets[f"{class_name} clean + adversarial"] = np.concatenate([x[of_class], x_adv[of_class]])
    return sets


def _plot_layers(histogram, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(max(6, len(histogram) * 0.45), 4))
    histogram.set_index("layer").drop(columns="depth").plot.bar(ax=ax)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set(ylabel="neurons among the top", title="Where the top-ranked neurons sit (network order)")
    return io.save_figure(figure, path)


class NeuralRankingExecutor:
    def Do(self, input_dict, output_dict, exec_properties):
        p, out = exec_properties, output_dict["analysis"]
        model = io.load_model_artifact(input_dict["model"])
        adversarial = input_dict["adversarial_examples"]
        x, x_adv, y = paired_examples(input_dict["examples"], adversarial, p["split"])
        class_names = list(tfrecords.read_schema(input_dict["examples"].uri)["class_names"])
        class_index = class_names.index(p["class_name"]) if p["class_name"] in class_names else None
        rng = np.random.default_rng(p["seed"])
        sets = _ranking_sets(x, x_adv, y, p["num_examples"], class_index, p["class_name"], rng)
        probe = analysis.probe_model(model)
        layers = [n for n in probe.output if n != "logits"]
        sections, counts = Sections(out), {}
        for name, images in sets.items():
            print(f"  ranking over {len(images)} images ({name})")
            ranking = analysis.neural_ranking(probe, images, len(class_names), p["top"], class_names)
            ranking = ranking.assign(
                depth=[layers.index(n) + 1 for n in ranking.layer], index=ranking["index"].map(str)
            )[["rank", "layer", "depth", "index", "value", "class"]]
            key = name.replace(" + ", "_").replace(" ", "_")
            sections.table(f"ranking_{key}", f"Top {p['top']} neurons: {name} ({len(images)} images)", ranking)
            counts[name] = analysis.layer_histogram(ranking, layers).values
            sections.finding(f"{key}_mean_depth", float(ranking.depth.mean() / len(layers)))
            sections.finding(f"{key}_top_depth", float(ranking.depth.iloc[0] / len(layers)))
        if p["class_name"] and class_index is None:  # the report shows "not in this data", not a made-up number
            print(f"  no class {p['class_name']!r} in this data ({class_names}): its rankings are left out")
            for kind in ("clean", "clean_adversarial"):
                for stat in ("mean_depth", "top_depth"):
                    sections.finding(f"{p['class_name'].replace(' ', '_')}_{kind}_{stat}", None)
        histogram = pd.DataFrame({"layer": layers, "depth": range(1, len(layers) + 1), **counts})
        sections.table(
            "ranking_layers",
            "Top neurons per layer",
            histogram,
            f"How many of the top {p['top']} neurons sit in each activation layer (depth 1 = first of {len(layers)}).",
        )
        sections.plot(_plot_layers(histogram, out.path("ranking_layers.png")), "Top neurons per layer")
        sections.save()
        out.properties.update(sets={k: len(v) for k, v in sets.items()}, top=p["top"], layers=len(layers))


class NeuralRanking(BaseComponent):
    """Neural ranking of a model's neurons on clean vs clean + adversarial data.

    Args:
        model: the Model (logits out).
        examples: clean Examples.
        adversarial_examples: their adversarial versions (AttackGen).
        split: the split analysed ("eval").
        num_examples: clean images per ranking (random, seeded); each gets its adversarial
            version in the clean + adversarial rankings.
        top: neurons listed per ranking.
        class_name: the class of the single-class rankings ("": none; a name the data lacks:
            none, and its findings are recorded as missing).
        seed: the random subsets' seed.
    """

    SPEC = ComponentSpec(
        inputs=PAIRED_INPUTS,
        outputs={"analysis": "Analysis"},
        parameters={
            "split": SPLIT,
            "num_examples": Parameter(int, 200, at_least(1)),
            "top": Parameter(int, 20, at_least(1)),
            "class_name": Parameter(str, "dog"),
            "seed": Parameter(int, 0, at_least(0)),
        },
    )
    EXECUTOR = NeuralRankingExecutor
