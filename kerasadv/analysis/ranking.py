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


def neuron_scores(probe, data, num_classes, batch_size=128):
    """Streams `data`; returns `{layer: (neurons, classes) mean scores}` and per-class counts."""
    if getattr(probe, "outputs_softmax", False):
        raise ModelError(
            "neural ranking scores neurons by the gradient of the predicted logit, but the probed "
            "model ends in softmax; probe kerasadv.models.logits_model(model) instead."
        )
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
