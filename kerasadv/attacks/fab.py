"""FAB and FAB-T (Croce & Hein, ICML 2020): the fast adaptive boundary attack, as AutoAttack runs it.

FAB searches for the adversarial example of smallest Linf or L2 norm. At the iterate x_k it
linearises the targeted margin f = z_t - z_y (one gradient) and projects both x_k and the
original x onto the hyperplane {x': f + w.(x' - x_k) = 0} inside the box [0, 1]: the minimal
steps delta_k and delta_orig. It moves to the mix of both extrapolated projections
(1 - alpha)(x_k + eta delta_k) + alpha (x + eta delta_orig), biased towards x by
alpha = min(|delta_k| / (|delta_k| + |delta_orig|), alpha_max). A misclassified iterate is
recorded when closer to x than the best so far, then pulled back: x + beta (x_{k+1} - x), so
the search follows the decision boundary towards x. Each check costs one extra forward pass.

FAB-T runs this towards each of the `targets` most likely other classes of the clean logits,
on the examples not broken yet; a run starts at x, a restart at a random point at distance
min(best norm, eps) / 2. As in AutoAttack an example is broken only by a point within eps of
x; it then leaves the active batch, so its reported norm is the first one found within eps.

Untargeted FAB (AutoAttack "plus") linearises, at every iterate, the margin z_k - z_y of every
class k (the batch Jacobian: one backward pass per class) and follows the class whose linearised
boundary is closest, |z_k - z_y| / ||grad (z_k - z_y)||_dual (L1 for Linf, L2 for L2).
"""

import math

import tensorflow as tf

from kerasadv.attacks import validation
from kerasadv.attacks.apgd import start_point
from kerasadv.attacks.base import GradientAttack, register
from kerasadv.attacks.gradients import checked_gradient, expected_loss
from kerasadv.attacks.masks import per_image, select
from kerasadv.constants import DEFAULT_LINF_EPS, TINY
from kerasadv.errors import AttackInputError


def smallest_level(weights, breaks, target):
    """Per row, the smallest s >= 0 with sum_i weights_i * min(s, breaks_i) >= target.

    The sum is piecewise linear and non-decreasing in s, so after sorting the breakpoints the
    crossing segment is found with cumulative sums and solved exactly. When no s reaches the
    target, the largest breakpoint (every term saturated). Inputs: (n, k) weights >= 0,
    (n, k) breaks >= 0, (n,) target >= 0.
    """
    order = tf.argsort(breaks, axis=-1)
    breaks, weights = tf.gather(breaks, order, batch_dims=1), tf.gather(weights, order, batch_dims=1)
    saturated = tf.cumsum(weights * breaks, axis=-1, exclusive=True)  # terms below breakpoint j
    slope = tf.cumsum(weights, axis=-1, reverse=True)  # terms from j on still grow with s
    level_at_breaks = saturated + breaks * slope
    j = tf.reduce_sum(tf.cast(level_at_breaks < target[:, None], tf.int32), axis=-1)
    last = tf.shape(breaks)[-1] - 1
    at = lambda v, i: tf.gather(v, tf.clip_by_value(i, 0, last), batch_dims=1)
    s = tf.math.divide_no_nan(target - at(saturated, j), at(slope, j))
    s = tf.clip_by_value(s, tf.where(j > 0, at(breaks, j - 1), 0.0), at(breaks, j))
    return tf.where(j > last, breaks[:, -1], s)


def project_to_hyperplane(p, w, c, norm):
    """Minimal-norm steps d with w.d = c and p + d in [0, 1], one per row of the flat (n, k) `p`, `w`.

    Linf: d_i = sign(c w_i) min(t, room_i); L2: d_i = sign(c w_i) min(lambda |w_i|, room_i), where
    room_i is how far p_i may move in that direction; t (lambda) is the smallest level reaching
    |c|. When no step inside the box reaches the hyperplane, the box corner that gets closest.

    Example:
    >>> d = project_to_hyperplane(tf.fill([1, 3], 0.5), tf.constant([[1.0, -2.0, 0.0]]), tf.constant([0.3]), "linf")
    >>> [round(float(v), 4) for v in d[0]]
    [0.1, -0.1, 0.0]
    """
    direction = tf.sign(w) * tf.sign(c)[:, None]
    room = tf.where(direction > 0, 1.0 - p, p)
    speed = tf.ones_like(w) if norm == "linf" else tf.abs(w)
    level = smallest_level(tf.abs(w) * speed, room / tf.maximum(speed, TINY), tf.abs(c))
    return direction * tf.minimum(level[:, None] * speed, room)


