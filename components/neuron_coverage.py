"""NeuronCoverage: Model + clean and adversarial Examples -> coverage of clean vs clean + adversarial sets.

Neuron coverage (DeepXplore, scaled activation above a threshold) and k-multisection coverage
(DeepGauge, sections of each neuron's range on training images) of random clean subsets of
growing size, and of the same subsets with their adversarial versions added.
"""

import numpy as np

from kerasadv import analysis, io
from kerasadv.analysis import coverage
from kerasadv.data.paired import paired_analysis_spec, paired_examples
from kerasadv.data.tfrecords import first_examples
from kerasadv.orchestration import BaseComponent, BaseExecutor, Parameter
from kerasadv.orchestration.component import at_least, between, matches
from kerasadv.orchestration.executor import output
from kerasadv.reporting import Sections


class NeuronCoverageExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        p, out, examples = exec_properties, output(output_dict), input_dict["examples"].uri
        model = io.load_model_artifact(input_dict["model"])
        x, x_adv, _ = paired_examples(examples, input_dict["adversarial_examples"].uri, p["split"])
        order = np.random.default_rng(p["seed"]).permutation(len(x))
        reference, _ = first_examples(examples, "train", p["reference_examples"])
        probe = analysis.probe_model(model)
        multisection = analysis.MultisectionCoverage(probe, reference, p["k"])
        sizes = [int(s) for s in p["sizes"].split(",")]
        print(f"  coverage of {sizes} clean images, and with their adversarial versions")
        table = coverage.coverage_vs_size(probe, x[order], x_adv[order], sizes, p["threshold"], multisection)
        sections = Sections(out, NeuronCoverage.findings(p, input_dict))
        sections.table(
            "coverage_vs_size",
            "Neuron coverage vs data-set size",
            table,
            f"Neuron coverage (threshold {p['threshold']} on activations scaled per image and layer) and "
            f"{p['k']}-multisection coverage (ranges from {len(reference)} training images) of n random clean "
            "images vs the same n with their adversarial versions added.",
        )
        sections.update(coverage.coverage_findings(table))
        sections.save()
        out.properties.update(sizes=table["size"].tolist(), threshold=p["threshold"], k=p["k"])


class NeuronCoverage(BaseComponent):
    """Neuron and k-multisection coverage on clean vs clean + adversarial data.

    Args:
        model: the Model.
        examples: clean Examples (their train split gives the k-multisection ranges).
        adversarial_examples: AttackGen's attacked version of them.
        split: which split of both sets is covered ("eval").
        sizes: comma-separated data-set sizes.
        threshold: neuron-coverage threshold on scaled activations.
        k: sections per neuron of k-multisection coverage.
        reference_examples: training images that give each neuron's range.
        seed: the random subsets' seed.
    """

    CODE_MODULES = (coverage,)
    SPEC = paired_analysis_spec(
        sizes=Parameter(str, "10,100,1000", matches(r"\d+(,\d+)*", "comma-separated sizes")),
        threshold=Parameter(float, 0.5, between(0, 1)),
        k=Parameter(int, 10, at_least(1)),
        reference_examples=Parameter(int, 1000, at_least(1)),
    )
    EXECUTOR = NeuronCoverageExecutor

    @staticmethod
    def findings(parameters, inputs):
        """The coverage gains of the adversarial images (`analysis.coverage.FINDINGS`)."""
        return list(coverage.FINDINGS)
