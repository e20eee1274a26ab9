"""FLOPs per image, counted from the layers: hand-computed models, nested twins, the CIFAR builders."""

import math

import keras
import pytest

from kerasadv import models
from kerasadv.errors import ModelError
from kerasadv.models.flops import forward_flops, layer_flops, training_flops

L = keras.layers


def test_conv_and_dense_by_hand():
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            L.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="conv"),
            L.Flatten(name="flatten"),
            L.Dense(5, name="dense"),
        ]
    )
    conv = 2 * (4 * 4) * (3 * 3 * 3 * 4) + 2 * (4 * 4 * 4)  # multiply-adds at 4x4 positions; bias and relu
    dense = 2 * 64 * 5 + 5
    assert layer_flops(model) == {"conv": conv, "flatten": 0, "dense": dense}
    assert forward_flops(model) == conv + dense
    assert forward_flops(model, elementwise=False) == 2 * 16 * 108 + 2 * 64 * 5
    assert training_flops(model) == 3 * (conv + dense)


def test_groups_depthwise_separable_and_transposed_by_hand():
    image = keras.Input((6, 6, 4))
    grouped = L.Conv2D(8, 3, groups=2, use_bias=False, name="grouped")(image)  # 4x4 out, kernel 3x3x2x8
    depthwise = L.DepthwiseConv2D(3, depth_multiplier=2, use_bias=False, name="depthwise")(grouped)  # 2x2x16
    separable = L.SeparableConv2D(3, 1, use_bias=False, name="separable")(depthwise)  # 1x1x16x1 + 1x1x16x3
    transposed = L.Conv2DTranspose(2, 2, strides=2, use_bias=False, name="transposed")(separable)  # 2x2 in
    model = keras.Model(image, transposed)
    assert layer_flops(model) == {
        "grouped": 2 * 16 * (3 * 3 * 2 * 8),
        "depthwise": 2 * 4 * (3 * 3 * 8 * 2),
        "separable": 2 * 4 * (16 + 16 * 3),
        "transposed": 2 * 4 * (2 * 2 * 3 * 2),
    }


def test_elementwise_conventions():
    image = keras.Input((4, 4, 2))
    x = L.Rescaling(2.0, name="scale")(image)
    y = L.BatchNormalization(name="bn")(x)
    z = L.Add(name="add")([x, y, L.ReLU(name="relu")(y)])
    pooled = L.GlobalAveragePooling2D(name="gap")(L.MaxPooling2D(name="pool")(z))
    flops = layer_flops(keras.Model(image, pooled))
    assert flops == {"scale": 64, "bn": 128, "relu": 32, "add": 64, "pool": 32, "gap": 8}
    assert forward_flops(keras.Model(image, pooled), elementwise=False) == 0


def test_simple_cnn_against_a_hand_calculation():
    convs = [(32, 3, 32), (30, 32, 32), (15, 32, 64), (13, 64, 64)]  # (output side, in, out): same, valid, ...
    conv = sum(2 * side * side * 3 * 3 * cin * cout + 2 * side * side * cout for side, cin, cout in convs)
    pools = 4 * (15 * 15 * 32) + 4 * (6 * 6 * 64)  # 2x2 windows
    dense = (2 * 2304 * 512 + 2 * 512) + (2 * 512 * 10 + 10)  # dense1 with bias and relu; logits with bias
    assert conv + pools + dense == 41_694_858
    assert forward_flops(models.simple_cnn()) == conv + pools + dense


def _backbone_layers():
    return [
        L.Conv2D(4, 3, padding="same", use_bias=False, name="conv1"),
        L.BatchNormalization(name="bn1"),
        L.ReLU(name="relu1"),
        L.DepthwiseConv2D(3, padding="same", activation="relu", name="conv2"),
    ]


def _head(x):
    return L.Dense(3, name="logits")(L.GlobalAveragePooling2D(name="pool")(x))


def test_nested_model_equals_its_flat_twin():
    conv1, bn1, relu1, conv2 = _backbone_layers()
    inner = keras.Input((8, 8, 3))
    features = relu1(bn1(conv1(inner)))
    backbone = keras.Model(inner, L.Add(name="add")([features, conv2(features)]), name="backbone")
    image = keras.Input((8, 8, 3))
    nested = keras.Model(image, _head(backbone(image)))
    conv1, bn1, relu1, conv2 = _backbone_layers()
    flat_image = keras.Input((8, 8, 3))
    flat_features = relu1(bn1(conv1(flat_image)))
    flat = keras.Model(flat_image, _head(L.Add(name="add")([flat_features, conv2(flat_features)])))
    assert list(layer_flops(nested)) == ["backbone/conv1", "backbone/bn1", "backbone/relu1", "backbone/conv2"] + [
        "backbone/add",
        "pool",
        "logits",
    ]
    assert forward_flops(nested) == forward_flops(flat) > 0
    assert list(layer_flops(nested).values()) == list(layer_flops(flat).values())


def test_nested_sequential_inside_a_functional_model():
    inner = keras.Sequential([keras.Input((6, 6, 2)), L.Conv2D(3, 3, use_bias=False, name="conv")], name="inner")
    image = keras.Input((6, 6, 2))
    model = keras.Model(image, L.Flatten(name="flat")(inner(image)))
    assert layer_flops(model) == {"inner/conv": 2 * 16 * (3 * 3 * 2 * 3), "flat": 0}


@pytest.mark.parametrize(
    ("name", "options", "low", "high"),
    [("efficientnet_b0", {}, 5e6, 5e7), ("resnet18", {"width": 8}, 5e6, 5e7)],
)
def test_cifar_builders_give_positive_finite_counts(name, options, low, high):
    flops = forward_flops(models.build(name, (32, 32, 3), 10, **options))
    assert math.isfinite(flops)
    assert low < flops < high


def test_resnet18_scales_with_width_squared():
    narrow = forward_flops(models.build("resnet18", width=8), elementwise=False)
    wide = forward_flops(models.build("resnet18", width=16), elementwise=False)
    assert 3.9 < wide / narrow < 4.0  # the convolutions scale by 4, the 3-channel stem and the head by less


def test_unbuilt_model_raises():
    model = keras.Sequential([L.Dense(2)], name="unbuilt")
    with pytest.raises(ModelError, match="'unbuilt' is not built"):
        forward_flops(model)


def test_subclassed_model_raises():
    class Tiny(keras.Model):
        def __init__(self):
            super().__init__(name="tiny")
            self.dense = L.Dense(2, name="dense")

        def call(self, x):
            return self.dense(x)

    model = Tiny()
    model(keras.ops.ones((1, 3)))
    with pytest.raises(ModelError, match="'dense' has no built output"):
        forward_flops(model)


def test_unknown_image_size_raises():
    image = keras.Input((None, None, 3))
    model = keras.Model(image, L.Conv2D(2, 3, name="conv")(image))
    with pytest.raises(ModelError, match="'conv' has output shape .*unknown axes"):
        forward_flops(model)
