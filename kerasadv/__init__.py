"""kerasadv: adversarial robustness for Keras 3 image classifiers."""

__version__ = "0.1.0"
