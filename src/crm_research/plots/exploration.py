"""Plots of notebook 01 (data exploration): ``plot_x(..., ax=None) -> Axes``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..exploration import gini, lorenz_curve, top_share

__all__ = [
    "plot_lorenz",
    "plot_distribution",
    "plot_over_time",
    "plot_activity_panels",
    "plot_over_time_panels",
    "plot_concentration_panels",
]


def _ax(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.5))
    return ax


def plot_lorenz(values, ax=None, label: str = "members", q: float = 0.2) -> plt.Axes:
    """Lorenz curve of per-member value with the equality line and the top-q share."""
    ax = _ax(ax)
    lc = lorenz_curve(values)
    g, share = gini(values), top_share(values, q)
    ax.plot(
        lc["member_share"] * 100, lc["value_share"] * 100, lw=2, label=f"{label} (Gini {g:.2f})"
    )
    ax.plot([0, 100], [0, 100], ls="--", c="grey", lw=1, label="perfect equality")
    x = (1 - q) * 100
    ax.axvline(x, c="tab:red", lw=0.8, ls=":")
    ax.annotate(
        f"top {q:.0%} of members\nhold {share:.0%} of value",
        xy=(x, float(np.interp(1 - q, lc["member_share"], lc["value_share"])) * 100),
        xytext=(8, 55),
        arrowprops={"arrowstyle": "->", "color": "tab:red"},
        color="tab:red",
    )
    ax.set_xlabel("Members, ranked from lowest to highest value (%)")
    ax.set_ylabel("Cumulative share of value (%)")
    ax.set_title("Value concentration (Lorenz curve)")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.legend(loc="upper left")
    return ax


def plot_distribution(
    values, ax=None, title: str = "", xlabel: str = "", log: bool = True, bins: int = 50
) -> plt.Axes:
    """Histogram of a per-member quantity, on a log x-axis for skewed quantities."""
    ax = _ax(ax)
    v = pd.Series(values, dtype=float).dropna()
    if log:
        v = v[v > 0]
        edges = np.logspace(np.log10(v.min()), np.log10(v.max()), bins) if len(v) else bins
        ax.set_xscale("log")
    else:
        edges = bins
    ax.hist(v, bins=edges, color="tab:blue", alpha=0.8)
    med = float(v.median()) if len(v) else np.nan
    label = f"median {med:,.0f}" if abs(med) >= 100 else f"median {med:.3g}"
    ax.axvline(med, c="k", ls="--", lw=1, label=label)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Members")
    ax.legend()
    return ax


def plot_over_time(
    counts: pd.Series, ax=None, title: str = "", ylabel: str = "", kind: str = "bar"
) -> plt.Axes:
    """Counts by period (enrolments per year, flights per month)."""
    ax = _ax(ax)
    x = counts.index.astype(str)
    if kind == "bar":
        ax.bar(x, counts.to_numpy(), color="tab:blue")
    else:
        ax.plot(counts.index, counts.to_numpy(), color="tab:blue")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    if kind == "bar" and len(x) > 12:
        ax.set_xticks(range(0, len(x), max(1, len(x) // 12)))
    ax.tick_params(axis="x", rotation=45)
    return ax


def plot_activity_panels(active: pd.DataFrame, panels) -> plt.Figure:
    """One histogram per panel ``(column, title, xlabel, log)`` of
    :func:`crm_research.data.overview.activity_panels`, side by side (notebook 01)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8), squeeze=False)
    for ax, (col, title, xlabel, log) in zip(axes[0], panels, strict=True):
        plot_distribution(active[col], ax=ax, title=title, xlabel=xlabel, log=log)
    fig.suptitle(f"Members who flew in the window (n = {len(active):,})")
    fig.tight_layout()
    return fig


def plot_over_time_panels(panels) -> plt.Figure:
    """Counts by period, one bar panel per ``(counts, title, ylabel)`` of
    :func:`crm_research.data.overview.over_time_panels` (notebook 01)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 3.8), squeeze=False)
    for ax, (counts, title, ylabel) in zip(axes[0], panels, strict=True):
        plot_over_time(counts, ax=ax, title=title, ylabel=ylabel)
    fig.tight_layout()
    return fig


def plot_concentration_panels(active: pd.DataFrame, conc: dict, q: float = 0.2) -> plt.Figure:
    """Lorenz curves of revenue (left, blank when ``conc`` has no revenue) and of flights
    (right) of the members who flew in the window (notebook 01)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    if "revenue" in conc:
        plot_lorenz(active["window_revenue"], ax=axes[0], label="revenue", q=q)
        axes[0].set_title("Revenue concentration")
    else:
        axes[0].set_visible(False)
    plot_lorenz(active["FLIGHT_COUNT"].astype(float), ax=axes[1], label="flights", q=q)
    axes[1].set_title("Flight concentration")
    fig.tight_layout()
    return fig
