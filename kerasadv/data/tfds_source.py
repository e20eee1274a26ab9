"""`tfds:NAME` source: a TensorFlow Datasets data set, prepared in `data_dir`.

When the data set is not prepared, it is built from archives found in the tfds manual
directory, or downloaded when the network answers; otherwise this fails within seconds
(instead of tfds's minutes of retries) naming the archives and where to put them.
"""

import os
import socket
import urllib.parse

import numpy as np

from kerasadv.data.records import array_records
from kerasadv.errors import DataNotAvailableError, DataSourceError


def default_data_dir():
    return os.environ.get("TFDS_DATA_DIR") or os.path.join(os.path.expanduser("~"), "tensorflow_datasets")


def _archives(builder):
    infos = builder.url_infos or {}
    return {url: (info.filename or os.path.basename(urllib.parse.urlparse(url).path)) for url, info in infos.items()}


def _reachable(urls, timeout=3.0):
    """True when a TCP connection to every host of `urls` opens within `timeout` seconds."""
    for url in urls:
        parsed = urllib.parse.urlparse(url)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            socket.create_connection((parsed.hostname, port), timeout=timeout).close()
        except OSError:
            return False
    return bool(urls)


def _prepare(builder, name, data_dir):
    import tensorflow_datasets as tfds

    manual_dir = os.path.join(data_dir, "downloads", "manual")
    archives = _archives(builder)
    in_manual_dir = archives and all(os.path.exists(os.path.join(manual_dir, f)) for f in archives.values())
    if not in_manual_dir and not _reachable(list(archives)):
        listing = "\n".join(f"  {f}  (from {url})" for url, f in archives.items())
        raise DataNotAvailableError(
            f"tfds data set {name!r} is not prepared in {data_dir} and cannot be downloaded "
            f"from here. Put its archive(s)\n{listing or '  (see the tfds catalog)'}\n"
            f"into the tfds manual dir {manual_dir}, or run `tfds build {name} --data_dir "
            f"{data_dir}` on a connected machine and copy {data_dir}. For CIFAR-10 you can "
            "also use the image-folder archive: source='tar:PATH/cifar10-jpeg.tar.gz'."
        )
    config = tfds.download.DownloadConfig(manual_dir=manual_dir)
    builder.download_and_prepare(download_config=config)


def tfds_records(name, split, data_dir=None):
    """Loads split `split` of tfds data set `name` into memory as `SplitRecords`.

    The whole split is read into memory (right for CIFAR / MNIST-sized data sets); use an
    image folder (`dir:`) for larger ones.
    """
    import tensorflow_datasets as tfds

    data_dir = data_dir or default_data_dir()
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as error:
        raise DataSourceError(f"Unknown tfds data set {name!r}: {error}") from error
    if not builder.is_prepared():
        _prepare(builder, name, data_dir)
    splits = list(builder.info.splits.keys())
    if splits and split not in splits:
        raise DataSourceError(f"Unknown split {split!r} for tfds:{name}: expected one of {splits}.")
    batches = list(tfds.as_numpy(builder.as_dataset(split=split, as_supervised=True).batch(4096)))
    images = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    label_feature = builder.info.features["label"]
    sizes = {s: builder.info.splits[s].num_examples for s in splits} or {split: len(labels)}
    return array_records(np.asarray(images), labels, label_feature.names, sizes)
