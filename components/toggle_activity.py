"""ToggleActivity: Model + clean and adversarial Examples + thresholds -> the toggle-activity experiments.

The ResNet-18 setup's three experiments, each under binary and ternary thresholds: toggle
activity of random clean subsets of growing size vs the same images with their adversarial
versions added (and the gain); equal-size sets, n clean vs n/2 clean + their n/2 adversarial,
averaged over draws; and high perturbation, the attack's eps swept up to 1 and the sizes
repeated at the largest eps.
"""

import numpy as np
import pandas as pd

from kerasadv import analysis, attacks, io
from kerasadv.analysis import perturbation, thresholds, toggle
from kerasadv.data.paired import paired_analysis_spec, paired_examples
from kerasadv.orchestration import BaseComponent, BaseExecutor, Input, Parameter
from kerasadv.orchestration.component import at_least, matches, number_list
from kerasadv.orchestration.executor import output
from kerasadv.reporting import Sections, plots


def _plot_title(path, mode):
    """What a `plots.toggle_plots` file shows, from its name."""
    stem = path.rsplit("/", 1)[-1][len(mode) + 1 : -4]
    if stem.startswith("toggle_per_layer_"):
        return f"per layer, {stem.rsplit('_', 1)[-1]} clean images vs with their adversarial versions"
    return {"toggle_gain_vs_size": "gain of the adversarial images vs size", "toggle_vs_eps": "total vs eps"}[stem]


def _equal_size_plot(equal, mode, size, path):
    """Per-layer bars of the equal-size sets, zoomed as the paper's Figure 9."""
    layers = [c for c in equal.columns if c not in ("dataset", "size", "draws", "mean_total", "std_total")]
    values = equal.set_index("dataset")[layers].T
    ylim = (max(0.0, values.min().min() - 0.05), min(1.0, values.max().max() + 0.02))
    title = f"{mode}: {size} clean vs {size // 2} clean + their adversarial"
    return plots.bar_plot(values, path, "toggle activity", title, ylim)


class ToggleActivityExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        p, out = exec_properties, output(output_dict)
        model = io.load_model_artifact(input_dict["model"])
        adversarial = input_dict["adversarial_examples"]
        x, x_adv, y = paired_examples(input_dict["examples"].uri, adversarial.uri, p["split"])
        order = np.random.default_rng(p["seed"]).permutation(len(x))  # random subsets: prefixes of one draw
        x, x_adv, y = x[order], x_adv[order], y[order]
        attack = attacks.get(adversarial.properties["attack"])
        eps = float(adversarial.properties.get("eps") or 0.0)
        probe = analysis.probe_model(model)
        binary, ternary = thresholds.load_thresholds(input_dict["thresholds"].uri)
        sizes = [int(s) for s in p["sizes"].split(",") if int(s) <= len(x)]
        eps_values = [float(e) for e in p["eps_values"].split(",")]
        high = max(eps_values)
        few = min(p["eps_examples"], len(x))
        x_high = perturbation.attacked(attack, model, x, y, high)
        sections = Sections(out, ToggleActivity.findings(p, input_dict))
        size_rows, high_rows, eps_rows, equal_rows = [], [], [], []
        for mode, mode_thresholds in zip(toggle.THRESHOLD_KINDS, (binary, ternary)):
            print(f"  {mode} thresholds: sizes {sizes}, equal size {p['equal_size']} x {p['draws']}, eps {eps_values}")
            by_size = analysis.toggle_vs_size(probe, mode_thresholds, x, x_adv, sizes)
            size_rows.append(toggle.gain_table(by_size, mode))
            high_rows.append(toggle.gain_table(analysis.toggle_vs_size(probe, mode_thresholds, x, x_high, sizes), mode))
            size = min(p["equal_size"], len(x))
            equal = analysis.toggle_equal_size(probe, mode_thresholds, x, x_adv, size, p["draws"], p["seed"])
            equal_rows.append(equal.assign(thresholds=mode))
            by_eps = analysis.toggle_vs_eps(
                probe,
                mode_thresholds,
                x[:few],
                lambda e: perturbation.attacked(attack, model, x[:few], y[:few], e),
                eps_values,
            )
            eps_rows.append(by_eps[["eps", "total"]].assign(thresholds=mode, gain=by_eps.total - by_eps.total.iloc[0]))
            for path in plots.toggle_plots(by_size, by_eps, out.uri, prefix=f"{mode}_"):
                sections.plot(path, f"{mode.capitalize()} thresholds: {_plot_title(path, mode)}")
            sections.plot(
                _equal_size_plot(equal, mode, size, out.path(f"{mode}_equal_size_per_layer.png")),
                f"{mode.capitalize()} thresholds: equal-size sets per layer (mean of {p['draws']} draws)",
            )
        by_size, by_high = pd.concat(size_rows), pd.concat(high_rows)
        equal, by_eps = pd.concat(equal_rows), pd.concat(eps_rows)
        attack_text = f"{type(attack).__name__} eps {eps:g}"
        sections.table(
            "toggle_vs_size",
            "Toggle activity vs data-set size",
            by_size,
            f"Total toggle activity (share of neurons of the {len(binary)} activation layers that take two states) "
            f"of n random clean {p['split']} images vs the same n with their {attack_text} versions added "
            "(2n images); gain = with_adversarial - clean.",
        )
        sections.table(
            "toggle_equal_size",
            "Equal-size data sets",
            equal[["thresholds", "dataset", "size", "draws", "mean_total", "std_total"]],
            "n random clean images vs n/2 random clean images + their n/2 adversarial versions, "
            f"mean and std over {p['draws']} draws (per-layer means in toggle_equal_size_layers.csv).",
        )
        sections.csv("toggle_equal_size_layers", equal)
        sections.table(
            "toggle_vs_eps",
            "Toggle activity vs perturbation (eps)",
            by_eps[["thresholds", "eps", "total", "gain"]],
            f"{few} clean images + their {type(attack).__name__} versions at each eps; gain over eps = 0.",
        )
        sections.table(
            "toggle_high_perturbation",
            f"High perturbation (eps {high:g}) vs data-set size",
            by_high,
            f"As the size table, with the adversarial versions at eps {high:g}.",
        )
        sections.update(toggle.toggle_findings(by_size, by_high, equal, by_eps))
        sections.save()
        out.properties.update(attack=attack_text, sizes=sizes, examples=len(x), layers=len(binary))


class ToggleActivity(BaseComponent):
    """The toggle-activity experiments of a model on clean vs adversarial data.

    Args:
        model: the Model.
        examples: clean Examples.
        adversarial_examples: their adversarial versions (AttackGen; its attack config also
            makes the eps sweep).
        thresholds: ActivationThresholds of the model.
        split: the split analysed ("eval").
        sizes: comma-separated data-set sizes (those above the split's size are left out).
        equal_size: n of the equal-size experiment.
        draws: random draws averaged in the equal-size experiment.
        eps_values: comma-separated eps of the perturbation sweep (its largest also makes the
            high-perturbation size table).
        eps_examples: images of the eps sweep.
        seed: the random subsets' seed.
    """

    CODE_MODULES = (toggle, perturbation)
    SPEC = paired_analysis_spec(
        inputs={"thresholds": Input("ActivationThresholds")},
        sizes=Parameter(str, "5,10,50,100,500,1000", matches(r"\d+(,\d+)*", "comma-separated sizes")),
        equal_size=Parameter(int, 1000, at_least(2)),
        draws=Parameter(int, 5, at_least(1)),
        eps_values=Parameter(str, "0,0.01,0.03,0.1,0.3,0.5,1.0", number_list(0, 1)),
        eps_examples=Parameter(int, 100, at_least(1)),
    )
    EXECUTOR = ToggleActivityExecutor

    @staticmethod
    def findings(parameters, inputs):
        """The findings of the analysis: the gains per kind of thresholds (`analysis.toggle.FINDINGS`)."""
        return list(toggle.FINDINGS)
