"""Serializable layers: preprocessing, defenses, contrastive latent head."""

from kerasadv.layers.bpda import Preprocessing, with_bpda
from kerasadv.layers.contrastive import ContrastiveHead, NearestPrototypes, pairwise_contrastive_loss
from kerasadv.layers.gaussian_blur import GaussianBlur, gaussian_filter
from kerasadv.layers.gaussian_noise_defense import GaussianNoiseDefense
from kerasadv.layers.imagenet_preprocessing import ImageNetPreprocessing

__all__ = [
    "ImageNetPreprocessing",
    "GaussianNoiseDefense",
    "GaussianBlur",
    "Preprocessing",
    "with_bpda",
    "gaussian_filter",
    "ContrastiveHead",
    "NearestPrototypes",
    "pairwise_contrastive_loss",
]
