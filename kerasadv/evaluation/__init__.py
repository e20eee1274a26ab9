"""Evaluation machinery the pipeline components share: attacked records, the local / Beam engine, blessing rules."""

from kerasadv.evaluation.blessing import blessing_checks, blessing_table, is_blessed
from kerasadv.evaluation.engine import LIVE_ATTACK_COLUMNS, RUNNERS, EvaluationEngine, local_class_counts

__all__ = [
    "EvaluationEngine",
    "LIVE_ATTACK_COLUMNS",
    "RUNNERS",
    "blessing_checks",
    "blessing_table",
    "is_blessed",
    "local_class_counts",
]
