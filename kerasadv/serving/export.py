"""Export for TF Serving: a SavedModel with a float-image and an encoded-bytes signature."""

import keras
import tensorflow as tf

from kerasadv.errors import KerasAdvError, ModelError
from kerasadv.models.logits import check_logits, num_classes
from kerasadv.models.structure import check_structure
from kerasadv.serving.headers import check_encoded_image

# 16.8 million pixels: a 12 MP phone photo (4032 x 3024) or a 4K frame passes; decoding one image
# at the limit takes at most 64 MB (4 channels of uint8) and well under a second on one core, and
# the signature resizes it to the model's input at once. A 20,000 x 20,000 PNG (1 MB sent) would
# take 1.6 GB and many seconds: it is refused from its header.
DEFAULT_MAX_IMAGE_PIXELS = 4096 * 4096


def export_for_serving(model, directory, image_shape=None, max_image_pixels=DEFAULT_MAX_IMAGE_PIXELS):
    """Writes `model` as a SavedModel with two signatures, via `keras.export.ExportArchive`.

    * `serving_default`: `images` float32 (n, h, w, c) in [0, 1] -> `probabilities`, `class_ids`.
      Images of another size, NaN or outside [0, 1] (0..255 pixels) are refused.
    * `serving_bytes`: `image_bytes` (n,) encoded PNG / JPEG / GIF / BMP / WebP strings -> the
      same outputs; decoded and resized in the graph. The input name ends in `_bytes`, so TF
      Serving's REST API accepts `{"instances": [{"image_bytes": {"b64": "..."}}]}`. An image of
      more than `max_image_pixels` pixels is refused from its header, before it is decoded.

    An empty batch gives empty outputs. A refused request raises `InvalidArgumentError` (TF
    Serving answers it with HTTP 400) with a message saying what was expected.

    Args:
        model: a Keras logits classifier taking [0, 1] pixels: one image input, one output of
            shape (n, classes) with at least 2 classes.
        directory: where the SavedModel goes.
        image_shape: `(height, width, channels)` the signatures take where the model's own input
            shape leaves them open (a size-agnostic `keras.Input((None, None, 3))` model); the
            Pusher passes its examples' shape.
        max_image_pixels: the largest width x height `serving_bytes` decodes
            (default `DEFAULT_MAX_IMAGE_PIXELS`, 4096 * 4096).

    Returns:
        `directory`.

    Raises:
        ModelError: the model ends in softmax (the signatures apply their own), takes several
            inputs or gives several outputs (a list or dict), has a single logit, its input
            shape is unknown (a subclassed model: build it with `keras.Input`) or open with no
            `image_shape`, or `image_shape` contradicts it.
        KerasAdvError: `max_image_pixels` is not a positive integer.

    Example:
    >>> import tempfile
    >>> model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3)])
    >>> loaded = tf.saved_model.load(export_for_serving(model, tempfile.mkdtemp()))
    >>> loaded.signatures["serving_default"](images=tf.zeros((2, 8, 8, 3)))["probabilities"].shape
    TensorShape([2, 3])
    """
    check_single_classifier(model)
    check_logits(model)
    height, width, channels = serving_image_shape(model, image_shape)
    max_image_pixels = _pixel_limit(max_image_pixels)
    classes = num_classes(model)

    def outputs(images):
        def classify():
            logits = tf.cast(model(images, training=False), tf.float32)
            return tf.nn.softmax(logits), tf.argmax(logits, -1, output_type=tf.int32)

        def nothing():  # some kernels (oneDNN's fused Conv2D) fail on an empty batch
            return tf.zeros([0, classes], tf.float32), tf.zeros([0], tf.int32)

        probabilities, class_ids = tf.cond(tf.shape(images)[0] > 0, classify, nothing)
        return {"probabilities": probabilities, "class_ids": class_ids}

    @tf.function(input_signature=[tf.TensorSpec([None, height, width, channels], tf.float32, name="images")])
    def serving_default(images):
        return outputs(checked_pixels(images, (height, width, channels)))

    def decode(data):
        data = check_encoded_image(data, max_image_pixels)
        image = tf.io.decode_image(data, channels=channels, expand_animations=False)
        image = tf.image.resize(image, (height, width))  # from uint8: no full-size float copy
        return tf.clip_by_value(image / 255.0, 0.0, 1.0)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def serving_bytes(image_bytes):
        images = tf.map_fn(
            decode, image_bytes, fn_output_signature=tf.TensorSpec([height, width, channels], tf.float32)
        )
        return outputs(images)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", serving_default)
    archive.add_endpoint("serving_bytes", serving_bytes)
    archive.write_out(directory, verbose=False)
    return directory


