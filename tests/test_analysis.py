import keras
import numpy as np
import pandas as pd
import pytest
import scipy.signal
import scipy.stats

from kerasadv import analysis, attacks, callbacks
from kerasadv.reporting import plots


def dense_net(hidden_kernel, out_kernel, name="h"):
    """Input -> Dense(relu, given kernel, no bias) named `name` -> Dense logits (given kernel)."""
    inputs = keras.Input((hidden_kernel.shape[0],))
    hidden = keras.layers.Dense(hidden_kernel.shape[1], activation="relu", use_bias=False, name=name)
    logits = keras.layers.Dense(out_kernel.shape[1], use_bias=False, name="logits")
    model = keras.Model(inputs, logits(hidden(inputs)))
    hidden.set_weights([hidden_kernel.astype(np.float32)])
    logits.set_weights([out_kernel.astype(np.float32)])
    return model


IDENTITY = dense_net(np.eye(2), np.array([[2.0, 0.0], [0.0, 1.0]]))


def test_probe_exposes_activations_without_changing_predictions():
    probe = analysis.probe_model(IDENTITY)
    x = np.array([[1.0, 3.0], [-1.0, 2.0]], np.float32)
    out = probe(x)
    assert sorted(out) == ["h", "logits"]
    np.testing.assert_allclose(out["h"], [[1, 3], [0, 2]])
    np.testing.assert_allclose(out["logits"], IDENTITY(x))


def test_binary_toggle_counts_by_hand():
    probe = analysis.probe_model(IDENTITY)
    thresholds = {"h": np.array([0.5, 0.5], np.float32)}
    assert analysis.toggle_activity(probe, thresholds, np.array([[1.0, 0.0]]))["total"] == 0.0
    both = analysis.toggle_activity(probe, thresholds, np.array([[1.0, 0.0], [0.0, 0.0]]))
    assert both == {"h": 0.5, "total": 0.5}  # neuron 0 goes above and below, neuron 1 never


def test_ternary_toggle_counts_by_hand():
    probe = analysis.probe_model(IDENTITY)
    thresholds = {"h": (np.array([0.2, 0.2]), np.array([0.8, 0.8]))}
    assert analysis.toggle_activity(probe, thresholds, np.array([[1.0, 0.1]]))["total"] == 0.0
    result = analysis.toggle_activity(probe, thresholds, np.array([[1.0, 0.1], [0.5, 0.0]]))
    assert result["total"] == 0.5  # neuron 0: +1 then 0; neuron 1: -1 twice


def test_kde_thresholds_match_scipy_on_a_bimodal_sample():
    rng = np.random.default_rng(0)
    samples = np.concatenate([rng.normal(0, 0.3, (600, 3)), rng.normal(3, 0.6, (400, 3))]) * [1, 2, 0.5]
    low, high, bins = samples.min(0), samples.max(0), 256
    index = np.clip(((samples - low) / ((high - low) / bins)).astype(int), 0, bins - 1)
    histograms = np.stack([np.bincount(index[:, j], minlength=bins) for j in range(3)])
    density, grid = analysis.binned_kde(histograms, low, high, samples.std(0), len(samples))
    thresholds = analysis.valley_thresholds(density, grid, samples.mean(0))
    for j in range(3):
        reference = scipy.stats.gaussian_kde(samples[:, j])(grid[j])
        assert np.abs(reference - density[j]).max() < 0.01 * reference.max()
        peaks, props = scipy.signal.find_peaks(reference, prominence=0)
        a, b = np.sort(peaks[np.argsort(-props["prominences"])[:2]])
        expected = grid[j][a + np.argmin(reference[a : b + 1])]
        assert thresholds[j] == pytest.approx(expected, abs=2 * (high[j] - low[j]) / bins)
        assert 0.5 * [1, 2, 0.5][j] < thresholds[j] < 2.5 * [1, 2, 0.5][j]


def test_unimodal_neurons_fall_back_to_the_mean():
    samples = np.random.default_rng(1).normal(1.0, 0.2, (500, 1))
    histogram = np.bincount(
        np.clip(((samples[:, 0] - samples.min()) / np.ptp(samples) * 64).astype(int), 0, 63), minlength=64
    )[None]
    density, grid = analysis.binned_kde(histogram, samples.min(0), samples.max(0), samples.std(0), 500)
    assert analysis.valley_thresholds(density, grid, np.array([1.234]))[0] == pytest.approx(1.234)


def test_streamed_statistics_give_the_valley_threshold():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(0.2, 0.05, (300, 2)), rng.normal(0.8, 0.05, (300, 2))]).astype(np.float32)
    stats = analysis.ActivationStatistics(analysis.probe_model(IDENTITY), (x, np.zeros(600)), bins=128, batch_size=64)
    assert stats.count == 600 and np.allclose(stats.high["h"], x.max(0), atol=1e-6)
    assert np.all(np.abs(analysis.binary_thresholds(stats)["h"] - 0.5) < 0.1)
    low, high = analysis.ternary_thresholds(stats, 0.25, 0.75)["h"]
    np.testing.assert_allclose(high, 0.75 * x.max(0), rtol=1e-6)


