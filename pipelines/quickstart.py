"""Quick start pipeline: ingest -> train -> attack -> adversarial retraining -> Gaussian filter
-> evaluate (clean / adversarial / filtered, before and after retraining) -> push -> report.

    python pipelines/quickstart.py                                  # --profile quick, offline data
    python pipelines/quickstart.py --profile ci --pipeline_root /tmp/qs
    python pipelines/quickstart.py --data tar:../shared/data/cifar10-jpeg.tar.gz --profile full
    python pipelines/quickstart.py --import_model my_cifar10_classifier.keras   # your own model

Data defaults to the CIFAR-10 archive named by $KERASADV_CIFAR10_TAR when that file exists,
otherwise Fashion-MNIST from Debian's `dataset-fashion-mnist` package. A second identical run
is served from the cache; `--no_cache` or `--rerun=Trainer,...` force re-execution.
"""

import os
import time

from absl import app, flags

from kerasadv.components.attack_gen import AttackGen
from kerasadv.components.configs import attack_config
from kerasadv.components.evaluator import Evaluator
from kerasadv.components.example_gen import ImageExampleGen
from kerasadv.components.filter import Filter
from kerasadv.components.model_importer import ModelImporter
from kerasadv.components.pusher import Pusher
from kerasadv.components.report import Report
from kerasadv.components.trainer import Trainer
from kerasadv.orchestration import Pipeline

PROFILES = {  # num_train, num_eval, epochs, retrain_epochs, min_accuracy
    "ci": (2000, 500, 2, 1, 0.2),  # learns on CIFAR-10 and Fashion-MNIST: well above chance
    "quick": (10000, 2000, 3, 2, 0.5),
    "full": (None, None, 10, 5, 0.6),
}
# The Evaluators' live attacks: FGSM and PGD-10, plus AutoAttack (standard) where the profile
# affords its budgets (a few minutes per 100 robust points on 2 cores), all on the first
# `robust_examples` eval examples (0: the whole split).
EVALUATION = {  # robust_examples, with AutoAttack
    "ci": (0, False),
    "quick": (50, True),
    "full": (1000, True),
}

FLAGS = flags.FLAGS


def define_flags():
    """Defined on demand, so tests can import `create_pipeline` without absl flag clashes."""
    flags.DEFINE_string("data", None, "kerasadv.data source (default: $KERASADV_CIFAR10_TAR or fashion_mnist).")
    flags.DEFINE_string(
        "model", "simple_cnn", "Model builder name (also the retraining defaults of an imported model)."
    )
    flags.DEFINE_string(
        "import_model",
        None,
        "A .keras classifier (logits) to attack, retrain, evaluate and push instead of training one.",
    )
    flags.DEFINE_integer("epochs", None, "Baseline training epochs (default: the profile's).")
    flags.DEFINE_string(
        "attack",
        "fgsm",
        "Attack of AttackGen: a name (fgsm, pgd, pgd_l2, bim, iterative_fgs, "
        "noise, one_pixel, dlfuzz) or a JSON config, e.g. "
        '\'{"class_name": "PGD", "config": {"eps": 0.5, "norm": "l2", "steps": 20}}\'.',
    )
    flags.DEFINE_float(
        "eps",
        0.03,
        "Radius of the attacks given by name (AttackGen's and the Evaluator's FGSM "
        "and PGD), [0, 1] pixel units; a JSON config carries its own.",
    )
    flags.DEFINE_enum("profile", "quick", list(PROFILES), "Data sizes and epochs.")
    flags.DEFINE_string("pipeline_root", "pipeline_root/quickstart", "Artifacts and metadata.sqlite go here.")
    flags.DEFINE_string("serving_dir", "saved_models", "TF Serving base directory for the pushed model.")
    flags.DEFINE_string("model_name", "quickstart", "Name of the served model.")
    flags.DEFINE_bool("no_cache", False, "Re-run every component.")
    flags.DEFINE_list(
        "rerun", [], "Component ids to re-run even when cached (their descendants follow only if their inputs change)."
    )
    flags.DEFINE_integer("seed", 0, "Random seed.")
    flags.DEFINE_string(
        "training_recipe",
        "none",
        "Baseline training recipe: none, fgsm, pgd, fast, free, advprop, contrastive, or a JSON config "
        '(\'{"class_name": "AdversarialModel", "config": {"attack": "pgd", "adv_ratio": 1.0}}\').',
    )


def default_source():
    archive = os.environ.get("KERASADV_CIFAR10_TAR", "")
    return f"tar:{archive}" if os.path.isfile(archive) else "fashion_mnist"


def named_attack(identifier, eps):
    """A name gets radius `eps` (when the attack has one); a config or JSON text is kept as given."""
    if isinstance(identifier, str) and not identifier.strip().startswith("{"):
        config = attack_config("quickstart", identifier)
        if "eps" in config["config"] and config["config"].get("norm", "linf") == "linf":
            config["config"]["eps"] = eps
        return config
    return identifier


