"""Quick start: train a baseline classifier on real data offline and print its test accuracy.

    python pipelines/quickstart.py                       # defaults: see --data
    python pipelines/quickstart.py --data tar:../shared/data/cifar10-jpeg.tar.gz --epochs 5

Data defaults to the CIFAR-10 archive named by $KERASADV_CIFAR10_TAR when that file exists,
otherwise Fashion-MNIST from Debian's `dataset-fashion-mnist` package.
"""

import os
import time

from absl import app, flags

from kerasadv.training import train

FLAGS = flags.FLAGS
flags.DEFINE_string("data", None, "kerasadv.data source (default: $KERASADV_CIFAR10_TAR or fashion_mnist).")
flags.DEFINE_string("model", "simple_cnn", "Model builder name.")
flags.DEFINE_integer("epochs", 1, "Training epochs.")
flags.DEFINE_integer("num_examples", None, "Stratified subset of the train split (default: all).")
flags.DEFINE_string("output_dir", "runs/quickstart", "Where the model and metrics.json go.")
flags.DEFINE_integer("seed", 0, "Random seed.")


def default_source():
    archive = os.environ.get("KERASADV_CIFAR10_TAR", "")
    return f"tar:{archive}" if os.path.isfile(archive) else "fashion_mnist"


def main(argv):
    del argv
    source = FLAGS.data or default_source()
    start = time.perf_counter()
    _, metrics = train(FLAGS.model, source, FLAGS.output_dir, epochs=FLAGS.epochs,
                       num_examples=FLAGS.num_examples, seed=FLAGS.seed)
    seconds = time.perf_counter() - start
    print(f"{FLAGS.model} on {source}: test accuracy {metrics['test_accuracy']:.4f} after "
          f"{metrics['epochs']} epoch(s), {seconds:.0f} s; model and metrics in {FLAGS.output_dir}/")


if __name__ == "__main__":
    app.run(main)
