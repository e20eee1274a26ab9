"""`SplitRecords`: what every data source hands to `kerasadv.data.load`.

A source lists one split's labels up front (so examples can be selected by class without
decoding images) and reads single examples by index inside `tf.data`. Array sources (npz,
Fashion-MNIST, tfds) and file sources (image folders, archives) differ only in `read`.
"""

import dataclasses
from collections.abc import Callable

import numpy as np
import tensorflow as tf


@dataclasses.dataclass
class SplitRecords:
    """One split of a data set, addressable by example index.

    Attributes:
        labels: int32 array, one label per example of the split.
        class_names: names of the classes, indexed by label.
        image_shape: (height, width, channels) of every image.
        split_sizes: number of examples of every split the source has.
        read: maps a scalar int64 index tensor to `(image, label)`; image uint8 or float.
    """

    labels: np.ndarray
    class_names: list
    image_shape: tuple
    split_sizes: dict
    read: Callable[[tf.Tensor], tuple]


def array_records(images, labels, class_names, split_sizes):
    """Builds `SplitRecords` over in-memory arrays (uint8 or float images, NHWC)."""
    images = np.asarray(images)
    if images.ndim == 3:  # grey images without a channel axis
        images = images[..., None]
    labels = np.asarray(labels).astype(np.int32).reshape(-1)
    images_t = tf.constant(images)
    labels_t = tf.constant(labels)

    def read(index):
        return tf.gather(images_t, index), tf.gather(labels_t, index)

    return SplitRecords(labels, list(class_names), tuple(images.shape[1:]), split_sizes, read)
