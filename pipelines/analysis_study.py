"""Reproduces, at small scale, the VGG-16 per-layer Grad-CAM vulnerability study by calling the
library directly; writes tables (CSV + Markdown) and plots. (The ResNet-18 toggle-activity study
is the pipeline `pipelines/toggle_activity_study.py`; this script awaits the same for Grad-CAM.)

    python pipelines/analysis_study.py --model_file vgg16.keras --num_images 200
"""

import os

from absl import app, flags

from kerasadv import analysis, attacks, data, io
from kerasadv.training import train

FLAGS = flags.FLAGS


def define_flags():
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
    name = "vgg16"
    directory = os.path.join(FLAGS.output_dir, "gradcam")
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
    gradcam_study(model, x, y, directory)
    print(f"\ntables and plots in {directory}/")


if __name__ == "__main__":
    define_flags()
    app.run(main)
