"""Warm starts: a variant of a trained model (another layer without weights, another dropout rate)
starts from the trained model's weights, layer by layer."""

from kerasadv.errors import ModelError
from kerasadv.models.graph import leaf_layers


def _weighted_layers(model):
    return {path: layer for path, layer in leaf_layers(model) if layer.weights}


def warm_start(model, base):
    """Copies `base`'s weights into the layers of `model` that have the same names.

    How a variant fine-tunes from a trained model: the base CNN with a Gaussian-noise layer
    (which has no weights) or another dropout rate starts where the trained base CNN ended.
    Both models must have the same layers with weights, under the same names and with weights
    of the same shapes; layers without weights (noise, dropout) may differ.

    Args:
        model: the built variant, filled in place.
        base: the trained model.

    Returns:
        `model`, holding the base's weights.

    Raises:
        ModelError: a layer with weights that only one of the models has, or whose weights
            have other shapes in the other.

    Example:
    >>> from kerasadv.models import base_cnn
    >>> base = base_cnn()
    >>> noisy = warm_start(base_cnn(noise_stddev=0.05), base)
    >>> bool((noisy.get_layer("logits").kernel.numpy() == base.get_layer("logits").kernel.numpy()).all())
    True
    """
    targets, sources = _weighted_layers(model), _weighted_layers(base)
    if targets.keys() != sources.keys():
        only_model, only_base = sorted(targets.keys() - sources.keys()), sorted(sources.keys() - targets.keys())
        raise ModelError(
            f"warm start of {model.name!r} from {base.name!r}: layers with weights only in the variant "
            f"{only_model}, only in the base {only_base}; expected the same layers with weights."
        )
    for path, layer in targets.items():
        shapes = [tuple(w.shape) for w in layer.weights]
        base_shapes = [tuple(w.shape) for w in sources[path].weights]
        if shapes != base_shapes:
            raise ModelError(
                f"warm start of {model.name!r} from {base.name!r}: layer {path!r} has weights of shapes "
                f"{shapes} in the variant and {base_shapes} in the base; expected the same."
            )
        layer.set_weights(sources[path].get_weights())
    return model
