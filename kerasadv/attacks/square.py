"""Square attack (Andriushchenko et al. 2020), Linf and L2: a score-based random search, no gradients.

Per query one random square window of the perturbation is redrawn, and the change is kept
when the margin loss z_y - max_{j != y} z_j drops. Linf starts from vertical stripes of
+-eps and redraws the window's +-eps values (one sign per channel). L2 starts from a grid
of pseudo-Gaussian bumps scaled to norm eps; each query moves the mass of a second window,
plus the budget not yet used, into the first window as a fresh unit bump (one sign per
channel) added to its old unit direction, and rescales the whole perturbation to norm eps.
The window's share of the image shrinks on the paper's schedule (p = 0.8 halved at 10, 50,
200, 500, 1000, 2000, 4000, 6000 and 8000 of 10,000 rescaled queries). An example stops
costing queries once it is misclassified. Gradient masking does not fool it, which is why
AutoAttack includes it.
"""

import numpy as np
import tensorflow as tf

from kerasadv.attacks import validation
from kerasadv.attacks.base import GradientAttack, register
from kerasadv.attacks.masks import per_image, select
from kerasadv.constants import DEFAULT_LINF_EPS, TINY
from kerasadv.errors import AttackInputError

SCHEDULE = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)  # of 10,000 rescaled queries
# numpy, not a tf.constant: importing kerasadv must not start TensorFlow's runtime (tf.distribute
# strategies configure it at program start, after imports).
RING_TAIL = np.append(np.cumsum((1.0 / np.arange(1, 4097) ** 2)[::-1])[::-1], 0.0).astype(np.float32)


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


