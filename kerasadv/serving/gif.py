"""The first image of a GIF, found in the graph without decoding: its size and where its data ends.

A GIF's header states only the logical screen; each image (frame) states its own size, which
may be larger, and a decoder reads every frame even when it returns the first. So a 27 KB GIF
claiming an 8 x 8 screen decodes a 6000 x 6000 frame, and an animation of 60 frames costs 60
decodes. `first_image` walks the GIF's blocks up to the end of its first image (one loop step
per 255-byte sub-block); the caller checks its size and decodes those bytes alone.
"""

import tensorflow as tf

_TRAILER = b";"
_EXTENSION, _IMAGE = 0x21, 0x2C  # the bytes that start an extension block and an image


def _color_table(flags):
    """Bytes of the color table that follows a block with these packed flags (none without bit 7)."""
    return tf.where(flags >= 128, tf.bitwise.left_shift(3, flags % 8 + 1), 0)


def _skip_sub_blocks(raw, pos, length):
    """The position after the data sub-blocks at `pos` (each prefixed by its length; a 0 ends them)."""

    def size(pos):
        return tf.gather(raw, tf.minimum(pos, length))  # past the end: the padding's 0

    return tf.while_loop(lambda pos: size(pos) > 0, lambda pos: (pos + size(pos) + 1,), (pos,))[0] + 1


def _walk(data):
    """`(end, frame_width, frame_height, complete)` of the blocks up to the end of the first image."""
    raw = tf.cast(tf.io.decode_raw(tf.strings.join([data, b"\0" * 16]), tf.uint8), tf.int32)
    length = tf.strings.length(data)

    def step(pos, done, width, height):
        extension, image = raw[pos] == _EXTENSION, raw[pos] == _IMAGE
        first_data = tf.where(image, pos + 11 + _color_table(raw[pos + 9]), pos + 2)  # after descriptor, table
        next_pos = tf.where(extension | image, _skip_sub_blocks(raw, first_data, length), pos)
        done = tf.where(image, 1, tf.where(extension, 0, -1))  # anything else: not a GIF we serve
        width = tf.where(image, raw[pos + 5] + 256 * raw[pos + 6], width)
        height = tf.where(image, raw[pos + 7] + 256 * raw[pos + 8], height)
        return next_pos, done, width, height

    start = 13 + _color_table(raw[10])  # header, logical screen descriptor, global color table
    zero = tf.constant(0)
    end, done, width, height = tf.while_loop(
        lambda pos, done, *_: (done == 0) & (pos < length), step, (start, zero, zero, zero)
    )
    return end, width, height, (done == 1) & (end <= length)


def first_image(data):
    """The first image of a GIF: `(height, width, first_image_bytes)`; (0, 0, data) if it has none.

    `height` and `width` cover the logical screen and the first frame (a decoder allocates the
    larger). `first_image_bytes` is the GIF up to the end of that frame, then the trailer: it
    decodes to the same first frame, and the later frames are never read.

    Args:
        data: a scalar string tensor: one GIF.

    Returns:
        `(height, width, first_image_bytes)`, the sizes int64 scalars.

    Example:
    >>> gif = b"GIF89a\\x08\\x00\\x08\\x00\\x00\\x00\\x00" + b"\\x2c" + b"\\x00" * 4 + b"\\x10\\x00\\x20\\x00\\x00"
    >>> height, width, _ = first_image(tf.constant(gif + b"\\x02\\x01\\x2c\\x00"))
    >>> int(height), int(width)
    (32, 16)
    """
    end, frame_width, frame_height, complete = _walk(data)
    screen = tf.io.decode_raw(tf.strings.substr(tf.strings.join([data, b"\0" * 10]), 6, 4), tf.uint16)
    screen = tf.cast(screen, tf.int32)  # the logical screen: width, height
    height = tf.where(complete, tf.maximum(screen[1], frame_height), 0)
    width = tf.where(complete, tf.maximum(screen[0], frame_width), 0)
    trimmed = tf.where(complete, tf.strings.join([tf.strings.substr(data, 0, end), _TRAILER]), data)
    return tf.cast(height, tf.int64), tf.cast(width, tf.int64), trimmed
