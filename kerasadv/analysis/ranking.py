"""Neural ranking: which neurons contribute most to the predicted class.

Score of a neuron (one element of a layer's output) for class c: the mean over the images
predicted as c of activation x gradient of the predicted logit with respect to that
activation (a first-order estimate of the logit's drop if the neuron were switched off).
A neuron's value is its largest class score, and its class the class of that score.
"""

import numpy as np
import pandas as pd
import tensorflow as tf

from kerasadv.analysis.probes import image_batches
from kerasadv.errors import ModelError


def _check_logits(probe, num_classes):
    """Refuses a probe of a softmax or single-logit model, or `num_classes` other than its logits'."""
    if getattr(probe, "outputs_softmax", False):
        raise ModelError(
            "neural ranking scores neurons by the gradient of the predicted logit, but the probed "
            "model ends in softmax; probe kerasadv.models.logits_model(model) instead."
        )
    logits = probe.output["logits"].shape[-1]
    if logits is not None and logits < 2:
        raise ModelError(
            f"neural ranking scores neurons per predicted class, but the probed model {probe.name!r} has "
            f"{logits} logit: its prediction is always class 0. End the model in one logit per class "
            "(a binary classifier with one logit z: Dense(2), or the logits [0, z])."
        )
    if logits is not None and logits != num_classes:
        raise ModelError(
            f"num_classes={num_classes!r}, but the probed model {probe.name!r} has {logits} logits; "
            f"pass num_classes={logits}."
        )


def neuron_scores(probe, data, num_classes, batch_size=128):
    """Streams `data`; returns `{layer: (neurons, classes) mean scores}` and per-class counts.

    Raises:
        ModelError: the probed model ends in softmax or has one logit, or `num_classes` is not
            its number of logits.
    """
    _check_logits(probe, num_classes)
    layers = [n for n in probe.output if n != "logits"]

    @tf.function(reduce_retracing=True)
    def contributions(x):
        with tf.GradientTape() as tape:
            outputs = probe(x, training=False)
            activations = [outputs[n] for n in layers]
            logits = outputs["logits"]
            predicted = tf.argmax(logits, -1, output_type=tf.int32)
            score = tf.reduce_sum(tf.gather(logits, predicted, axis=1, batch_dims=1))
        grads = tape.gradient(score, activations)
        return predicted, [tf.reshape(a * g, [tf.shape(x)[0], -1]) for a, g in zip(activations, grads)]

    sums, counts = None, np.zeros(num_classes)
    for x in image_batches(data, batch_size):
        predicted, parts = contributions(tf.convert_to_tensor(x, tf.float32))
        onehot = np.eye(num_classes)[predicted.numpy()]
        counts += onehot.sum(0)
        batch_sums = {n: p.numpy().T @ onehot for n, p in zip(layers, parts)}
        sums = batch_sums if sums is None else {n: sums[n] + batch_sums[n] for n in layers}
    return {n: s / np.maximum(counts, 1) for n, s in sums.items()}, counts


def neural_ranking(probe, data, num_classes, top=20, class_names=None):
    """The `top` neurons by score: rank, layer, index (dims), value, class.

    Args:
        probe: a `probe_model`.
        data: images, an `(x, y)` pair or a batched data set (clean, or clean + adversarial).
        num_classes: number of classes.
        top: rows of the table.
        class_names: optional names for the class column.

    Returns:
        DataFrame with columns rank, layer, index, value, class.
    """
    scores, _ = neuron_scores(probe, data, num_classes)
    shapes = {n: probe.output[n].shape[1:] for n in scores}
    flat = [
        (layer, i, s[i].max(), int(s[i].argmax()))
        for layer, s in scores.items()
        for i in np.argpartition(-s.max(1), min(top, len(s) - 1))[:top]
    ]
    flat.sort(key=lambda row: -row[2])
    rows = [
        {
            "rank": r + 1,
            "layer": layer,
            "index": tuple(int(d) for d in np.unravel_index(i, shapes[layer])),
            "value": float(value),
            "class": class_names[c] if class_names else c,
        }
        for r, (layer, i, value, c) in enumerate(flat[:top])
    ]
    return pd.DataFrame(rows)


def layer_histogram(ranking, layer_order):
    """How many of the ranked neurons sit in each layer, in network order."""
    return ranking["layer"].value_counts().reindex(layer_order, fill_value=0)


def ranking_sets(x, x_adv, y, count, rng, class_index=None, class_name=None):
    """The images ranked: a random clean subset, it with its adversarial versions, and the same for one class.

    Args:
        x, x_adv, y: clean images, their adversarial versions and the labels.
        count: clean images per set (each brings its adversarial version into the "+ adversarial" set).
        rng: a `numpy.random.Generator` (the subsets' draw).
        class_index: the class of the single-class sets (None: none).
        class_name: its name, which starts those sets' names.

    Returns:
        `{name: images}`: "clean", "clean + adversarial" and, with a class, "<class_name> clean"
        and "<class_name> clean + adversarial".

    Example:
    >>> x, y = np.zeros((6, 2, 2, 1)), np.array([0, 1, 0, 1, 0, 1])
    >>> sets = ranking_sets(x, x + 1, y, 2, np.random.default_rng(0), class_index=1, class_name="dog")
    >>> {name: len(images) for name, images in sets.items()}
    {'clean': 2, 'clean + adversarial': 4, 'dog clean': 2, 'dog clean + adversarial': 4}
    """
    chosen = rng.permutation(len(x))[:count]
    sets = {"clean": x[chosen], "clean + adversarial": np.concatenate([x[chosen], x_adv[chosen]])}
    if class_index is not None:
        of_class = rng.permutation(np.flatnonzero(y == class_index))[:count]
        sets[f"{class_name} clean"] = x[of_class]
        sets[f"{class_name} clean + adversarial"] = np.concatenate([x[of_class], x_adv[of_class]])
    return sets


def set_key(name):
    """A `ranking_sets` name as a finding / file key: "dog clean + adversarial" -> "dog_clean_adversarial"."""
    return name.replace(" + ", "_").replace(" ", "_")


def ranking_finding_keys(class_name=""):
    """The keys of `depth_findings` over `ranking_sets`' sets (with the class's when `class_name` is given).

    Example:
    >>> ranking_finding_keys("dog")[-1]
    'dog_clean_adversarial_top_depth'
    """
    names = ["clean", "clean + adversarial"]
    names += [f"{class_name} clean", f"{class_name} clean + adversarial"] if class_name else []
    return [f"{set_key(name)}_{stat}" for name in names for stat in ("mean_depth", "top_depth")]


def with_depth(ranking, layer_order):
    """`neural_ranking`'s table with each neuron's layer depth (1: the first layer) and its index as text.

    Returns:
        DataFrame with columns rank, layer, depth, index, value, class.
    """
    depth = [layer_order.index(name) + 1 for name in ranking.layer]
    ranking = ranking.assign(depth=depth, index=ranking["index"].map(str))
    return ranking[["rank", "layer", "depth", "index", "value", "class"]]


def depth_findings(key, ranking, layer_order):
    """`{key}_mean_depth` and `{key}_top_depth`: the top neurons' mean depth and the first's, over the layers.

    Example:
    >>> ranking = pd.DataFrame({"depth": [4, 2]})
    >>> depth_findings("clean", ranking, ["a", "b", "c", "d"])
    {'clean_mean_depth': 0.75, 'clean_top_depth': 1.0}
    """
    depths = ranking.depth / len(layer_order)
    return {f"{key}_mean_depth": float(depths.mean()), f"{key}_top_depth": float(depths.iloc[0])}
