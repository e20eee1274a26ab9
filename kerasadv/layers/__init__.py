"""Serializable layers: preprocessing, defenses, probes."""

from kerasadv.layers.imagenet_preprocessing import ImageNetPreprocessing

__all__ = ["ImageNetPreprocessing"]
