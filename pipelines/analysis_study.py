"""Reproduces, at small scale, the ResNet-18 toggle-activity / ranking study or the VGG-16
per-layer Grad-CAM vulnerability study; writes tables (CSV + Markdown) and plots.

    python pipelines/analysis_study.py --study toggle --data tar:../shared/data/cifar10-jpeg.tar.gz
    python pipelines/analysis_study.py --study gradcam --model_file vgg16.keras --num_images 200
"""

import os

import numpy as np
from absl import app, flags

from kerasadv import analysis, attacks, data, io
from kerasadv.training import train

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_enum("study", "toggle", ["toggle", "gradcam"], "Which published setup.")
    flags.DEFINE_string("data", "fashion_mnist", "kerasadv.data source.")
    flags.DEFINE_string("model_file", None, "A trained .keras model (default: train one briefly).")
    flags.DEFINE_integer("epochs", 2, "Training epochs when no model file is given.")
    flags.DEFINE_integer("num_train", 10000, "Training images when no model file is given.")
    flags.DEFINE_integer("num_images", 1000, "Test images analysed.")
    flags.DEFINE_float("eps", 0.03, "FGSM eps.")
    flags.DEFINE_string("output_dir", "studies", "Where tables and plots go.")


def write_table(table, directory, name):
    table.to_csv(os.path.join(directory, f"{name}.csv"), index=False)
    with io.atomic_path(os.path.join(directory, f"{name}.md")) as tmp, open(tmp, "w") as f:
        f.write(table.to_markdown(index=False, floatfmt=".4f") + "\n")
    print(f"\n{name}\n{table.to_string(index=False, float_format=lambda v: f'{v:.4f}')}")


def toggle_study(model, x, y, directory):
    probe = analysis.probe_model(model)
    thresholds = analysis.binary_thresholds(analysis.ActivationStatistics(probe, (x, y)))
    x_adv = attacks.FGSM(FLAGS.eps)(model, x, y).numpy()
    sizes = [s for s in (5, 10, 50, 100, 500, 1000) if s <= len(x)]
    by_size = analysis.toggle_vs_size(probe, thresholds, x, x_adv, sizes)
    equal = analysis.toggle_equal_size(probe, thresholds, x, x_adv, size=min(100, len(x)), draws=5)
    by_eps = analysis.toggle_vs_eps(
        probe, thresholds, x[:100], lambda e: attacks.FGSM(e)(model, x[:100], y[:100]).numpy()
    )
    write_table(by_size[["size", "dataset", "total", "gain"]], directory, "toggle_vs_size")
    write_table(equal, directory, "toggle_equal_size")
    write_table(by_eps[["eps", "total"]], directory, "toggle_vs_eps")
    analysis.plot_toggle(by_size, by_eps, directory)
    layers = [n for n in probe.output if n != "logits"]
    for name, images in (
        ("ranking_clean", x[:200]),
        ("ranking_clean_adversarial", np.concatenate([x[:200], x_adv[:200]])),
    ):
        ranking = analysis.neural_ranking(probe, images, int(model.output_shape[-1]), top=20)
        write_table(ranking.astype({"index": str}), directory, name)
        write_table(
            analysis.layer_histogram(ranking, layers).rename("top20").reset_index(), directory, f"{name}_layers"
        )


def gradcam_study(model, x, y, directory):
    attack = attacks.FGSM(FLAGS.eps)
    sims, probability, distribution = analysis.layer_vulnerability(model, (x, y), attack)
    write_table(probability.reset_index(), directory, "compromise_probability")
    write_table(distribution, directory, "compromised_layers_distribution")
    sims.to_csv(os.path.join(directory, "similarities.csv"), index=False)
    cams = analysis.AllLayerGradcam(model)(x[:6], attacks.predict_labels(model, x[:6]))
    analysis.plot_vulnerability(sims, probability, distribution, directory, cams, x[:6])


def main(argv):
    del argv
    name = "resnet18" if FLAGS.study == "toggle" else "vgg16"
    directory = os.path.join(FLAGS.output_dir, FLAGS.study)
    os.makedirs(directory, exist_ok=True)
    if FLAGS.model_file:
        model = io.load_model(FLAGS.model_file)
    else:
        model, metrics = train(
            name,
            FLAGS.data,
            os.path.join(directory, "model"),
            epochs=FLAGS.epochs,
            num_examples=FLAGS.num_train,
            num_test_examples=1000,
        )
        print(f"{name}: test accuracy {metrics['test_accuracy']:.4f}")
    x, y = data.to_arrays(data.load(FLAGS.data, "test", num_examples=FLAGS.num_images, seed=1)[0])
    (toggle_study if FLAGS.study == "toggle" else gradcam_study)(model, x, y, directory)
    print(f"\ntables and plots in {directory}/")


if __name__ == "__main__":
    define_flags()
    app.run(main)