def create_pipeline(
    source,
    model,
    profile,
    epochs,
    attack,
    eps,
    pipeline_root,
    serving_dir,
    model_name,
    seed=0,
    rerun=(),
    enable_cache=True,
    training_recipe="none",
    import_model=None,
):
    """Builds the quick-start pipeline (see the module docstring).

    `attack` is AttackGen's attack (a name, which gets radius `eps`, or a config / JSON text);
    the Evaluators measure robust accuracy under FGSM, PGD-10 and (profiles quick and full)
    AutoAttack standard of radius `eps` on the profile's subset (`EVALUATION`);
    `training_recipe` is the baseline's training recipe (a name of
    `kerasadv.training.RECIPE_NAMES`, e.g. "advprop", or a config / JSON text);
    `import_model` (a `.keras` path) replaces the baseline's training with a `ModelImporter`.
    """
    num_train, num_eval, default_epochs, retrain_epochs, min_accuracy = PROFILES[profile]
    robust_examples, with_autoattack = EVALUATION[profile]
    cache = lambda cid: cid not in rerun  # noqa: E731
    gen = ImageExampleGen(
        source=source, num_train=num_train, num_eval=num_eval, seed=seed, enable_cache=cache("ImageExampleGen")
    )
    examples = gen.outputs["examples"]
    if import_model:
        base = ModelImporter(path=import_model, examples=examples, enable_cache=cache("ModelImporter"))
    else:
        base = Trainer(
            component_id="BaselineTrainer",
            examples=examples,
            model=model,
            epochs=epochs or default_epochs,
            adversarial_training=training_recipe,
            seed=seed,
            enable_cache=cache("BaselineTrainer"),
        )
    adversarial = AttackGen(
        model=base.outputs["model"],
        examples=examples,
        attack=named_attack(attack, eps),
        seed=seed,
        enable_cache=cache("AttackGen"),
    )
    adv_examples = adversarial.outputs["adversarial_examples"]
    robust = Trainer(
        component_id="AdversarialRetrainer",
        examples=examples,
        adversarial_examples=adv_examples,
        base_model=base.outputs["model"],
        model=model,
        epochs=retrain_epochs,
        seed=seed,
        enable_cache=cache("AdversarialRetrainer"),
    )
    filtered = Filter(examples=adv_examples, gaussian_sigma=0.5, enable_cache=cache("Filter"))
    sets = dict(
        examples=examples,
        adversarial_examples=adv_examples,
        filtered_examples=filtered.outputs["examples"],
        attacks=[named_attack(name, eps) for name in ("fgsm", "pgd", "autoattack")[: 3 if with_autoattack else 2]],
        robust_examples=robust_examples,
        seed=seed,
        min_accuracy=min_accuracy,
    )
    evaluate_base = Evaluator(
        component_id="EvaluateBaseline", model=base.outputs["model"], enable_cache=cache("EvaluateBaseline"), **sets
    )
    evaluate_robust = Evaluator(
        component_id="EvaluateRetrained",
        model=robust.outputs["model"],
        baseline_model=base.outputs["model"],
        # Retraining on a pre-generated set targets that set: no worse than the baseline on it,
        # with clean accuracy held to the profile's floor (min_accuracy). Clean accuracy against
        # the baseline's is too noisy after one retraining epoch of the ci profile (0.346 vs
        # 0.374 in one CI run); live white-box robust accuracy is reported, not gated.
        no_worse_than_baseline=["adversarial_examples_accuracy"],
        enable_cache=cache("EvaluateRetrained"),
        **sets,
    )
    push = Pusher(
        model=robust.outputs["model"],
        blessing=evaluate_robust.outputs["blessing"],
        examples=examples,
        serving_dir=serving_dir,
        model_name=model_name,
        enable_cache=cache("Pusher"),
    )
    report = Report(
        baseline_evaluation=evaluate_base.outputs["evaluation"],
        candidate_evaluation=evaluate_robust.outputs["evaluation"],
        pushed_model=push.outputs["pushed_model"],
        enable_cache=cache("Report"),
    )
    components = [gen, base, adversarial, robust, filtered, evaluate_base, evaluate_robust, push, report]
    return Pipeline("quickstart", pipeline_root, components, enable_cache=enable_cache)


def main(argv):
    del argv
    source = FLAGS.data or default_source()
    start = time.perf_counter()
    pipeline = create_pipeline(
        source,
        FLAGS.model,
        FLAGS.profile,
        FLAGS.epochs,
        FLAGS.attack,
        FLAGS.eps,
        FLAGS.pipeline_root,
        FLAGS.serving_dir,
        FLAGS.model_name,
        FLAGS.seed,
        FLAGS.rerun,
        not FLAGS.no_cache,
        FLAGS.training_recipe,
        FLAGS.import_model,
    )
    result = pipeline.run()
    report = result.outputs["Report"]["report"]
    pushed = result.outputs["Pusher"]["pushed_model"].properties
    print(f"\nquickstart on {source} (profile {FLAGS.profile}) finished in {time.perf_counter() - start:.1f} s")
    with open(report.path("report.md")) as f:
        print(f.read())
    print(f"report: {report.path('report.md')} (and report.html)")
    print(f"pushed: {pushed.get('pushed')} {pushed.get('path', pushed.get('reason', ''))}")
    print(f"lineage: python -m kerasadv.orchestration.lineage --pipeline_root {FLAGS.pipeline_root}")


def run():
    """Console-script entry point."""
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