def perturbation_norm(delta, norm):
    """Linf or L2 norm of each example's perturbation (any rank >= 2)."""
    flat = tf.reshape(delta, [tf.shape(delta)[0], -1])
    return tf.reduce_max(tf.abs(flat), -1) if norm == "linf" else tf.sqrt(tf.reduce_sum(tf.square(flat), -1))


def target_margin(logits, pairs):
    """z_t - z_y per example, `pairs` holding (true, target) rows: positive once t beats y."""
    logits = tf.cast(logits, tf.float32)
    return tf.gather(logits, pairs[:, 1], batch_dims=1) - tf.gather(logits, pairs[:, 0], batch_dims=1)


@register
class FABT(GradientAttack):
    """FAB-T (Croce & Hein 2020): minimal-norm targeted boundary search, Linf or L2, as in AutoAttack.

    Success is any misclassification by a point within eps of x. Returns `x_adv` (for a broken
    example the smallest adversarial point found, norm <= eps; for the others x unchanged),
    `success` and `norms`: the smallest adversarial norm found per example, which may exceed eps
    (0 for clean-misclassified examples, inf where none was found).

    Args:
        eps: radius of the ball ([0, 1] pixel units for Linf).
        steps: iterations per target and restart (100 in AutoAttack).
        targets: number of target classes, the most likely ones after the top (9 in AutoAttack).
        restarts: runs per target; the first starts at x, the others at random points.
        alpha_max: largest weight of the step from x (0.1).
        eta: extrapolation of the projections (1.05).
        beta: pull-back factor towards x after a misclassified iterate (0.9).
        norm: "linf" or "l2".
        **kwargs: `seed`, `training`, `jit_compile` (see `GradientAttack`).

    Raises:
        AttackInputError: targeted=True, steps / targets / restarts < 1, alpha_max outside
            [0, 1], eta outside [1, inf), beta outside (0, 1].

    Example:
    >>> import numpy as np, kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    >>> out = FABT(eps=0.03, steps=5, targets=2, seed=0).run(model, x, np.arange(2))
    >>> bool(np.abs(out["x_adv"] - x).max() <= 0.03), sorted(out)
    (True, ['norms', 'success', 'x_adv'])
    """

    def __init__(
        self, eps=DEFAULT_LINF_EPS, steps=100, targets=9, restarts=1, alpha_max=0.1, eta=1.05, beta=0.9, norm="linf",
        **kwargs,
    ):  # fmt: skip
        if kwargs.get("targeted"):
            raise AttackInputError("FABT picks its own targets; leave targeted=False.")
        super().__init__(eps, norm, **kwargs)
        self.steps = validation.check_integer(steps, "steps")
        self.targets = validation.check_integer(targets, "targets")
        self.restarts = validation.check_integer(restarts, "restarts")
        self.alpha_max = validation.check_number(alpha_max, "alpha_max", 0.0, 1.0)
        self.eta = validation.check_number(eta, "eta", 1.0)
        self.beta = validation.check_number(beta, "beta", 0.0, 1.0, low_open=True)

    def _margin_and_gradient(self, model, x, pairs):
        with tf.GradientTape() as tape:
            tape.watch(x)
            margin, _ = expected_loss(model, x, pairs, target_margin, self.training)
            total = tf.reduce_sum(margin)  # summed: each example's gradient is its own
        return margin, checked_gradient(tape.gradient(total, x), model)

    def perturb(self, model, x, labels, eps):
        logits = tf.cast(model(x, training=self.training), tf.float32)
        ranked = tf.argsort(logits, axis=-1, direction="DESCENDING")
        wrong = tf.not_equal(tf.argmax(logits, -1, output_type=tf.int32), labels)
        state = {"x_adv": x, "success": wrong, "norms": tf.where(wrong, 0.0, math.inf)}
        for k in range(1, min(self.targets, logits.shape[-1] - 1) + 1):
            pairs = tf.stack([labels, ranked[:, k]], axis=1)
            for restart in range(self.restarts):
                state = self._run(model, x, pairs, eps, state, random_start=restart > 0)
        return state

    def _run(self, model, x, pairs, eps, state, random_start):
        """One FAB run towards `pairs[:, 1]` on the examples not broken yet; returns the new state."""
        rows = tf.where(~state["success"])[:, 0]
        x0, pairs = tf.gather(x, rows), tf.gather(pairs, rows)
        norms = tf.gather(state["norms"], rows)
        if random_start:
            radius = 0.5 * tf.minimum(norms, eps)[:, None, None, None]
            start = start_point(x0, radius, self.norm, self._seed())
        else:
            start = x0
        run = {"x_k": start, "best": x0, "norm": norms}

        def body(i, run):
            live = tf.where(run["norm"] > eps)[:, 0]  # broken examples leave the batch
            new = self._step(
                model, tf.gather(x0, live), tf.gather(pairs, live), {k: tf.gather(v, live) for k, v in run.items()}
            )
            return i + 1, {k: tf.tensor_scatter_nd_update(run[k], live[:, None], new[k]) for k in run}

        running = lambda i, run: tf.logical_and(i < self.steps, tf.reduce_any(run["norm"] > eps))
        _, run = tf.while_loop(running, body, (tf.constant(0), run))
        broken = run["norm"] <= eps
        x_adv = select(per_image(broken), run["best"], x0)
        index = rows[:, None]
        return {
            "x_adv": tf.tensor_scatter_nd_update(state["x_adv"], index, x_adv),
            "success": tf.tensor_scatter_nd_update(state["success"], index, broken),
            "norms": tf.tensor_scatter_nd_update(state["norms"], index, run["norm"]),
        }

    def _step(self, model, x0, pairs, s):
        """One FAB iteration on the live rows `s` (x_k, best, norm) of originals `x0`."""
        margin, grad = self._margin_and_gradient(model, s["x_k"], pairs)
        flat = lambda v: tf.reshape(v, [tf.shape(v)[0], -1])
        w = flat(grad)
        c_k = -margin  # w.d = -f puts x_k + d on the linearised boundary
        c_0 = c_k + tf.reduce_sum(w * (flat(s["x_k"]) - flat(x0)), -1)  # the same plane, seen from x
        both = project_to_hyperplane(
            tf.concat([flat(s["x_k"]), flat(x0)], 0), tf.concat([w, w], 0), tf.concat([c_k, c_0], 0), self.norm
        )
        d_k, d_0 = tf.split(tf.reshape(both, tf.concat([[-1], tf.shape(x0)[1:]], 0)), 2)
        size_k = tf.maximum(perturbation_norm(d_k, self.norm), 1e-8)
        size_0 = tf.maximum(perturbation_norm(d_0, self.norm), 1e-8)
        alpha = tf.minimum(size_k / (size_k + size_0), self.alpha_max)[:, None, None, None]
        x_new = (1.0 - alpha) * (s["x_k"] + self.eta * d_k) + alpha * (x0 + self.eta * d_0)
        x_new = tf.clip_by_value(x_new, 0.0, 1.0)
        adversarial = tf.not_equal(_predicted(model, x_new, self.training), pairs[:, 0])
        distance = perturbation_norm(x_new - x0, self.norm)
        better = adversarial & (distance < s["norm"])
        return {
            "x_k": select(per_image(adversarial), x0 + self.beta * (x_new - x0), x_new),
            "best": select(per_image(better), x_new, s["best"]),
            "norm": tf.where(better, distance, s["norm"]),
        }

    def get_config(self):
        config = {
            **super().get_config(),
            "steps": self.steps,
            "targets": self.targets,
            "restarts": self.restarts,
            "alpha_max": self.alpha_max,
            "eta": self.eta,
            "beta": self.beta,
        }
        config.pop("targeted")
        config.pop("target")
        return config


