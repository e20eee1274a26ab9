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
from kerasadv.components.activation_thresholds import load_thresholds
from kerasadv.components.example_arrays import PAIRED_INPUTS, SIZES, SPLIT, attacked, paired_examples
from kerasadv.components.sections import Sections
from kerasadv.orchestration import BaseComponent, ComponentSpec, Input, Parameter
from kerasadv.orchestration.component import at_least, matches, number_list


def _gain_rows(by_size, mode):
    clean = by_size[by_size.dataset == "clean"].set_index("size")["total"]
    mixed = by_size[by_size.dataset != "clean"].set_index("size")["total"]
    return pd.DataFrame(
        {"thresholds": mode, "size": clean.index, "clean": clean.values, "with_adversarial": mixed.values}
    ).assign(gain=lambda t: t.with_adversarial - t.clean)


def _plot_title(path, mode):
    """What a `plot_toggle` file shows, from its name."""
    stem = path.rsplit("/", 1)[-1][len(mode) + 1 : -4]
    if stem.startswith("toggle_per_layer_"):
        return f"per layer, {stem.rsplit('_', 1)[-1]} clean images vs with their adversarial versions"
    return {"toggle_gain_vs_size": "gain of the adversarial images vs size", "toggle_vs_eps": "total vs eps"}[stem]


def _layers_plot(frame, title, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers = [c for c in frame.columns if c not in ("dataset", "size", "draws", "mean_total", "std_total")]
    figure, ax = plt.subplots(figsize=(max(6, len(layers) * 0.45), 4))
    values = frame.set_index("dataset")[layers].T
    values.plot.bar(ax=ax, ylim=(max(0.0, values.min().min() - 0.05), min(1.0, values.max().max() + 0.02)))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))  # zoomed, as the paper's Figure 9
    ax.set(ylabel="toggle activity", title=title)
    return io.save_figure(figure, path)


class ToggleActivityExecutor:
    def Do(self, input_dict, output_dict, exec_properties):
        p, out = exec_properties, output_dict["analysis"]
        model = io.load_model_artifact(input_dict["model"])
        adversarial = input_dict["adversarial_examples"]
        x, x_adv, y = paired_examples(input_dict["examples"], adversarial, p["split"])
        order = np.random.default_rng(p["seed"]).permutation(len(x))  # random subsets: prefixes of one draw
        x, x_adv, y = x[order], x_adv[order], y[order]
        attack = attacks.get(adversarial.properties["attack"])
        eps = float(adversarial.properties.get("eps") or 0.0)
        probe = analysis.probe_model(model)
        binary, ternary = load_thresholds(input_dict["thresholds"])
        sizes = [int(s) for s in p["sizes"].split(",") if int(s) <= len(x)]
        eps_values = [float(e) for e in p["eps_values"].split(",")]
        high = max(eps_values)
        few = min(p["eps_examples"], len(x))
        x_high = attacked(attack, model, x, y, high)
        sections, size_rows, high_rows, eps_rows, equal_rows = Sections(out), [], [], [], []
        for mode, thresholds in (("binary", binary), ("ternary", ternary)):
            print(f"  {mode} thresholds: sizes {sizes}, equal size {p['equal_size']} x {p['draws']}, eps {eps_values}")
            by_size = analysis.toggle_vs_size(probe, thresholds, x, x_adv, sizes)
            size_rows.append(_gain_rows(by_size, mode))
            high_rows.append(_gain_rows(analysis.toggle_vs_size(probe, thresholds, x, x_high, sizes), mode))
            size = min(p["equal_size"], len(x))
            equal = analysis.toggle_equal_size(probe, thresholds, x, x_adv, size, p["draws"], p["seed"])
            equal_rows.append(equal.assign(thresholds=mode))
            by_eps = analysis.toggle_vs_eps(
                probe, thresholds, x[:few], lambda e: attacked(attack, model, x[:few], y[:few], e), eps_values
            )
            eps_rows.append(by_eps[["eps", "total"]].assign(thresholds=mode, gain=by_eps.total - by_eps.total.iloc[0]))
            for path in analysis.plot_toggle(by_size, by_eps, out.uri, prefix=f"{mode}_"):
                sections.plot(path, f"{mode.capitalize()} thresholds: {_plot_title(path, mode)}")
            sections.plot(
                _layers_plot(
                    equal,
                    f"{mode}: {size} clean vs {size // 2} clean + their adversarial",
                    out.path(f"{mode}_equal_size_per_layer.png"),
                ),
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
        summary = equal[["thresholds", "dataset", "size", "draws", "mean_total", "std_total"]]
        sections.table(
            "toggle_equal_size",
            "Equal-size data sets",
            summary,
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
        self.findings(sections, by_size, by_high, equal, by_eps)
        sections.save()
        out.properties.update(attack=attack_text, sizes=sizes, examples=len(x), layers=len(binary))

    @staticmethod
    def findings(sections, by_size, by_high, equal, by_eps):
        for mode in ("binary", "ternary"):
            gains = by_size[by_size.thresholds == mode].set_index("size")["gain"]
            sections.finding(f"{mode}_gain_smallest_size", gains.iloc[0])
            sections.finding(f"{mode}_gain_largest_size", gains.iloc[-1])
            totals = equal[equal.thresholds == mode].set_index("dataset")["mean_total"]
            sections.finding(f"{mode}_equal_size_difference", totals["half adversarial"] - totals["clean"])
            sections.finding(f"{mode}_max_eps_gain", by_eps[by_eps.thresholds == mode]["gain"].max())
            sections.finding(
                f"{mode}_high_eps_gain_largest_size",
                by_high[by_high.thresholds == mode].set_index("size")["gain"].iloc[-1],
            )


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

    SPEC = ComponentSpec(
        inputs={**PAIRED_INPUTS, "thresholds": Input("ActivationThresholds")},
        outputs={"analysis": "Analysis"},
        parameters={
            "split": SPLIT,
            "sizes": Parameter(str, "5,10,50,100,500,1000", matches(SIZES, "comma-separated sizes")),
            "equal_size": Parameter(int, 1000, at_least(2)),
            "draws": Parameter(int, 5, at_least(1)),
            "eps_values": Parameter(str, "0,0.01,0.03,0.1,0.3,0.5,1.0", number_list(0, 1)),
            "eps_examples": Parameter(int, 100, at_least(1)),
            "seed": Parameter(int, 0, at_least(0)),
        },
    )
    EXECUTOR = ToggleActivityExecutor
