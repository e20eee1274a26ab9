"""Clean / robust accuracy of the simple CNN trained normally and with each AT variant.

    KERASADV_CIFAR10_TAR=../shared/data/cifar10-jpeg.tar.gz python benchmarks/robustness_pairs.py --quick

Same data, epochs, optimiser and seed for every variant; robust accuracy is under FGSM and
PGD-10 (random start) at the training eps, on a stratified test subset.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
from common import print_table  # noqa: E402

from kerasadv import attacks, data, models, training  # noqa: E402

VARIANTS = {
    "standard": lambda clf, eps, b: clf,
    "fgsm_at": lambda clf, eps, b: training.AdversarialModel(clf, attacks.FGSM(eps), 0.5),
    "fast_fgsm_rs_at": lambda clf, eps, b: training.AdversarialModel(clf, training.fast_at_attack(eps, seed=0), 1.0),
    "pgd7_at": lambda clf, eps, b: training.AdversarialModel(clf, training.pgd_at_attack(eps, 7, seed=0), 1.0),
    "free_at_m4": lambda clf, eps, b: training.FreeAdversarialModel(clf, attacks.FGSM(eps), replays=4, batch_size=b),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 train images, 4 epochs, 1,000 test")
    parser.add_argument("--eps", type=float, default=0.02)
    args = parser.parse_args()
    archive = os.environ.get("KERASADV_CIFAR10_TAR", "")
    if not os.path.isfile(archive):
        sys.exit("Set KERASADV_CIFAR10_TAR to cifar10-jpeg.tar.gz (real images are the point here).")
    num_train, epochs, num_test = (5000, 4, 1000) if args.quick else (20000, 10, 2000)
    train_ds, _ = data.load(f"tar:{archive}", "train", num_examples=num_train, shuffle=True, seed=0)
    test = data.to_arrays(data.load(f"tar:{archive}", "test", num_examples=num_test, seed=1)[0])
    rows = []
    for name, wrap in VARIANTS.items():
        keras.utils.set_random_seed(0)
        classifier = models.simple_cnn()
        model = wrap(classifier, args.eps, 128)
        training.compile_classifier(model, keras.optimizers.Adam(1e-3))
        model.fit(train_ds, epochs=epochs // 4 if name.startswith("free") else epochs, verbose=0)
        fgsm = attacks.evaluate_attack(attacks.FGSM(args.eps), classifier, test, progress=False)
        pgd = attacks.evaluate_attack(attacks.PGD(args.eps, steps=10, seed=0), classifier, test, progress=False)
        rows.append(
            {
                "variant": name,
                "clean_accuracy": fgsm["clean_accuracy"],
                "fgsm_accuracy": fgsm["adversarial_accuracy"],
                "pgd10_accuracy": pgd["adversarial_accuracy"],
            }
        )
        print_table(rows[-1:], list(rows[-1]))
    print(
        f"\n{num_train} train images, {epochs} epochs (free AT: {epochs // 4} x 4 replays), "
        f"{num_test} test images, eps {args.eps}"
    )
    print_table(rows, ["variant", "clean_accuracy", "fgsm_accuracy", "pgd10_accuracy"])


if __name__ == "__main__":
    main()
