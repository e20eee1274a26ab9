"""DLFuzz: coverage-guided adversarial generation (Guo et al., 2018), as in its reference code.

Every seed starts a queue of mutations. A popped image's objective is
`predict_weight * sum(top-k other logits) - logit of its own prediction + weight * sum(selected
neurons)`; `iterations` steps each add `step_size` x the gradient scaled to unit RMS per image.
After each step the mutation goes back into the queue when it covered more than
`0.01 / (i + 1)` of all neurons anew (i: the seed's index in the campaign) and stays within the
perturbation budget, an L2 norm below `max_ratio` (0.02) of the seed's. A seed yields an
adversarial example when a mutation within budget changes the seed's prediction. With
`mode="random"` the steps take random directions of the same size instead (the comparison of
the paper's Fig. 2a). Neurons are those of `NeuronCoverage` (channel means of conv outputs).

Differences from the reference, on purpose: images stay in [0, 1] (the reference adds steps to
mean-subtracted pixels without clipping); mutations are processed in batches, each judged
against the coverage before its batch's step; the own class, the top-k classes and the selected
neurons are taken afresh at every step (the reference fixes them when an image is popped); a
seed's queue closes after `max_mutations` entries (counted in `capped`: the reference has no limit).
"""

import collections
import time
import weakref

import numpy as np
import tensorflow as tf

from kerasadv.analysis.coverage import NeuronCoverage, neuron_values
from kerasadv.analysis.probes import probe_model, probe_outputs
from kerasadv.attacks import validation
from kerasadv.attacks.base import Attack, register
from kerasadv.constants import TINY
from kerasadv.models.graph import leaf_layers
from kerasadv.models.logits import check_logits

STRATEGIES = ("rare", "frequent", "weights", "near_threshold")
MODES = ("gradient", "random")
_RMS_EPSILON = 1e-5  # the reference's normalize()


def _channel_weights(model, layer_name, channels):
    """Mean |kernel| per output channel of the layer (a path inside nested models), or of the nearest earlier one."""
    layers = leaf_layers(model)
    paths = [path for path, _ in layers]
    for _, layer in reversed(layers[: paths.index(layer_name) + 1] if layer_name in paths else []):
        kernel = getattr(layer, "kernel", None)
        if kernel is not None and kernel.shape[-1] == channels:
            return np.abs(kernel.numpy()).reshape(-1, channels).mean(0)
    return np.ones(channels)


def unit_rms(direction):
    """Scales each image's direction to unit root-mean-square (the reference's `normalize`)."""
    rms = np.sqrt(np.mean(np.square(direction), axis=tuple(range(1, direction.ndim)), keepdims=True))
    return direction / (rms + _RMS_EPSILON)


