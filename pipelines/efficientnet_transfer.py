"""The EfficientNet-B0 -> simple CNN transfer study (paper 004) as a pipeline.

ingest -> EfficientNet-B0 (source) and the Keras simple deep CNN (target) -> untargeted
iterative FGS (0.01 x sign(grad) per step, until misclassified) on the source over train and
test -> transfer: the target's accuracy and loss on both test sets, its confidence where the
transfer succeeds / fails -> the target retrained on the adversarial training set -> Gaussian
filter std sweep for both networks -> evaluation and blessing (no worse than the original on
both sets) -> push for TF Serving -> report beside the paper.

    python pipelines/efficientnet_transfer.py                        # --profile quick (CIFAR-10)
    python pipelines/efficientnet_transfer.py --profile ci --pipeline_root /tmp/transfer
    python pipelines/efficientnet_transfer.py --profile full         # the paper's sizes, long on CPU

A second identical run is served from the cache; `--rerun=FilterSweep` re-runs one step.
"""

import dataclasses

from absl import app, flags

from kerasadv.components.attack_gen import AttackGen
from kerasadv.components.evaluator import Evaluator
from kerasadv.components.example_gen import ImageExampleGen
from kerasadv.components.filter_sweep import FilterSweep
from kerasadv.components.pusher import Pusher
from kerasadv.components.study_report import StudyReport
from kerasadv.components.trainer import Trainer
from kerasadv.components.transfer_analysis import TransferAnalysis
from kerasadv.orchestration import Pipeline
from kerasadv.pipelines import study_cli


@dataclasses.dataclass(frozen=True)
class Profile:
    num_train: int
    num_eval: int
    source_epochs: int  # EfficientNet-B0
    source_batch_size: int  # (Adam 1e-3, cosine; batch 32 learns faster per epoch in short runs than 128)
    target_epochs: int  # simple deep CNN
    retrain_epochs: int  # the target on clean + adversarial training images
    retrain_learning_rate: float = 1e-4  # fine-tuning the trained target (its Adam ran at 1e-3)


PROFILES = {
    "ci": Profile(400, 100, 1, 32, 1, 1),
    # About 20 minutes on 2 cores. EfficientNet-B0 on 32x32 images learns slowly from scratch: 3 epochs on
    # 10,000 images give 32 % at batch 32 (149 images/s) and 13 % at 128 (its BN statistics lag).
    "quick": Profile(10000, 2000, 8, 32, 12, 3),
    "full": Profile(None, None, 30, 128, 50, 20),
}
# Untargeted iterative FGS as in the paper: steps of 0.01 x sign(grad) until misclassified. The
# budget of 100 steps lets the perturbation reach Linf 1.0 (the whole pixel range): no cap
# stops an image the attack could still move; an image whose budget runs out is counted.
ATTACK = {"class_name": "IterativeFGS", "config": {"step_size": 0.01, "eps": 1.0, "steps": 100}}

