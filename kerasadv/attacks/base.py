"""`Attack`: the one protocol every kerasadv attack follows.

An attack is a configured object called as `attack(model, x, y) -> x_adv`:

* eagerly, inputs are validated (pixel range, label shape and range, eps) and the work runs
  in a `tf.function` compiled once per model; eps travels as a tensor, so sweeping eps does
  not retrace;
* inside a `tf.function` or a `train_step`, the same call is pure TensorFlow (no checks).

`attack.run(...)` returns a dict with `x_adv`, the `targets` of a targeted attack, and what
else the attack reports (e.g. per-example steps).
The model always runs with `training=False` unless the attack is built with `training=True`:
attacks never update BatchNorm statistics.
"""

import weakref

import tensorflow as tf

from kerasadv.attacks import validation
from kerasadv.attacks.targets import TARGET_MODES, select_targets
from kerasadv.errors import AttackInputError
from kerasadv.models.logits import check_logits


class Attack:
    """Base class: subclasses implement `perturb(model, x, labels, eps) -> dict`.

    Args:
        eps: attack radius in [0, 1] pixel units (Linf) or L2 units.
        targeted: move towards target classes instead of away from the true class.
        target: how targets are chosen when `targeted`: "given" (y are the targets),
            "random" (a random other class) or "least_likely" (the clean argmin).
        seed: seed of the attack's randomness (random start, random targets); None is
            non-deterministic.
        training: the mode the model runs in while attacked (default False).
        jit_compile: compile with XLA (opt-in: slower than plain tf.function on CPU).
    """

    norm = "linf"

    def __init__(self, eps, targeted=False, target="given", seed=None, training=False,
                 jit_compile=False):
        self.eps = validation.check_eps(eps, self.norm)
        if target not in TARGET_MODES:
            raise AttackInputError(f"target must be one of {TARGET_MODES}, got {target!r}.")
        self.targeted, self.target, self.seed = bool(targeted), target, seed
        self.training, self.jit_compile = training, jit_compile
        self._rng = (tf.random.Generator.from_seed(seed) if seed is not None
                     else tf.random.Generator.from_non_deterministic_state())
        self._compiled = weakref.WeakKeyDictionary()

    def __call__(self, model, x, y=None, eps=None):
        """Returns adversarial images for `x` (labels `y`; None uses the model's predictions)."""
        return self.run(model, x, y, eps)["x_adv"]

    def run(self, model, x, y=None, eps=None):
        """Like `__call__`, returning a dict of `x_adv` and per-example extras."""
        eps = self.eps if eps is None else eps
        if not tf.executing_eagerly():
            return self._run_graph(model, x, y, eps)
        x = validation.check_images(x)
        eps = validation.check_eps(eps, self.norm, x.shape[1] * x.shape[2] * x.shape[3])
        check_logits(model)
        if x.shape[0] == 0:  # documented: an empty batch comes back unchanged
            return {"x_adv": x}
        num_classes = int(model.output_shape[-1])
        if y is None:
            y = tf.argmax(model(x, training=False), -1, output_type=tf.int32)
        labels = validation.check_labels(y, x.shape[0], num_classes)
        return self._compiled_for(model)(x, labels, tf.constant(eps, tf.float32))

    def _compiled_for(self, model):
        if model not in self._compiled:
            self._compiled[model] = tf.function(
                lambda x, y, eps: self._run_graph(model, x, y, eps),
                jit_compile=self.jit_compile, reduce_retracing=True)
        return self._compiled[model]

    def _run_graph(self, model, x, y, eps):
        x = tf.convert_to_tensor(x, tf.float32)
        if y is None:
            y = tf.argmax(model(x, training=self.training), -1, output_type=tf.int32)
        labels = tf.cast(y, tf.int32)
        if labels.shape.rank == 2:  # one-hot inside graphs too
            labels = tf.argmax(y, -1, output_type=tf.int32)
        if self.targeted and self.target != "given":
            logits = model(x, training=self.training) if self.target == "least_likely" else None
            labels = select_targets(self.target, labels, logits, model.output_shape[-1], self._seed())
        out = self.perturb(model, x, labels, tf.cast(eps, tf.float32))
        return {**out, "targets": labels} if self.targeted else out

    def _seed(self):
        """A fresh shape-[2] seed for stateless random ops, drawn from the attack's generator."""
        return self._rng.make_seeds(1)[:, 0]

    def perturb(self, model, x, labels, eps):
        """Subclasses: adversarial images for float32 `x`, int32 attack `labels`, scalar `eps`."""
        raise NotImplementedError

    def get_config(self):
        return {"eps": self.eps, "targeted": self.targeted, "target": self.target,
                "seed": self.seed, "training": self.training}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
