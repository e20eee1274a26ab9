"""FAB and FAB-T (Croce & Hein 2020): exact box-constrained projections, the eps-ball, minimal norms."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.optimize import linprog, minimize

from kerasadv.attacks.fab import FAB, FABT, project_to_hyperplane
from kerasadv.errors import AttackInputError
from kerasadv.models import simple_cnn


def random_planes(seed, rows=30, size=7):
    """Points p in [0, 1], normals w and levels c; about a quarter of the planes lie beyond the box."""
    rng = np.random.default_rng(seed)
    p = rng.random((rows, size)).astype(np.float32)
    w = rng.normal(size=(rows, size)).astype(np.float32)
    sign = rng.choice([-1.0, 1.0], rows)[:, None]
    # The largest |w.d| with p + d in [0, 1], moving each coordinate the way sign * w points.
    extreme = np.where(sign * w > 0, 1.0 - p, -p) * w
    reach = extreme.sum(1)
    c = (reach * rng.uniform(0.0, 1.3, rows)).astype(np.float32)
    return p, w, c, np.abs(c) <= np.abs(reach), extreme


def project(p, w, c, norm):
    return project_to_hyperplane(tf.constant(p), tf.constant(w), tf.constant(c), norm).numpy().astype(np.float64)


def test_linf_projection_matches_a_linear_program():
    p, w, c, feasible, extreme = random_planes(0)
    d = project(p, w, c, "linf")
    k = p.shape[1]
    eye, ones = np.eye(k), np.ones((k, 1))
    for i in range(len(p)):
        # min t  s.t.  |d_j| <= t, w.d = c, 0 <= p + d <= 1 (variables d, t).
        lp = linprog(
            np.r_[np.zeros(k), 1.0],
            A_ub=np.block([[eye, -ones], [-eye, -ones]]),
            b_ub=np.zeros(2 * k),
            A_eq=np.r_[w[i], 0.0][None],
            b_eq=[c[i]],
            bounds=[(-v, 1.0 - v) for v in p[i]] + [(0.0, None)],
        )
        if feasible[i]:
            assert lp.status == 0
            assert np.abs(d[i]).max() == pytest.approx(lp.fun, abs=1e-6)
            assert w[i] @ d[i] == pytest.approx(c[i], abs=1e-5)
        else:  # out of reach: the corner that gets closest
            assert lp.status == 2
            np.testing.assert_allclose(w[i] * d[i], extreme[i], atol=1e-6)
    assert np.all(p + d >= -1e-6) and np.all(p + d <= 1 + 1e-6)
    assert 0 < feasible.sum() < len(p)


def test_l2_projection_matches_a_quadratic_program():
    p, w, c, feasible, extreme = random_planes(1)
    d = project(p, w, c, "l2")
    for i in range(len(p)):
        if not feasible[i]:
            np.testing.assert_allclose(w[i] * d[i], extreme[i], atol=1e-6)
            continue
        qp = minimize(
            lambda v: v @ v,
            np.zeros(p.shape[1]),
            jac=lambda v: 2 * v,
            constraints=[{"type": "eq", "fun": lambda v, i=i: w[i] @ v - c[i], "jac": lambda v, i=i: w[i]}],
            bounds=[(-v, 1.0 - v) for v in p[i]],
            method="SLSQP",
            options={"ftol": 1e-12, "maxiter": 500},
        )
        assert qp.success
        np.testing.assert_allclose(d[i], qp.x, atol=1e-5)
    assert np.all(p + d >= -1e-6) and np.all(p + d <= 1 + 1e-6)


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_projection_without_an_active_box_is_the_closed_form(norm):
    rng = np.random.default_rng(2)
    p = np.full((5, 50), 0.5, np.float32)
    w = rng.normal(size=(5, 50)).astype(np.float32)
    c = rng.uniform(-0.1, 0.1, 5).astype(np.float32)
    d = project(p, w, c, norm)
    if norm == "linf":  # every coordinate moves |c| / ||w||_1 along sign(c w)
        expected = np.sign(c[:, None] * w) * (np.abs(c) / np.abs(w).sum(1))[:, None]
    else:  # c w / ||w||^2
        expected = c[:, None] * w / (w * w).sum(1, keepdims=True)
    np.testing.assert_allclose(d, expected, atol=1e-6)
    np.testing.assert_allclose(project(p, w, np.zeros(5, np.float32), norm), 0.0)  # already on the plane


def linear_model(seed=0, classes=5):
    """Flatten + Dense on 4x4x3 images with fixed random weights: the boundaries are hyperplanes."""
    rng = np.random.default_rng(seed)
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(classes)])
    weights = (0.5 * rng.normal(size=(48, classes))).astype(np.float32)
    model.layers[-1].set_weights([weights, (0.3 * rng.normal(size=classes)).astype(np.float32)])
    x = rng.uniform(0.4, 0.6, (6, 4, 4, 3)).astype(np.float32)  # far enough from the box for the distances
    return model, weights, x


def boundary_distance(model, weights, x, norm):
    """The exact distance to the closest other class: min_t |z_t - z_y| / ||w_t - w_y||_dual."""
    logits = np.asarray(model(x))
    y = logits.argmax(1)
    dual = 1 if norm == "linf" else 2
    distances = [
        min(
            abs(logits[i, t] - logits[i, y[i]]) / np.linalg.norm(weights[:, t] - weights[:, y[i]], dual) for t in others
        )
        for i, others in enumerate([t for t in range(logits.shape[1]) if t != label] for label in y)
    ]
    return y, np.array(distances)


FAB_T_4 = {"attack": FABT, "targets": 4}
FAB_ANY = {"attack": FAB}  # untargeted: the closest boundary of any class, chosen per step


def make(kind, **kwargs):
    options = dict(kind)
    return options.pop("attack")(**options, **kwargs)


@pytest.mark.parametrize("kind", [FAB_T_4, FAB_ANY], ids=["fab_t", "fab"])
@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_finds_the_minimal_norm_of_a_linear_model(norm, kind):
    model, weights, x = linear_model()
    y, distance = boundary_distance(model, weights, x, norm)
    assert distance.max() < 0.35  # x is 0.4 from the box: no coordinate moves that far
    # eps below every distance: nothing is broken, so every run goes on shrinking the norm.
    out = make(kind, eps=1e-4, steps=20, norm=norm, seed=0).run(model, x, y)
    ratio = np.asarray(out["norms"]) / distance
    # Projections are exact for a linear model; eta = 1.05 overshoots the boundary a little.
    assert np.all(ratio >= 1 - 1e-4) and np.all(ratio <= 1.01), ratio
    assert not np.any(out["success"])
    np.testing.assert_array_equal(out["x_adv"], x)  # unbroken: x unchanged

    broken = make(kind, eps=0.5, steps=20, norm=norm, seed=0).run(model, x, y)
    assert np.all(broken["success"]) and np.all(np.asarray(model(broken["x_adv"])).argmax(1) != y)
    assert np.all(np.asarray(broken["norms"]) <= 1.06 * distance)  # stops at the first point within eps


def test_clean_misclassified_examples_count_as_broken_at_no_distance():
    model, _, x = linear_model()
    y = np.asarray(model(x)).argmax(1)
    wrong = y.copy()
    wrong[:2] = (y[:2] + 1) % 5
    out = FABT(eps=1e-4, steps=3, targets=2, seed=0).run(model, x, wrong)
    np.testing.assert_array_equal(out["success"], [True, True, False, False, False, False])
    np.testing.assert_array_equal(np.asarray(out["norms"])[:2], [0.0, 0.0])
    np.testing.assert_array_equal(out["x_adv"], x)


@pytest.mark.parametrize("kind", [{"attack": FABT, "targets": 2}, FAB_ANY], ids=["fab_t", "fab"])
@pytest.mark.parametrize("norm,eps", [("linf", 0.02), ("l2", 0.6)])
def test_x_adv_stays_in_the_ball_and_the_box_on_a_cnn(norm, eps, kind):
    keras.utils.set_random_seed(0)
    model = simple_cnn()
    x = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    out = make(kind, eps=eps, steps=8, restarts=2, norm=norm, seed=0).run(model, x)
    x_adv = np.asarray(out["x_adv"])
    delta = (x_adv - x).reshape(len(x), -1)
    size = np.abs(delta).max(1) if norm == "linf" else np.linalg.norm(delta, axis=1)
    assert size.max() <= eps + 1e-6 and x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    success, norms = np.asarray(out["success"]), np.asarray(out["norms"])
    clean = np.asarray(model(x)).argmax(1)
    np.testing.assert_array_equal(np.asarray(model(x_adv)).argmax(1)[success] != clean[success], True)
    np.testing.assert_allclose(size[success], norms[success], atol=1e-6)
    assert np.all(size[~success] == 0.0) and np.all(norms[~success] > eps)
    assert success.any()  # the checks above are not vacuous


def test_runs_inside_a_tf_function_and_is_deterministic_given_a_seed():
    model, _, x = linear_model()
    y = tf.constant(np.asarray(model(x)).argmax(1), tf.int32)
    attack = FABT(eps=1e-4, steps=5, targets=2, restarts=2, norm="l2", seed=3)
    traced = tf.function(lambda images, labels: attack.run(model, images, labels)["norms"], autograph=False)
    eager = FABT(eps=1e-4, steps=5, targets=2, restarts=2, norm="l2", seed=3).run(model, x, y)["norms"]
    np.testing.assert_allclose(traced(tf.constant(x), y), eager, rtol=1e-5)


def test_untargeted_fab_in_a_tf_function_matches_eager():
    model, _, x = linear_model()
    y = tf.constant(np.asarray(model(x)).argmax(1), tf.int32)
    attack = FAB(eps=1e-4, steps=5, restarts=2, seed=3)
    traced = tf.function(lambda images, labels: attack.run(model, images, labels)["norms"], autograph=False)
    eager = FAB(eps=1e-4, steps=5, restarts=2, seed=3).run(model, x, y)["norms"]
    np.testing.assert_allclose(traced(tf.constant(x), y), eager, rtol=1e-5)


def test_untargeted_fab_config_round_trips_and_refuses_targets():
    attack = FAB(eps=0.5, steps=7, restarts=2, alpha_max=0.2, norm="l2", seed=4)
    config = attack.get_config()
    assert "targets" not in config and FAB.from_config(config) == attack
    assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(attack)) == attack
    with pytest.raises(AttackInputError, match="FAB is untargeted and takes no targets .got targets=3"):
        FAB(targets=3)
    with pytest.raises(AttackInputError, match="picks its own targets"):
        FAB(targeted=True)


def test_config_round_trips():
    attack = FABT(eps=0.5, steps=7, targets=3, restarts=2, alpha_max=0.2, eta=1.1, beta=0.8, norm="l2", seed=4)
    config = attack.get_config()
    assert FABT.from_config(config) == attack and "targeted" not in config and "target" not in config
    assert config["eta"] == 1.1 and config["norm"] == "l2" and config["steps"] == 7
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(attack))
    assert restored == attack


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"targeted": True}, "picks its own targets"),
        ({"steps": 0}, "steps must be"),
        ({"targets": 1.5}, "targets must be"),
        ({"restarts": 0}, "restarts must be"),
        ({"alpha_max": 1.5}, r"alpha_max must be a finite number in \[0, 1\], got 1.5"),
        ({"eta": 0.9}, r"eta must be a finite number in \[1, inf\), got 0.9"),
        ({"eta": float("nan")}, "eta must be"),
        ({"beta": 0.0}, r"beta must be a finite number in \(0, 1\], got 0.0"),
        ({"beta": "0.9"}, "beta must be"),
        ({"norm": "l1"}, "norm must be one of"),
    ],
)
def test_bad_parameters_are_refused(kwargs, message):
    with pytest.raises(AttackInputError, match=message):
        FABT(**kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("kind", [{"attack": FABT, "targets": 3}, FAB_ANY], ids=["fab_t", "fab"])
def test_fab_lowers_accuracy_of_a_trained_cnn(trained_simple_cnn, cifar_small, kind):
    from kerasadv import attacks

    x, y = cifar_small["x_test"][::5][:100], cifar_small["y_test"][::5][:100]
    attack = make(kind, eps=8 / 255, steps=20, seed=0)
    result = attacks.evaluate_attack(attack, trained_simple_cnn, (x, y), progress=False)
    assert result["clean_accuracy"] > 0.3  # a model worth attacking (chance: 0.1)
    assert result["adversarial_accuracy"] < 0.5 * result["clean_accuracy"], result
    assert result["mean_linf"] <= 8 / 255 + 1e-6
