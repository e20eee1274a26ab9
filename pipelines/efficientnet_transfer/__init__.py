"""The EfficientNet-B0 -> simple CNN transfer study (paper 004) as a pipeline.

ingest -> EfficientNet-B0 (source) and the Keras simple deep CNN (target) -> untargeted
iterative FGS (0.01 x sign(grad) per step, until misclassified) on the source over train and
test -> transfer: the target's accuracy and loss on both test sets, its confidence where the
transfer succeeds / fails -> the target retrained on the adversarial training set -> Gaussian
filter std sweep for both networks -> evaluation and blessing (no worse than the original on
both sets) -> push for TF Serving -> report beside the paper.

    python -m kerasadv.pipelines.efficientnet_transfer                 # --profile quick (CIFAR-10)
    python -m kerasadv.pipelines.efficientnet_transfer --profile ci --pipeline_root /tmp/transfer
    python -m kerasadv.pipelines.efficientnet_transfer --profile full  # the paper's sizes, long on CPU

A second identical run is served from the cache; `--rerun=FilterSweep` re-runs one step and what follows it.

The package: `paper` (the paper's figures, our protocol's differences), `components`
(TransferAnalysis and the study's report), `pipeline` (profiles, the attack, `create_pipeline`,
and what the command line shows).
"""

from kerasadv.pipelines.efficientnet_transfer.paper import PAPER
from kerasadv.pipelines.efficientnet_transfer.pipeline import PROFILES, create_pipeline

__all__ = ["PAPER", "PROFILES", "create_pipeline"]
