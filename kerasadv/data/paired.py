"""Example sets as arrays for analyses: a split beside its adversarial version, seeds per class.

Each function reads Examples directories (`tfrecords`' layout, a pipeline artifact's URI) and
returns numpy arrays in the split's fixed order. `PAIRED_INPUTS` and `SPLIT` are the spec of a
component that analyses a model on such a pair.
"""

import numpy as np

from kerasadv.data import tfrecords
from kerasadv.data.tfrecords import first_examples
from kerasadv.errors import DataSourceError
from kerasadv.orchestration.component import ComponentSpec, Input, Parameter, at_least, one_of

PAIRED_INPUTS = {
    "model": Input("Model"),
    "examples": Input("Examples"),
    "adversarial_examples": Input("AdversarialExamples"),
}
"""The inputs of an analysis of a model on clean examples and their adversarial versions (`paired_examples`)."""
SPLIT = Parameter(str, "eval", one_of("train", "eval"))
"""The parameter naming the split such an analysis reads."""


def paired_analysis_spec(inputs=None, **parameters):
    """The spec of a component analysing a model on clean examples and their adversarial versions.

    Inputs `PAIRED_INPUTS` (and `inputs`), one output "analysis", parameters "split" (`SPLIT`),
    `parameters` and "seed" (of the random subsets drawn from the split).

    Example:
    >>> spec = paired_analysis_spec(top=Parameter(int, 20, at_least(1)))
    >>> list(spec.inputs), list(spec.parameters)
    (['model', 'examples', 'adversarial_examples'], ['split', 'top', 'seed'])
    """
    return ComponentSpec(
        inputs={**PAIRED_INPUTS, **(inputs or {})},
        outputs={"analysis": "Analysis"},
        parameters={"split": SPLIT, **parameters, "seed": Parameter(int, 0, at_least(0))},
    )


def paired_examples(examples, adversarial, split):
    """`(x, x_adv, y)` of a split and its adversarial version (an attacked set keeps the order).

    Args:
        examples: directory of the clean example set.
        adversarial: directory of its adversarial version (AttackGen's output).
        split: the split read from both; as many examples as the adversarial split holds.

    Returns:
        `(x, x_adv, y)` numpy arrays.

    Raises:
        DataSourceError: the labels of the two sets differ (not one set and its attacked version).

    Example:
    >>> import tempfile
    >>> clean, attacked = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> x, y = np.zeros((3, 4, 4, 3), np.float32), np.array([0, 1, 1])
    >>> for directory, images in ((clean, x), (attacked, x + 0.1)):
    ...     count, _ = tfrecords.write_split([{"image": images, "label": y}], directory, "eval", "float32")
    ...     tfrecords.write_schema(directory, (4, 4, 3), "float32", ["a", "b"], {"eval": count})
    >>> x, x_adv, y = paired_examples(clean, attacked, "eval")
    >>> x_adv.shape, float((x_adv - x).max()), y.tolist()
    ((3, 4, 4, 3), 0.1..., [0, 1, 1])
    """
    count = tfrecords.split_size(adversarial, split)
    x, y = first_examples(examples, split, count)
    x_adv, y_adv = first_examples(adversarial, split, count)
    if not np.array_equal(y, y_adv):
        raise DataSourceError(
            f"the adversarial {split} split ({adversarial}) is not the attacked version of {examples}: "
            "expected the same labels in the same order."
        )
    return x, x_adv, y


def seeds_per_class(examples, split, count):
    """The first `count` images of each class in the split, in split order: `(x, y)`.

    Reads batches only until every class has its seeds (an ImageNet split stays on disk).

    Args:
        examples: directory of the example set.
        split: the split the seeds come from.
        count: seeds per class.

    Returns:
        `(x, y)` numpy arrays, in split order.

    Raises:
        DataSourceError: a class has fewer than `count` images in the split.

    Example:
    >>> import tempfile
    >>> directory, y = tempfile.mkdtemp(), np.array([2, 0, 0, 1, 2])
    >>> count, _ = tfrecords.write_split([{"image": np.zeros((5, 4, 4, 3)), "label": y}], directory, "eval")
    >>> tfrecords.write_schema(directory, (4, 4, 3), "uint8", ["a", "b", "c"], {"eval": count})
    >>> seeds_per_class(directory, "eval", 1)[1].tolist()
    [2, 0, 1]
    >>> seeds_per_class(directory, "eval", 2)
    Traceback (most recent call last):
    ...
    kerasadv.errors.DataSourceError: ... fewer than 2 images of 1 classes (class 1 has 1); expected 2 per class: ...
    """
    classes = len(tfrecords.read_schema(examples)["class_names"])
    taken, images, labels = np.zeros(classes, int), [], []
    for x, y in tfrecords.read_split(examples, split, 256):
        for image, label in zip(x.numpy(), y.numpy()):
            if taken[label] < count:
                taken[label] += 1
                images.append(image)
                labels.append(label)
        if (taken >= count).all():
            return np.stack(images), np.array(labels)
    short = np.flatnonzero(taken < count)
    raise DataSourceError(
        f"{examples} split {split!r} has fewer than {count} images of {len(short)} classes (class "
        f"{short[0]} has {taken[short[0]]}); expected {count} per class: ingest more images (num_eval)."
    )


def given_images(examples, per_class, seed):
    """`per_class` random training images of each class: `(images, labels)`, class by class.

    Args:
        examples: directory of the example set (its train split is read).
        per_class: images drawn from each class.
        seed: seed of the draw.

    Returns:
        `(x, y)` numpy arrays, `per_class` images of class 0, then of class 1, ...

    Example:
    >>> import tempfile
    >>> directory, y = tempfile.mkdtemp(), np.array([1, 0, 1, 0, 1])
    >>> count, _ = tfrecords.write_split([{"image": np.zeros((5, 4, 4, 3)), "label": y}], directory, "train")
    >>> tfrecords.write_schema(directory, (4, 4, 3), "uint8", ["a", "b"], {"train": count})
    >>> given_images(directory, 2, seed=0)[1].tolist()
    [0, 0, 1, 1]
    """
    num_classes = len(tfrecords.read_schema(examples)["class_names"])
    x, y = first_examples(examples, "train", tfrecords.split_size(examples, "train"))
    rng = np.random.default_rng(seed)
    chosen = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in range(num_classes)])
    return x[chosen], y[chosen]
