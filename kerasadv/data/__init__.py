"""Data sources -> `tf.data` of (float32 images in [0, 1], int32 labels)."""

from kerasadv.data.load import DatasetInfo, load, select_indices, to_arrays
from kerasadv.data.pixels import check_unit_range, to_unit_float

__all__ = ["DatasetInfo", "load", "select_indices", "to_arrays", "check_unit_range", "to_unit_float"]
