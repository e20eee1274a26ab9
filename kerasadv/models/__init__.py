"""Model builders: [0, 1] pixels in, logits out, preprocessing inside, stable layer names."""

from kerasadv.errors import ModelError
from kerasadv.models.applications import efficientnet_b0, vgg16
from kerasadv.models.base_cnn import base_cnn
from kerasadv.models.flops import forward_flops, layer_flops, training_flops
from kerasadv.models.logits import check_logits, ends_in_softmax, logits_model, num_classes
from kerasadv.models.resnet18 import resnet18
from kerasadv.models.simple_cnn import simple_cnn
from kerasadv.models.structure import check_structure
from kerasadv.models.warm_start import warm_start

BUILDERS = {
    "simple_cnn": simple_cnn,
    "base_cnn": base_cnn,
    "resnet18": resnet18,
    "vgg16": vgg16,
    "efficientnet_b0": efficientnet_b0,
}


def build(name, input_shape=(32, 32, 3), num_classes=10, **kwargs):
    """Builds model `name` (a key of `BUILDERS`) for the given input shape and classes.

    Example:
    >>> build("simple_cnn", (28, 28, 1)).input_shape
    (None, 28, 28, 1)
    """
    if name not in BUILDERS:
        raise ModelError(f"Unknown model {name!r}: expected one of {sorted(BUILDERS)}.")
    return BUILDERS[name](tuple(input_shape), num_classes, **kwargs)


__all__ = [
    "BUILDERS",
    "build",
    "simple_cnn",
    "base_cnn",
    "resnet18",
    "vgg16",
    "efficientnet_b0",
    "logits_model",
    "check_logits",
    "ends_in_softmax",
    "num_classes",
    "check_structure",
    "forward_flops",
    "training_flops",
    "layer_flops",
    "warm_start",
]
