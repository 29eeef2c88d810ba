"""Plots for the segmentation stage: ``plot_x(..., ax=None) -> Axes`` (English text only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

_LRFMC = ("L", "R", "F", "M", "C")
_UNITS = {
    "L": "L: membership (months)",
    "R": "R: months since last flight",
    "F": "F: flights in 2 years",
    "M": "M: km flown in 2 years",
    "C": "C: mean discount (1 = full fare)",
}


def _cluster_names(index, names: Mapping | pd.Series | None) -> list[str]:
    if names is None:
        return [f"cluster {c}" for c in index]
    names = dict(names)
    return [f"{c}: {names.get(c, '?')}" for c in index]


def plot_k_selection(table: pd.DataFrame, k_chosen: int | None = None, axes=None) -> np.ndarray:
    """Four panels over k: inertia (elbow), silhouette, Calinski-Harabasz, Davies-Bouldin.

    ``table`` is :func:`crm_research.segmentation.k_selection`'s output (index k).
    Returns the array of four Axes.
    """
    if axes is None:
        _, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    axes = np.asarray(axes).ravel()
    panels = [
        ("inertia", "Within-cluster sum of squares", "Inertia (elbow: look for the bend)"),
        ("silhouette", "Mean silhouette (-1 to 1)", "Silhouette (higher is better)"),
        ("calinski_harabasz", "Calinski-Harabasz index", "Calinski-Harabasz (higher is better)"),
        ("davies_bouldin", "Davies-Bouldin index", "Davies-Bouldin (lower is better)"),
    ]
    ks = table.index.to_numpy()
    for ax, (col, ylabel, title) in zip(axes, panels, strict=False):
        ax.plot(ks, table[col].to_numpy(), marker="o", color="tab:blue")
        if k_chosen is not None and k_chosen in table.index:
            ax.axvline(k_chosen, color="tab:red", ls="--", lw=1, label=f"chosen k = {k_chosen}")
            ax.legend(loc="best", fontsize=8)
        ax.set_xlabel("Number of clusters k")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
        ax.set_xticks(ks)
        ax.grid(alpha=0.3)
    return axes


def plot_radar(
    centres_z: pd.DataFrame,
    names: Mapping | pd.Series | None = None,
    ax=None,
    title: str = "Cluster centres (z-scores of the member population)",
):
    """Radar chart of cluster centres on L, R, F, M, C (population z-scores).

    The dashed circle is the member average (z = 0). ``names`` maps cluster -> label.
    """
    if ax is None:
        fig = plt.figure(figsize=(6.5, 6.5))
        ax = fig.add_subplot(projection="polar")
    angles = np.linspace(0, 2 * np.pi, len(_LRFMC), endpoint=False)
    closed = np.r_[angles, angles[:1]]
    labels = _cluster_names(centres_z.index, names)
    cmap = plt.get_cmap("tab10")
    for i, (label, (_, row)) in enumerate(
        zip(labels, centres_z[list(_LRFMC)].iterrows(), strict=True)
    ):
        vals = row.to_numpy(float)
        ax.plot(closed, np.r_[vals, vals[:1]], color=cmap(i % 10), lw=2, label=label)
        ax.fill(closed, np.r_[vals, vals[:1]], color=cmap(i % 10), alpha=0.08)
    ax.plot(np.linspace(0, 2 * np.pi, 100), np.zeros(100), color="grey", ls="--", lw=1)
    lo = float(np.floor(min(-1.0, np.nanmin(centres_z[list(_LRFMC)].to_numpy(float)))))
    ax.set_ylim(lo, None)
    ax.set_rlabel_position(36)  # radial tick labels between the L and R spokes
    ax.set_xticks(angles)
    ax.set_xticklabels(
        ["L (membership)", "R (recency)", "F (flights)", "M (km)", "C (discount)"], fontsize=9
    )
    ax.set_title(title, fontsize=11, pad=18)
    ax.legend(
        loc="upper left", bbox_to_anchor=(1.05, 1.0), fontsize=8, title="z-score; 0 = average"
    )
    return ax


def plot_cluster_distributions(
    X: pd.DataFrame, labels, names: Mapping | pd.Series | None = None, axes=None
) -> np.ndarray:
    """Box plots of each of L, R, F, M, C by cluster (natural units; F and M on a log axis).

    Boxes show the quartiles, whiskers the 5th and 95th percentiles; outliers omitted.
    """
    if axes is None:
        _, axes = plt.subplots(1, 5, figsize=(18, 4), sharey=False)
    axes = np.asarray(axes).ravel()
    lab = np.asarray(labels)
    clusters = np.unique(lab)
    ticks = _cluster_names(clusters, names)
    for ax, v in zip(axes, _LRFMC, strict=False):
        data = [X[v].to_numpy(float)[lab == c] for c in clusters]
        ax.boxplot(data, whis=(5, 95), showfliers=False, vert=False)
        ax.set_yticks(range(1, len(clusters) + 1))
        ax.set_yticklabels(ticks if ax is axes[0] else [str(c) for c in clusters], fontsize=8)
        if v in ("F", "M"):
            ax.set_xscale("log")
        ax.set_xlabel(_UNITS[v] + (" (log scale)" if v in ("F", "M") else ""))
        ax.set_title(v, fontsize=11)
        ax.grid(alpha=0.3, axis="x")
    axes[0].set_ylabel("Cluster")
    return axes


def plot_value_by_segment(
    df: pd.DataFrame,
    value: str,
    segment_col: str = "segment_en",
    ax=None,
    ylabel: str = "True expected revenue next year",
    title: str = "Segments against the true future value",
    order: Sequence[str] | None = None,
):
    """Box plots of a value (e.g. the simulator's true future value) per segment, with means.

    The value axis is symlog (many members are worth 0). Diamonds mark the means.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    d = df[[segment_col, value]].dropna()
    if order is None:
        order = d.groupby(segment_col)[value].mean().sort_values(ascending=False).index.tolist()
    order = [o for o in order if o in set(d[segment_col])]
    data = [d.loc[d[segment_col] == s, value].to_numpy(float) for s in order]
    ax.boxplot(data, whis=(5, 95), showfliers=False)
    means = [x.mean() if len(x) else np.nan for x in data]
    ax.scatter(range(1, len(order) + 1), means, marker="D", color="tab:red", zorder=3, label="mean")
    ax.set_xticks(range(1, len(order) + 1))
    ax.set_xticklabels(
        [f"{s}\n(n={len(x):,})" for s, x in zip(order, data, strict=True)], fontsize=8
    )
    ax.set_yscale("symlog", linthresh=100)
    ax.set_ylim(bottom=0)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return ax


def plot_value_by_score_decile(
    df: pd.DataFrame,
    scores: Mapping[str, str],
    value: str,
    ax=None,
    ylabel: str = "Mean true revenue next year per member",
    title: str = "Does the score find the valuable members?",
):
    """Mean of ``value`` per decile of each score (10 = the top tenth by the score).

    ``scores`` maps a legend label to a column. A steeper line ranks members better.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    for label, col in scores.items():
        d = df[[col, value]].dropna()
        if len(d) < 10:
            continue
        dec = np.ceil(d[col].rank(method="first") / len(d) * 10).clip(1, 10).astype(int)
        means = d.groupby(dec)[value].mean()
        ax.plot(means.index, means.to_numpy(), marker="o", label=label)
    ax.set_xticks(range(1, 11))
    ax.set_xlabel("Decile of the score (1 = lowest tenth, 10 = highest)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def plot_segment_sizes(summary: pd.DataFrame, ax=None, label_col: str = "segment_en"):
    """Horizontal bars: share of members per segment (``segment_summary`` output)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    s = summary.sort_values("share")
    ax.barh(s[label_col], s["share"] * 100, color="tab:blue")
    for y, (share, n) in enumerate(zip(s["share"], s["n"], strict=True)):
        ax.text(share * 100, y, f" {share:.1%} ({n:,})", va="center", fontsize=8)
    ax.set_xlabel("Share of members (%)")
    ax.set_title("Size of the member classes", fontsize=11)
    ax.set_xlim(0, min(100.0, float(s["share"].max() * 100 * 1.4)) if len(s) else 100)
    ax.grid(alpha=0.3, axis="x")
    return ax


__all__ = [
    "plot_segments_vs_value",
    "plot_cluster_distributions",
    "plot_k_selection",
    "plot_radar",
    "plot_segment_sizes",
    "plot_value_by_score_decile",
    "plot_value_by_segment",
]


def plot_segments_vs_value(df: pd.DataFrame, value: str, ylabel: str, axes=None) -> np.ndarray:
    """The classes (box plots) and the AHP score's deciles (F and M alone for reference)
    against ``value``: the true future value or the CLV, side by side."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(16, 4.8))
    what = "true future value" if value == "true_value" else "CLV"
    plot_value_by_segment(
        df,
        value,
        "segment_en",
        ax=axes[0],
        ylabel=ylabel,
        title=f"Member classes against the {what}",
    )
    scores = {
        "AHP value score": "value_score",
        "AHP score (rank-normalised)": "value_score_rank",
        "F alone": "F",
        "M alone": "M",
    }
    plot_value_by_score_decile(
        df, scores, value, ax=axes[1], ylabel="Mean " + ylabel[0].lower() + ylabel[1:]
    )
    return axes
