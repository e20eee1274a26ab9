"""Keras callbacks for adversarial training and evaluation (they write into `logs`)."""

from kerasadv.callbacks.adversarial_examples import AdversarialExamples, example_grid
from kerasadv.callbacks.epsilon_schedule import EpsilonSchedule, linear_ramp
from kerasadv.callbacks.robust_accuracy import RobustAccuracy
from kerasadv.callbacks.toggle_activity_monitor import ToggleActivityMonitor

__all__ = [
    "RobustAccuracy",
    "EpsilonSchedule",
    "linear_ramp",
    "AdversarialExamples",
    "example_grid",
    "ToggleActivityMonitor",
]
