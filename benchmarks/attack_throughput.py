"""Attack throughput: kerasadv vs the hardware floor and (when installed) ART, CleverHans, Foolbox.

    python benchmarks/attack_throughput.py --quick

The floor is one forward + backward pass with respect to the input, in a hand-written
tf.function. Every figure is images per second on the same model and batch, measured in
this run; ratios above 1 mean kerasadv is faster. Ends with `ratio <name> <value>` lines
(simple CNN unprefixed, ResNet-18 prefixed `resnet18_`).
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from common import floor_fn, median_seconds, print_ratios, print_table, random_batch  # noqa: E402

from kerasadv import attacks, models  # noqa: E402

EPS, STEPS = 0.03, 10
SWEEP = [0.0, 0.005, 0.01, 0.02, 0.05, 0.1]


def kerasadv_fns(model, x, y):
    fgsm, pgd = attacks.FGSM(EPS), attacks.PGD(EPS, steps=STEPS, random_start=False)

    def loop():  # what a user writes without the sweep: attack + forward per eps
        return [attacks.predict_labels(model, fgsm(model, x, y, eps=e)) for e in SWEEP]

    return {
        "fgsm": lambda: fgsm(model, x, y),
        "pgd10": lambda: pgd(model, x, y),
        "eps_sweep": lambda: attacks.eps_sweep(fgsm, model, (x, y), SWEEP, batch_size=len(x)),
        "eps_loop": loop,
    }


def peer_fns(model, x, y):
    """FGSM and PGD-10 of the peers that are installed, on the same model and batch."""
    fns, num_classes = {}, model.output_shape[-1]
    try:
        from cleverhans.tf2.attacks.fast_gradient_method import fast_gradient_method
        from cleverhans.tf2.attacks.projected_gradient_descent import projected_gradient_descent

        xt, yt = tf.constant(x), tf.constant(y)
        fns["cleverhans_fgsm"] = lambda: fast_gradient_method(model, xt, EPS, np.inf, clip_min=0.0, clip_max=1.0, y=yt)
        fns["cleverhans_pgd10"] = lambda: projected_gradient_descent(
            model,
            xt,
            EPS,
            2.5 * EPS / STEPS,
            STEPS,
            np.inf,
            clip_min=0.0,
            clip_max=1.0,
            y=yt,
            rand_init=False,
            sanity_checks=False,
        )
    except ImportError:
        pass
    try:
        from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescent
        from art.estimators.classification import TensorFlowV2Classifier

        classifier = TensorFlowV2Classifier(
            model,
            num_classes,
            x.shape[1:],
            clip_values=(0.0, 1.0),
            loss_object=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        art_fgsm = FastGradientMethod(classifier, eps=EPS, batch_size=len(x))
        art_pgd = ProjectedGradientDescent(
            classifier, eps=EPS, eps_step=2.5 * EPS / STEPS, max_iter=STEPS, batch_size=len(x), verbose=False
        )
        fns["art_fgsm"] = lambda: art_fgsm.generate(x, y)
        fns["art_pgd10"] = lambda: art_pgd.generate(x, y)
    except ImportError:
        pass
    try:
        import foolbox

        fmodel = foolbox.TensorFlowModel(model, bounds=(0.0, 1.0))
        # int64 labels: eagerpy's mixed-dtype path calls a function NumPy 2 removed.
        xt, yt = tf.constant(x), tf.constant(y, tf.int64)
        fb_pgd = foolbox.attacks.LinfPGD(abs_stepsize=2.5 * EPS / STEPS, steps=STEPS, random_start=False)
        fns["foolbox_fgsm"] = lambda: foolbox.attacks.FGSM()(fmodel, xt, yt, epsilons=EPS)[0]
        fns["foolbox_pgd10"] = lambda: fb_pgd(fmodel, xt, yt, epsilons=EPS)[0]
    except ImportError:
        pass
    return fns


def bfloat16_fns(model, x, y):
    """FGSM and PGD-10 on a mixed_bfloat16 copy of `model` (same weights)."""
    import keras

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        twin = models.build(model.name, model.input_shape[1:], model.output_shape[-1])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    twin.set_weights(model.get_weights())
    fgsm, pgd = attacks.FGSM(EPS), attacks.PGD(EPS, steps=STEPS, random_start=False)
    return {"fgsm_bf16": lambda: fgsm(twin, x, y), "pgd10_bf16": lambda: pgd(twin, x, y)}


def measure(name, batch, reps, peers, bfloat16=False):
    model = models.build(name)
    x, y = random_batch(batch, (32, 32, 3), 10)
    floor = floor_fn(model)
    fns = {"floor": lambda: floor(tf.constant(x), tf.constant(y)), **kerasadv_fns(model, x, y)}
    if peers:
        fns.update(peer_fns(model, x, y))
    if bfloat16:
        fns.update(bfloat16_fns(model, x, y))
    seconds = median_seconds(fns, reps)
    ips = {key: batch / s for key, s in seconds.items()}
    rows = [
        {"model": name, "batch": batch, "method": k, "seconds": seconds[k], "images_per_s": ips[k]} for k in seconds
    ]
    ratios = {
        "fgsm_vs_floor": ips["fgsm"] / ips["floor"],
        "pgd10_step_vs_floor": ips["pgd10"] * STEPS / ips["floor"],
        "eps_sweep_vs_loop": seconds["eps_loop"] / seconds["eps_sweep"],
    }
    if bfloat16:  # speed-up of the mixed_bfloat16 lever over float32
        ratios["fgsm_bf16_vs_fgsm"] = ips["fgsm_bf16"] / ips["fgsm"]
        ratios["pgd10_bf16_vs_pgd10"] = ips["pgd10_bf16"] / ips["pgd10"]
    for peer in ("art", "cleverhans", "foolbox"):
        for attack in ("fgsm", "pgd10"):
            if f"{peer}_{attack}" in ips:
                ratios[f"{attack}_vs_{peer}"] = ips[attack] / ips[f"{peer}_{attack}"]
    return rows, ratios


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, small ResNet batch (under a minute)")
    parser.add_argument("--batch", type=int, default=256, help="simple CNN batch size")
    parser.add_argument("--resnet_batch", type=int, default=None, help="ResNet-18 batch (default: 32 quick, 256 full)")
    parser.add_argument("--no_peers", action="store_true", help="skip ART / CleverHans / Foolbox")
    parser.add_argument(
        "--mixed_bfloat16",
        action="store_true",
        help="also time FGSM / PGD-10 on a mixed_bfloat16 copy of the simple CNN",
    )
    args = parser.parse_args()
    reps = 3 if args.quick else 9
    resnet_batch = args.resnet_batch or (32 if args.quick else args.batch)
    rows, ratios = measure("simple_cnn", args.batch, reps, not args.no_peers, args.mixed_bfloat16)
    resnet_rows, resnet_ratios = measure("resnet18", resnet_batch, 2 if args.quick else 3, False)
    print_table(rows + resnet_rows, ["model", "batch", "method", "seconds", "images_per_s"])
    print_ratios({**ratios, **{f"resnet18_{k}": v for k, v in resnet_ratios.items()}})


if __name__ == "__main__":
    main()
