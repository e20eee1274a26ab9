"""DLFuzz-style coverage-guided adversarial generation (Guo et al., 2018).

Each step ascends, for a batch of seeds, `sum(top-k other logits) - original logit` plus
`weight` x the activations of selected not-yet-covered neurons, moves by `step_size` along
the L2-normalised gradient, and keeps a mutation only if it stays within the L2 budget of
the original image and covers new neurons. A seed whose prediction changes is an
adversarial input. Neurons are those of `NeuronCoverage` (channel means of conv outputs).
"""

import time
import weakref

import numpy as np
import tensorflow as tf

from kerasadv.analysis.coverage import NeuronCoverage
from kerasadv.analysis.probes import probe_model
from kerasadv.attacks import validation
from kerasadv.attacks.base import Attack, register
from kerasadv.constants import TINY
from kerasadv.errors import AttackInputError
from kerasadv.models.logits import check_logits

STRATEGIES = ("rare", "frequent", "weights", "near_threshold")


def _channel_weights(model, layer_name, channels):
    """Mean |kernel| per output channel of the layer, or of the nearest earlier layer with one."""
    layers = model.layers[: [l.name for l in model.layers].index(layer_name) + 1]
    for layer in reversed(layers):
        kernel = getattr(layer, "kernel", None)
        if kernel is not None and kernel.shape[-1] == channels:
            return np.abs(kernel.numpy()).reshape(-1, channels).mean(0)
    return np.ones(channels)


@register
class DLFuzz(Attack):
    """Coverage-guided generation over batches of seed images, as an attack.

    Coverage state (which neurons are covered, their running statistics) is kept per model
    across calls, as fuzzing campaigns do; `fuzzer(model)` exposes it.

    Args:
        layer_names: layers whose neurons are selected and covered (default: conv / dense activations).
        strategy: "rare" / "frequent" (lowest / highest mean scaled activation so far),
            "weights" (largest mean |kernel|), "near_threshold" (highest max scaled value
            still below the threshold); always among neurons not yet covered.
        neurons: neurons selected per step.
        top_k: other classes whose logits are raised.
        weight: weight of the neuron term.
        step_size: L2 length of each step.
        steps: steps per seed batch.
        eps: L2 radius: the largest distance of a mutation from its seed.
        threshold: coverage threshold on scaled activations.

    Example:
    >>> import kerasadv
    >>> fuzz = DLFuzz(steps=2)
    >>> report = fuzz.run(kerasadv.models.simple_cnn(),
    ...                   np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32))
    >>> sorted(report)[:3]
    ['adversarial', 'coverage_after', 'coverage_before']
    """

    norm = "l2"
    traceable = False

    def __init__(
        self,
        layer_names=None,
        strategy="rare",
        neurons=10,
        top_k=4,
        weight=0.5,
        step_size=0.2,
        steps=10,
        eps=1.0,
        threshold=0.5,
    ):
        if strategy not in STRATEGIES:
            raise AttackInputError(f"strategy must be one of {STRATEGIES}, got {strategy!r}.")
        self.layer_names = None if layer_names is None else list(layer_names)
        self.strategy, self.top_k, self.threshold = strategy, int(top_k), float(threshold)
        self.neurons = validation.check_positive_int(neurons, "neurons")
        self.steps = validation.check_positive_int(steps, "steps")
        self.weight, self.step_size = float(weight), validation.check_eps(step_size, "l2", name="step_size")
        self.eps = validation.check_eps(eps, "l2")
        self._fuzzers = weakref.WeakKeyDictionary()

    def fuzzer(self, model):
        """The per-model fuzzing state (coverage so far), created on first use."""
        if model not in self._fuzzers:
            self._fuzzers[model] = Fuzzer(model, self)
        return self._fuzzers[model]

    def run(self, model, x, y=None, eps=None):
        """Fuzzes the seeds `x` (labels unused: DLFuzz moves away from the model's prediction).

        Returns:
            dict of `x_adv`, `adversarial` flags, `coverage_before` / `coverage_after`, `l2`,
            `seconds`.
        """
        self._require_eager()
        check_logits(model)
        x = validation.check_images(x).numpy()
        out = self.fuzzer(model).fuzz(x, self.eps if eps is None else validation.check_eps(eps, "l2"))
        return {**out, "x_adv": tf.constant(out["x_adv"])}

    def get_config(self):
        return {
            "layer_names": self.layer_names,
            "strategy": self.strategy,
            "neurons": self.neurons,
            "top_k": self.top_k,
            "weight": self.weight,
            "step_size": self.step_size,
            "steps": self.steps,
            "eps": float(self.eps),
            "threshold": self.threshold,
        }


