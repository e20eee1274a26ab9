"""Image sizes read from encoded headers, in the graph, so an oversized image is refused before decoding.

A 1 MB PNG can claim 20,000 x 20,000 pixels: decoding it takes seconds and gigabytes (a
decompression bomb). `check_encoded_image` reads the width and height from the header of a
PNG (IHDR), JPEG (`tf.io.extract_jpeg_shape`, header only), GIF (logical screen and first
frame: `kerasadv.serving.gif`), BMP (DIB header) or WebP (VP8 / VP8L / VP8X) and raises
`InvalidArgumentError` (the only error a SavedModel signature can raise) for a size over the
limit, an unknown format, an unreadable header or an animation, before any pixel is decoded.
"""

import tensorflow as tf

from kerasadv.serving import gif

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WebP")
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8", b"BM")
_PADDING = b"\0" * 32  # header reads past the end of a truncated image read zeros, never fail


def _read(data, pos, count, dtype, little_endian=True):
    """`count` numbers of `dtype` at byte `pos` of the (padded) encoded image, as int64."""
    size = count * dtype.size
    raw = tf.io.decode_raw(tf.strings.substr(data, pos, size), dtype, little_endian=little_endian)
    return tf.cast(tf.reshape(raw, [count]), tf.int64)


def _png_size(data):
    width_height = _read(data, 16, 2, tf.int32, little_endian=False)  # IHDR, big-endian
    return width_height[1], width_height[0]


def _jpeg_size(data):
    shape = tf.cast(tf.io.extract_jpeg_shape(data), tf.int64)  # reads the SOF marker only
    return shape[0], shape[1]


def _bmp_size(data):
    width_height = _read(data, 18, 2, tf.int32)  # BITMAPINFOHEADER; a negative height is top-down
    return tf.abs(width_height[1]), width_height[0]


