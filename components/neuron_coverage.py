"""NeuronCoverage: Model + clean and adversarial Examples -> coverage of clean vs clean + adversarial sets.

Neuron coverage (DeepXplore, scaled activation above a threshold) and k-multisection coverage
(DeepGauge, sections of each neuron's range on training images) of random clean subsets of
growing size, and of the same subsets with their adversarial versions added.
"""

import numpy as np
import pandas as pd

from kerasadv import analysis, io
from kerasadv.components.evaluation_engine import first_examples
from kerasadv.components.example_arrays import PAIRED_INPUTS, SIZES, SPLIT, paired_examples
from kerasadv.components.sections import Sections
from kerasadv.orchestration import BaseComponent, ComponentSpec, Parameter
from kerasadv.orchestration.component import at_least, between, matches


def coverage_row(probe, threshold, multisection, images):
    """`(neuron coverage, k-multisection coverage)` of `images` (`multisection` is reset first)."""
    neuron = analysis.NeuronCoverage(probe, threshold).update(images).coverage()
    return neuron, multisection.reset().update(images).coverage()


class NeuronCoverageExecutor:
    def Do(self, input_dict, output_dict, exec_properties):
        p, out = exec_properties, output_dict["analysis"]
        model = io.load_model_artifact(input_dict["model"])
        x, x_adv, _ = paired_examples(input_dict["examples"], input_dict["adversarial_examples"], p["split"])
        order = np.random.default_rng(p["seed"]).permutation(len(x))
        x, x_adv = x[order], x_adv[order]
        reference, _ = first_examples(input_dict["examples"].uri, "train", p["reference_examples"])
        probe = analysis.probe_model(model)
        multisection = analysis.MultisectionCoverage(probe, reference, p["k"])
        rows = []
        for size in [int(s) for s in p["sizes"].split(",") if int(s) <= len(x)]:
            print(f"  coverage of {size} clean images, and with their adversarial versions")
            sections = {}
            for name, images in (("clean", x[:size]), ("with_adversarial", np.concatenate([x[:size], x_adv[:size]]))):
                sections[name] = coverage_row(probe, p["threshold"], multisection, images)
            (nc, kmnc), (nc_adv, kmnc_adv) = sections["clean"], sections["with_adversarial"]
            rows.append(
                {
                    "size": size,
                    "neuron_clean": nc,
                    "neuron_with_adversarial": nc_adv,
                    "neuron_gain": nc_adv - nc,
                    "kmnc_clean": kmnc,
                    "kmnc_with_adversarial": kmnc_adv,
                    "kmnc_gain": kmnc_adv - kmnc,
                }
            )
        table = pd.DataFrame(rows)
        out_sections = Sections(out)
        out_sections.table(
            "coverage_vs_size",
            "Neuron coverage vs data-set size",
            table,
            f"Neuron coverage (threshold {p['threshold']} on activations scaled per image and layer) and "
            f"{p['k']}-multisection coverage (ranges from {len(reference)} training images) of n random clean "
            "images vs the same n with their adversarial versions added.",
        )
        out_sections.finding("neuron_coverage_gain_smallest_size", table.neuron_gain.iloc[0])
        out_sections.finding("neuron_coverage_gain_largest_size", table.neuron_gain.iloc[-1])
        out_sections.finding("kmnc_gain_largest_size", table.kmnc_gain.iloc[-1])
        out_sections.save()
        out.properties.update(sizes=table["size"].tolist(), threshold=p["threshold"], k=p["k"])


class NeuronCoverage(BaseComponent):
    """Neuron and k-multisection coverage on clean vs clean + adversarial data.

    Args:
        model: the Model.
        examples: clean Examples (their train split gives the k-multisection ranges).
        adversarial_examples: their adversarial versions (AttackGen).
        split: the split analysed ("eval").
        sizes: comma-separated data-set sizes.
        threshold: neuron-coverage threshold on scaled activations.
        k: sections per neuron of k-multisection coverage.
        reference_examples: training images that give each neuron's range.
        seed: the random subsets' seed.
    """

    SPEC = ComponentSpec(
        inputs=PAIRED_INPUTS,
        outputs={"analysis": "Analysis"},
        parameters={
            "split": SPLIT,
            "sizes": Parameter(str, "10,100,1000", matches(SIZES, "comma-separated sizes")),
            "threshold": Parameter(float, 0.5, between(0, 1)),
            "k": Parameter(int, 10, at_least(1)),
            "reference_examples": Parameter(int, 1000, at_least(1)),
            "seed": Parameter(int, 0, at_least(0)),
        },
    )
    EXECUTOR = NeuronCoverageExecutor
