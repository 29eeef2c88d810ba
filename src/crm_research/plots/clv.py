"""Plots for the clv stage: ``plot_x(..., ax=None) -> Axes`` (English text only)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ._axes import new_ax as _ax

__all__ = [
    "plot_bootstrap_distribution",
    "plot_calibration_vs_holdout",
    "plot_clv_and_concentration",
    "plot_clv_distribution",
    "plot_cumulative_tracking",
    "plot_equity_bootstrap",
    "plot_frequency_histogram",
    "plot_frequency_recency_matrices",
    "plot_frequency_recency_matrix",
    "plot_lorenz_curve",
    "plot_parameter_recovery",
    "plot_spend_vs_frequency",
]


def plot_frequency_recency_matrix(
    matrix: pd.DataFrame,
    *,
    title: str,
    colorbar_label: str,
    time_label: str = "weeks",
    ax=None,
):
    """Heat map of a (recency x frequency) matrix (expected flights or P(alive)).

    ``matrix`` comes from ``model.expected_matrix`` or ``model.p_alive_matrix``: index
    recency, columns frequency.
    """
    ax = _ax(ax, (7, 5.5))
    rec = matrix.index.to_numpy(float)
    freq = matrix.columns.to_numpy(float)
    im = ax.imshow(
        matrix.to_numpy(),
        origin="lower",
        aspect="auto",
        cmap="viridis",
        extent=(freq.min() - 0.5, freq.max() + 0.5, rec.min(), rec.max()),
    )
    ax.figure.colorbar(im, ax=ax, label=colorbar_label)
    ax.set_xlabel("repeat flights in the calibration period (x)")
    ax.set_ylabel(f"time of the last flight since the first (t_x, {time_label})")
    ax.set_title(title)
    return ax


def plot_cumulative_tracking(
    tracking: pd.DataFrame, *, calibration_end=None, title=None, models=None, ax=None
):
    """Cumulative repeat flights, actual vs expected, period by period.

    ``tracking``: output of ``cumulative_tracking`` (``period_end, actual_cum,
    expected_cum``); ``models`` an optional dict name -> tracking table to draw several
    models (the first one's ``actual_cum`` is drawn as the actual).
    """
    ax = _ax(ax)
    tables = models or {"model": tracking}
    first = next(iter(tables.values()))
    ax.plot(first["period_end"], first["actual_cum"], color="black", lw=2, label="actual")
    for name, tab in tables.items():
        ax.plot(tab["period_end"], tab["expected_cum"], ls="--", label=f"expected ({name})")
    if calibration_end is not None:
        ax.axvline(pd.Timestamp(calibration_end), color="grey", ls=":", label="end of calibration")
    ax.set_xlabel("date")
    ax.set_ylabel("cumulative repeat flights")
    ax.set_title(title or "Cumulative repeat flights: actual vs model")
    ax.legend()
    return ax


def plot_calibration_vs_holdout(table: pd.DataFrame, *, holdout_label="holdout", ax=None):
    """Mean holdout flights by calibration frequency, actual vs expected (FHL 2005a fig. 4)."""
    ax = _ax(ax)
    x = np.arange(len(table))
    ax.plot(x, table["actual"], marker="o", color="black", label="actual")
    ax.plot(x, table["expected"], marker="s", ls="--", label="expected")
    ax.set_xticks(x, table.index)
    ax.set_xlabel("repeat flights in the calibration period")
    ax.set_ylabel(f"mean flights per member in the {holdout_label}")
    ax.set_title("Conditional expectations: flights in the holdout by calibration frequency")
    ax.legend()
    return ax


def plot_frequency_histogram(table: pd.DataFrame, ax=None):
    """Members by calibration-period repeat flights, actual vs expected."""
    ax = _ax(ax)
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["actual"], width=0.4, label="actual", color="0.3")
    ax.bar(x + 0.2, table["expected"], width=0.4, label="expected", color="tab:blue")
    ax.set_xticks(x, table.index)
    ax.set_xlabel("repeat flights in the calibration period")
    ax.set_ylabel("members")
    ax.set_title("Calibration-period frequency: actual vs model")
    ax.legend()
    return ax


def plot_spend_vs_frequency(summary: pd.DataFrame, *, currency="revenue units", ax=None):
    """Mean revenue per repeat flight against repeat flights (Gamma-Gamma independence)."""
    ax = _ax(ax)
    col = "n_monetary" if "n_monetary" in summary.columns else "frequency"
    d = summary.loc[(summary[col] > 0) & summary["monetary_value"].notna()]
    if len(d) > 20_000:
        d = d.sample(20_000, random_state=0)
    ax.scatter(d["frequency"], d["monetary_value"], s=4, alpha=0.25, color="tab:blue")
    means = d.groupby(np.minimum(d["frequency"], 30))["monetary_value"].mean()
    ax.plot(means.index, means.to_numpy(), color="black", lw=2, label="mean by frequency")
    ax.set_xscale("symlog", linthresh=10)
    ax.set_yscale("log")
    ax.set_xlabel("repeat flights in the calibration period")
    ax.set_ylabel(f"mean revenue per repeat flight ({currency})")
    ax.set_title("Is spend per flight independent of how often members fly?")
    ax.legend()
    return ax


def plot_clv_distribution(clv: pd.Series, *, currency="revenue units", ax=None):
    """Histogram of predicted CLV (log scale on the value axis); ``clv`` may also be the
    ``(counts, edges)`` an engine computed (``ValueTable.histogram``)."""
    ax = _ax(ax)
    if isinstance(clv, tuple):  # counted by an engine: the same bars
        counts, bins = clv
        ax.hist(bins[:-1], bins=bins, weights=counts, color="tab:blue")
    else:
        v = np.asarray(clv, dtype=float)
        v = v[np.isfinite(v) & (v > 0)]
        bins = np.logspace(np.log10(max(v.min(), 1e-3)), np.log10(v.max()), 50)
        ax.hist(v, bins=bins, color="tab:blue")
    ax.set_xscale("log")
    ax.set_xlabel(f"predicted CLV ({currency}, log scale)")
    ax.set_ylabel("members")
    ax.set_title("Distribution of predicted customer lifetime value")
    return ax


def plot_lorenz_curve(curves: dict[str, pd.DataFrame], ax=None):
    """Lorenz curves (``lorenz_curve`` output), one per label, with the equality line."""
    ax = _ax(ax, (5.5, 5.5))
    for label, c in curves.items():
        ax.plot(c["member_share"], c["value_share"], label=label)
    ax.plot([0, 1], [0, 1], color="grey", ls=":", label="equal value")
    ax.set_xlabel("share of members (lowest value first)")
    ax.set_ylabel("share of total value")
    ax.set_title("Concentration of customer value")
    ax.legend()
    return ax


def plot_bootstrap_distribution(
    samples, *, point=None, interval=None, label="", interval_label="95% interval", ax=None
):
    """Histogram of bootstrap replicates with the point estimate and the interval.

    ``interval_label`` says what the interval covers (e.g. "95% interval, parameter
    uncertainty only").
    """
    ax = _ax(ax)
    ax.hist(np.asarray(samples, dtype=float), bins=30, color="tab:blue", alpha=0.8)
    if point is not None:
        ax.axvline(point, color="black", lw=2, label="estimate")
    if interval is not None:
        for v in interval:
            ax.axvline(v, color="tab:red", ls="--")
        ax.plot([], [], color="tab:red", ls="--", label=interval_label)
    ax.set_xlabel(label)
    ax.set_ylabel("bootstrap replicates")
    ax.set_title(f"Bootstrap distribution: {label}")
    ax.legend()
    return ax


def plot_parameter_recovery(table: pd.DataFrame, ax=None):
    """Estimate / truth with 95% intervals for each parameter (simulated data).

    ``table``: index parameter names, columns ``truth, coef, lower_95, upper_95``.
    """
    ax = _ax(ax)
    y = np.arange(len(table))
    ratio = table["coef"] / table["truth"]
    lo = table["lower_95"] / table["truth"]
    hi = table["upper_95"] / table["truth"]
    ax.errorbar(ratio, y, xerr=[ratio - lo, hi - ratio], fmt="o", capsize=4)
    ax.axvline(1.0, color="grey", ls=":")
    ax.axvspan(0.95, 1.05, color="tab:green", alpha=0.15, label="within 5% of the truth")
    ax.set_yticks(y, table.index)
    ax.set_xlabel("estimate / true value")
    ax.set_title("Parameter recovery on simulated data")
    ax.legend()
    return ax


def plot_clv_and_concentration(clv: pd.Series, curves, *, currency="revenue units"):
    """Figure of notebook 03: the CLV distribution (left) beside the Lorenz curves of
    ``curves`` (right, see :func:`plot_lorenz_curve`)."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    plot_clv_distribution(clv, currency=currency, ax=axes[0])
    plot_lorenz_curve(curves, ax=axes[1])
    fig.tight_layout()
    return fig


def plot_equity_bootstrap(boot: dict, equity: float, interval: dict, *, currency="", ax=None):
    """Bootstrap replicates of the customer equity with the main fit's value and the 95%
    interval of :func:`~crm_research.clv.equity_interval` (none when not computable),
    labelled as covering parameter uncertainty only."""
    lower = interval.get("lower")
    return plot_bootstrap_distribution(
        boot["equity"],
        point=equity,
        ax=ax,
        label=f"customer equity ({currency})",
        interval=None if lower is None else (lower, interval["upper"]),
        interval_label="95% interval, parameter uncertainty only",
    )


def plot_frequency_recency_matrices(
    expected: pd.DataFrame, p_alive: pd.DataFrame, *, at: str, time_label: str = "weeks"
):
    """Figure of notebook 02: expected flights in the next year (left) and P(alive)
    (right) over frequency and recency (see :func:`plot_frequency_recency_matrix`);
    ``at`` names the model and the member's age for the titles."""
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.5))
    panels = (
        (expected, f"Expected flights in the next year ({at})", "expected flights"),
        (p_alive, f"Probability of being alive ({at})", "P(alive)"),
    )
    for ax, (matrix, title, label) in zip(axes, panels, strict=True):
        plot_frequency_recency_matrix(
            matrix, ax=ax, time_label=time_label, title=title, colorbar_label=label
        )
    fig.tight_layout()
    return fig