PAPER = [
    {"finding": "attack success on the source, test set", "paper": "1.0 (all images)", "key": "source_success_rate"},
    {"finding": "attack time per image (s)", "paper": "0.089 (K80 GPU)", "key": "source_seconds_per_image"},
    {"finding": "target accuracy, original set", "paper": "0.7545", "key": "original_original_accuracy"},
    {"finding": "target accuracy, adversarial set", "paper": "0.7288", "key": "original_adversarial_accuracy"},
    {"finding": "target loss, original set", "paper": "0.7730", "key": "original_original_loss"},
    {"finding": "target loss, adversarial set", "paper": "0.8538", "key": "original_adversarial_loss"},
    {"finding": "target accuracy drop", "paper": "0.0257", "key": "original_accuracy_drop"},
    {
        "finding": "mean original confidence where the transfer succeeds",
        "paper": "0.398",
        "key": "confidence_where_transfer_succeeds",
    },
    {
        "finding": "mean original confidence where the transfer fails",
        "paper": "0.761",
        "key": "confidence_where_transfer_fails",
    },
    {"finding": "retrained accuracy, original set", "paper": "0.7685", "key": "retrained_original_accuracy"},
    {"finding": "retrained accuracy, adversarial set", "paper": "0.7574", "key": "retrained_adversarial_accuracy"},
    {"finding": "retrained loss, original set", "paper": "0.6887", "key": "retrained_original_loss"},
    {"finding": "retrained loss, adversarial set", "paper": "0.7212", "key": "retrained_adversarial_loss"},
    {"finding": "retrained accuracy drop", "paper": "0.0111", "key": "retrained_accuracy_drop"},
    {
        "finding": "filter: original network, adversarial set, no filter",
        "paper": "0.7288",
        "key": "filter_original_adversarial_unfiltered",
    },
    {
        "finding": "filter: original network, adversarial set, std 0.5",
        "paper": "0.7492",
        "key": "filter_original_adversarial_sigma_0.5",
    },
    {
        "finding": "filter: best std for the original network's adversarial accuracy",
        "paper": "0.5",
        "key": "filter_original_best_adversarial_sigma",
    },
    {
        "finding": "filter: best std for the retrained network's adversarial accuracy",
        "paper": "0.0 (the filter never helps it)",
        "key": "filter_retrained_best_adversarial_sigma",
    },
]

PROTOCOL = [
    "Data: JPEG-encoded CIFAR-10, the profile's subset (quick: 10,000 training and 2,000 test images); the paper "
    "uses all 50,000 + 10,000 original images.",
    "Source: EfficientNet-B0 (keras.applications, weights=None) trained here from scratch on 32x32 inputs for the "
    "profile's epochs on 2 CPU cores; the paper does not give its EfficientNet's training or accuracy (trained on "
    "an EC2 p2.xlarge). With weights='imagenet' the builder takes the real pretrained path online.",
    "Target: the Keras simple deep CNN (the paper's Fig. 2) trained for the profile's epochs with Adam, batch 32; "
    "the paper's target reaches 0.7545 after a full-length run.",
    "Attack: as in the paper (0.01 x sign of the gradient per step, repeated until misclassified), with a budget "
    "of 100 steps that reaches the whole pixel range; images still standing then are counted, not hidden. The "
    "time per image is the split's wall time on 2 CPU cores in batches of 256, reading and writing the records "
    "included, over its images (the paper's 0.089 s is on a K80 GPU).",
    "Retraining: the original target fine-tuned (Adam, learning rate 1e-4) on its training images mixed with "
    "their adversarial versions for the profile's retraining epochs; the paper retrains on the adversarial "
    "training set without saying whether from scratch or mixed.",
    "Confidence: the target's softmax confidence on the clean image, over the test images it classifies "
    "correctly (the paper does not say whether it restricted to those).",
]

FLAGS = flags.FLAGS


def define_flags():
    study_cli.define_common_flags("efficientnet_transfer", PROFILES, "Data sizes and epochs.")
    flags.DEFINE_string("serving_dir", "saved_models", "TF Serving base directory for the pushed model.")
    flags.DEFINE_string("model_name", "efficientnet_transfer", "Name of the served (retrained target) model.")


class TransferStudyReport(StudyReport):
    ANALYSES = ("transfer", "filter_sweep")
    PUSHES = True


