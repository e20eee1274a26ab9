"""ImageExampleGen: any `kerasadv.data` source -> Examples (TFRecord train / eval splits + statistics)."""

import keras
import numpy as np
import tensorflow as tf

from kerasadv import data
from kerasadv.data import tfrecords
from kerasadv.data.image_folder import explain_decode_error
from kerasadv.data.load import SOURCE_FORMS
from kerasadv.orchestration import BaseComponent, BaseExecutor, ComponentSpec, Parameter, writer
from kerasadv.orchestration.component import at_least, matches

SOURCE_PATTERN = r"(tfds|dir|tar|npz):.+|fashion_mnist"


def _observed(dataset, seen):
    """Yields records of `dataset`, keeping labels and the pixel range / sum in `seen`."""
    for x, y in dataset:
        x = x.numpy()
        seen["low"], seen["high"] = min(seen["low"], x.min()), max(seen["high"], x.max())
        seen["total"] += x.sum()
        seen["labels"].append(y.numpy())
        yield {"image": x, "label": y.numpy()}


class ImageExampleGenExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        examples = output_dict["examples"]
        p = exec_properties
        keras.utils.set_random_seed(p["seed"])  # the written order depends only on `seed`
        counts, stats = {}, {}
        for split, source_split, num in (("train", "train", p["num_train"]), ("eval", p["eval_split"], p["num_eval"])):
            # Seeded random order whatever the source's (image folders are sorted by class).
            size = None if p["image_size"] is None else (p["image_size"], p["image_size"])
            ds, info = data.load(
                p["source"], source_split, num, batch_size=512, shuffle=True, seed=p["seed"], image_size=size
            )
            seen = {"labels": [], "low": 1.0, "high": 0.0, "total": 0.0}
            try:
                counts[split], _ = tfrecords.write_split(_observed(ds, seen), examples.uri, split, "uint8")
            except (tf.errors.InvalidArgumentError, tf.errors.DataLossError) as error:
                raise explain_decode_error(p["source"], source_split, error) from None
            per_class = np.bincount(np.concatenate(seen["labels"]), minlength=info.num_classes)
            stats[split] = {
                "num_examples": counts[split],
                "per_class": per_class.tolist(),
                "pixel_min": float(seen["low"]),
                "pixel_max": float(seen["high"]),
                "pixel_mean": float(seen["total"] / (counts[split] * np.prod(info.image_shape))),
            }
        tfrecords.write_schema(
            examples.uri,
            info.image_shape,
            "uint8",
            info.class_names,
            counts,
            order={"shuffled": True, "seed": p["seed"]},
        )
        writer.write_json(stats, examples.path("statistics.json"))
        examples.properties.update(
            source=p["source"],
            splits=counts,
            num_classes=info.num_classes,
            image_shape=list(info.image_shape),
            order="shuffled",
            shuffle_seed=p["seed"],
        )


class ImageExampleGen(BaseComponent):
    """Ingests a data source into an Examples artifact with `train` and `eval` splits.

    Args:
        source: a `kerasadv.data.load` source string.
        num_train, num_eval: stratified, seeded subsets (None: the whole split).
        eval_split: the source's split used as `eval` ("test").
        image_size: side length every image is resized to (bilinear; None: as they are, which
            needs an image folder's images to be of one size), e.g. 224 for ImageNet classifiers.
        seed: seed of the subset choice and of the order the examples are written in (a
            seeded random order whatever the source's order, recorded in the schema and
            the artifact's properties).
    """

    SPEC = ComponentSpec(
        inputs={},
        outputs={"examples": "Examples"},
        parameters={
            "source": Parameter(str, rule=matches(SOURCE_PATTERN, f"a data source like {SOURCE_FORMS}")),
            "num_train": Parameter(int, None, at_least(1)),
            "num_eval": Parameter(int, None, at_least(1)),
            "eval_split": Parameter(str, "test"),
            "image_size": Parameter(int, None, at_least(1)),
            "seed": Parameter(int, 0, at_least(0)),
        },
    )
    EXECUTOR = ImageExampleGenExecutor