@register
class DLFuzz(Attack):
    """DLFuzz over batches of seeds, as an attack (see the module docstring).

    Coverage state (covered neurons, running statistics, seeds seen) is kept per model across
    calls, as a fuzzing campaign does; `fuzzer(model)` exposes it. The state holds no reference
    to the model, so a model that is no longer used elsewhere is freed with its state.

    Args:
        layer_names: layers whose neurons are selected and covered (default: conv / dense activations).
        strategy: neurons to raise among those not yet covered: "rare" / "frequent" (lowest /
            highest mean scaled activation so far), "weights" (largest mean |kernel|),
            "near_threshold" (highest max scaled value still below the threshold).
        neurons: neurons selected per popped batch.
        top_k: other classes whose logits are raised.
        predict_weight: weight of the top-k term (0.5 in the reference).
        weight: weight of the neuron term (0.5 in the reference).
        step_size: size of a step, in RMS pixel units ([0, 1] pixels; the reference's 0.5 on
            0-255 pixels is about 0.002).
        iterations: steps per popped mutation (the reference's `iteration_times`).
        max_ratio: perturbation budget, L2 norm of the change over the seed's L2 norm.
        threshold: coverage threshold on scaled activations.
        mode: "gradient" (DLFuzz) or "random" (random directions of the same size).
        max_mutations: queue entries per seed (the seed included) before its queue is closed.
        batch_size: mutations processed together.
        seed: seed of the random mode's directions.

    Example:
    >>> import kerasadv
    >>> fuzz = DLFuzz(iterations=2, max_mutations=2)
    >>> report = fuzz.run(kerasadv.models.simple_cnn(),
    ...                   np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32))
    >>> sorted(report)[:4]
    ['adversarial', 'capped', 'coverage_after', 'coverage_before']
    """

    norm = "l2_ratio"  # the budget: L2 norm of the change over the seed's (`max_ratio`)
    traceable = False

    def __init__(
        self,
        layer_names=None,
        strategy="rare",
        neurons=10,
        top_k=4,
        predict_weight=0.5,
        weight=0.5,
        step_size=0.002,
        iterations=5,
        max_ratio=0.02,
        threshold=0.5,
        mode="gradient",
        max_mutations=20,
        batch_size=32,
        seed=0,
    ):
        self.strategy = validation.check_choice(strategy, "strategy", STRATEGIES)
        self.mode = validation.check_choice(mode, "mode", MODES)
        self.layer_names = None if layer_names is None else list(layer_names)
        self.threshold = float(threshold)
        self.neurons = validation.check_integer(neurons, "neurons")
        self.top_k = validation.check_integer(top_k, "top_k")
        self.iterations = validation.check_integer(iterations, "iterations")
        self.max_mutations = validation.check_integer(max_mutations, "max_mutations")
        self.batch_size = validation.check_integer(batch_size, "batch_size")
        self.predict_weight, self.weight = float(predict_weight), float(weight)
        rms, ratio = "the RMS of a step in [0, 1] pixel units", "the L2 norm of a change over its seed's"
        self.step_size = validation.check_number(step_size, "step_size", 0.0, 1.0, low_open=True, meaning=rms)
        self.max_ratio = validation.check_number(max_ratio, "max_ratio", 0.0, 1.0, low_open=True, meaning=ratio)
        self.seed = None if seed is None else int(seed)
        self._fuzzers = weakref.WeakKeyDictionary()

    def fuzzer(self, model):
        """The per-model fuzzing state (coverage so far), created on first use."""
        if model not in self._fuzzers:
            self._fuzzers[model] = Fuzzer(model, self)
        return self._fuzzers[model]

    def run(self, model, x, y=None, eps=None):
        """Fuzzes the seeds `x` (labels unused: DLFuzz moves away from the model's prediction).

        Returns:
            dict of `x_adv` (a seed's first adversarial mutation within budget, else the seed),
            `adversarial` flags, `ratio` and `l2` of x_adv's change, `mutations` (queue
            entries per seed, the seed included), `capped` (queue closed by `max_mutations`), `coverage_before` /
            `coverage_after`, `curve` (`(mutations so far, coverage)` after every step) and `seconds`.
        """
        self._require_eager()
        self._no_eps(eps)
        check_logits(model)
        x = validation.check_images(x)
        validation.check_model_input(model, x)
        if x.shape[0] == 0:  # an empty batch comes back unchanged, as from every attack
            return {"x_adv": x, **self.fuzzer(model).nothing_fuzzed()}
        out = self.fuzzer(model).fuzz(x.numpy())
        return {**out, "x_adv": tf.constant(out["x_adv"])}

    def get_config(self):
        names = ("layer_names", "strategy", "neurons", "top_k", "predict_weight", "weight", "iterations")
        more = ("max_ratio", "threshold", "mode", "max_mutations", "batch_size", "seed")
        config = {name: getattr(self, name) for name in (*names, *more)}
        return {**config, "step_size": float(self.step_size)}