class Fuzzer:
    """DLFuzz's state for one model: probe, coverage and running neuron statistics."""

    def __init__(self, model, config):
        self.model, self.config = model, config
        self.probe = probe_model(model, config.layer_names)
        self.coverage = NeuronCoverage(self.probe, config.threshold)
        self.layers = self.coverage.layers
        self.mean_scaled = self.max_scaled = None
        self.seen = 0
        sizes = [self.probe.output[n].shape[-1] for n in self.layers]
        self.offsets = np.cumsum([0] + sizes)
        self.weights = np.concatenate([_channel_weights(model, n, c) for n, c in zip(self.layers, sizes)])
        self._gradient = tf.function(self._objective_gradient, reduce_retracing=True)

    def _observe(self, images):
        scaled = np.concatenate(list(self.coverage.scaled(images).values()), axis=1)
        total = self.seen + len(images)
        batch_mean = scaled.mean(0)
        self.mean_scaled = (
            batch_mean
            if self.mean_scaled is None
            else (self.mean_scaled * self.seen + batch_mean * len(images)) / total
        )
        self.max_scaled = scaled.max(0) if self.max_scaled is None else np.maximum(self.max_scaled, scaled.max(0))
        self.seen = total
        self.coverage.update(images)

    def select(self):
        """Indices (over all layers' neurons) of the neurons targeted next."""
        covered = np.concatenate([self.coverage.covered[n] for n in self.layers])
        strategy, neurons = self.config.strategy, self.config.neurons
        key = {
            "rare": self.mean_scaled,
            "frequent": -self.mean_scaled,
            "weights": -self.weights,
            "near_threshold": -np.where(self.max_scaled < self.coverage.threshold, self.max_scaled, -np.inf),
        }[strategy]
        candidates = np.flatnonzero(~covered)
        return candidates[np.argsort(key[candidates], kind="stable")[:neurons]]

    def _objective_gradient(self, x, original, others, mask):
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs = self.probe(x, training=False)
            logits = tf.cast(outputs["logits"], tf.float32)
            push = tf.reduce_sum(tf.gather(logits, others, axis=1, batch_dims=1), 1)
            objective = push - tf.gather(logits, original, axis=1, batch_dims=1)
            values = [
                tf.reduce_mean(outputs[n], axis=list(range(1, len(outputs[n].shape) - 1)))
                if len(outputs[n].shape) > 2
                else outputs[n]
                for n in self.layers
            ]
            neurons = tf.reduce_sum(tf.concat(values, axis=1) * mask, axis=1)
            total = tf.reduce_sum(objective + self.config.weight * neurons)
        grad = tape.gradient(total, x)
        return grad / (tf.norm(tf.reshape(grad, [tf.shape(x)[0], -1]), axis=1)[:, None, None, None] + TINY)

    def fuzz(self, images, l2_budget):
        """Fuzzes a batch of seeds; returns x_adv, adversarial flags, coverage before / after, L2, seconds."""
        start = time.perf_counter()
        seeds = np.asarray(images, np.float32)
        if self.mean_scaled is None:
            self._observe(seeds)
        before = self.coverage.coverage()
        logits = self.model(seeds, training=False).numpy()
        original = logits.argmax(1)
        others = np.argsort(-logits, axis=1)[:, 1 : self.config.top_k + 1]
        current = seeds.copy()
        for _ in range(self.config.steps):
            mask = np.zeros(self.offsets[-1], np.float32)
            mask[self.select()] = 1.0
            grad = self._gradient(
                tf.constant(current), tf.constant(original, tf.int32), tf.constant(others, tf.int32), tf.constant(mask)
            ).numpy()
            candidate = np.clip(current + self.config.step_size * grad, 0.0, 1.0)
            distance = np.linalg.norm((candidate - seeds).reshape(len(seeds), -1), axis=1)
            keep = (distance <= l2_budget) & (self.coverage.newly_covered(candidate) > 0)
            current[keep] = candidate[keep]
            if keep.any():
                self._observe(candidate[keep])
        adversarial = self.model(current, training=False).numpy().argmax(1) != original
        return {
            "x_adv": current,
            "adversarial": adversarial,
            "coverage_before": before,
            "coverage_after": self.coverage.coverage(),
            "l2": np.linalg.norm((current - seeds).reshape(len(seeds), -1), axis=1),
            "seconds": time.perf_counter() - start,
        }
