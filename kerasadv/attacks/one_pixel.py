"""One-pixel attack (Su et al., 2019): black-box differential evolution over a few pixels.

Only the model's scores are used. Each candidate is `(row, col, value per channel)` for each
changed pixel; `scipy.optimize.differential_evolution` runs vectorised, so one generation is
one batched forward pass over the whole population.
"""

import time

import numpy as np
import scipy.optimize
import tensorflow as tf

from kerasadv.attacks import validation
from kerasadv.attacks.base import Attack, register
from kerasadv.attacks.predictions import predict_labels
from kerasadv.models.logits import check_logits, num_classes
from kerasadv.models.structure import check_structure


@register
class OnePixel(Attack):
    """Changes `pixels` pixels per image to make the model misclassify it (or hit a target).

    Not traceable inside `tf.function` (the search runs in scipy); it follows the protocol
    otherwise: `attack(model, x, y) -> x_adv`, and `run` adds `success` and `seconds` per image.

    Args:
        pixels: pixels changed per image (its L0 budget).
        steps: generations of differential evolution (the iteration budget).
        popsize: population size multiplier (scipy's; the population is popsize x 5 per pixel
            for RGB images).
        targeted: `y` are targets to reach instead of labels to leave.
        seed: seed of the search.

    Example:
    >>> import numpy as np, kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> x = np.random.default_rng(0).random((1, 32, 32, 3), dtype=np.float32)
    >>> out = OnePixel(steps=2, popsize=4, seed=0).run(model, x, np.array([3]))
    >>> int((np.abs(out["x_adv"] - x).max(axis=-1) > 0).sum()) <= 1
    True
    """

    norm = "l0"
    traceable = False

    def __init__(self, pixels=1, steps=100, popsize=80, targeted=False, seed=None):
        self.pixels = validation.check_integer(pixels, "pixels")
        self.steps = validation.check_integer(steps, "steps")
        self.popsize = validation.check_integer(popsize, "popsize")
        self.targeted, self.seed = bool(targeted), seed

    @staticmethod
    def _apply(image, candidates):
        """Images with each candidate's pixels written in; candidates shape (k, pixels * (2 + C))."""
        height, width, channels = image.shape
        batch = np.repeat(image[None], len(candidates), axis=0)
        per_pixel = candidates.reshape(len(candidates), -1, 2 + channels)
        rows = np.clip(per_pixel[..., 0].astype(int), 0, height - 1)
        cols = np.clip(per_pixel[..., 1].astype(int), 0, width - 1)
        index = np.arange(len(candidates))[:, None]
        batch[index, rows, cols] = per_pixel[..., 2:]
        return batch

    def _attack_one(self, model, image, label):
        height, width, channels = image.shape
        bounds = [(0, height), (0, width)] + [(0, 1)] * channels
        sign = -1.0 if self.targeted else 1.0

        def probabilities(candidates):  # scipy passes (params, population)
            images = self._apply(image, np.atleast_2d(candidates.T))
            return tf.nn.softmax(model(images, training=False)).numpy()

        def objective(candidates):
            return sign * probabilities(candidates)[:, label]

        def fooled(candidate, convergence=None):
            predicted = int(np.argmax(probabilities(np.asarray(candidate)[:, None])[0]))
            return predicted == label if self.targeted else predicted != label

        result = scipy.optimize.differential_evolution(
            objective,
            bounds * self.pixels,
            maxiter=self.steps,
            popsize=self.popsize,
            recombination=1.0,
            polish=False,
            vectorized=True,
            updating="deferred",
            seed=self.seed,
            callback=lambda intermediate_result: fooled(intermediate_result.x),
        )
        adversarial = self._apply(image, result.x[None])[0]
        return adversarial, fooled(result.x)

    def run(self, model, x, y=None, eps=None):
        """Attacks each image of `x`; returns dict of `x_adv`, `success`, `seconds` per image."""
        self._require_eager()
        self._no_eps(eps)
        check_structure(model)
        check_logits(model)
        x = validation.check_images(x).numpy()
        labels = (
            predict_labels(model, x).numpy()
            if y is None
            else validation.check_labels(y, len(x), num_classes(model, x)).numpy()
        )
        x_adv, success, seconds = np.empty_like(x), np.zeros(len(x), bool), np.zeros(len(x))
        for i in range(len(x)):
            start = time.perf_counter()
            x_adv[i], success[i] = self._attack_one(model, x[i], int(labels[i]))
            seconds[i] = time.perf_counter() - start
        return {"x_adv": tf.constant(x_adv), "success": tf.constant(success), "seconds": tf.constant(seconds)}

    def get_config(self):
        return {
            "pixels": self.pixels,
            "steps": self.steps,
            "popsize": self.popsize,
            "targeted": self.targeted,
            "seed": self.seed,
        }
