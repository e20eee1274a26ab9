"""The transfer study's pipeline and its profiles.

ingest -> EfficientNet-B0 (source) and the Keras simple deep CNN (target) -> iterative FGS on the
source -> transfer analysis -> the target retrained on the adversarial training set -> Gaussian
filter sweep -> evaluation and blessing -> push -> report beside the paper.
"""

import dataclasses

from absl import flags

from kerasadv.components.attack_gen import AttackGen
from kerasadv.components.evaluator import Evaluator
from kerasadv.components.example_gen import ImageExampleGen
from kerasadv.components.filter_sweep import FilterSweep
from kerasadv.components.pusher import Pusher
from kerasadv.components.trainer import Trainer
from kerasadv.orchestration import Pipeline
from kerasadv.pipelines.efficientnet_transfer.components import TransferAnalysis, TransferStudyReport
from kerasadv.training.defaults import training_defaults


@dataclasses.dataclass(frozen=True)
class Profile:
    num_train: int
    num_eval: int
    source_epochs: int  # EfficientNet-B0
    source_batch_size: int | None  # None: EfficientNet-B0's recipe (`training.TRAINING_DEFAULTS`)
    target_epochs: int  # simple deep CNN
    retrain_epochs: int  # the target on clean + adversarial training images
    retrain_learning_rate: float = 1e-4  # fine-tuning the trained target (its Adam ran at 1e-3)


SOURCE_RECIPE, TARGET_RECIPE = training_defaults("efficientnet_b0"), training_defaults("simple_cnn")
HEADING = "EfficientNet-B0 -> simple CNN transfer"
PROFILE_HELP = "Data sizes and epochs."
PROFILES = {
    "ci": Profile(400, 100, 1, 32, 1, 1),
    # benchmarks/gpu_suite.sh --smoke: every component runs once on the fewest images it takes (seconds).
    "smoke": Profile(50, 20, 1, 32, 1, 1),
    # All 50,000 images, both recipes, fewer source epochs: EfficientNet-B0 (about 365 float32 images/s on
    # 2 AMX cores) gets 4 epochs, the simple CNN its whole recipe (3 minutes in bfloat16), the retrained
    # target 2 epochs of the 100,000 clean + adversarial images. 20-29 minutes on 2 AMX cores (EfficientNet-B0
    # 46.63 %, 39.42 % with its earlier recipe; the target 78.17 %, was 64.85 % on 10,000 images).
    "quick": Profile(None, None, 4, None, TARGET_RECIPE.epochs, 2),
    # Both networks trained with their recipes (epochs, batch, schedule) on all 50,000 images, attacked and
    # evaluated on all 10,000 test images; the retrained target fine-tunes for 5 epochs on the 100,000
    # clean + adversarial training images. 82 minutes on 2 cores of an Intel Xeon with AMX, 63 of them
    # EfficientNet-B0 (74.77 %; the simple CNN 78.17 %): docs/reports/efficientnet_transfer_paper/.
    "paper": Profile(None, None, SOURCE_RECIPE.epochs, None, TARGET_RECIPE.epochs, 5),
    "full": Profile(None, None, 30, 128, 50, 20),
}
# Untargeted iterative FGS as in the paper: steps of 0.01 x sign(grad) until misclassified. The
# budget of 100 steps lets the perturbation reach Linf 1.0 (the whole pixel range): no cap
# stops an image the attack could still move; an image whose budget runs out is counted.
ATTACK = {"class_name": "IterativeFGS", "config": {"step_size": 0.01, "eps": 1.0, "steps": 100}}


