"""Property-based tests (hypothesis) over attack parameters and input shapes."""

import functools

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kerasadv import attacks
from kerasadv.errors import AttackInputError
from kerasadv.testing import check_adversarial_images, check_config_round_trip

PROPERTY_SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def any_size_model(channels, classes):
    """A logits model for any image size with `channels` channels (one per combination, reused)."""
    keras.utils.set_random_seed(channels * 100 + classes)
    return keras.Sequential(
        [
            keras.Input((None, None, channels)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(classes),
        ]
    )


images = st.builds(
    lambda n, h, w, c, seed: np.random.default_rng(seed).random((n, h, w, c), dtype=np.float32),
    n=st.integers(1, 4),
    h=st.integers(4, 12),
    w=st.integers(4, 12),
    c=st.sampled_from([1, 3]),
    seed=st.integers(0, 2**16),
)


@PROPERTY_SETTINGS
@given(
    x=images,
    kind=st.sampled_from(["FGSM", "PGD", "BIM"]),
    norm=st.sampled_from(["linf", "l2"]),
    eps=st.floats(0.0, 1.0),
    steps=st.integers(1, 3),
    classes=st.sampled_from([2, 5]),
)
def test_adversarial_images_stay_in_the_ball_and_in_range(x, kind, norm, eps, steps, classes):
    model = any_size_model(x.shape[-1], classes)
    labels = np.arange(len(x)) % classes
    if kind == "FGSM":
        attack = attacks.FGSM(eps, norm=norm)
    elif kind == "BIM":
        attack = attacks.BIM(eps, steps=steps, norm=norm)
    else:
        attack = attacks.PGD(eps, steps=steps, norm=norm, random_start=True, seed=0)
    report = check_adversarial_images(attack, model, x, labels)  # float32, the input's shape, [0, 1], the eps ball
    assert 0.0 <= report["low"] and report["high"] <= 1.0
    assert report["budget"] == pytest.approx(eps) and report["largest"] <= eps + 1e-5


@PROPERTY_SETTINGS
@given(
    eps=st.one_of(st.floats(max_value=-1e-9, allow_nan=False), st.floats(min_value=1.0 + 1e-6, allow_infinity=True)),
    kind=st.sampled_from(["FGSM", "PGD", "BIM", "IterativeFGS"]),
)
def test_linf_radius_outside_the_unit_interval_is_refused(eps, kind):
    with pytest.raises(AttackInputError, match=r"eps must be in \[0, 1\]"):
        getattr(attacks, kind)(eps)


@PROPERTY_SETTINGS
@given(steps=st.integers(max_value=0), kind=st.sampled_from(["PGD", "BIM"]))
def test_non_positive_step_counts_are_refused(steps, kind):
    with pytest.raises(AttackInputError, match=f"got {steps}"):
        getattr(attacks, kind)(0.03, steps=steps)


@PROPERTY_SETTINGS
@given(x=images, offset=st.integers(1, 1000), negative=st.booleans())
def test_labels_out_of_range_are_refused_whatever_the_shape(x, offset, negative):
    classes = 5
    labels = np.zeros(len(x), int)
    labels[-1] = -offset if negative else classes - 1 + offset
    with pytest.raises(AttackInputError, match=r"class ids in \[0, 4\]"):
        attacks.FGSM(0.03)(any_size_model(x.shape[-1], classes), x, labels)


@PROPERTY_SETTINGS
@given(x=images, config=st.fixed_dictionaries({"eps": st.floats(0.0, 1.0), "steps": st.integers(1, 50)}))
def test_attack_configs_round_trip(x, config):
    report = check_config_round_trip(attacks.PGD(**config))
    assert attacks.PGD.from_config(report["config"]) == attacks.PGD(**config)
    assert all(report["config"][key] == value for key, value in config.items())
