"""Export for TF Serving: a SavedModel with a float-image and an encoded-bytes signature."""

import keras
import tensorflow as tf

from kerasadv.errors import ModelError
from kerasadv.models.logits import check_logits


def export_for_serving(model, directory, image_shape=None):
    """Writes `model` as a SavedModel with two signatures, via `keras.export.ExportArchive`.

    * `serving_default`: `images` float32 (n, h, w, c) in [0, 1] -> `probabilities`, `class_ids`.
    * `serving_bytes`: `image_bytes` (n,) encoded PNG / JPEG strings -> the same outputs;
      decoded and resized in the graph. The input name ends in `_bytes`, so TF Serving's
      REST API accepts `{"instances": [{"image_bytes": {"b64": "..."}}]}`.

    Args:
        model: a Keras logits classifier taking [0, 1] pixels.
        directory: where the SavedModel goes.
        image_shape: `(height, width, channels)` the signatures take where the model's own input
            shape leaves them open (a size-agnostic `keras.Input((None, None, 3))` model); the
            Pusher passes its examples' shape.

    Returns:
        `directory`.

    Raises:
        ModelError: the model ends in softmax (the signatures apply their own), its input shape
            is unknown (a subclassed model: build it with `keras.Input`) or open with no
            `image_shape`, or `image_shape` contradicts it.
    """
    check_logits(model)
    height, width, channels = serving_image_shape(model, image_shape)

    def outputs(images):
        logits = model(images, training=False)
        return {
            "probabilities": tf.nn.softmax(tf.cast(logits, tf.float32)),
            "class_ids": tf.argmax(logits, -1, output_type=tf.int32),
        }

    @tf.function(input_signature=[tf.TensorSpec([None, height, width, channels], tf.float32, name="images")])
    def serving_default(images):
        return outputs(images)

    def decode(data):
        image = tf.io.decode_image(data, channels=channels, expand_animations=False)
        image = tf.image.resize(tf.cast(image, tf.float32), (height, width))
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
