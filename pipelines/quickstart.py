"""Quick start pipeline: ingest -> train -> attack -> robust training -> Gaussian filter
-> evaluate (clean / adversarial / filtered; live FGSM, PGD, AutoAttack) -> push -> report.

The robust model trains against fresh attacks on itself (`--robust_recipe`: adversarial training
in `fit` with an eps warm-up) and is pushed only when it beats the baseline's robust accuracy
under the strongest live attack by the profile's margin. AttackGen's fixed set and its filtered
copy are evaluated sets; `--robust_recipe=fixed_set` retrains on that set instead (the transfer
study's protocol, not robust training: blessed by the same rule, it rarely passes).

    python pipelines/quickstart.py                                  # --profile quick, offline data
    python pipelines/quickstart.py --profile ci --pipeline_root /tmp/qs
    python pipelines/quickstart.py --data tar:../shared/data/cifar10-jpeg.tar.gz --profile full
    python pipelines/quickstart.py --import_model my_cifar10_classifier.keras   # your own model

Data defaults to the CIFAR-10 archive named by $KERASADV_CIFAR10_TAR when set (a path that names
no file is an error), otherwise Fashion-MNIST from Debian's `dataset-fashion-mnist` package. A second identical run
is served from the cache; `--no_cache` or `--rerun=BaselineTrainer,...` (a step and what follows it) force re-execution.
"""

import time

from absl import app, flags

import kerasadv.pipelines  # noqa: F401  (first: it quiets TensorFlow's start-up logs, unless --verbose)
from kerasadv.components.attack_gen import AttackGen
from kerasadv.components.evaluator import Evaluator
from kerasadv.components.example_gen import ImageExampleGen
from kerasadv.components.filter import Filter
from kerasadv.components.model_importer import ModelImporter
from kerasadv.components.pusher import Pusher
from kerasadv.components.report import Report
from kerasadv.components.trainer import Trainer
from kerasadv.configs import attack_config, default_eps, recipe_at_radius
from kerasadv.data.load import default_source  # a set but missing $KERASADV_CIFAR10_TAR is an error
from kerasadv.orchestration import Pipeline, filesystem

