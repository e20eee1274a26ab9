"""The reports' figures: bar, line and image-grid plots (matplotlib, Agg), each saved as a PNG.

Every figure a component shows in a report is drawn here, through a few shapes: `bar_plot`
(one group of bars per row of a table), `line_plot` (named curves), `image_grid` (rows of
images with titles), and the composite figures of the toggle-activity and layer-vulnerability
analyses built from them. Each function writes its PNG with `kerasadv.io.save_figure` and
returns the path.
"""

import numpy as np

from kerasadv import io


def _pyplot():
    """matplotlib's pyplot on the Agg backend (imported on first use: importing plots stays cheap)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bar_plot(frame, path, ylabel, title, ylim=None, legend_outside=True):
    """Grouped bars: one group per row of `frame` (its index on the x axis), one bar per column.

    Args:
        frame: DataFrame, e.g. layers as index and data sets as columns.
        path: the PNG file.
        ylabel, title: axis label and title.
        ylim: `(low, high)` of the y axis (None: matplotlib's).
        legend_outside: the legend right of the axes (many groups), else matplotlib's place.

    Returns:
        `path`.

    Example:
    >>> import pandas as pd, tempfile
    >>> frame = pd.DataFrame({"clean": [0.4, 0.5], "adversarial": [0.45, 0.6]}, index=["relu1", "relu2"])
    >>> bar_plot(frame, f"{tempfile.mkdtemp()}/bars.png", "toggle activity", "Per layer").endswith("bars.png")
    True
    """
    figure, ax = _pyplot().subplots(figsize=(max(6, len(frame) * 0.45), 4))
    frame.plot.bar(ax=ax, ylim=ylim)
    if legend_outside:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set(ylabel=ylabel, title=title)
    return io.save_figure(figure, path)


def line_plot(curves, path, xlabel, ylabel, title, xscale="linear", figsize=(6, 4)):
    """Named curves on one axes.

    Args:
        curves: `{label: (x, y)}` or `{label: (x, y, style)}` (style: a matplotlib format such as
            "--s"; default "-o"); a single curve labelled None gets no legend.
        path: the PNG file.
        xlabel, ylabel, title: axis labels and title.
        xscale: "linear", "log" or "symlog" (linear below 0.001, for eps values from 0).
        figsize: inches.

    Returns:
        `path`.

    Example:
    >>> import tempfile
    >>> curves = {"gradient": ([0, 1, 2], [0.1, 0.3, 0.4]), "random": ([0, 1, 2], [0.1, 0.2, 0.25], "--s")}
    >>> line_plot(curves, f"{tempfile.mkdtemp()}/c.png", "inputs", "coverage", "Coverage").endswith("c.png")
    True
    """
    figure, ax = _pyplot().subplots(figsize=figsize)
    for label, (x, y, *style) in curves.items():
        ax.plot(x, y, style[0] if style else "-o", label=label)
    if xscale == "symlog":
        ax.set_xscale("symlog", linthresh=0.001)
    else:
        ax.set_xscale(xscale)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if list(curves) != [None]:
        ax.legend(fontsize=8)
    return io.save_figure(figure, path)


def image_grid(rows, path, titles=None, cmaps=None, cell=(1.7, 1.7)):
    """Rows of images, one image per cell, axes hidden.

    Args:
        rows: a list of image stacks `(n, h, w[, c])`, one per row (rows may differ in length).
        path: the PNG file.
        titles: per row, a list of cell titles, or one string shown left above the row's first
            cell (None: no titles).
        cmaps: per row, a colour map for single-channel images (None: gray).
        cell: inches per cell, `(width, height)`.

    Returns:
        `path`.

    Example:
    >>> import tempfile
    >>> x = np.random.default_rng(0).random((3, 8, 8, 3))
    >>> image_grid([x, x[..., 0]], f"{tempfile.mkdtemp()}/g.png", ["clean", "red"], [None, "jet"]).endswith("g.png")
    True
    """
    columns = max(len(images) for images in rows)
    size = (cell[0] * columns, cell[1] * len(rows))
    figure, axes = _pyplot().subplots(len(rows), columns, figsize=size, squeeze=False)
    for r, images in enumerate(rows):
        title = titles[r] if titles else None
        cmap = (cmaps[r] if cmaps else None) or "gray"
        for column, image in enumerate(images):
            image = np.squeeze(image)
            axes[r, column].imshow(image, cmap=cmap if image.ndim == 2 else None)
            if isinstance(title, (list, tuple)):
                axes[r, column].set_title(title[column], fontsize=8)
        if isinstance(title, str):
            axes[r, 0].set_title(title, fontsize=8, loc="left")
    for ax in axes.ravel():
        ax.axis("off")
    return io.save_figure(figure, path)


def visible_perturbation(x, x_adv):
    """Each image's perturbation `x_adv - x` stretched to [0, 1] for display (0.5: unchanged pixel).

    Example:
    >>> x = np.zeros((1, 2, 2, 1), np.float32)
    >>> visible_perturbation(x, x + np.array([0.0, 0.01, -0.02, 0.0]).reshape(1, 2, 2, 1)).ravel().tolist()
    [0.5, 0.75, 0.0, 0.5]
    """
    delta = np.asarray(x_adv, np.float32) - np.asarray(x, np.float32)
    scale = np.maximum(np.abs(delta).max(axis=tuple(range(1, delta.ndim)), keepdims=True), 1e-12)
    return 0.5 + 0.5 * delta / scale


def toggle_plots(by_size, by_eps, directory, prefix=""):
    """Per-layer bars (smallest and largest size), gain vs size, total vs eps (PNG files).

    Args:
        by_size: `analysis.toggle_vs_size`'s table.
        by_eps: `analysis.toggle_vs_eps`'s table.
        directory: the folder written into.
        prefix: starts each file name (e.g. "binary_").

    Returns:
        The paths written: `toggle_per_layer_<size>.png` (smallest, largest), `toggle_gain_vs_size.png`,
        `toggle_vs_eps.png`.
    """
    layers = [c for c in by_size.columns if c not in ("size", "dataset", "total", "gain")]
    paths = []
    for size in sorted({by_size["size"].min(), by_size["size"].max()}):
        frame = by_size[by_size["size"] == size].set_index("dataset")[layers].T
        title = f"Toggle activity per layer, {size} images"
        paths.append(
            bar_plot(frame, f"{directory}/{prefix}toggle_per_layer_{size}.png", "toggle activity", title, (0, 1))
        )
    gains = by_size[by_size["dataset"] == "clean+adversarial"]
    paths.append(
        line_plot(
            {None: (gains["size"], gains["gain"])},
            f"{directory}/{prefix}toggle_gain_vs_size.png",
            "clean images",
            "gain in total toggle activity",
            "Gain of adversarial images",
            xscale="log",
            figsize=(5, 4),
        )
    )
    paths.append(
        line_plot(
            {None: (by_eps["eps"], by_eps["total"])},
            f"{directory}/{prefix}toggle_vs_eps.png",
            "eps",
            "total toggle activity",
            "Toggle activity vs perturbation",
            figsize=(5, 4),
        )
    )
    return paths


def vulnerability_plots(similarities, probability, distribution, directory, heatmaps=None, images=None):
    """Similarity box plots, compromise probability and histogram, and a heatmap grid (PNG files).

    Args:
        similarities, probability, distribution: `analysis.layer_vulnerability`'s tables.
        directory: the folder written into.
        heatmaps: optional `{layer: (n, h, w)}` heatmaps of the grid, one row per layer.
        images: the n images above them.

    Returns:
        The paths written: `similarity_boxplots.png`, `compromise_probability.png`,
        `compromise_histogram.png` and, with heatmaps, `heatmap_grid.png`.
    """
    layers = list(probability.columns)
    strength = 1.0 if 1.0 in set(similarities["strength"]) else similarities["strength"].iloc[0]
    at = similarities[similarities["strength"] == strength]
    figure, ax = _pyplot().subplots(figsize=(max(6, len(layers)), 4))
    data = [at[at.layer == l][c].values for l in layers for c in ("adversarial_similarity", "noise_similarity")]
    ax.boxplot(data, tick_labels=[f"{l}\n{'adv' if i % 2 == 0 else 'noise'}" for l in layers for i in range(2)])
    ax.set(ylabel="cosine similarity to clean heatmap", title=f"Per-layer similarity (strength {strength})")
    ax.tick_params(axis="x", labelsize=6, rotation=90)
    paths = [io.save_figure(figure, f"{directory}/similarity_boxplots.png")]
    title = "Compromise probability per layer"
    paths.append(
        bar_plot(probability.T, f"{directory}/compromise_probability.png", "P(compromised)", title, (0, 1), False)
    )
    curves = {
        f"strength {s}": (group["compromised_layers"], group["fraction"])
        for s, group in distribution.groupby("strength")
    }
    xlabel = "compromised layers per adversarial example"
    paths.append(line_plot(curves, f"{directory}/compromise_histogram.png", xlabel, "fraction", "Compromised layers"))
    if heatmaps is not None and images is not None:
        rows = [np.asarray(images), *heatmaps.values()]
        cmaps = [None] + ["jet"] * len(heatmaps)
        paths.append(image_grid(rows, f"{directory}/heatmap_grid.png", ["image", *heatmaps], cmaps, (1.0, 1.0)))
    return paths


def plot_latent_space(latent_clean, latent_attacked, labels, path, title="Latent space"):
    """Scatter plot (PNG) of clean (dots) and attacked (crosses) latent codes, by class.

    Codes of more than two dimensions are projected on their two principal axes.

    Args:
        latent_clean: (n, d) latent codes of clean images.
        latent_attacked: (n, d) latent codes of their attacked versions.
        labels: (n,) true labels (colours).
        path: PNG file to write.
        title: figure title.

    Returns:
        `path`.

    Example:
    >>> import tempfile
    >>> codes = np.random.default_rng(0).normal(size=(20, 4))
    >>> plot_latent_space(codes, codes + 0.1, np.arange(20) % 3, f"{tempfile.mkdtemp()}/latent.png").endswith(".png")
    True
    """
    clean, attacked = np.asarray(latent_clean), np.asarray(latent_attacked)
    if clean.shape[1] > 2:
        centre = clean.mean(0)
        axes = np.linalg.svd(clean - centre, full_matrices=False)[2][:2].T
        clean, attacked = (clean - centre) @ axes, (attacked - centre) @ axes
    figure, ax = _pyplot().subplots(figsize=(6, 5))
    ax.scatter(clean[:, 0], clean[:, 1], c=labels, cmap="tab10", s=10, marker="o", label="clean")
    ax.scatter(attacked[:, 0], attacked[:, 1], c=labels, cmap="tab10", s=18, marker="x", label="attacked")
    ax.set_title(title)
    ax.legend()
    io.save_figure(figure, path, dpi=120)
    return path
