"""Training: baseline training and adversarial training inside `model.fit`."""

from kerasadv.training.adversarial import AdversarialModel, fast_at_attack, pgd_at_attack
from kerasadv.training.advprop import AdvPropModel
from kerasadv.training.augment import augment
from kerasadv.training.baseline import compile_classifier, fit_classifier, train
from kerasadv.training.contrastive import ContrastiveModel, plot_latent_space
from kerasadv.training.defaults import TRAINING_DEFAULTS, TrainingDefaults, training_defaults
from kerasadv.training.distribute import STRATEGIES, get_strategy, global_batches
from kerasadv.training.free import FreeAdversarialModel
from kerasadv.training.mixing import mix_datasets
from kerasadv.training.precision import POLICIES, dtype_policy_name, with_dtype_policy
from kerasadv.training.recipes import RECIPE_NAMES, get_recipe, wrap
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
    "ContrastiveModel",
    "plot_latent_space",
    "fast_at_attack",
    "pgd_at_attack",
    "mix_datasets",
    "with_dtype_policy",
    "dtype_policy_name",
    "POLICIES",
    "augment",
    "compile_classifier",
    "fit_classifier",
    "train",
    "TRAINING_DEFAULTS",
    "TrainingDefaults",
    "training_defaults",
]