def checked_pixels(images, shape, name="serving_default"):
    """`images` once they are (n, *shape), finite and in [0, 1]; raises `InvalidArgumentError` otherwise.

    Args:
        images: a float32 batch.
        shape: the expected `(height, width, channels)`.
        name: the signature, for the messages.

    Returns:
        `images`, with the checks as control dependencies.

    Example:
    >>> checked_pixels(tf.fill((1, 2, 2, 1), 255.0), (2, 2, 1))
    Traceback (most recent call last):
    ...
    tensorflow.python.framework.errors_impl.InvalidArgumentError: ... got 0 NaN values and values in [255, 255]...
    """
    expected = "(n, " + ", ".join(str(v) for v in shape) + ")"
    given = tf.pad(tf.shape(images)[1:], [[0, 3]])[:3]  # any rank: compared without a shape error
    shape_check = tf.debugging.Assert(
        tf.logical_and(tf.equal(tf.rank(images), 4), tf.reduce_all(tf.equal(given, shape))),
        [
            tf.strings.format(
                name + ": images of shape {} given; expected " + expected + ". Resize them, or send encoded "
                "images to serving_bytes, which resizes.",
                tf.shape(images),
            )
        ],
    )
    with tf.control_dependencies([shape_check]):
        nans = tf.reduce_sum(tf.cast(tf.math.is_nan(images), tf.int32))
        range_check = tf.debugging.Assert(
            tf.reduce_all((images >= 0.0) & (images <= 1.0)),
            [
                tf.strings.format(
                    name + ": expected float32 pixels in [0, 1]; got {} NaN values and values in [{}, {}]. "
                    "Divide 0..255 pixels by 255; replace NaN.",
                    (nans, tf.reduce_min(images), tf.reduce_max(images)),
                )
            ],
        )
    with tf.control_dependencies([range_check]):
        return tf.identity(images)


def check_single_classifier(model):
    """Raises `ModelError` unless `model` takes one input and gives one (n, classes) output.

    The check is `models.structure.check_structure` (the one every entry point runs), its
    message prefixed with what refused the model.

    Example:
    >>> inputs = keras.Input((4,))
    >>> check_single_classifier(keras.Model(inputs, [keras.layers.Dense(2)(inputs), keras.layers.Dense(3)(inputs)]))
    Traceback (most recent call last):
    ...
    kerasadv.errors.ModelError: Cannot export 'functional...': ... returns 2 outputs; kerasadv needs ...
    """
    try:
        check_structure(model)
    except ModelError as error:
        raise ModelError(f"Cannot export {model.name!r}: {error}") from None


def _pixel_limit(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise KerasAdvError(
            f"max_image_pixels must be a positive integer (width x height), got {value!r}; "
            f"the default is {DEFAULT_MAX_IMAGE_PIXELS} (4096 * 4096)."
        )
    return value


def write_warmup_requests(directory, images, model_name):
    """Writes TF Serving's warm-up file when `tensorflow-serving-api` is installed.

    Returns:
        True when written, False when the package is missing.
    """
    try:
        from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2
    except ImportError:
        return False
    import os

    from kerasadv.orchestration import writer

    request = predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(name=model_name, signature_name="serving_default")
    )
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(images, tf.float32))
    log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))

    def write(path):
        with tf.io.TFRecordWriter(path) as records:
            records.write(log.SerializeToString())

    writer.write_with(os.path.join(directory, "assets.extra", "tf_serving_warmup_requests"), write)
    return True


def serving_image_shape(model, image_shape=None):
    """`(height, width, channels)` of the serving signatures: the model's, its open sizes from `image_shape`.

    Example:
    >>> pooled = [keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)]
    >>> model = keras.Sequential([keras.Input((None, None, 3)), *pooled])
    >>> serving_image_shape(model, (8, 8, 3))
    (8, 8, 3)
    """
    shape = getattr(model, "input_shape", None)
    if not isinstance(shape, tuple) or len(shape) != 4:
        raise ModelError(
            f"Cannot export {model.name!r} ({type(model).__name__}, subclassed?): its input shape is "
            "unknown; the serving signatures need (height, width, channels). Build it with keras.Input."
        )
    given = tuple(image_shape) if image_shape is not None else (None, None, None)
    if any(m is not None and g is not None and m != g for m, g in zip(shape[1:], given)):
        raise ModelError(f"image_shape {given} contradicts the input shape {shape[1:]} of {model.name!r}.")
    resolved = tuple(m if m is not None else g for m, g in zip(shape[1:], given))
    if None in resolved:
        raise ModelError(
            f"Cannot export {model.name!r}: its input shape {shape[1:]} leaves sizes open and no image_shape "
            "fills them; the serving signatures need (height, width, channels). Give the Pusher its "
            "examples (it uses their image shape) or pass image_shape=(height, width, channels)."
        )
    return tuple(int(v) for v in resolved)
