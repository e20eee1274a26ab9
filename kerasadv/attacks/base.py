"""`Attack`: the one protocol every kerasadv attack follows, and `GradientAttack`.

An attack is a configured value, called as `attack(model, x, y) -> x_adv`; `attack.run(...)`
returns a dict with `x_adv` and what else the attack reports per example (steps, success,
targets). Like a Keras optimizer or loss it serialises: `get_config()` is complete and
JSON-safe, `from_config(config)` rebuilds an equal attack, and every attack class is
registered with `keras.saving`, so an attack inside any saved config round-trips.

`GradientAttack` adds what white-box attacks share: a radius `eps` and its `norm`,
targeting, a seed, the model's mode, and a `tf.function` compiled once per model (batches of
any size share it). Eagerly its inputs are validated; inside a `tf.function` or a `train_step`
the call is pure TensorFlow. eps travels as a tensor, so sweeping or scheduling it does not retrace.
"""

import json

import keras
import tensorflow as tf

from kerasadv import check_backend
from kerasadv.attacks import validation
from kerasadv.attacks.compiled import PerModelFunction
from kerasadv.attacks.targets import TARGET_MODES, select_targets
from kerasadv.errors import AttackInputError
from kerasadv.models.logits import check_logits, num_classes
from kerasadv.models.structure import check_structure

NORMS = ("linf", "l2")

check_backend()  # Keras is imported now (every attack, recipe and analysis imports this module)


def register(cls):
    """Registers an attack class with `keras.saving` (package "kerasadv")."""
    return keras.saving.register_keras_serializable(package="kerasadv", name=cls.__name__)(cls)


@register
class Attack:
    """Abstract base: subclasses implement `run` and `get_config`.

    Example:
    >>> import kerasadv
    >>> attack = kerasadv.attacks.PGD(eps=0.03, steps=20, seed=0)
    >>> type(attack).from_config(attack.get_config()).get_config() == attack.get_config()
    True
    """

    norm = None
    traceable = True  # False: runs eagerly only (a search in NumPy / SciPy)

    def __call__(self, model, x, y=None, eps=None):
        """Returns adversarial images for `x` (labels `y`; None uses the model's predictions)."""
        return self.run(model, x, y, eps)["x_adv"]

    def run(self, model, x, y=None, eps=None):
        """Returns a dict with `x_adv` and per-example extras."""
        raise NotImplementedError(f"{type(self).__name__} must implement run().")

    def get_config(self):
        """The constructor arguments, complete and JSON-safe."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_config().")

    @classmethod
    def from_config(cls, config):
        """Rebuilds the attack from `get_config()`'s dict."""
        return cls(**config)

    def reseed(self, batch_index):
        """Restarts the attack's randomness at a state set by its seed and `batch_index`.

        `attacks.stream` calls it before every batch, so batch i of a data set gets the same
        random starts whoever runs it, in whatever order (the local loop, a Beam worker).
        Unseeded attacks (seed None) stay non-deterministic.

        Example:
        >>> import numpy as np, kerasadv
        >>> model = kerasadv.models.simple_cnn()
        >>> x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
        >>> attack = kerasadv.attacks.PGD(0.03, steps=2, seed=0)
        >>> attack.reseed(5); first = attack(model, x, np.arange(2))
        >>> attack.reseed(5); bool(np.array_equal(first, attack(model, x, np.arange(2))))
        True
        """
        rng, seed = getattr(self, "_rng", None), getattr(self, "seed", None)
        if rng is not None and seed is not None:
            rng.reset_from_seed(batch_seed(seed, batch_index))

    def _require_eager(self):
        if not tf.executing_eagerly():
            raise AttackInputError(
                f"{type(self).__name__} runs eagerly (its search is NumPy / SciPy code) and "
                "cannot be traced into a tf.function or train_step; call it outside one."
            )

    def _no_eps(self, eps):
        if eps is not None:
            raise AttackInputError(f"{type(self).__name__} has no radius to override; got eps={eps!r}.")

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self):  # equal attacks (same class and config) hash equal
        return hash((type(self).__name__, json.dumps(self.get_config(), sort_keys=True, default=str)))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def batch_seed(seed, batch_index):
    """One int seed from an attack's seed and a batch index (distinct pairs, distinct seeds)."""
    return int(seed) * 1_000_003 + int(batch_index)


