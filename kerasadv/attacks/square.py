"""Square attack (Andriushchenko et al. 2020), Linf: a score-based random search, no gradients.

It starts from vertical stripes of +-eps and, per query, redraws the +-eps values of one
random square window (one sign per channel), keeping the change when the margin loss
z_y - max_{j != y} z_j drops. The window's share of the image shrinks on the paper's schedule
(p = 0.8 halved at 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000 of 10,000 rescaled
queries). An example stops costing queries once it is misclassified. Gradient masking does
not fool it, which is why AutoAttack includes it.
"""

import tensorflow as tf

from kerasadv.attacks import validation
from kerasadv.attacks.base import GradientAttack, register
from kerasadv.constants import DEFAULT_LINF_EPS
from kerasadv.errors import AttackInputError

SCHEDULE = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)  # of 10,000 rescaled queries


def margin(logits, labels):
    """z_y - max_{j != y} z_j per example: negative once misclassified."""
    true = tf.gather(logits, labels, batch_dims=1)
    others = tf.reduce_max(logits - 1e9 * tf.one_hot(labels, tf.shape(logits)[-1]), axis=-1)
    return true - others


def window_fraction(i, queries, p_init):
    """The share p of the image a window covers at query `i` (a tensor), on the paper's schedule."""
    rescaled = tf.cast(i, tf.float32) / queries * 10000.0
    halvings = tf.reduce_sum(tf.cast(rescaled > tf.constant(SCHEDULE, tf.float32), tf.float32))
    return p_init / tf.pow(2.0, halvings)


@register
class Square(GradientAttack):
    """Square attack, Linf (score-based: uses only the model's logits).

    Args:
        eps: Linf radius ([0, 1] pixel units).
        queries: model queries per example (5,000 in AutoAttack's standard version).
        p_init: initial share of the image one square covers (0.8 in AutoAttack).
        **kwargs: `seed`, `training`, `jit_compile` (see `GradientAttack`; untargeted only).

    Example:
    >>> import numpy as np, kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    >>> x_adv = Square(eps=0.03, queries=20, seed=0)(model, x, np.arange(2))
    >>> bool(np.abs(x_adv - x).max() <= 0.03 + 1e-6)
    True
    """

    def __init__(self, eps=DEFAULT_LINF_EPS, queries=5000, p_init=0.8, **kwargs):
        if kwargs.get("targeted") or kwargs.get("norm", "linf") != "linf":
            raise AttackInputError("Square is implemented for untargeted Linf attacks (norm='linf').")
        kwargs.pop("norm", None)
        super().__init__(eps, "linf", **kwargs)
        self.queries = validation.check_positive_int(queries, "queries")
        if not 0.0 < float(p_init) <= 1.0:
            raise AttackInputError(f"p_init must be in (0, 1], got {p_init!r}.")
        self.p_init = float(p_init)

    def _margins(self, model, x, labels):
        return margin(tf.cast(model(x, training=self.training), tf.float32), labels)

    def perturb(self, model, x, labels, eps):
        shape = tf.shape(x)
        n, height, width, channels = shape[0], shape[1], shape[2], shape[3]
        stripes = tf.sign(tf.random.stateless_uniform([n, 1, width, channels], self._seed(), -1.0, 1.0))
        x_adv = tf.clip_by_value(x + eps * stripes, 0.0, 1.0)
        loss = self._margins(model, x_adv, labels)
        features = tf.cast(height * width * channels, tf.float32)

        def query(i, x_adv, loss):
            active = tf.where(loss >= 0)[:, 0]  # a tie is not a misclassification yet
            x_act, x_orig, y_act = tf.gather(x_adv, active), tf.gather(x, active), tf.gather(labels, active)
            p = window_fraction(i, self.queries, self.p_init)
            side = tf.cast(tf.round(tf.sqrt(p * features / tf.cast(channels, tf.float32))), tf.int32)
            side = tf.clip_by_value(side, 1, height - 1)
            seed = self._seed()
            count = tf.shape(active)[0]
            top = tf.random.stateless_uniform([count, 1, 1, 1], seed, 0, height - side + 1, tf.int32)
            left = tf.random.stateless_uniform([count, 1, 1, 1], seed + 1, 0, width - side + 1, tf.int32)
            rows = tf.range(height)[None, :, None, None]
            cols = tf.range(width)[None, None, :, None]
            window = (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
            signs = tf.sign(tf.random.stateless_uniform([count, 1, 1, channels], seed + 2, -1.0, 1.0))
            candidate = tf.where(window, tf.clip_by_value(x_orig + eps * signs, 0.0, 1.0), x_act)
            new_loss = self._margins(model, candidate, y_act)
            better = new_loss < tf.gather(loss, active)
            index = active[:, None]
            x_adv = tf.tensor_scatter_nd_update(x_adv, index, tf.where(better[:, None, None, None], candidate, x_act))
            loss = tf.tensor_scatter_nd_update(loss, index, tf.where(better, new_loss, tf.gather(loss, active)))
            return i + 1, x_adv, loss

        def running(i, x_adv, loss):
            return tf.logical_and(i < self.queries - 1, tf.reduce_any(loss >= 0))  # the start took one query

        _, x_adv, loss = tf.while_loop(running, query, (tf.constant(0), x_adv, loss))
        return {"x_adv": x_adv, "success": loss < 0}

    def get_config(self):
        config = {**super().get_config(), "queries": self.queries, "p_init": self.p_init}
        config.pop("norm")
        config.pop("targeted")
        config.pop("target")
        return config
