"""Analysis speed: all-layer Grad-CAM fast path vs tf-keras-vis per layer (VGG-16), and
KDE thresholds of every ResNet-18 neuron.

    python benchmarks/analysis_speed.py --quick

Grad-CAM: heatmaps of all 13 conv layers of VGG-16 for one batch, the fast path (one forward /
backward pass) against `tf_keras_vis.gradcam.Gradcam` called once per layer, medians after a
warm-up. KDE: streaming statistics (two passes) plus the vectorised KDE for all ResNet-18
neurons; `--quick` measures 500 images and scales the streaming part (linear in the images)
to 1,000. Images are real CIFAR-10 when $KERASADV_CIFAR10_TAR is set. Ends with `ratio` lines.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from common import median_seconds, print_ratios, print_table, random_batch  # noqa: E402

from kerasadv import analysis, data, models  # noqa: E402


def images(n):
    archive = os.environ.get("KERASADV_CIFAR10_TAR", "")
    if os.path.isfile(archive):
        return data.to_arrays(data.load(f"tar:{archive}", "test", num_examples=n, seed=0)[0])
    return random_batch(n, (32, 32, 3), 10)


def gradcam_seconds(batch, reps):
    model = models.vgg16()
    x, _ = images(batch)
    classes = np.arange(batch) % 10
    layers = analysis.conv_layer_names(model)
    fast = analysis.AllLayerGradcam(model, layers)
    seconds = median_seconds(
        {
            "fast_all_layers": lambda: fast(x, classes),
            "tfkerasvis_per_layer": lambda: [analysis.gradcam_tfkerasvis(model, x, classes, n) for n in layers],
        },
        reps,
    )
    return seconds, len(layers)


def kde_seconds(num_images):
    probe = analysis.probe_model(models.resnet18())
    x, y = images(num_images)
    start = time.perf_counter()
    stats = analysis.ActivationStatistics(probe, (x, y), bins=128)
    streaming = time.perf_counter() - start
    start = time.perf_counter()
    thresholds = analysis.binary_thresholds(stats)
    kde = time.perf_counter() - start
    neurons = sum(t.size for t in thresholds.values())
    return streaming, kde, neurons


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 images for the KDE, 3 reps (about a minute)")
    parser.add_argument("--batch", type=int, default=16, help="Grad-CAM batch")
    args = parser.parse_args()
    seconds, num_layers = gradcam_seconds(args.batch, 3 if args.quick else 7)
    num_images = 500 if args.quick else 1000
    streaming, kde, neurons = kde_seconds(num_images)
    per_1000 = streaming * 1000 / num_images + kde
    print_table(
        [
            {"task": f"Grad-CAM, {num_layers} VGG-16 conv layers, batch {args.batch}", "method": k, "seconds": v}
            for k, v in seconds.items()
        ]
        + [
            {
                "task": f"ResNet-18 statistics, {num_images} images",
                "method": "2 streaming passes",
                "seconds": streaming,
            },
            {"task": f"ResNet-18 KDE thresholds, {neurons} neurons", "method": "binned KDE (FFT)", "seconds": kde},
        ],
        ["task", "method", "seconds"],
    )
    print_ratios(
        {
            "gradcam_all_layers_vs_tfkerasvis": seconds["tfkerasvis_per_layer"] / seconds["fast_all_layers"],
            "kde_thresholds_seconds_per_1000_images": per_1000,
        }
    )


if __name__ == "__main__":
    main()
