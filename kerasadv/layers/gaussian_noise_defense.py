"""`GaussianNoiseDefense`: additive Gaussian noise at inference as well as in training."""

import keras


@keras.saving.register_keras_serializable(package="kerasadv")
class GaussianNoiseDefense(keras.layers.Layer):
    """Adds zero-mean Gaussian noise of std `stddev` on every call, training or not.

    Unlike `keras.layers.GaussianNoise` (identity at inference), the noise stays on when the
    model is served or attacked, the defense of the base-CNN setup (place it after the first
    convolution or between the dense layers).

    Args:
        stddev: standard deviation of the noise, >= 0 (in the units of the layer's input).
        seed: seed of the noise (reproducible sequence of draws).

    Example:
    >>> layer = GaussianNoiseDefense(0.1, seed=0)
    >>> y = layer(keras.ops.zeros((1000,)), training=False)
    >>> 0.08 < float(keras.ops.std(y)) < 0.12
    True
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not float(stddev) >= 0:
            raise ValueError(f"stddev must be >= 0, got {stddev}.")
        self.stddev, self.seed = float(stddev), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if self.stddev == 0:
            return inputs
        noise = keras.random.normal(
            keras.ops.shape(inputs), stddev=self.stddev, dtype=inputs.dtype, seed=self.seed_generator
        )
        return inputs + noise

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}