def _evaluators(original, retrained, examples, adversarial, seed):
    """The original and the retrained target on the clean and the transferred sets; the retrained one is
    blessed when no worse than the original on both (the paper's protocol)."""
    compared = dict(
        examples=examples,
        adversarial_examples=adversarial,
        attacks=[],
        self_check_examples=0,
        eps_sweep="0.0,0.01,0.03",
        seed=seed,
    )
    evaluate_original = Evaluator(component_id="EvaluateOriginal", model=original, **compared)
    evaluate = Evaluator(
        component_id="EvaluateRetrained",
        model=retrained,
        baseline_evaluation=evaluate_original.outputs["evaluation"],
        no_worse_than_baseline=["examples_accuracy", "adversarial_examples_accuracy"],
        # No live attack runs, so nothing here says the pushed model is robust to white-box attacks
        # (the quickstart's gate does): a vacuous robustness gate, allowed for this study's push.
        allow_vacuous=True,
        **compared,
    )
    return evaluate_original, evaluate


def create_pipeline(
    source,
    profile,
    pipeline_root,
    serving_dir="saved_models",
    model_name="efficientnet_transfer",
    dtype_policy="auto",
    seed=0,
    rerun=(),
    enable_cache=True,
):
    """Builds the transfer study for a profile name, pushing the retrained target to `serving_dir` as
    `model_name` when blessed (the other arguments and the result: `study_cli`'s contract)."""
    p = PROFILES[profile]
    gen = ImageExampleGen(source=source, num_train=p.num_train, num_eval=p.num_eval, seed=seed)
    examples = gen.outputs["examples"]
    source_net = Trainer(
        component_id="SourceTrainer",
        examples=examples,
        model="efficientnet_b0",
        epochs=p.source_epochs,
        batch_size=p.source_batch_size,
        dtype_policy=dtype_policy,
        seed=seed,
    )
    target = Trainer(
        component_id="TargetTrainer",
        examples=examples,
        model="simple_cnn",
        epochs=p.target_epochs,
        dtype_policy=dtype_policy,
        seed=seed,
    )
    attack = AttackGen(model=source_net.outputs["model"], examples=examples, attack=ATTACK, seed=seed)
    adversarial = attack.outputs["adversarial_examples"]
    retrained = Trainer(
        component_id="TargetRetrainer",
        examples=examples,
        adversarial_examples=adversarial,
        base_model=target.outputs["model"],
        model="simple_cnn",
        epochs=p.retrain_epochs,
        learning_rate=p.retrain_learning_rate,
        dtype_policy=dtype_policy,
        seed=seed,
    )
    original, retrained_model = target.outputs["model"], retrained.outputs["model"]
    transfer = TransferAnalysis(
        examples=examples, adversarial_examples=adversarial, original_model=original, retrained_model=retrained_model
    )
    sweep = FilterSweep(
        model=original, retrained_model=retrained_model, examples=examples, adversarial_examples=adversarial
    )
    evaluate_original, evaluate = _evaluators(original, retrained_model, examples, adversarial, seed)
    blessing = evaluate.outputs["blessing"]
    serving = dict(examples=examples, serving_dir=serving_dir, model_name=model_name)
    push = Pusher(model=retrained_model, blessing=blessing, **serving)
    report = TransferStudyReport(
        model=source_net.outputs["model"],
        examples=examples,
        adversarial_examples=adversarial,
        transfer=transfer.outputs["analysis"],
        filter_sweep=sweep.outputs["analysis"],
        blessing=blessing,
        pushed_model=push.outputs["pushed_model"],
        profile=profile,
    )
    components = [gen, source_net, target, attack, retrained, transfer, sweep, evaluate_original, evaluate]
    components += [push, report]
    return Pipeline("efficientnet_transfer", pipeline_root, components, enable_cache=enable_cache, rerun=rerun)


def define_flags():
    """Defines the study's own flags (--serving_dir and --model_name of the pushed model); returns their names."""
    flags.DEFINE_string("serving_dir", "saved_models", "TF Serving base directory for the pushed model.")
    flags.DEFINE_string("model_name", "efficientnet_transfer", "Name of the served (retrained target) model.")
    return ("serving_dir", "model_name")
