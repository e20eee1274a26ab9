"""Serving payload matrix: what a client sends x both signatures of one exported model.

Each cell works (the probabilities equal the model's on the image TensorFlow decodes) or is
refused with an `InvalidArgumentError` whose message says what was expected. Oversized images
are refused from their headers: no test decodes a bomb.
"""

import io
import struct
import time
import zlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image  # matplotlib's dependency

from kerasadv import serving
from kerasadv.errors import KerasAdvError, ModelError
from kerasadv.serving.export import DEFAULT_MAX_IMAGE_PIXELS

SIZE = 8
BOMB = 20000  # 20,000 x 20,000 = 400 million pixels claimed by a few bytes


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIZE, SIZE, 3))
    features = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    features = keras.layers.Conv2D(4, 3, padding="same")(features)  # a second Conv2D failed on empty batches
    return keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Flatten()(features)))


@pytest.fixture(scope="module")
def signatures(model, tmp_path_factory):
    directory = serving.export_for_serving(model, str(tmp_path_factory.mktemp("serving") / "model"))
    return tf.saved_model.load(directory).signatures


def pixels(seed=0, size=SIZE, channels=3):
    shape = (size, size, channels) if channels > 1 else (size, size)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def encoded(array, fmt, **options):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **options)
    return buffer.getvalue()


