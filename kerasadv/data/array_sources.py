"""In-memory sources: `npz:PATH` and `fashion_mnist` (Debian's idx files or the Keras cache)."""

import gzip
import os

import numpy as np

from kerasadv.data.records import array_records
from kerasadv.errors import DataNotAvailableError, DataSourceError

FASHION_MNIST_DIRS = (
    "/usr/share/datasets/fashion-mnist",
    os.path.join(os.path.expanduser("~"), ".keras", "datasets", "fashion-mnist"),
)
FASHION_MNIST_CLASSES = [
    "t-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
]
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def _check_split(split, splits, source):
    if split not in splits:
        raise DataSourceError(f"Unknown split {split!r} for {source}: expected one of {sorted(splits)}.")


def npz_records(path, split):
    """`SplitRecords` from an `.npz` holding `x_train, y_train, x_test, y_test`."""
    if not os.path.isfile(path):
        raise DataSourceError(f"npz file {path!r} does not exist.")
    try:
        arrays = np.load(path)
        splits = {k[2:] for k in arrays.files if k.startswith("x_") and f"y_{k[2:]}" in arrays.files}
    except (OSError, ValueError) as error:
        raise DataSourceError(f"Cannot read {path!r} as .npz: {error}") from error
    _check_split(split, splits, f"npz:{path} (arrays x_<split>, y_<split>)")
    labels = arrays[f"y_{split}"].reshape(-1)
    if labels.size == 0:
        raise DataSourceError(f"Split {split!r} of npz:{path} is empty: 0 examples; expected at least one.")
    num_classes = int(max(arrays[f"y_{s}"].max() for s in splits if arrays[f"y_{s}"].size)) + 1
    names = (
        [str(n) for n in arrays["class_names"]]
        if "class_names" in arrays.files
        else [str(i) for i in range(num_classes)]
    )
    sizes = {s: len(arrays[f"y_{s}"]) for s in splits}
    return array_records(arrays[f"x_{split}"], labels, names, sizes)


def _read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def fashion_mnist_records(split, directory=None):
    """`SplitRecords` of Fashion-MNIST from its idx files (28x28x1 uint8)."""
    _check_split(split, _IDX_FILES, "fashion_mnist")
    candidates = [directory] if directory else list(FASHION_MNIST_DIRS)
    for folder in candidates:
        files = [os.path.join(folder, f) for f in _IDX_FILES[split]]
        if all(os.path.isfile(f) for f in files):
            break
    else:
        raise DataNotAvailableError(
            f"Fashion-MNIST idx files not found in {candidates}. Install them with "
            "`apt-get install dataset-fashion-mnist` (Debian), or put "
            f"{', '.join(_IDX_FILES[split])} into one of those folders."
        )
    images, labels = _read_idx(files[0]), _read_idx(files[1])
    sizes = {"train": 60000, "test": 10000}
    return array_records(images, labels, FASHION_MNIST_CLASSES, sizes)