PROFILES = {  # num_train, num_eval, epochs, retrain_epochs, min_accuracy
    "ci": (2000, 500, 2, 1, 0.2),  # learns on CIFAR-10 and Fashion-MNIST: well above chance
    "quick": (None, 2000, 3, 2, 0.5),  # all training images: robust training needs them
    "full": (None, None, 10, 5, 0.6),
}
# The robust trainer per profile: epochs on CIFAR-10-like data and on (Fashion-)MNIST, eps warm-up
# epochs, the clean-accuracy floor. It fine-tunes the baseline at batch 128, Adam 2e-3 with warm-up
# and cosine decay, flips and crops (measured: README "Robust training in the quick start").
ROBUST = {
    "ci": (5, 5, 2, 0.15),
    "quick": (10, 3, 2, 0.4),
    "full": (30, 10, 3, 0.5),
}
ROBUST_TRAINING = {"batch_size": 128, "learning_rate": 2e-3}
# No label smoothing for the robust model (the simple CNN's defaults have 0.1): it flattens the logits
# and can inflate PGD accuracy by masking gradients, which is not robustness.
ROBUST_OPTIONS = {"schedule": "warmup_cosine", "flip": True, "crop_padding": 4, "label_smoothing": 0.0}
ROBUST_RECIPE = "fast"
FIXED_SET = "fixed_set"
# The Evaluators' live attacks: FGSM and PGD-10, plus AutoAttack (standard) where the profile
# affords it, on the first `robust_examples` eval examples (0: the whole split).
EVALUATION = {  # robust_examples, with AutoAttack
    "ci": (0, False),
    "quick": (200, True),  # a standard error of about 0.03 at robust accuracy 0.25
    "full": (1000, True),
}
# The robust model is blessed (and pushed) only when its robust accuracy under the strongest live
# attack (AutoAttack where run, else PGD-10) beats the baseline's by this margin on the same
# examples (standard errors in the report); ci: strictly more robust (2,000 images).
BLESSING = {"ci": 0.0, "quick": 0.05, "full": 0.05}  # robust_margin per profile

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
        None,
        "Linf radius of the attacks given by name (AttackGen's, the Evaluator's FGSM, PGD and "
        "AutoAttack, and the robust recipe's), [0, 1] pixel units; a JSON config carries its own. "
        "Default: 8/255 (RobustBench's CIFAR-10 standard), 0.1 for (Fashion-)MNIST.",
    )
    flags.DEFINE_string(
        "robust_recipe",
        ROBUST_RECIPE,
        "How the robust model trains: a recipe of kerasadv.training.RECIPE_NAMES trained against fresh "
        "attacks on itself (fast, pgd, trades, mart, awp, trades_awp, ...; its attack gets radius --eps) "
        f"or a JSON config, or {FIXED_SET!r}: retraining on AttackGen's fixed set of the baseline's examples.",
    )
    flags.DEFINE_enum("profile", "quick", list(PROFILES), "Data sizes and epochs.")
    flags.DEFINE_string(
        "pipeline_root",
        "pipeline_root/quickstart",
        "Artifacts go here (a local path or gs://...); metadata.sqlite too, or beside the launcher for a remote root.",
    )
    flags.DEFINE_string("serving_dir", "saved_models", "TF Serving base directory for the pushed model.")
    flags.DEFINE_string("model_name", "quickstart", "Name of the served model.")
    flags.DEFINE_bool("no_cache", False, "Re-run every component.")
    flags.DEFINE_list("rerun", [], "Component ids to re-run even when cached, with everything downstream of them.")
    flags.DEFINE_integer("seed", 0, "Random seed.")
    flags.DEFINE_string(
        "training_recipe",
        "none",
        "Baseline training recipe: none, fgsm, pgd, fast, free, advprop, contrastive, or a JSON config "
        '(\'{"class_name": "AdversarialModel", "config": {"attack": "pgd", "adv_ratio": 1.0}}\').',
    )


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
    robust_recipe=ROBUST_RECIPE,
):
    """Builds the quick-start pipeline (see the module docstring).

    `attack` is AttackGen's attack (a name, which gets radius `eps`, or a config / JSON text);
    the Evaluators measure robust accuracy under FGSM, PGD-10 and (profiles quick and full)
    AutoAttack standard of radius `eps` on the profile's subset (`EVALUATION`);
    `training_recipe` is the baseline's training recipe (a name of
    `kerasadv.training.RECIPE_NAMES`, e.g. "advprop", or a config / JSON text);
    `import_model` (a `.keras` path) replaces the baseline's training with a `ModelImporter`;
    `robust_recipe` is how the robust model trains (see the `--robust_recipe` flag); `eps`
    None is `default_eps(source)`.
    """
    eps = default_eps(source) if eps is None else eps
    num_train, num_eval, default_epochs, retrain_epochs, min_accuracy = PROFILES[profile]
    robust_examples, with_autoattack = EVALUATION[profile]
    gen = ImageExampleGen(source=source, num_train=num_train, num_eval=num_eval, seed=seed)
    examples = gen.outputs["examples"]
    if import_model:
        base = ModelImporter(path=import_model, examples=examples)
    else:
        base = Trainer(
            component_id="BaselineTrainer",
            examples=examples,
            model=model,
            epochs=epochs or default_epochs,
            adversarial_training=training_recipe,
            seed=seed,
        )
    adversarial = AttackGen(
        model=base.outputs["model"],
        examples=examples,
        attack=named_attack(attack, eps),
        seed=seed,
    )
    adv_examples = adversarial.outputs["adversarial_examples"]
    cifar_epochs, mnist_epochs, warmup, robust_floor = ROBUST[profile]
    recipe = None if robust_recipe == FIXED_SET else recipe_at_radius("RobustTrainer", robust_recipe, eps, seed)
    if recipe is None:  # the fixed set, named as what it is
        robust = Trainer(
            component_id="FixedSetRetrainer",
            examples=examples,
            adversarial_examples=adv_examples,
            base_model=base.outputs["model"],
            model=model,
            epochs=retrain_epochs,
            seed=seed,
        )
    else:
        robust = Trainer(
            component_id="RobustTrainer",
            examples=examples,
            base_model=base.outputs["model"],
            model=model,
            epochs=mnist_epochs if "mnist" in source.lower() else cifar_epochs,
            adversarial_training=recipe,
            eps_warmup_epochs=warmup,
            training_options=ROBUST_OPTIONS,
            **ROBUST_TRAINING,
            seed=seed,
        )
    filtered = Filter(examples=adv_examples, gaussian_sigma=0.5)
    sets = dict(
        examples=examples,
        adversarial_examples=adv_examples,
        filtered_examples=filtered.outputs["examples"],
        attacks=[named_attack(name, eps) for name in ("fgsm", "pgd", "autoattack")[: 3 if with_autoattack else 2]],
        robust_examples=robust_examples,
        seed=seed,
        min_accuracy=min_accuracy,
    )
    evaluate_base = Evaluator(component_id="EvaluateBaseline", model=base.outputs["model"], **sets)
    evaluate_robust = Evaluator(
        component_id="EvaluateRetrained",
        model=robust.outputs["model"],
        baseline_evaluation=evaluate_base.outputs["evaluation"],  # the same attacks, subset and seed
        robust_margin=BLESSING[profile],
        **{**sets, "min_accuracy": robust_floor},
    )
    push = Pusher(
        model=robust.outputs["model"],
        blessing=evaluate_robust.outputs["blessing"],
        examples=examples,
        serving_dir=serving_dir,
        model_name=model_name,
    )
    report = Report(
        baseline_evaluation=evaluate_base.outputs["evaluation"],
        candidate_evaluation=evaluate_robust.outputs["evaluation"],
        pushed_model=push.outputs["pushed_model"],
    )
    components = [gen, base, adversarial, robust, filtered, evaluate_base, evaluate_robust, push, report]
    return Pipeline("quickstart", pipeline_root, components, enable_cache=enable_cache, rerun=rerun)


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
        FLAGS.robust_recipe,
    )
    result = pipeline.run()
    report = result.outputs["Report"]["report"]
    pushed = result.outputs["Pusher"]["pushed_model"].properties
    print(f"\nquickstart on {source} (profile {FLAGS.profile}) finished in {time.perf_counter() - start:.1f} s")
    print(filesystem.read_text(report.path("report.md")))
    print(f"report: {report.path('report.md')} (and report.html)")
    print(f"pushed: {pushed.get('pushed')} {pushed.get('path', pushed.get('reason', ''))}")
    print(f"lineage: python -m kerasadv.orchestration.lineage --pipeline_root {FLAGS.pipeline_root}")


def run():
    """Console-script entry point."""
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