def test_neuron_coverage_of_a_constructed_network():
    model = dense_net(np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]]), np.ones((3, 2)))
    probe = analysis.probe_model(model)
    coverage = analysis.NeuronCoverage(probe, threshold=0.6)
    coverage.update(np.array([[1.0, 0.0]], np.float32))  # h = [1, 0, .5]: only neuron 0 > .6 scaled
    assert coverage.coverage() == pytest.approx(1 / 3)
    assert coverage.newly_covered(np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)).tolist() == [1, 0]
    coverage.update(np.array([[0.0, 1.0]], np.float32))
    assert coverage.coverage() == pytest.approx(2 / 3)


def test_multisection_coverage_of_a_constructed_network():
    model = dense_net(np.eye(2), np.ones((2, 2)))
    probe = analysis.probe_model(model)
    reference = np.array([[0.0, 0.0], [1.0, 1.0]], np.float32)
    kmnc = analysis.MultisectionCoverage(probe, reference, k=4)
    kmnc.update(np.array([[0.1, 1.0], [0.6, 2.0]], np.float32))  # sections 0, 2 | 3, (outside)
    assert kmnc.coverage() == pytest.approx(3 / 8)


def test_neural_ranking_by_hand():
    ranking = analysis.neural_ranking(analysis.probe_model(IDENTITY), np.array([[1.0, 3.0]], np.float32), 2, top=2)
    first = ranking.iloc[0]
    assert (first["layer"], first["index"], first["class"]) == ("h", (1,), 1)
    assert first["value"] == pytest.approx(3.0)  # activation 3 x d logit_1 / d h_1 = 1
    assert ranking.iloc[1]["value"] == pytest.approx(0.0)
    assert analysis.layer_histogram(ranking, ["h"]).tolist() == [2]


def test_compromised_layer_logic_on_constructed_similarities():
    similarities = pd.DataFrame(
        {
            "strength": [1.0] * 6,
            "image": [0, 1, 2, 0, 1, 2],
            "layer": ["a"] * 3 + ["b"] * 3,
            "adversarial_similarity": [0.5, 0.85, 0.79, 0.9, 0.9, 0.1],
            "noise_similarity": [0.9, 0.8, 0.7, 0.95, 0.2, 0.5],
        }
    )
    marked = analysis.mark_compromised(similarities)
    assert marked["compromised"].tolist() == [True, False, True, False, False, True]
    probability, distribution = analysis.summarize(marked)
    assert probability.loc[1.0].tolist() == pytest.approx([2 / 3, 1 / 3])
    # per image: 0 -> a only, 1 -> none, 2 -> a and b
    assert dict(zip(distribution.compromised_layers, distribution.fraction)) == pytest.approx(
        {0: 1 / 3, 1: 1 / 3, 2: 1 / 3}
    )


def test_fast_gradcam_equals_tf_keras_vis():
    from kerasadv import models

    keras.utils.set_random_seed(0)
    model = models.simple_cnn()
    x = np.random.default_rng(0).random((3, 32, 32, 3), dtype=np.float32)
    classes = [1, 4, 7]
    fast = analysis.AllLayerGradcam(model)(x, classes)
    for name in analysis.conv_layer_names(model):
        np.testing.assert_allclose(fast[name], analysis.gradcam_tfkerasvis(model, x, classes, name), atol=1e-4)


def test_dlfuzz_keeps_budget_and_raises_coverage():
    from kerasadv import models

    keras.utils.set_random_seed(0)
    model = models.simple_cnn()
    x = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
    for strategy in ("rare", "frequent", "weights", "near_threshold"):
        report = analysis.DLFuzz(strategy=strategy, iterations=3, step_size=0.01, max_mutations=3).run(model, x)
        assert report["coverage_after"] >= report["coverage_before"]
        assert (report["ratio"][report["adversarial"]] < 0.02).all()
        np.testing.assert_array_equal(report["x_adv"].numpy()[~report["adversarial"]], x[~report["adversarial"]])
        changed = model(report["x_adv"]).numpy().argmax(1) != model(x).numpy().argmax(1)
        np.testing.assert_array_equal(changed, report["adversarial"])
        assert (1 <= report["mutations"]).all() and (report["mutations"] <= 3).all()
        coverage = [c for _, c in report["curve"]]
        assert coverage == sorted(coverage) and len(coverage) >= 3
    with pytest.raises(ValueError, match="strategy must be one of"):
        analysis.DLFuzz(strategy="best")
    with pytest.raises(ValueError, match="mode must be one of"):
        analysis.DLFuzz(mode="noise")