def animated(fmt, **options):
    frames = [Image.fromarray(pixels(seed)) for seed in (1, 2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:], **options)
    return buffer.getvalue()


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_bomb(width=BOMB, height=BOMB):
    """A valid IHDR claiming `width` x `height` and a tiny IDAT: about 100 bytes."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + png_chunk(b"IEND", b"")


def patched(data, offset, fmt, *values):
    data = bytearray(data)
    data[offset : offset + struct.calcsize(fmt)] = struct.pack(fmt, *values)
    return bytes(data)


def jpeg_bomb():
    data = encoded(pixels(), "JPEG")
    sof = data.index(b"\xff\xc0")  # baseline frame header: length, precision, height, width (big-endian)
    return patched(data, sof + 5, ">HH", BOMB, BOMB)


def gif_frame_bomb():
    """An 8 x 8 logical screen whose one frame claims 20,000 x 20,000 (decoders allocate the frame)."""
    screen = b"GIF89a" + struct.pack("<HHBBB", SIZE, SIZE, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    return screen + b"\x2c" + struct.pack("<HHHHB", 0, 0, BOMB, BOMB, 0) + b"\x02\x01\x2c\x00;"


def webp_bomb():
    data = encoded(pixels(), "WEBP", lossless=True)
    assert data[12:16] == b"VP8L"
    bits = (16383 - 1) | (16383 - 1) << 14  # 14-bit width - 1, height - 1: 16,383 x 16,383
    return patched(data, 21, "<I", bits | (struct.unpack("<I", data[21:25])[0] & ~((1 << 28) - 1)))


WORKS = {
    "png": lambda: encoded(pixels(), "PNG"),
    "png_grayscale": lambda: encoded(pixels(channels=1), "PNG"),
    "png_rgba": lambda: encoded(pixels(channels=4), "PNG"),
    "png_16x16_resized": lambda: encoded(pixels(size=16), "PNG"),
    "jpeg": lambda: encoded(pixels(), "JPEG"),
    "gif": lambda: encoded(pixels(), "GIF"),
    "gif_animated_first_frame": lambda: animated("GIF"),
    "bmp": lambda: encoded(pixels(), "BMP"),
    "webp_lossy": lambda: encoded(pixels(), "WEBP", quality=90),
    "webp_lossless": lambda: encoded(pixels(), "WEBP", lossless=True),
}

REFUSED = {
    "empty_bytes": (lambda: b"", "not a PNG, JPEG, GIF, BMP or WebP image"),
    "corrupt": (lambda: b"this is not an image at all", "not a PNG, JPEG, GIF, BMP or WebP image"),
    "truncated_png": (lambda: encoded(pixels(), "PNG")[:60], "Invalid PNG"),
    "truncated_gif": (lambda: encoded(pixels(), "GIF")[:40], "cannot read the image size .* truncated or corrupt"),
    "oversized_png": (png_header_bomb, f"{BOMB} x {BOMB} pixels .* over the limit of {DEFAULT_MAX_IMAGE_PIXELS}"),
    "oversized_jpeg": (jpeg_bomb, f"{BOMB} x {BOMB} pixels .* over the limit"),
    "oversized_gif_screen": (
        lambda: patched(encoded(pixels(), "GIF"), 6, "<HH", BOMB, BOMB),
        f"{BOMB} x {BOMB} pixels .* over the limit",
    ),
    "oversized_gif_frame": (gif_frame_bomb, f"{BOMB} x {BOMB} pixels .* over the limit"),
    "oversized_bmp_top_down": (
        lambda: patched(encoded(pixels(), "BMP"), 18, "<ii", BOMB, -BOMB),
        f"{BOMB} x {BOMB} pixels .* over the limit",
    ),
    "oversized_webp": (webp_bomb, "16383 x 16383 pixels .* over the limit"),
    "webp_animated": (lambda: animated("WEBP", lossless=True), "animated WebP is not accepted"),
}


def expected_probabilities(model, data):
    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    image = tf.image.resize(image, (SIZE, SIZE))[None] / 255.0
    return tf.nn.softmax(model(image, training=False)).numpy()


@pytest.mark.parametrize("name", sorted(WORKS))
def test_serving_bytes_serves(signatures, model, name):
    data = WORKS[name]()
    served = signatures["serving_bytes"](image_bytes=tf.constant([data, data]))
    expected = expected_probabilities(model, data)
    np.testing.assert_allclose(served["probabilities"].numpy(), np.repeat(expected, 2, 0), atol=1e-5)
    assert served["class_ids"].numpy().tolist() == [int(expected.argmax())] * 2


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_serving_bytes_refuses(signatures, name):
    make, message = REFUSED[name]
    good = encoded(pixels(), "PNG")
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):  # one bad image fails the request
        signatures["serving_bytes"](image_bytes=tf.constant([good, make()]))


def test_an_oversized_image_is_refused_from_its_header_within_a_second(signatures):
    signatures["serving_bytes"](image_bytes=tf.constant([encoded(pixels(), "PNG")]))  # the graph is warm
    bomb = png_header_bomb()
    assert len(bomb) < 200  # decoding it would take 1.2 GB and seconds
    start = time.monotonic()
    with pytest.raises(tf.errors.InvalidArgumentError, match="over the limit"):
        signatures["serving_bytes"](image_bytes=tf.constant([bomb]))
    assert time.monotonic() - start < 1.0


def test_an_animated_gif_serves_its_first_frame_alone():
    from kerasadv.serving import gif

    data = animated("GIF")
    _, _, first = gif.first_image(tf.constant(data))
    assert len(first.numpy()) < len(data) and first.numpy().endswith(b";")  # the second frame is not read
    frames = tf.io.decode_gif(first.numpy())
    assert frames.shape[0] == 1
    np.testing.assert_array_equal(frames[0], tf.io.decode_image(data, channels=3, expand_animations=False))


FLOATS = {
    "nan": (np.full((1, SIZE, SIZE, 3), np.nan, np.float32), r"pixels in \[0, 1\]; got 192 NaN"),
    "0_255": (np.full((1, SIZE, SIZE, 3), 200.0, np.float32), r"pixels in \[0, 1\].*\[200, 200\]. Divide 0..255"),
    "wrong_size": (np.zeros((1, 16, 16, 3), np.float32), r"shape \[1 16 16 3\] given; expected \(n, 8, 8, 3\)"),
    "unbatched": (np.zeros((SIZE, SIZE, 3), np.float32), r"shape \[8 8 3\] given; expected \(n, 8, 8, 3\)"),
}


@pytest.mark.parametrize("name", sorted(FLOATS))
def test_serving_default_refuses(signatures, name):
    images, message = FLOATS[name]
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        signatures["serving_default"](images=tf.constant(images))


def test_serving_default_serves(signatures, model):
    images = pixels(3)[None].astype(np.float32) / 255.0
    served = signatures["serving_default"](images=tf.constant(images))
    expected = tf.nn.softmax(model(images, training=False)).numpy()
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-5)


def test_an_empty_batch_gives_empty_outputs_from_both_signatures(signatures):
    calls = {
        "serving_default": lambda: signatures["serving_default"](images=tf.zeros((0, SIZE, SIZE, 3))),
        "serving_bytes": lambda: signatures["serving_bytes"](image_bytes=tf.constant([], tf.string)),
    }
    for name, call in calls.items():  # was: Conv2D's "input depth must be evenly divisible by filter depth"
        served = call()
        assert served["probabilities"].shape == (0, 4) and served["class_ids"].shape == (0,), name


def test_the_pixel_limit_is_set_at_export(model, tmp_path):
    for bad in (0, 1.5, True):
        with pytest.raises(KerasAdvError, match=f"max_image_pixels must be a positive integer .* got {bad!r}"):
            serving.export_for_serving(model, str(tmp_path / "bad"), max_image_pixels=bad)
    limit = SIZE * SIZE - 1
    directory = serving.export_for_serving(model, str(tmp_path / "small"), max_image_pixels=limit)
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"8 x 8 pixels .* over the limit of {limit} pixels"):
        tf.saved_model.load(directory).signatures["serving_bytes"](image_bytes=tf.constant([encoded(pixels(), "PNG")]))


def _two_heads(inputs, features):
    return [keras.layers.Dense(4, name="a")(features), keras.layers.Dense(3, name="b")(features)]


def _structures():
    image = keras.Input((SIZE, SIZE, 3))
    features = keras.layers.Flatten()(image)
    second = keras.Input((2,))
    return {
        "multi_output": (
            keras.Model(image, _two_heads(image, features)),
            r"Cannot export .* 2 outputs.* keras.Model\(model.input, model.outputs\[INDEX\]\)",
        ),
        "dict_output": (
            keras.Model(image, dict(zip("ab", _two_heads(image, features)))),
            r"Cannot export .* dict of outputs \['a', 'b'\].* keras.Model\(model.input, model.output\[KEY\]\)",
        ),
        "multi_input": (
            keras.Model([image, second], keras.layers.Dense(4)(keras.layers.Concatenate()([features, second]))),
            "Cannot export .* takes 2 inputs.* keras.Model\\(image, model\\(\\[image, extra\\]\\)\\)",
        ),
        "single_logit": (
            keras.Model(image, keras.layers.Dense(1)(features)),
            "has 1 output; expected one logit per class",
        ),
        "per_pixel_output": (
            keras.Model(image, keras.layers.Dense(4)(image)),
            r"Cannot export .* returns shape \(None, 8, 8, 4\)",
        ),
    }


@pytest.mark.parametrize("name", ["multi_output", "dict_output", "multi_input", "single_logit", "per_pixel_output"])
def test_a_model_the_signatures_cannot_serve_is_refused(name, tmp_path):
    model, message = _structures()[name]  # was: multi-output exported as (2, n, classes); dict: TypeError
    with pytest.raises(ModelError, match=message):
        serving.export_for_serving(model, str(tmp_path / name))
    assert not (tmp_path / name).exists()


def test_the_pusher_passes_its_pixel_limit_to_the_export(tmp_path, model, monkeypatch):
    from kerasadv.components import pusher
    from kerasadv.orchestration import Artifact

    (tmp_path / "model").mkdir()
    model.save(tmp_path / "model" / "model.keras")
    (tmp_path / "blessing").mkdir()
    (tmp_path / "blessing" / "BLESSED").touch()
    seen = {}

    def export(model, directory, image_shape=None, max_image_pixels=None):
        seen["max_image_pixels"] = max_image_pixels
        raise RuntimeError("stop after the export")

    monkeypatch.setattr(pusher.serving, "export_for_serving", export)
    inputs = {
        "model": Artifact("Model", str(tmp_path / "model")),
        "blessing": Artifact("ModelBlessing", str(tmp_path / "blessing")),
    }
    params = {"serving_dir": str(tmp_path / "serving"), "model_name": "demo", "max_image_pixels": 1000}
    with pytest.raises(RuntimeError, match="stop after the export"):
        pusher.PusherExecutor().Do(inputs, {"pushed_model": Artifact("PushedModel", str(tmp_path / "out"))}, params)
    assert seen == {"max_image_pixels": 1000}
    assert pusher.Pusher.SPEC.parameters["max_image_pixels"].default == DEFAULT_MAX_IMAGE_PIXELS
