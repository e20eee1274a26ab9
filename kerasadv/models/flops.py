"""FLOPs of one image through a Keras classifier, counted from its layers.

The count is analytic: each layer's FLOPs follow from its weights' shapes and its built output
shape (`layer.output.shape`; a nested model's layers have their own), so nothing runs. A
multiply-add counts 2 FLOPs.

| layer | FLOPs per image |
|---|---|
| `Conv1D/2D/3D` (strides, dilation, groups) | 2 x output positions x kernel size (`kh x kw x in/groups x out`) |
| `Conv*Transpose` | 2 x input positions x kernel size |
| `DepthwiseConv2D` | 2 x output positions x `kh x kw x in x multiplier` |
| `SeparableConv2D` | the depthwise step plus the pointwise (1x1) step, both at the output positions |
| `Dense` | 2 x `in x units` (per position where the input has more than one axis) |
| a bias, a fused activation | 1 per output element each |
| `BatchNormalization`, `LayerNormalization` | 4 per element: 2 for the statistics, 2 to normalise, scale and shift |
| activation layers (`ReLU`, `Activation`, `Softmax`, ...) | 1 per element, whatever the function |
| `Rescaling`, `Normalization` | 2 per element (a multiply and an add) |
| pooling (`MaxPooling2D`, ...) | 1 per window element per output element |
| global pooling | 1 per input element |
| `Add`, `Subtract`, `Multiply`, `Maximum`, ... | inputs - 1 per output element |
| anything else (`Dropout`, `Flatten`, padding, resizing, custom layers) | 0 |

All rows but the first four are the element-wise ones (`elementwise=False` leaves them out:
the count of the work that runs on the multiply-add units). A layer shared by several calls is
counted once.

Training costs `TRAINING_MULTIPLIER` = 3 forward passes per image: the forward pass, the
gradient with respect to each layer's input (one more pass's multiply-adds) and the gradient
with respect to its weights (one more). The optimizer's update, per weight not per image, is
not counted.
"""

import math

import keras

from kerasadv.errors import ModelError
from kerasadv.models.graph import leaf_layers

TRAINING_MULTIPLIER = 3
"""Training FLOPs per image over forward FLOPs: forward + gradients w.r.t. activations + w.r.t. weights."""

L = keras.layers
CONVOLUTIONS = (L.Conv1D, L.Conv2D, L.Conv3D)
TRANSPOSED = (L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose)
NORMALIZATIONS = (L.BatchNormalization, L.LayerNormalization)
ACTIVATIONS = (L.ReLU, L.Activation, L.LeakyReLU, L.PReLU, L.ELU, L.Softmax)
AFFINE = (L.Rescaling, L.Normalization)
POOLING = (L.MaxPooling1D, L.MaxPooling2D, L.MaxPooling3D, L.AveragePooling1D, L.AveragePooling2D, L.AveragePooling3D)
GLOBAL_POOLING = (
    L.GlobalAveragePooling1D,
    L.GlobalAveragePooling2D,
    L.GlobalAveragePooling3D,
    L.GlobalMaxPooling1D,
    L.GlobalMaxPooling2D,
    L.GlobalMaxPooling3D,
)
MERGES = (L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum, L.Minimum)


def forward_flops(model, elementwise=True):
    """FLOPs of one image's forward pass through `model` (the conventions of the module's table).

    Args:
        model: a built functional or Sequential Keras model; nested models are opened.
        elementwise: also count the element-wise layers (normalisation, activations, pooling,
            merges, bias adds); False counts only convolutions and dense layers.

    Returns:
        An int.

    Raises:
        ModelError: the model is not built, or a layer has no built output of known shape
            (a subclassed model, or inputs of unknown height and width).

    Example:
    >>> model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
    ...                           keras.layers.Dense(3, use_bias=False)])
    >>> forward_flops(model)  # conv: 2 x 2x2 positions x 3x3x1x2 + bias 8; dense: 2 x 8 x 3
    200
    """
    return sum(layer_flops(model, elementwise).values())


