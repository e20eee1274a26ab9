"""`kerasadv.testing`: the published attack contract passes good attacks and names what a broken one breaks."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasadv import attacks, testing
from kerasadv.errors import AttackContractError


@keras.saving.register_keras_serializable(package="test_testing")
class Nudge(attacks.GradientAttack):
    """A user's own attack done right: one signed step of eps from a seeded random start."""

    def __init__(self, eps=0.03, **kwargs):
        super().__init__(eps, **kwargs)

    def perturb(self, model, x, labels, eps):
        start = tf.clip_by_value(x + eps * tf.random.stateless_uniform(tf.shape(x), self._seed(), -0.5, 0.5), 0, 1)
        grad, _ = attacks.input_gradient(model, start, labels)
        step = attacks.project(start + 0.5 * eps * tf.sign(grad) - x, eps, "linf")
        return {"x_adv": tf.clip_by_value(x + step, 0, 1)}


@keras.saving.register_keras_serializable(package="test_testing")
class IgnoresEps(Nudge):
    """Broken: always steps by 0.5, whatever its eps."""

    def perturb(self, model, x, labels, eps):
        return super().perturb(model, x, labels, tf.constant(0.5))


@keras.saving.register_keras_serializable(package="test_testing")
class ForgetsSteps(Nudge):
    """Broken: takes `steps` but leaves it out of its config."""

    def __init__(self, eps=0.03, steps=3, **kwargs):
        super().__init__(eps, **kwargs)
        self.steps = steps


@keras.saving.register_keras_serializable(package="test_testing")
class IgnoresSeed(Nudge):
    """Broken: draws its random start from fresh entropy, whatever its seed."""

    def _seed(self):
        return tf.constant(np.random.default_rng().integers(0, 2**30, 2), tf.int32)


class Unregistered(Nudge):
    """Broken: not registered, so `attacks.deserialize` cannot find it by name."""


@keras.saving.register_keras_serializable(package="test_testing")
class NumpyInside(Nudge):
    """Broken: claims to be traceable but computes in NumPy."""

    def run(self, model, x, y=None, eps=None):
        return {"x_adv": tf.constant(np.clip(np.asarray(x), 0.0, 1.0))}


@keras.saving.register_keras_serializable(package="test_testing")
class DropsEmptyBatches(Nudge):
    """Broken: returns one image for an empty batch."""

    def run(self, model, x, y=None, eps=None):
        if len(x) == 0:
            return {"x_adv": tf.zeros((1, *np.shape(x)[1:]))}
        return super().run(model, x, y, eps)


def test_a_correct_user_attack_passes_every_check():
    reports = testing.check_attack(Nudge(0.03, seed=0))
    assert [report["check"] for report in reports] == [check.__name__ for check in testing.CHECKS]
    budget = next(report for report in reports if report["check"] == "check_adversarial_images")
    assert 0 < budget["largest"] <= budget["budget"] == 0.03


@pytest.mark.parametrize(
    "attack, check, message",
    [
        (
            IgnoresEps(0.03, seed=0),
            testing.check_adversarial_images,
            r"IgnoresEps moves images by up to 0.4\d* in linf, beyond its budget 0.03 ",
        ),
        (ForgetsSteps(0.03, seed=0), testing.check_config_round_trip, r"drops \['steps'\] from get_config"),
        (
            IgnoresSeed(0.03, seed=0),
            testing.check_deterministic_under_seed,
            "other images from the same config and seed",
        ),
        (Unregistered(0.03, seed=0), testing.check_config_round_trip, "register the class"),
        (NumpyInside(0.03, seed=0), testing.check_traceable, "NumpyInside fails inside tf.function"),
        (DropsEmptyBatches(0.03, seed=0), testing.check_empty_batch, r"returns \(1, 16, 16, 3\) for none"),
    ],
    ids=lambda value: getattr(value, "__name__", type(value).__name__) if not isinstance(value, str) else "",
)
def test_a_broken_attack_fails_its_check_and_check_attack_names_it(attack, check, message):
    with pytest.raises(AttackContractError, match=message):
        check(attack)
    with pytest.raises(AttackContractError, match=check.__name__):
        testing.check_attack(attack)


def test_contract_errors_are_assertion_errors_for_pytest():
    with pytest.raises(AssertionError):
        testing.check_attack(IgnoresEps(0.03, seed=0))


def test_checks_run_on_a_model_and_batch_of_your_own():
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    x = np.random.default_rng(1).random((5, 8, 8, 1), dtype=np.float32)
    testing.check_attack(attacks.PGD(0.1, steps=2, seed=0), model, x, np.arange(5) % 3)
    with pytest.raises(AttackContractError, match="beyond its budget"):
        testing.check_adversarial_images(IgnoresEps(0.1, seed=0), model, x, np.arange(5) % 3)


def test_every_check_applies_to_every_attack():
    names = [check.__name__ for check in testing.CHECKS]
    assert [c.__name__ for c in testing.attack_checks(attacks.OnePixel())] == names


@testing.parametrize_with_checks([Nudge(0.03, seed=0), attacks.FGSM(0.03)])
def test_parametrize_with_checks_gives_one_case_per_attack_and_check(attack, check):
    assert check(attack)["check"] == check.__name__
