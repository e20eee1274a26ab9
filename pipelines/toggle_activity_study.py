"""The ResNet-18 toggle-activity study (paper 000, "FGSM attack and toggle activity") as a pipeline.

ingest -> train ResNet-18 -> FGSM on the eval split -> activation thresholds (binary KDE,
ternary) -> toggle activity (sizes, equal-size sets, eps up to 1) -> neural ranking (clean vs
clean + FGSM, all classes and dogs only) -> neuron coverage -> report beside the paper.

    python pipelines/toggle_activity_study.py                        # --profile quick (CIFAR-10)
    python pipelines/toggle_activity_study.py --profile ci --pipeline_root /tmp/toggle
    python pipelines/toggle_activity_study.py --profile full         # the paper's sizes, full width

Data: the CIFAR-10 archive named by $KERASADV_CIFAR10_TAR (or --data). A second identical run
is served from the cache; `--rerun=ToggleActivity` re-runs one step.
"""

import dataclasses

from absl import app, flags

from kerasadv.components.activation_thresholds import ActivationThresholds
from kerasadv.components.attack_gen import AttackGen
from kerasadv.components.example_gen import ImageExampleGen
from kerasadv.components.neural_ranking import NeuralRanking
from kerasadv.components.neuron_coverage import NeuronCoverage
from kerasadv.components.study_report import StudyReport
from kerasadv.components.toggle_activity import ToggleActivity
from kerasadv.components.trainer import Trainer
from kerasadv.orchestration import Pipeline
from kerasadv.pipelines import study_cli


@dataclasses.dataclass(frozen=True)
class Profile:
    num_train: int
    num_eval: int
    width: int  # ResNet-18 filters of the first stage (64 in the paper)
    epochs: int
    statistics_examples: int  # training images behind the thresholds
    sizes: str
    equal_size: int
    draws: int
    eps_values: str
    eps_examples: int
    ranking_examples: int
    coverage_sizes: str


PROFILES = {
    "ci": Profile(600, 200, 8, 1, 200, "5,10,50,100", 100, 2, "0,0.03,0.3,1.0", 20, 50, "10,100"),
    # About 25 minutes on 2 cores: a quarter-width ResNet-18 (0.7 M weights, about 100 training
    # images/s here against 12.5 at full width) trained 5 epochs on 20,000 images.
    "quick": Profile(
        20000,
        2000,
        16,
        5,
        1000,
        "5,10,50,100,500,1000",
        1000,
        5,
        "0,0.01,0.03,0.1,0.3,0.5,1.0",
        100,
        200,
        "10,100,1000",
    ),
    "full": Profile(
        None,
        None,
        64,
        100,
        5000,
        "5,10,50,100,500,1000",
        1000,
        10,
        "0,0.01,0.03,0.1,0.3,0.5,1.0",
        1000,
        1000,
        "10,100,1000",
    ),
}

PAPER = [
    {
        "finding": "binary gain of adding the FGSM images, smallest size (paper: 5; Fig. 6-7)",
        "paper": "evident (largest)",
        "key": "binary_gain_smallest_size",
    },
    {
        "finding": "binary gain, largest size (paper: 1000; Fig. 6-7)",
        "paper": "towards 0",
        "key": "binary_gain_largest_size",
    },
    {
        "finding": "ternary gain, smallest size (Fig. 8)",
        "paper": "more evident than binary",
        "key": "ternary_gain_smallest_size",
    },
    {"finding": "ternary gain, largest size (Fig. 8)", "paper": "small", "key": "ternary_gain_largest_size"},
    {
        "finding": "equal size: n/2 clean + n/2 FGSM minus n clean, binary (Fig. 9)",
        "paper": "slightly below 0",
        "key": "binary_equal_size_difference",
    },
    {"finding": "equal size, ternary", "paper": "(binary only in the paper)", "key": "ternary_equal_size_difference"},
    {"finding": "largest gain over eps up to 1, binary (Fig. 11)", "paper": "about 0.05", "key": "binary_max_eps_gain"},
    {
        "finding": "largest gain over eps up to 1, ternary (Fig. 11)",
        "paper": "under 0.01",
        "key": "ternary_max_eps_gain",
    },
    {
        "finding": "eps 1 gain at the largest size, binary (Fig. 10)",
        "paper": "slight",
        "key": "binary_high_eps_gain_largest_size",
    },
    {
        "finding": "top neurons' mean depth, clean (Table 1; 1 = last layer)",
        "paper": "middle (layer 7: 0.41)",
        "key": "clean_mean_depth",
    },
    {
        "finding": "top neurons' mean depth, clean + FGSM (Table 2)",
        "paper": "final layers (15-17: 0.88-1.0)",
        "key": "clean_adversarial_mean_depth",
    },
    {"finding": "top neurons' mean depth, dogs clean", "paper": "as all classes", "key": "dog_clean_mean_depth"},
    {
        "finding": "top neurons' mean depth, dogs clean + FGSM",
        "paper": "as all classes",
        "key": "dog_clean_adversarial_mean_depth",
    },
    {
        "finding": "neuron coverage gain, largest size (not in the paper)",
        "paper": "",
        "key": "neuron_coverage_gain_largest_size",
    },
]

