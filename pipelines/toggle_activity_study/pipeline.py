"""The toggle-activity study's pipeline and its profiles.

ingest -> train ResNet-18 -> FGSM on the eval split -> activation thresholds (binary KDE,
ternary) -> toggle activity (sizes, equal-size sets, eps up to 1) -> neural ranking (clean vs
clean + FGSM, all classes and dogs only) -> neuron coverage -> report beside the paper.
"""

import dataclasses

from absl import flags

from kerasadv.components.activation_thresholds import ActivationThresholds
from kerasadv.components.attack_gen import AttackGen
from kerasadv.components.example_gen import ImageExampleGen
from kerasadv.components.neural_ranking import NeuralRanking
from kerasadv.components.neuron_coverage import NeuronCoverage
from kerasadv.components.toggle_activity import ToggleActivity
from kerasadv.components.trainer import Trainer
from kerasadv.orchestration import Pipeline
from kerasadv.pipelines.toggle_activity_study.components import ToggleStudyReport
from kerasadv.training.defaults import NO_LABEL_SMOOTHING


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


SIZES, EPS_VALUES = "5,10,50,100,500,1000", "0,0.01,0.03,0.1,0.3,0.5,1.0"
HEADING = "toggle-activity study"
PROFILE_HELP = "Data sizes, model width, epochs, experiment sizes."
PROFILES = {
    "ci": Profile(600, 200, 8, 1, 200, "5,10,50,100", 100, 2, "0,0.03,0.3,1.0", 20, 50, "10,100"),
    # benchmarks/gpu_suite.sh --smoke: every component runs once on the fewest images it takes (seconds).
    "smoke": Profile(100, 50, 8, 1, 50, "5,10", 20, 1, "0,0.3", 10, 10, "10"),
    # 16 minutes on 2 cores of an Intel Xeon with AMX (14 of them training): a quarter-width ResNet-18
    # (0.7 M weights, 674 training images/s in bfloat16, against 12.5 at full width) trained with its
    # recipe's one-cycle schedule over 10 epochs on all 50,000 images (84.05 %), evaluated on all
    # 10,000 with fewer draws and ranked images than the paper profile; the eps sweep on its 1,000
    # images (the gain shrinks as the set grows: on 100 images 0.176 against 0.031).
    "quick": Profile(None, None, 16, 10, 1000, SIZES, 1000, 5, EPS_VALUES, 1000, 200, "10,100,1000"),
    # 52 minutes on 2 cores of an Intel Xeon with AMX (46 of them training): a half-width ResNet-18
    # (2.8 M weights, about 290 training images/s in bfloat16) trained with its recipe's 16 one-cycle
    # epochs on all 50,000 images, evaluated on all 10,000 with the full analysis sizes.
    "paper": Profile(None, None, 32, 16, 5000, SIZES, 1000, 10, EPS_VALUES, 1000, 1000, "10,100,1000"),
    "full": Profile(None, None, 64, 100, 5000, SIZES, 1000, 10, EPS_VALUES, 1000, 1000, "10,100,1000"),
}


def create_pipeline(source, profile, pipeline_root, eps=0.03, dtype_policy="auto", seed=0, rerun=(), enable_cache=True):
    """Builds the toggle-activity study for a profile name; `eps` is the FGSM radius ([0, 1] pixel units).

    The other arguments and the result are every study's (`study_cli`'s module docstring).
    """
    p = PROFILES[profile]
    gen = ImageExampleGen(source=source, num_train=p.num_train, num_eval=p.num_eval, seed=seed)
    examples = gen.outputs["examples"]
    options = dict(model="resnet18", model_options={"width": p.width}, dtype_policy=dtype_policy)
    # No label smoothing (ResNet-18's recipe has it): it shrinks the logits' margins and can mask the
    # gradients the FGSM examples are made from, which would distort the toggles the study counts.
    trainer = Trainer(examples=examples, **options, epochs=p.epochs, seed=seed, training_options=NO_LABEL_SMOOTHING)
    model = trainer.outputs["model"]
    attack = {"class_name": "FGSM", "config": {"eps": eps}}
    fgsm = AttackGen(model=model, examples=examples, attack=attack, splits="eval", seed=seed)
    paired = dict(model=model, examples=examples, adversarial_examples=fgsm.outputs["adversarial_examples"])
    thresholds = ActivationThresholds(model=model, examples=examples, num_examples=p.statistics_examples)
    toggle = ToggleActivity(
        **paired,
        thresholds=thresholds.outputs["thresholds"],
        sizes=p.sizes,
        equal_size=p.equal_size,
        draws=p.draws,
        eps_values=p.eps_values,
        eps_examples=p.eps_examples,
        seed=seed,
    )
    ranking = NeuralRanking(**paired, num_examples=p.ranking_examples, seed=seed)
    coverage = NeuronCoverage(**paired, sizes=p.coverage_sizes, reference_examples=p.statistics_examples, seed=seed)
    report = ToggleStudyReport(
        **paired,
        thresholds=thresholds.outputs["thresholds"],
        toggle=toggle.outputs["analysis"],
        ranking=ranking.outputs["analysis"],
        coverage=coverage.outputs["analysis"],
        profile=profile,
    )
    components = [gen, trainer, fgsm, thresholds, toggle, ranking, coverage, report]
    return Pipeline("toggle_activity_study", pipeline_root, components, enable_cache=enable_cache, rerun=rerun)


def define_flags():
    """Defines the study's own flags (--eps); returns their names."""
    flags.DEFINE_float("eps", 0.03, "FGSM radius of the adversarial examples, [0, 1] pixel units.")
    return ("eps",)
