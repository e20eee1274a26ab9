"""NeuralRanking: Model + clean and adversarial Examples -> the top neurons, on clean vs clean + adversarial data.

The ResNet-18 setup's ranking experiment: rank every neuron by activation x gradient of the
predicted logit (`kerasadv.analysis.neural_ranking`) over a random clean subset, then over the
same subset with its adversarial versions added; again for the images of one class (the paper:
only dogs). Where the top neurons sit is the finding: their layers' depth in the network.
"""

import numpy as np
import pandas as pd

from kerasadv import analysis, io
from kerasadv.analysis import ranking
from kerasadv.data import tfrecords
from kerasadv.data.paired import paired_analysis_spec, paired_examples
from kerasadv.orchestration import BaseComponent, BaseExecutor, Parameter
from kerasadv.orchestration.component import at_least
from kerasadv.orchestration.executor import output
from kerasadv.reporting import Sections, plots


class NeuralRankingExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        p, out, examples = exec_properties, output(output_dict), input_dict["examples"].uri
        model = io.load_model_artifact(input_dict["model"])
        x, x_adv, y = paired_examples(examples, input_dict["adversarial_examples"].uri, p["split"])
        class_names = list(tfrecords.read_schema(examples)["class_names"])
        class_index = class_names.index(p["class_name"]) if p["class_name"] in class_names else None
        rng = np.random.default_rng(p["seed"])
        sets = ranking.ranking_sets(x, x_adv, y, p["num_examples"], rng, class_index, p["class_name"])
        probe = analysis.probe_model(model)
        layers = [n for n in probe.output if n != "logits"]
        sections, counts = Sections(out, NeuralRanking.findings(p, input_dict)), {}
        for name, images in sets.items():
            print(f"  ranking over {len(images)} images ({name})")
            top = analysis.neural_ranking(probe, images, len(class_names), p["top"], class_names)
            top = ranking.with_depth(top, layers)
            key = ranking.set_key(name)
            sections.table(f"ranking_{key}", f"Top {p['top']} neurons: {name} ({len(images)} images)", top)
            counts[name] = analysis.layer_histogram(top, layers).values
            sections.update(ranking.depth_findings(key, top, layers))
        if p["class_name"] and class_index is None:  # the report shows "not in this data", not a made-up number
            print(f"  no class {p['class_name']!r} in this data ({class_names}): its rankings are left out")
            sections.update(
                {key: None for key in NeuralRanking.findings(p, input_dict) if key not in sections.findings}
            )
        histogram = pd.DataFrame({"layer": layers, "depth": range(1, len(layers) + 1), **counts})
        sections.table(
            "ranking_layers",
            "Top neurons per layer",
            histogram,
            f"How many of the top {p['top']} neurons sit in each activation layer (depth 1 = first of {len(layers)}).",
        )
        title = "Where the top-ranked neurons sit (network order)"
        bars = histogram.set_index("layer").drop(columns="depth")
        path = plots.bar_plot(bars, out.path("ranking_layers.png"), "neurons among the top", title)
        sections.plot(path, "Top neurons per layer")
        sections.save()
        out.properties.update(sets={k: len(v) for k, v in sets.items()}, top=p["top"], layers=len(layers))


class NeuralRanking(BaseComponent):
    """Neural ranking of a model's neurons on clean vs clean + adversarial data.

    Args:
        model: the Model (logits out).
        examples: the clean Examples ranked.
        adversarial_examples: AttackGen's attacked version of them.
        split: which split of both sets is ranked ("eval").
        num_examples: clean images per ranking (random, seeded); each gets its adversarial
            version in the clean + adversarial rankings.
        top: neurons listed per ranking.
        class_name: the class of the single-class rankings ("": none; a name the data lacks:
            none, and its findings are recorded as missing).
        seed: the random subsets' seed.
    """

    CODE_MODULES = (ranking,)
    SPEC = paired_analysis_spec(
        num_examples=Parameter(int, 200, at_least(1)),
        top=Parameter(int, 20, at_least(1)),
        class_name=Parameter(str, "dog"),
    )
    EXECUTOR = NeuralRankingExecutor

    @staticmethod
    def findings(parameters, inputs):
        """The top neurons' mean and first depth per ranked set (`analysis.ranking.ranking_finding_keys`)."""
        return ranking.ranking_finding_keys(parameters["class_name"])