def test_dlfuzz_ends_when_no_mutation_is_kept_and_has_a_random_mode():
    from kerasadv import models

    keras.utils.set_random_seed(0)
    model = models.simple_cnn()
    x = np.random.default_rng(1).random((5, 32, 32, 3), dtype=np.float32)
    # A budget nothing fits: no mutation re-enters the queue, no example counts; the campaign ends.
    report = analysis.DLFuzz(iterations=2, max_ratio=1e-6).run(model, x)
    assert (report["mutations"] == 1).all() and not report["adversarial"].any()
    assert len(report["curve"]) == 2  # one batch of 5 seeds, two steps
    fuzz = analysis.DLFuzz(mode="random", iterations=2, step_size=0.01, max_mutations=2, seed=3)
    first = fuzz.run(model, x)
    assert first["curve"][-1][1] >= first["coverage_before"]
    again = analysis.DLFuzz.from_config(fuzz.get_config()).run(model, x)  # seeded: the same campaign
    np.testing.assert_array_equal(first["x_adv"].numpy(), again["x_adv"].numpy())


@pytest.mark.slow
def test_small_real_run_on_cifar(trained_simple_cnn, cifar_small, tmp_path):
    model = trained_simple_cnn
    x, y = cifar_small["x_test"][:200], cifar_small["y_test"][:200]
    probe = analysis.probe_model(model)
    thresholds = analysis.binary_thresholds(analysis.ActivationStatistics(probe, (x, y)))
    x_adv = attacks.FGSM(0.03)(model, x, y).numpy()
    by_size = analysis.toggle_vs_size(probe, thresholds, x, x_adv, sizes=(5, 50, 100))
    assert (by_size[by_size.dataset == "clean+adversarial"].gain >= 0).all()
    equal = analysis.toggle_equal_size(probe, thresholds, x, x_adv, size=20, draws=3)
    by_eps = analysis.toggle_vs_eps(
        probe, thresholds, x[:20], lambda e: attacks.FGSM(e)(model, x[:20], y[:20]), (0.0, 0.1, 1.0)
    )
    assert len(equal) == 2 and by_eps.total.iloc[-1] >= by_eps.total.iloc[0]
    assert len(plots.toggle_plots(by_size, by_eps, str(tmp_path))) == 4
    ranking = analysis.neural_ranking(probe, np.concatenate([x[:50], x_adv[:50]]), 10, top=10)
    assert len(ranking) == 10 and ranking.value.is_monotonic_decreasing
    sims, probability, distribution = analysis.layer_vulnerability(
        model, (x[:16], y[:16]), attacks.FGSM(0.03), strengths=(0.5, 1.0), progress=False
    )
    assert len(sims) == 16 * 2 * 4 and probability.values.min() >= 0 and probability.values.max() <= 1
    cams = analysis.AllLayerGradcam(model)(x[:3], y[:3])
    assert len(plots.vulnerability_plots(sims, probability, distribution, str(tmp_path), cams, x[:3])) == 4


def test_toggle_experiments_equal_each_set_counted_on_its_own():
    from kerasadv import models

    probe = analysis.probe_model(models.simple_cnn())
    rng = np.random.default_rng(0)
    x, x_adv = (rng.random((40, 32, 32, 3), dtype=np.float32) for _ in range(2))
    layers = [n for n in probe.output if n != "logits"]
    outputs = analysis.probes.probe_outputs(probe, x)
    binary = {n: np.median(np.asarray(outputs[n]).reshape(40, -1), 0) for n in layers}
    ternary = {n: (t - 0.01, t + 0.01) for n, t in binary.items()}
    for thresholds in (binary, ternary):
        by_size = analysis.toggle_vs_size(probe, thresholds, x, x_adv, sizes=(30, 3, 10, 50))  # 50 > 40: left out
        assert by_size["size"].tolist() == [30, 30, 3, 3, 10, 10]
        for _, row in by_size.iterrows():
            n = row["size"]
            images = x[:n] if row.dataset == "clean" else np.concatenate([x[:n], x_adv[:n]])
            expected = analysis.toggle_activity(probe, thresholds, images)
            assert {k: row[k] for k in expected} == expected
        assert 0 < by_size.total.min() and by_size.total.max() < 1  # neither trivial case
        equal = analysis.toggle_equal_size(probe, thresholds, x, x_adv, size=20, draws=2, seed=5)
        rng, runs = np.random.default_rng(5), {"clean": [], "half adversarial": []}
        for _ in range(2):  # the same draws, each set counted on its own
            chosen = rng.choice(40, 20, replace=False)
            runs["clean"].append(analysis.toggle_activity(probe, thresholds, x[chosen])["total"])
            mixed = np.concatenate([x[chosen[:10]], x_adv[chosen[:10]]])
            runs["half adversarial"].append(analysis.toggle_activity(probe, thresholds, mixed)["total"])
        for _, row in equal.iterrows():
            expected = (np.mean(runs[row.dataset]), np.std(runs[row.dataset]))
            assert (row.mean_total, row.std_total) == pytest.approx(expected, abs=1e-12)


def test_toggle_activity_monitor_writes_logs():
    from kerasadv import models

    model = models.simple_cnn()
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).random((32, 32, 32, 3), dtype=np.float32)
    history = model.fit(x, np.arange(32) % 10, epochs=1, verbose=0, callbacks=[callbacks.ToggleActivityMonitor(x[:16])])
    assert 0.0 <= history.history["toggle_activity"][0] <= 1.0