def create_pipeline(
    source,
    profile,
    pipeline_root,
    serving_dir="saved_models",
    model_name="efficientnet_transfer",
    seed=0,
    rerun=(),
    enable_cache=True,
):
    """Builds the transfer study (see the module docstring) for a profile name."""
    p = PROFILES[profile]
    cache = lambda cid: cid not in rerun  # noqa: E731
    gen = ImageExampleGen(
        source=source, num_train=p.num_train, num_eval=p.num_eval, seed=seed, enable_cache=cache("ImageExampleGen")
    )
    examples = gen.outputs["examples"]

    def trainer(cid, model, epochs, **inputs):
        return Trainer(
            component_id=cid,
            examples=examples,
            model=model,
            epochs=epochs,
            seed=seed,
            enable_cache=cache(cid),
            **inputs,
        )

    source_net = trainer("SourceTrainer", "efficientnet_b0", p.source_epochs, batch_size=p.source_batch_size)
    target = trainer("TargetTrainer", "simple_cnn", p.target_epochs)
    attack = AttackGen(
        model=source_net.outputs["model"], examples=examples, attack=ATTACK, seed=seed, enable_cache=cache("AttackGen")
    )
    adversarial = attack.outputs["adversarial_examples"]
    retrained = trainer(
        "TargetRetrainer",
        "simple_cnn",
        p.retrain_epochs,
        learning_rate=p.retrain_learning_rate,
        adversarial_examples=adversarial,
        base_model=target.outputs["model"],
    )
    models = dict(original_model=target.outputs["model"], retrained_model=retrained.outputs["model"])
    transfer = TransferAnalysis(
        examples=examples, adversarial_examples=adversarial, **models, enable_cache=cache("TransferAnalysis")
    )
    sweep = FilterSweep(
        model=target.outputs["model"],
        retrained_model=retrained.outputs["model"],
        examples=examples,
        adversarial_examples=adversarial,
        enable_cache=cache("FilterSweep"),
    )
    compared = dict(
        examples=examples,
        adversarial_examples=adversarial,
        attacks=[],
        self_check_examples=0,
        eps_sweep="0.0,0.01,0.03",
        seed=seed,
    )
    evaluate_original = Evaluator(
        component_id="EvaluateOriginal",
        model=target.outputs["model"],
        enable_cache=cache("EvaluateOriginal"),
        **compared,
    )
    evaluate = Evaluator(
        component_id="EvaluateRetrained",
        model=retrained.outputs["model"],
        baseline_evaluation=evaluate_original.outputs["evaluation"],
        no_worse_than_baseline=["examples_accuracy", "adversarial_examples_accuracy"],
        # The paper's protocol: the retrained target is pushed when it is no worse than the original
        # on the clean and the transferred sets. No live attack runs, so nothing here says the
        # pushed model is robust to white-box attacks (the quickstart's gate does): a vacuous
        # robustness gate, allowed for this study's push.
        allow_vacuous=True,
        enable_cache=cache("EvaluateRetrained"),
        **compared,
    )
    push = Pusher(
        model=retrained.outputs["model"],
        blessing=evaluate.outputs["blessing"],
        examples=examples,
        serving_dir=serving_dir,
        model_name=model_name,
        enable_cache=cache("Pusher"),
    )
    report = TransferStudyReport(
        model=source_net.outputs["model"],
        examples=examples,
        adversarial_examples=adversarial,
        transfer=transfer.outputs["analysis"],
        filter_sweep=sweep.outputs["analysis"],
        blessing=evaluate.outputs["blessing"],
        pushed_model=push.outputs["pushed_model"],
        title="Iterative-FGS examples of EfficientNet-B0 transferred to a simple CNN (CIFAR-10): ours beside the paper",
        profile=profile,
        paper=PAPER,
        protocol=PROTOCOL,
        enable_cache=cache("TransferStudyReport"),
    )
    components = [
        gen,
        source_net,
        target,
        attack,
        retrained,
        transfer,
        sweep,
        evaluate_original,
        evaluate,
        push,
        report,
    ]
    return Pipeline("efficientnet_transfer", pipeline_root, components, enable_cache=enable_cache)


def main(argv):
    del argv
    study_cli.run_study(
        lambda source: create_pipeline(
            source,
            FLAGS.profile,
            FLAGS.pipeline_root,
            FLAGS.serving_dir,
            FLAGS.model_name,
            **study_cli.run_options(),
        ),
        "TransferStudyReport",
        "EfficientNet-B0 -> simple CNN transfer",
    )


if __name__ == "__main__":
    define_flags()
    app.run(main)
