"""models.warm_start: a variant of a trained model starts from its weights, or fails naming the layer."""

import numpy as np
import pytest

from kerasadv import models
from kerasadv.errors import ModelError


def test_a_noise_variant_takes_every_weight_of_the_base():
    base = models.base_cnn(dropout=0.3)
    base.get_layer("bn1_1").moving_mean.assign(np.full(32, 0.5, np.float32))  # non-trainable weights too
    variant = models.warm_start(models.base_cnn(dropout=0.5, noise_stddev=0.05, noise_seed=0), base)
    assert variant.get_layer("gaussian_noise") is not None
    for layer in base.layers:
        for theirs, ours in zip(layer.get_weights(), variant.get_layer(layer.name).get_weights(), strict=True):
            np.testing.assert_array_equal(theirs, ours)


def test_other_shapes_fail_naming_the_layer_and_both_shapes():
    shapes = r"layer 'stem_conv' has weights of shapes \[\(3, 3, 3, 16\)\] in the variant and \[\(3, 3, 3, 8\)\]"
    with pytest.raises(ModelError, match=shapes):
        models.warm_start(models.resnet18(width=16), models.resnet18(width=8))


def test_a_layer_with_weights_in_one_model_only_fails_naming_it():
    with pytest.raises(ModelError, match=r"only in the variant \[.*'conv1_1'.*\], only in the base \['conv1', 'conv2'"):
        models.warm_start(models.base_cnn(), models.simple_cnn())
