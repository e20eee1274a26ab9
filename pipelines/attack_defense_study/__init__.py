"""The base-CNN attack / defense study (paper 001, "Adversarial Networks") as a pipeline.

ingest -> base CNN, adversarial training vs FGSM and vs PGD, Gaussian-noise models (after the
first conv, between the dense layers), a contrastive latent model -> evaluations (FGSM / PGD
accuracy on the correctly classified images, FGSM eps sweeps, confidences) -> the paper's
tables -> 1-NN in the latent space -> FGSM examples of the base model -> report beside the paper.

    python -m kerasadv.pipelines.attack_defense_study                  # --profile quick (CIFAR-10)
    python -m kerasadv.pipelines.attack_defense_study --profile ci --pipeline_root /tmp/attack_defense
    python -m kerasadv.pipelines.attack_defense_study --profile paper  # all of CIFAR-10, about 85 min on 2 cores
    python -m kerasadv.pipelines.attack_defense_study --profile full   # the GPU profile

A second identical run is served from the cache; `--rerun=LatentSpace` re-runs one step and what follows it.

The package: `paper` (the paper's tables and figures, our protocol's differences), `components`
(AttackDefenseTables, LatentSpace and the study's report), `pipeline` (profiles,
`create_pipeline`, and what the command line shows).
"""

from kerasadv.pipelines.attack_defense_study.paper import PAPER
from kerasadv.pipelines.attack_defense_study.pipeline import PROFILES, create_pipeline

__all__ = ["PAPER", "PROFILES", "create_pipeline"]
