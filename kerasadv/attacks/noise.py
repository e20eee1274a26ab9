"""Gaussian-noise baselines: plain noise of a given std, and noise matched to a perturbation.

The VGG-16 setup compares what an attack does to a network with what statistically similar
random noise does: `matched_noise` draws, per example, Gaussian noise with the mean and
standard deviation of that example's adversarial perturbation, scaled by a strength factor.
"""

import tensorflow as tf

from kerasadv.attacks import validation
from kerasadv.attacks.base import Attack, register, seeded_generator

STRENGTHS = (0.25, 0.5, 1.0, 2.0, 4.0)


def matched_noise(x, x_adv, strength=1.0, seed=(0, 0)):
    """Noisy copies of `x` whose noise matches the per-example mean and std of `x_adv - x`.

    Args:
        x: clean float32 images in [0, 1].
        x_adv: adversarial versions of `x`.
        strength: factor on the noise (the setup uses 0.25, 0.5, 1, 2, 4).
        seed: shape-[2] seed of the stateless normal draw.

    Returns:
        `clip(x + strength * (mean + std * N(0, 1)), 0, 1)`, the shape of `x`.

    Example:
    >>> x = tf.zeros((2, 4, 4, 1)) + 0.5
    >>> noisy = matched_noise(x, x + 0.1, strength=1.0)
    >>> float(tf.reduce_max(tf.abs(noisy - x - 0.1))) < 1e-6
    True
    """
    strength = validation.check_number(strength, "strength", 0.0)
    x = tf.convert_to_tensor(x, tf.float32)
    delta = tf.convert_to_tensor(x_adv, tf.float32) - x
    mean, variance = tf.nn.moments(delta, axes=[1, 2, 3], keepdims=True)
    noise = mean + tf.sqrt(variance) * tf.random.stateless_normal(tf.shape(x), seed)
    return tf.clip_by_value(x + strength * noise, 0.0, 1.0)


@register
class GaussianNoise(Attack):
    """Zero-mean Gaussian noise of std `stddev * strength` (a non-adversarial control).

    Follows the attack protocol so evaluation helpers treat it like any attack; the model
    is not used. It has no radius: `stddev` is the noise's standard deviation.

    Args:
        stddev: noise standard deviation in [0, 1] pixel units.
        strength: factor on the std.
        seed: seed of the noise (None: non-deterministic).

    Example:
    >>> noisy = GaussianNoise(0.1, seed=0)(None, tf.zeros((1, 8, 8, 3)) + 0.5, [0])
    >>> 0.05 < float(tf.math.reduce_std(noisy)) < 0.15
    True
    """

    def __init__(self, stddev=0.03, strength=1.0, seed=None):
        self.stddev = validation.check_eps(stddev, name="stddev")
        self.strength = validation.check_number(strength, "strength", 0.0)
        self.seed = seed
        self._rng = seeded_generator(seed)

    def run(self, model, x, y=None, eps=None):
        self._no_eps(eps)
        x = validation.check_images(x) if tf.executing_eagerly() else tf.cast(x, tf.float32)
        seed = self._rng.make_seeds(1)[:, 0]
        noise = tf.random.stateless_normal(tf.shape(x), seed) * self.stddev * self.strength
        return {"x_adv": tf.clip_by_value(x + noise, 0.0, 1.0)}

    def get_config(self):
        return {"stddev": self.stddev, "strength": self.strength, "seed": self.seed}