def bump(rows, cols, top, left, side, transpose=False):
    """Pseudo-Gaussian bumps on a `side` x `side` window at (`top`, `left`): +bump top half, -bump bottom.

    Each half holds concentric rectangles weighted sum_{k >= ring} 1 / (k + 1)^2 (largest at
    its centre), the paper's "meta pseudo-Gaussian" pattern, and the window has unit L2 norm;
    zero outside the window. `transpose` (a bool broadcasting like `top`) swaps the halves to
    left / right. `rows` / `cols` broadcast against `top` / `left` / `side`.
    """
    r, c = rows - top, cols - left
    r, c = tf.where(transpose, c, r), tf.where(transpose, r, c)
    half = tf.maximum(side // 2, 1)
    in_top = r < half
    height = tf.where(in_top, half, side - half)
    r_half = tf.where(in_top, r, r - half)
    ring = tf.maximum(tf.abs(2 * r_half - (height - 1)), tf.abs(2 * c - (side - 1))) // 2
    rings = (tf.maximum(side, height) + 1) // 2
    value = tf.gather(RING_TAIL, ring) - tf.gather(RING_TAIL, rings)  # sum over ring <= k < rings
    in_window = (r >= 0) & (r < side) & (c >= 0) & (c < side)
    pattern = tf.where(in_window, tf.where(in_top, value, -value), 0.0)
    return pattern / tf.sqrt(tf.reduce_sum(tf.square(pattern), axis=[-3, -2], keepdims=True) + TINY)


def l2_norm(t, axis=(1, 2, 3)):
    return tf.sqrt(tf.reduce_sum(tf.square(t), axis=axis, keepdims=True) + TINY)


@register
class Square(GradientAttack):
    """Square attack, Linf or L2 (score-based: uses only the model's logits).

    Args:
        eps: radius ([0, 1] pixel units; L2: Euclidean norm of the perturbation).
        queries: model queries per example (5,000 in AutoAttack's standard version).
        p_init: initial share of the image one square covers (0.8 in AutoAttack).
        norm: "linf" or "l2".
        **kwargs: `seed`, `training`, `jit_compile` (see `GradientAttack`; untargeted only).

    Raises:
        AttackInputError: targeted, p_init outside (0, 1], queries < 1.

    Example:
    >>> import kerasadv
    >>> model, x, y = kerasadv.testing.contract_bench()  # a small CNN and four images
    >>> out = Square(eps=0.5, norm="l2", queries=20, seed=0).run(model, x, y)
    >>> sorted(out), out["success"].shape  # success: misclassified within the queries
    (['success', 'x_adv'], TensorShape([4]))
    """

    def __init__(self, eps=DEFAULT_LINF_EPS, queries=5000, p_init=0.8, norm="linf", **kwargs):
        if kwargs.get("targeted"):
            raise AttackInputError("Square is implemented for untargeted attacks (leave targeted=False).")
        super().__init__(eps, norm, **kwargs)
        self.queries = validation.check_integer(queries, "queries")
        self.p_init = validation.check_number(p_init, "p_init", 0.0, 1.0, low_open=True)

    def _margins(self, model, x, labels):
        return margin(tf.cast(model(x, training=self.training), tf.float32), labels)

    def _start(self, x, eps):
        shape = tf.shape(x)
        n, height, width, channels = shape[0], shape[1], shape[2], shape[3]
        if self.norm == "linf":
            stripes = tf.sign(tf.random.stateless_uniform([n, 1, width, channels], self._seed(), -1.0, 1.0))
            return tf.clip_by_value(x + eps * stripes, 0.0, 1.0)
        side = tf.maximum(height // 5, 1)  # a grid of side x side bumps, one random sign per bump and channel
        rows, cols = tf.range(height), tf.range(width)
        pattern = bump(rows[None, :, None, None] % side, cols[None, None, :, None] % side, 0, 0, side)
        grid = [n, height // side + 1, width // side + 1, channels]
        cells = tf.random.stateless_uniform(grid, self._seed(), -1.0, 1.0)
        signs = tf.gather(tf.gather(tf.sign(cells), rows // side, axis=1), cols // side, axis=2)
        fits = (rows[None, :, None, None] < height // side * side) & (cols[None, None, :, None] < width // side * side)
        delta = tf.where(fits, pattern * signs, 0.0)
        return tf.clip_by_value(x + eps * delta / l2_norm(delta), 0.0, 1.0)

    def _window(self, x, i, seed, count):
        """Top-left corners (count, 1, 1, 1) of a random window and its side, at query `i`."""
        shape = tf.shape(x)
        height, width, channels = shape[1], shape[2], shape[3]
        features = tf.cast(height * width * channels, tf.float32)
        p = window_fraction(i, self.queries, self.p_init)
        side = tf.cast(tf.round(tf.sqrt(p * features / tf.cast(channels, tf.float32))), tf.int32)
        if self.norm == "l2":  # odd, at least 3: a bump needs a centre
            side = tf.maximum(side, 3) + 1 - tf.maximum(side, 3) % 2
        side = tf.clip_by_value(side, 1, height - 1)
        top = tf.random.stateless_uniform([count, 1, 1, 1], seed, 0, height - side + 1, tf.int32)
        left = tf.random.stateless_uniform([count, 1, 1, 1], seed + 1, 0, width - side + 1, tf.int32)
        return top, left, side

    def _candidate(self, i, x_orig, x_act, eps):
        """A new point for each active example: one window redrawn."""
        shape = tf.shape(x_orig)
        count, height, width, channels = shape[0], shape[1], shape[2], shape[3]
        seed = self._seed()
        rows = tf.range(height)[None, :, None, None]
        cols = tf.range(width)[None, None, :, None]
        top, left, side = self._window(x_orig, i, seed, count)
        window = (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
        signs = tf.sign(tf.random.stateless_uniform([count, 1, 1, channels], seed + 2, -1.0, 1.0))
        if self.norm == "linf":
            return select(window, tf.clip_by_value(x_orig + eps * signs, 0.0, 1.0), x_act)
        top2, left2, _ = self._window(x_orig, i, seed + 3, count)
        window2 = (rows >= top2) & (rows < top2 + side) & (cols >= left2) & (cols < left2 + side)
        delta = x_act - x_orig
        moved = tf.square(l2_norm(tf.where(window | window2, delta, 0.0)))  # the two windows' mass
        unused = tf.maximum(tf.square(eps) - tf.square(l2_norm(delta)), 0.0)
        old = tf.where(window, delta, 0.0)
        transpose = tf.random.stateless_uniform([count, 1, 1, 1], seed + 4) > 0.5
        new = bump(rows, cols, top, left, side, transpose) * signs + old / l2_norm(old, axis=(1, 2))
        new = new / l2_norm(new, axis=(1, 2)) * tf.sqrt(moved + unused / tf.cast(channels, tf.float32))
        delta = tf.where(window, new, tf.where(window2, 0.0, delta))
        return tf.clip_by_value(x_orig + eps * delta / l2_norm(delta), 0.0, 1.0)

    def perturb(self, model, x, labels, eps):
        x_adv = self._start(x, eps)
        loss = self._margins(model, x_adv, labels)

        def query(i, x_adv, loss):
            active = tf.where(loss >= 0)[:, 0]  # a tie is not a misclassification yet
            x_act, y_act = tf.gather(x_adv, active), tf.gather(labels, active)
            candidate = self._candidate(i, tf.gather(x, active), x_act, eps)
            new_loss = self._margins(model, candidate, y_act)
            better = new_loss < tf.gather(loss, active)
            index = active[:, None]
            x_adv = tf.tensor_scatter_nd_update(x_adv, index, select(per_image(better), candidate, x_act))
            loss = tf.tensor_scatter_nd_update(loss, index, tf.where(better, new_loss, tf.gather(loss, active)))
            return i + 1, x_adv, loss

        def running(i, x_adv, loss):
            return tf.logical_and(i < self.queries - 1, tf.reduce_any(loss >= 0))  # the start took one query

        _, x_adv, loss = tf.while_loop(running, query, (tf.constant(0), x_adv, loss))
        return {"x_adv": x_adv, "success": loss < 0}

    def get_config(self):
        config = {**super().get_config(), "queries": self.queries, "p_init": self.p_init}
        config.pop("targeted")
        config.pop("target")
        return config