def seeded_generator(seed):
    """A `tf.random.Generator` from `seed` (None: non-deterministic)."""
    return (
        tf.random.Generator.from_seed(seed) if seed is not None else tf.random.Generator.from_non_deterministic_state()
    )


@register
class GradientAttack(Attack):
    """Base of white-box attacks: subclasses implement `perturb(model, x, labels, eps) -> dict`.

    Args:
        eps: radius of the ball, [0, 1] pixel units for Linf (L2: Euclidean norm of the
            perturbation in the same units).
        norm: "linf" or "l2".
        targeted: move towards target classes instead of away from the true class.
        target: how targets are chosen when `targeted`: "given" (y are the targets),
            "random" (a random other class) or "least_likely" (the clean argmin).
        seed: seed of the attack's randomness (random start, random targets); None is
            non-deterministic.
        training: the mode the model runs in while attacked (default False).
        jit_compile: compile with XLA (opt-in: slower than plain tf.function on CPU).
    """

    def __init__(self, eps, norm="linf", targeted=False, target="given", seed=None, training=False, jit_compile=False):
        self.norm = validation.check_choice(norm, "norm", NORMS)
        self.eps = validation.check_eps(eps, norm)
        self.target = validation.check_choice(target, "target", TARGET_MODES)
        self.targeted, self.seed = bool(targeted), seed
        self.training, self.jit_compile = bool(training), bool(jit_compile)
        self._rng = seeded_generator(seed)
        # No AutoGraph: attack loops are explicit tf.while_loops (as inside a Keras train_step),
        # and a kerasadv error raised while tracing reaches the caller as itself.
        self._compiled = PerModelFunction(
            self._run_graph, batched=(0, 1), jit_compile=self.jit_compile, autograph=False
        )

    def run(self, model, x, y=None, eps=None):
        """`x_adv` and per-example extras; `eps` (float or tensor) overrides the radius."""
        eps = self.eps if eps is None else eps
        if not tf.executing_eagerly():
            return self._run_graph(model, x, y, eps)
        check_structure(model)
        x = validation.check_images(x)
        eps = validation.check_eps(eps, self.norm, x.shape[1] * x.shape[2] * x.shape[3])
        check_logits(model)
        validation.check_model_input(model, x)
        if x.shape[0] == 0:  # documented: an empty batch comes back unchanged
            return {"x_adv": x}
        if y is None:
            y = tf.argmax(model(x, training=False), -1, output_type=tf.int32)
        labels = validation.check_labels(y, x.shape[0], num_classes(model, x))
        return self._compiled(model, x, labels, tf.constant(eps, tf.float32))

    def _run_graph(self, model, x, y, eps):
        x = tf.convert_to_tensor(x, tf.float32)
        if y is None:
            y = tf.argmax(model(x, training=self.training), -1, output_type=tf.int32)
        labels = validation.sparse_labels(y)  # one-hot inside graphs too
        if self.targeted and self.target != "given":
            logits = model(x, training=self.training) if self.target == "least_likely" else None
            labels = select_targets(self.target, labels, logits, num_classes(model, x), self._seed())
        out = self.perturb(model, x, labels, tf.cast(eps, tf.float32))
        return {**out, "targets": labels} if self.targeted else out

    def _seed(self):
        """A fresh shape-[2] seed for stateless random ops, drawn from the attack's generator."""
        return self._rng.make_seeds(1)[:, 0]

    def perturb(self, model, x, labels, eps):
        """Subclasses: adversarial images for float32 `x`, int32 attack `labels`, scalar `eps`."""
        raise NotImplementedError

    def get_config(self):
        return {
            "eps": float(self.eps),
            "norm": self.norm,
            "targeted": self.targeted,
            "target": self.target,
            "seed": self.seed,
            "training": self.training,
            "jit_compile": self.jit_compile,
        }