PROTOCOL = [
    "Model: the CIFAR variant of ResNet-18 (3x3 stem, 17 ReLU layers as the paper's), trained here from scratch "
    "on JPEG-encoded CIFAR-10 with the profile's width, images and epochs (the paper: a pre-trained full-width "
    "ResNet-18, accuracy not stated); a weaker model has less sharply used neurons.",
    "FGSM radius: the paper does not state it for the size and ranking experiments; ours is the --eps flag.",
    "Binary thresholds: the KDE is binned (128 bins, Scott's bandwidth) over the profile's training images, not "
    "a per-neuron scipy KDE; ternary thresholds at 0.25 and 0.75 of each neuron's maximum (the paper gives "
    "no fractions).",
    "Ranking score: activation x gradient of the predicted logit, averaged per predicted class (the paper cites "
    "Ruospo and Sanchez without the formula); depth is the layer's position among the 17 ReLU layers.",
    "Sizes and draws: the profile's (the ci profile is a smoke test, not a comparison).",
]

FLAGS = flags.FLAGS


def define_flags():
    study_cli.define_common_flags(
        "toggle_activity_study", PROFILES, "Data sizes, model width, epochs, experiment sizes."
    )
    flags.DEFINE_float("eps", 0.03, "FGSM radius of the adversarial examples, [0, 1] pixel units.")


class ToggleStudyReport(StudyReport):
    ANALYSES = ("thresholds", "toggle", "ranking", "coverage")


def create_pipeline(source, profile, pipeline_root, eps=0.03, seed=0, rerun=(), enable_cache=True):
    """Builds the toggle-activity study (see the module docstring) for a profile name."""
    p = PROFILES[profile]
    cache = lambda cid: cid not in rerun  # noqa: E731
    gen = ImageExampleGen(
        source=source, num_train=p.num_train, num_eval=p.num_eval, seed=seed, enable_cache=cache("ImageExampleGen")
    )
    examples = gen.outputs["examples"]
    trainer = Trainer(
        examples=examples,
        model="resnet18",
        model_options={"width": p.width},
        epochs=p.epochs,
        seed=seed,
        enable_cache=cache("Trainer"),
    )
    model = trainer.outputs["model"]
    fgsm = AttackGen(
        model=model,
        examples=examples,
        attack={"class_name": "FGSM", "config": {"eps": eps}},
        splits="eval",
        seed=seed,
        enable_cache=cache("AttackGen"),
    )
    adversarial = fgsm.outputs["adversarial_examples"]
    thresholds = ActivationThresholds(
        model=model, examples=examples, num_examples=p.statistics_examples, enable_cache=cache("ActivationThresholds")
    )
    toggle = ToggleActivity(
        model=model,
        examples=examples,
        adversarial_examples=adversarial,
        thresholds=thresholds.outputs["thresholds"],
        sizes=p.sizes,
        equal_size=p.equal_size,
        draws=p.draws,
        eps_values=p.eps_values,
        eps_examples=p.eps_examples,
        seed=seed,
        enable_cache=cache("ToggleActivity"),
    )
    ranking = NeuralRanking(
        model=model,
        examples=examples,
        adversarial_examples=adversarial,
        num_examples=p.ranking_examples,
        seed=seed,
        enable_cache=cache("NeuralRanking"),
    )
    coverage = NeuronCoverage(
        model=model,
        examples=examples,
        adversarial_examples=adversarial,
        sizes=p.coverage_sizes,
        reference_examples=p.statistics_examples,
        seed=seed,
        enable_cache=cache("NeuronCoverage"),
    )
    report = ToggleStudyReport(
        model=model,
        examples=examples,
        adversarial_examples=adversarial,
        thresholds=thresholds.outputs["thresholds"],
        toggle=toggle.outputs["analysis"],
        ranking=ranking.outputs["analysis"],
        coverage=coverage.outputs["analysis"],
        title="FGSM attack and toggle activity (ResNet-18, CIFAR-10): ours beside the paper",
        profile=profile,
        paper=PAPER,
        protocol=PROTOCOL,
        enable_cache=cache("ToggleStudyReport"),
    )
    components = [gen, trainer, fgsm, thresholds, toggle, ranking, coverage, report]
    return Pipeline("toggle_activity_study", pipeline_root, components, enable_cache=enable_cache)


def main(argv):
    del argv
    study_cli.run_study(
        lambda source: create_pipeline(
            source, FLAGS.profile, FLAGS.pipeline_root, FLAGS.eps, **study_cli.run_options()
        ),
        "ToggleStudyReport",
        "toggle-activity study",
    )


if __name__ == "__main__":
    define_flags()
    app.run(main)
