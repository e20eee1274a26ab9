"""The ResNet-18 toggle-activity study (paper 000, "FGSM attack and toggle activity") as a pipeline.

ingest -> train ResNet-18 -> FGSM on the eval split -> activation thresholds (binary KDE,
ternary) -> toggle activity (sizes, equal-size sets, eps up to 1) -> neural ranking (clean vs
clean + FGSM, all classes and dogs only) -> neuron coverage -> report beside the paper.

    python -m kerasadv.pipelines.toggle_activity_study                 # --profile quick (CIFAR-10)
    python -m kerasadv.pipelines.toggle_activity_study --profile ci --pipeline_root /tmp/toggle
    python -m kerasadv.pipelines.toggle_activity_study --profile full  # the paper's sizes, full width

Data: the CIFAR-10 archive named by $KERASADV_CIFAR10_TAR (or --data). A second identical run
is served from the cache; `--rerun=ToggleActivity` re-runs one step and what follows it.

The package: `paper` (the paper's figures and our protocol's differences), `components` (the
study's report), `pipeline` (profiles, `create_pipeline`, and what the command line shows).
"""

from kerasadv.pipelines.toggle_activity_study.paper import PAPER
from kerasadv.pipelines.toggle_activity_study.pipeline import PROFILES, create_pipeline

__all__ = ["PAPER", "PROFILES", "create_pipeline"]