class Fuzzer:
    """DLFuzz's state for one model: probe, coverage, running neuron statistics, seeds seen.

    It keeps the probe (which shares the model's layers), never the model itself: `DLFuzz`
    holds it as the value of a weak-keyed dictionary, which a reference to the key would keep
    alive forever.
    """

    def __init__(self, model, config):
        self.config = config
        self.probe = probe_model(model, config.layer_names)
        self.coverage = NeuronCoverage(self.probe, config.threshold)
        self.layers = self.coverage.layers
        self.mean_scaled = self.max_scaled = None
        self.seen = self.seeds_seen = self.mutations = 0
        sizes = [self.probe.output[n].shape[-1] for n in self.layers]
        self.offsets = np.cumsum([0] + sizes)
        self.weights = np.concatenate([_channel_weights(model, n, c) for n, c in zip(self.layers, sizes)])
        self.rng = np.random.default_rng(config.seed)
        self._gradient = tf.function(self._objective_gradient, reduce_retracing=True)

    def _observe(self, images):
        """One probe pass: updates coverage and the running mean / max of the scaled neuron values.

        Returns:
            `(gains, predictions)`: per image, the share of all neurons it newly covers (None
            before anything is covered) and the model's predicted class.
        """
        outputs = probe_outputs(self.probe, images)
        by_layer = self.coverage.scale(neuron_values(outputs, self.layers))
        scaled = np.concatenate(list(by_layer.values()), axis=1)
        gains = self.coverage.count_new(by_layer) / self.offsets[-1] if self.coverage.covered else None
        batch_mean, total = scaled.mean(0), self.seen + len(images)
        if self.mean_scaled is None:
            self.mean_scaled, self.max_scaled = batch_mean, scaled.max(0)
        else:
            self.mean_scaled = (self.mean_scaled * self.seen + batch_mean * len(images)) / total
            self.max_scaled = np.maximum(self.max_scaled, scaled.max(0))
        self.seen = total
        self.coverage.add(by_layer)
        return gains, outputs["logits"].numpy().argmax(1)

    def select(self):
        """Indices (over all layers' neurons) of the neurons targeted next."""
        covered = np.concatenate([self.coverage.covered[n] for n in self.layers])
        key = {
            "rare": self.mean_scaled,
            "frequent": -self.mean_scaled,
            "weights": -self.weights,
            "near_threshold": -np.where(self.max_scaled < self.coverage.threshold, self.max_scaled, -np.inf),
        }[self.config.strategy]
        candidates = np.flatnonzero(~covered)
        return candidates[np.argsort(key[candidates], kind="stable")[: self.config.neurons]]

    def _objective_gradient(self, x, mask):
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs = self.probe(x, training=False)
            logits = tf.cast(outputs["logits"], tf.float32)
            ranked = tf.math.top_k(logits, min(self.config.top_k + 1, logits.shape[-1])).indices
            own, others = ranked[:, 0], ranked[:, 1:]  # the prediction and the top-k other classes
            push = tf.reduce_sum(tf.gather(logits, others, axis=1, batch_dims=1), 1)
            objective = self.config.predict_weight * push - tf.gather(logits, own, axis=1, batch_dims=1)
            values = [
                tf.reduce_mean(outputs[n], axis=list(range(1, len(outputs[n].shape) - 1)))
                if len(outputs[n].shape) > 2
                else outputs[n]
                for n in self.layers
            ]
            neurons = tf.reduce_sum(tf.cast(tf.concat(values, axis=1), tf.float32) * mask, axis=1)
            total = tf.reduce_sum(objective + self.config.weight * neurons)
        return tape.gradient(total, x)

    def _direction(self, images):
        """The step direction of a batch of mutations (unit RMS per image)."""
        if self.config.mode == "random":
            return unit_rms(self.rng.standard_normal(images.shape).astype(np.float32))
        mask = np.zeros(self.offsets[-1], np.float32)
        mask[self.select()] = 1.0
        return unit_rms(self._gradient(tf.constant(images), tf.constant(mask)).numpy())

    def nothing_fuzzed(self):
        """`fuzz`'s report of no seeds (without `x_adv`): empty per-seed arrays, the coverage so far."""
        coverage = self.coverage.coverage() if self.coverage.covered else 0.0
        empty = {"adversarial": bool, "ratio": float, "l2": float, "mutations": int, "capped": bool}
        report = {name: np.zeros(0, dtype) for name, dtype in empty.items()}
        return {**report, "coverage_before": coverage, "coverage_after": coverage, "curve": [], "seconds": 0.0}

    def fuzz(self, seeds):
        """Runs every seed's queue to its end; see `DLFuzz.run` for what it returns."""
        start, c = time.perf_counter(), self.config
        seeds = np.asarray(seeds, np.float32)
        _, original = self._observe(seeds)
        before = self.coverage.coverage()
        norms = np.maximum(np.linalg.norm(seeds.reshape(len(seeds), -1), axis=1), TINY)  # a black seed: no budget
        gain_needed = 0.01 / (self.seeds_seen + np.arange(len(seeds)) + 1)
        self.seeds_seen += len(seeds)
        x_adv, adversarial = seeds.copy(), np.zeros(len(seeds), bool)
        spawned, capped, curve = np.ones(len(seeds), int), np.zeros(len(seeds), bool), []
        queue = collections.deque((i, seeds[i]) for i in range(len(seeds)))
        while queue:  # ends: a mutation re-enters only while it adds coverage, and max_mutations bounds each seed
            items = [queue.popleft() for _ in range(min(c.batch_size, len(queue)))]
            index, images = np.array([i for i, _ in items]), np.stack([image for _, image in items])
            for _ in range(c.iterations):
                images = np.clip(images + c.step_size * self._direction(images), 0.0, 1.0)
                gains, predicted = self._observe(images)
                self.mutations += len(images)
                curve.append((self.mutations, self.coverage.coverage()))
                ratio = np.linalg.norm((images - seeds[index]).reshape(len(index), -1), axis=1) / norms[index]
                within = ratio < c.max_ratio
                fooled = within & (predicted != original[index])
                for k in np.flatnonzero(fooled & ~adversarial[index]):
                    adversarial[index[k]], x_adv[index[k]] = True, images[k]
                for k in np.flatnonzero((gains > gain_needed[index]) & within):
                    if spawned[index[k]] < c.max_mutations:
                        spawned[index[k]] += 1
                        queue.append((index[k], images[k].copy()))
                    else:
                        capped[index[k]] = True
        l2 = np.linalg.norm((x_adv - seeds).reshape(len(seeds), -1), axis=1)
        return {
            "x_adv": x_adv,
            "adversarial": adversarial,
            "ratio": l2 / norms,
            "l2": l2,
            "mutations": spawned,
            "capped": capped,
            "coverage_before": before,
            "coverage_after": self.coverage.coverage(),
            "curve": curve,
            "seconds": time.perf_counter() - start,
        }