def training_flops(model, elementwise=True):
    """FLOPs of one image's training step: `TRAINING_MULTIPLIER` (3) x `forward_flops`.

    Args and raises as `forward_flops`.

    Returns:
        An int.

    Example:
    >>> model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(2, use_bias=False)])
    >>> training_flops(model)
    60
    """
    return TRAINING_MULTIPLIER * forward_flops(model, elementwise)


def layer_flops(model, elementwise=True):
    """`{path: forward FLOPs per image}` of `model`'s layers, nested models opened (paths as `graph.leaf_layers`).

    Args and raises as `forward_flops`.

    Returns:
        A dict of ints, in layer order.

    Example:
    >>> model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(2, activation="relu", name="d")])
    >>> layer_flops(model)  # 2 x 5 x 2 multiply-adds, 2 bias adds, 2 relus
    {'d': 24}
    """
    if not model.built:
        raise ModelError(
            f"Model {model.name!r} is not built: its layers have no shapes to count FLOPs from; expected a model "
            "built on keras.Input(shape) (or built with model.build(input_shape))."
        )
    return {path: _flops(layer, path, elementwise) for path, layer in leaf_layers(model)}


def _flops(layer, path, elementwise):
    """Forward FLOPs per image of one (leaf) layer."""
    output = _shape(layer, "output", path)
    elements = math.prod(output)
    if isinstance(layer, (*CONVOLUTIONS, L.DepthwiseConv2D, L.SeparableConv2D, L.Dense, *TRANSPOSED)):
        extra = elements * (_has_bias(layer) + _has_activation(layer)) if elementwise else 0
        return _multiply_adds(layer, path, output) * 2 + extra
    return _elementwise(layer, path, elements) if elementwise else 0


def _multiply_adds(layer, path, output):
    """Multiply-adds per image of a convolution or dense layer."""
    if isinstance(layer, L.SeparableConv2D):
        kernel = _size(layer.depthwise_kernel) + _size(layer.pointwise_kernel)
    else:
        kernel = _size(layer.kernel)
    if isinstance(layer, TRANSPOSED):  # each input position scatters the whole kernel
        return _positions(layer, _shape(layer, "input", path)) * kernel
    return _positions(layer, output) * kernel


def _elementwise(layer, path, elements):
    """FLOPs per image of an element-wise layer (0 for the kinds the table does not list)."""
    if isinstance(layer, NORMALIZATIONS):
        return 4 * elements
    if isinstance(layer, AFFINE):
        return 2 * elements
    if isinstance(layer, ACTIVATIONS):
        return elements
    if isinstance(layer, POOLING):
        return math.prod(layer.pool_size) * elements
    if isinstance(layer, GLOBAL_POOLING):
        return math.prod(_shape(layer, "input", path))
    if isinstance(layer, MERGES):
        return (len(layer.input) - 1) * elements
    return 0


def _positions(layer, shape):
    """Spatial positions of a per-image shape (all axes but the channels); 1 for a vector."""
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        return math.prod(shape[1:])
    return math.prod(shape[:-1])


def _size(variable):
    return math.prod(variable.shape)


def _has_bias(layer):
    return int(bool(getattr(layer, "use_bias", False)))


def _has_activation(layer):
    activation = getattr(layer, "activation", None)
    return int(activation is not None and activation is not keras.activations.linear)


def _shape(layer, which, path):
    """The per-image shape (batch axis dropped) of `layer.output` or `layer.input` (a merge's first input)."""
    try:
        tensor = getattr(layer, which)
    except (AttributeError, ValueError) as error:
        raise ModelError(
            f"Layer {path!r} has no built {which} ({error}); expected a functional or Sequential model built on "
            "keras.Input (a subclassed model's layers form no graph to read shapes from)."
        ) from error
    if isinstance(tensor, (list, tuple)):
        tensor = tensor[0]
    shape = tuple(tensor.shape[1:])
    if any(dim is None for dim in shape):
        raise ModelError(
            f"Layer {path!r} has {which} shape {(None, *shape)} with unknown axes; expected a fixed image size, "
            "e.g. a backbone built with input_shape=(32, 32, 3)."
        )
    return shape
