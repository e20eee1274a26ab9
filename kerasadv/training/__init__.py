"""Training: baseline training and adversarial training inside `model.fit`."""

from kerasadv.training.adversarial import AdversarialModel, fast_at_attack, pgd_at_attack
from kerasadv.training.advprop import AdvPropModel
from kerasadv.training.augment import augment
from kerasadv.training.auto_policy import PolicyChoice, choose_dtype_policy, resolve_dtype_policy
from kerasadv.training.awp import AWPModel, TRADESAWPModel, awp_at_attack
from kerasadv.training.baseline import compile_classifier, fit_classifier, train
from kerasadv.training.contrastive import ContrastiveModel
from kerasadv.training.defaults import (
    NO_LABEL_SMOOTHING,
    SCHEDULES,
    TRAINING_DEFAULTS,
    OneCycle,
    TrainingDefaults,
    training_defaults,
)
from kerasadv.training.distribute import STRATEGIES, get_strategy, global_batches
from kerasadv.training.free import FreeAdversarialModel
from kerasadv.training.gaussian_augmentation import GaussianAugmentationModel
from kerasadv.training.mart import MARTModel, mart_attack
from kerasadv.training.mixing import mix_datasets
from kerasadv.training.precision import POLICIES, dtype_policy_name, native_bfloat16, with_dtype_policy
from kerasadv.training.recipes import RECIPE_NAMES, get_recipe, wrap
from kerasadv.training.trades import TRADESModel
from kerasadv.training.wrapper import TrainingWrapper

__all__ = [
    "TrainingWrapper",
    "get_strategy",
    "STRATEGIES",
    "global_batches",
    "get_recipe",
    "wrap",
    "RECIPE_NAMES",
    "AdversarialModel",
    "AdvPropModel",
    "FreeAdversarialModel",
    "TRADESModel",
    "MARTModel",
    "AWPModel",
    "TRADESAWPModel",
    "mart_attack",
    "awp_at_attack",
    "ContrastiveModel",
    "GaussianAugmentationModel",
    "fast_at_attack",
    "pgd_at_attack",
    "mix_datasets",
    "with_dtype_policy",
    "dtype_policy_name",
    "native_bfloat16",
    "choose_dtype_policy",
    "resolve_dtype_policy",
    "PolicyChoice",
    "OneCycle",
    "POLICIES",
    "augment",
    "compile_classifier",
    "fit_classifier",
    "train",
    "TRAINING_DEFAULTS",
    "NO_LABEL_SMOOTHING",
    "SCHEDULES",
    "TrainingDefaults",
    "training_defaults",
]
