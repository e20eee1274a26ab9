"""`Smoothed`: a Keras classifier under Gaussian noise, with its prediction and L2 certificate.

The protocol is Cohen, Rosenfeld & Kolter (2019), as locuslab/smoothing `code/core.py` runs it:
`certify` guesses the top class from `n0` noise samples, counts it in `n` fresh samples,
bounds its probability from below (Clopper-Pearson, level alpha) and certifies the radius
`sigma * Phi^-1(p_lower)`, abstaining when the bound is below 1/2; `predict` abstains unless a
binomial test at level alpha separates the two top classes of `n` samples.
"""

import time

import keras
import numpy as np

from kerasadv.attacks import validation
from kerasadv.certify import bounds
from kerasadv.certify.sampling import NoiseSampler
from kerasadv.errors import CertificationError, KerasAdvError
from kerasadv.training.precision import dtype_policy_name

ABSTAIN = -1
"""The class `predict` and `certify` return where they abstain."""

_SELECTION, _ESTIMATION, _PREDICTION = 0, 1, 2  # independent draws per example and use


class Smoothed:
    """The smoothed version g of a classifier f: g(x) = the class f most often gives x + N(0, sigma^2 I).

    A certificate holds for the classifier that was sampled, in the precision it computes in:
    the model runs under its own dtype policy (recorded as `dtype` in every result), so sample
    the model as it is served.

    Args:
        classifier: a Keras classifier of [0, 1] images (logits or probabilities).
        sigma: noise standard deviation in pixel units (> 0); certified radii are L2 in the
            same units.
        batch_size: noise draws per forward pass (memory is one such batch, whatever n is).
        seed: seed of the noise; example i (counted from `first_index`) draws from its own
            stream, so a result does not depend on how the examples are split between calls.

    Raises:
        CertificationError: a bad sigma, batch size or seed.

    Example:
    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(
    ...     2, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant([0.0, 1.0]))])
    >>> smoothed = Smoothed(model, sigma=0.25, batch_size=500)
    >>> result = smoothed.certify(np.full((1, 2, 2, 1), 0.5, np.float32), n0=100, n=1000, progress=False)
    >>> int(result["predictions"][0]), round(float(result["radius"][0]), 3)  # all samples in class 1
    (1, 0.616)
    """

    def __init__(self, classifier, sigma, batch_size=1000, seed=0):
        if not isinstance(classifier, keras.Model):
            raise CertificationError(f"classifier must be a keras.Model, got {type(classifier).__name__}.")
        self.classifier = classifier
        self.seed = validation.check_integer(seed, "seed", low=0, error=CertificationError)
        self.sampler = NoiseSampler(classifier, sigma, batch_size)

    @property
    def sigma(self):
        return self.sampler.sigma

    @property
    def batch_size(self):
        return self.sampler.batch_size

    def certify(self, x, n0=100, n=100_000, alpha=0.001, first_index=0, progress=True):
        """Certifies each image of `x`: the smoothed class and the L2 radius it holds within.

        Args:
            x: float32 images in [0, 1], shape (count, height, width, channels) (or the
                model's input shape).
            n0: noise samples that select the top class.
            n: noise samples that estimate its probability.
            alpha: failure probability: with probability >= 1 - alpha over the noise, the class
                is g(x) and g is constant within the radius.
            first_index: the key of `x[0]` (its index in a larger set), for the noise streams.
            progress: show a progress bar over the images.

        Returns:
            dict of numpy arrays per image: "predictions" (-1 where it abstains), "radius"
            (0 where it abstains), "p_lower", "count" (top-class count among the n samples),
            "selection_counts" and "counts" (class counts, shape (count, classes)),
            "seconds"; and the protocol: "sigma", "n0", "n", "alpha", "batch_size", "seed",
            "dtype" (the model's dtype policy) and "max_radius" (the radius of n out of n).

        Raises:
            CertificationError: bad images or parameters.
        """
        n0, n, alpha = self._count(n0, "n0"), self._count(n, "n"), bounds.check_alpha(alpha)
        x = self._images(x)
        rows = []
        for i, image in self._progress(x, progress):
            start = time.perf_counter()
            selection = self.sampler.counts(image, n0, self._key(first_index + i, _SELECTION))
            top = int(np.argmax(selection))
            counts = self.sampler.counts(image, n, self._key(first_index + i, _ESTIMATION))
            p_lower = float(bounds.lower_confidence_bound(counts[top], n, alpha))
            rows.append((top if p_lower >= 0.5 else ABSTAIN, p_lower, selection, counts, time.perf_counter() - start))
        predictions = np.array([r[0] for r in rows], np.int64)
        p_lower = np.array([r[1] for r in rows], np.float64)
        counts = self._stack([r[3] for r in rows])
        selection_counts = self._stack([r[2] for r in rows])
        top = selection_counts.argmax(axis=1) if len(rows) else np.zeros(0, np.int64)
        return {
            "predictions": predictions,
            "radius": np.where(predictions == ABSTAIN, 0.0, bounds.radius(p_lower, self.sigma)),
            "p_lower": p_lower,
            "count": counts[np.arange(len(rows)), top] if len(rows) else np.zeros(0, np.int64),
            "selection_counts": selection_counts,
            "counts": counts,
            "seconds": np.array([r[4] for r in rows], np.float64),
            **self._protocol(n0=n0, n=n, alpha=alpha),
            "max_radius": bounds.max_radius(n, alpha, self.sigma),
        }

    def predict(self, x, n=100_000, alpha=0.001, first_index=0, progress=True):
        """The smoothed prediction of each image, abstaining (-1) unless its top class is significant.

        Args:
            x, first_index, progress: as `certify`.
            n: noise samples per image.
            alpha: level of the two-sided binomial test between the two most counted classes.

        Returns:
            dict: "predictions" (-1 where it abstains), "counts" (shape (count, classes)),
            "p_value", and the protocol as `certify`'s.
        """
        n, alpha = self._count(n, "n"), bounds.check_alpha(alpha)
        x = self._images(x)
        predictions, p_values, all_counts = [], [], []
        for i, image in self._progress(x, progress):
            counts = self.sampler.counts(image, n, self._key(first_index + i, _PREDICTION))
            first, second = np.argsort(counts, kind="stable")[::-1][:2]
            p_value = bounds.tie_p_value(counts[first], counts[second])
            predictions.append(ABSTAIN if p_value > alpha else int(first))
            p_values.append(p_value)
            all_counts.append(counts)
        return {
            "predictions": np.array(predictions, np.int64),
            "counts": self._stack(all_counts),
            "p_value": np.array(p_values, np.float64),
            **self._protocol(n=n, alpha=alpha),
        }

    def get_config(self):
        """The smoothing without the classifier: sigma, batch size, seed (`from_config(config, classifier)`)."""
        return {"sigma": self.sigma, "batch_size": self.batch_size, "seed": self.seed}

    @classmethod
    def from_config(cls, config, classifier):
        return cls(classifier, **config)

    def _protocol(self, **values):
        return {**values, **self.get_config(), "dtype": dtype_policy_name(self.classifier)}

    def _key(self, index, use):
        return (self.seed, 3 * int(index) + use)

    def _stack(self, counts):
        width = self.sampler.num_classes or 0
        return np.stack(counts).astype(np.int64) if counts else np.zeros((0, width), np.int64)

    @staticmethod
    def _count(value, name):
        return validation.check_integer(value, name, error=CertificationError)

    def _images(self, x):
        try:
            x = validation.check_images(x)
            validation.check_model_input(self.classifier, x)
        except KerasAdvError as error:
            raise CertificationError(str(error)) from None
        return x

    @staticmethod
    def _progress(x, progress):
        bar = keras.utils.Progbar(len(x), unit_name="image") if progress and len(x) else None
        for i in range(len(x)):
            yield i, x[i]
            if bar is not None:
                bar.update(i + 1)