def _webp_size(data):
    chunk = tf.strings.substr(data, 12, 4)
    vp8 = _read(data, 26, 2, tf.uint16)  # lossy: 14-bit width and height
    vp8l = tf.cast(_read(data, 21, 1, tf.int32)[0], tf.int64)  # lossless: 14 bits each, minus one
    vp8x = _read(data, 24, 6, tf.uint8)  # extended: 24-bit canvas width and height, minus one
    scales = tf.constant([1, 256, 65536], tf.int64)
    return tf.case(
        [
            (tf.equal(chunk, "VP8 "), lambda: (vp8[1] % 16384, vp8[0] % 16384)),
            (tf.equal(chunk, "VP8L"), lambda: ((vp8l // 16384) % 16384 + 1, vp8l % 16384 + 1)),
            (
                tf.equal(chunk, "VP8X"),
                lambda: (tf.reduce_sum(vp8x[3:] * scales) + 1, tf.reduce_sum(vp8x[:3] * scales) + 1),
            ),
        ],
        default=lambda: (tf.constant(0, tf.int64), tf.constant(0, tf.int64)),
    )


def image_format(data):
    """Index into `FORMATS` of an encoded image's format from its first bytes; `len(FORMATS)` if unknown.

    Example:
    >>> FORMATS[int(image_format(tf.constant(b"GIF89a" + b"\\0" * 8)))]
    'GIF'
    """
    data = tf.strings.join([data, _PADDING])
    found = [tf.equal(tf.strings.substr(data, 0, len(magic)), magic) for magic in _MAGIC]
    riff = tf.equal(tf.strings.substr(data, 0, 4), "RIFF")
    found.append(tf.logical_and(riff, tf.equal(tf.strings.substr(data, 8, 4), "WEBP")))
    codes = tf.constant([*range(len(FORMATS))], tf.int32)
    return tf.reduce_min(tf.where(tf.stack(found), codes, len(FORMATS)))


def _sized(read):
    """A header reader `data -> (height, width)` as a `(padded, data) -> (height, width, data)` branch."""
    return lambda padded, data: (*read(padded), data)


def _header(data):
    """`(height, width, decodable)`: the size from the header, and the bytes to decode (a GIF's first image)."""
    padded = tf.strings.join([data, _PADDING])
    readers = [_sized(_png_size), _sized(_jpeg_size), lambda _, data: gif.first_image(data)]
    readers += [_sized(_bmp_size), _sized(_webp_size), lambda _, data: (tf.constant(0, tf.int64),) * 2 + (data,)]
    return tf.switch_case(image_format(data), [lambda read=read: read(padded, data) for read in readers])


def image_size(data):
    """`(height, width)` of an encoded image from its header, as int64 scalars; (0, 0) when unknown.

    Args:
        data: a scalar string tensor: one encoded image.

    Returns:
        `(height, width)`; nothing is decoded. A GIF's size covers its screen and first frame.

    Raises:
        InvalidArgumentError: a JPEG whose header cannot be read.

    Example:
    >>> header = b"\\x89PNG\\r\\n\\x1a\\n\\0\\0\\0\\rIHDR" + (20000).to_bytes(4, "big") * 2
    >>> [int(v) for v in image_size(tf.constant(header))]
    [20000, 20000]
    """
    return _header(data)[:2]


def _animated(data, kind):
    """True for an animated WebP (VP8X with the animation flag): its frames would all be decoded."""
    padded = tf.strings.join([data, _PADDING])
    extended = tf.equal(kind, FORMATS.index("WebP")) & tf.equal(tf.strings.substr(padded, 12, 4), "VP8X")
    return extended & tf.equal(_read(padded, 20, 1, tf.uint8)[0] // 2 % 2, 1)


def check_encoded_image(data, max_pixels, name="serving_bytes"):
    """The bytes to decode, once `data`'s header shows a known format within `max_pixels`; raises otherwise.

    Decode the returned tensor (not `data`): it depends on the checks, so nothing is decoded
    before they pass. It is `data`, or for a GIF its first image alone.

    Args:
        data: a scalar string tensor: one encoded image.
        max_pixels: the largest width x height accepted.
        name: the signature, for the messages.

    Returns:
        The bytes to decode, with the checks as control dependencies.

    Raises:
        InvalidArgumentError: (when run) an unknown format, an unreadable size, an animated
            WebP, or more than `max_pixels` pixels.

    Example:
    >>> header = b"\\x89PNG\\r\\n\\x1a\\n\\0\\0\\0\\rIHDR" + (20000).to_bytes(4, "big") * 2
    >>> check_encoded_image(tf.constant(header), 4096 * 4096)
    Traceback (most recent call last):
    ...
    tensorflow.python.framework.errors_impl.InvalidArgumentError: ... 20000 x 20000 pixels ...
    """
    kind = image_format(data)
    height, width, decodable = _header(data)
    known = tf.less(kind, len(FORMATS))
    head = tf.strings.substr(data, 0, 8)
    checks = [
        tf.debugging.Assert(
            known,
            [
                tf.strings.format(
                    name + ": not a PNG, JPEG, GIF, BMP or WebP image (first bytes {}); send one of those formats.",
                    tf.io.decode_raw(head, tf.uint8),
                    summarize=8,
                )
            ],
        )
    ]
    with tf.control_dependencies(checks):  # the size checks' messages assume a known format
        pixels = width * height
        readable = tf.logical_and(tf.greater(height, 0), tf.greater(width, 0))
        size_message = tf.strings.format(
            name + ": image of {} x {} pixels (width x height: {} pixels) is over the limit of {} pixels "
            "(max_image_pixels, set at export); send a smaller image.",
            (width, height, pixels, max_pixels),
        )
        checks += [
            tf.debugging.Assert(
                tf.logical_or(readable, tf.logical_not(known)),
                [name + ": cannot read the image size from its header: truncated or corrupt."],
            ),
            tf.debugging.Assert(tf.less_equal(pixels, max_pixels), [size_message]),
            tf.debugging.Assert(
                tf.logical_not(_animated(data, kind)),
                [name + ": animated WebP is not accepted (every frame would be decoded); send one frame as PNG."],
            ),
        ]
    with tf.control_dependencies(checks):
        return tf.identity(decodable)