@register
class FAB(FABT):
    """Untargeted FAB: each iterate steps towards the closest linearised boundary of any class.

    Same search, outputs and defaults as `FABT` (see there), without target classes: every step
    takes the gradient of all the class margins (one backward pass per class, as the reference),
    so a step costs about `num_classes` FAB-T steps.

    Args:
        eps: radius of the ball ([0, 1] pixel units for Linf).
        steps: iterations per restart (100 in AutoAttack).
        restarts: runs; the first starts at x, the others at random points (5 in AutoAttack "plus").
        alpha_max: largest weight of the step from x (0.1).
        eta: extrapolation of the projections (1.05).
        beta: pull-back factor towards x after a misclassified iterate (0.9).
        norm: "linf" or "l2".
        **kwargs: `seed`, `training`, `jit_compile` (see `GradientAttack`).

    Raises:
        AttackInputError: targeted=True, steps / restarts < 1, alpha_max outside [0, 1], eta
            outside [1, inf), beta outside (0, 1].

    Example:
    >>> import numpy as np, kerasadv
    >>> model = kerasadv.models.simple_cnn()
    >>> x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    >>> out = FAB(eps=0.03, steps=5, seed=0).run(model, x, np.arange(2))
    >>> bool(np.abs(out["x_adv"] - x).max() <= 0.03), sorted(out)
    (True, ['norms', 'success', 'x_adv'])
    """

    def __init__(
        self, eps=DEFAULT_LINF_EPS, steps=100, restarts=1, alpha_max=0.1, eta=1.05, beta=0.9, norm="linf", **kwargs
    ):
        if "targets" in kwargs:
            raise AttackInputError(
                f"FAB is untargeted and takes no targets (got targets={kwargs['targets']!r}); use FABT."
            )
        super().__init__(eps, steps, 1, restarts, alpha_max, eta, beta, norm, **kwargs)

    def _margin_and_gradient(self, model, x, pairs):
        """Margin z_k - z_y and its gradient for the class k with the closest linearised boundary."""
        with tf.GradientTape() as tape:
            tape.watch(x)
            _, logits = expected_loss(model, x, pairs[:, 0], lambda z, y: tf.zeros(tf.shape(z)[:1]), self.training)
            logits = tf.cast(logits, tf.float32)
            margins = logits - tf.gather(logits, pairs[:, 0], batch_dims=1)[:, None]  # (n, classes)
        jacobian = checked_gradient(tape.batch_jacobian(margins, x), model)  # (n, classes, *image)
        flat = tf.reshape(jacobian, [tf.shape(x)[0], tf.shape(margins)[1], -1])
        dual = tf.reduce_sum(tf.abs(flat), -1) if self.norm == "linf" else tf.norm(flat, axis=-1)
        distance = tf.abs(margins) / (dual + 1e-12)
        own = tf.one_hot(pairs[:, 0], tf.shape(margins)[1], on_value=math.inf, off_value=0.0)
        closest = tf.argmin(distance + own, axis=-1, output_type=tf.int32)
        return tf.gather(margins, closest, batch_dims=1), tf.gather(jacobian, closest, batch_dims=1)

    def perturb(self, model, x, labels, eps):
        wrong = tf.not_equal(_predicted(model, x, self.training), labels)
        state = {"x_adv": x, "success": wrong, "norms": tf.where(wrong, 0.0, math.inf)}
        pairs = tf.stack([labels, labels], axis=1)  # the target column is unused: chosen per step
        for restart in range(self.restarts):
            state = self._run(model, x, pairs, eps, state, random_start=restart > 0)
        return state

    def get_config(self):
        config = super().get_config()
        config.pop("targets")
        return config


def _predicted(model, x, training):
    """The model's predicted class of each example of `x`."""
    return tf.argmax(model(x, training=training), -1, output_type=tf.int32)
