"""Plots for the churn stage: ``plot_x(..., ax=None) -> Axes``.

Every function draws on ``ax`` (a new figure when None) and returns it; the notebook
saves the figure with :func:`crm_research.io.save_figure`. English text only.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ._axes import finish_curves
from ._axes import new_ax as _ax

__all__ = [
    "plot_calibration",
    "plot_campaign",
    "plot_confusion",
    "plot_confusion_matrices",
    "plot_definition_rates",
    "plot_evaluation",
    "plot_gains",
    "plot_kaplan_meier",
    "plot_loss_by_segment",
    "plot_odds_ratios",
    "plot_permutation_importance",
    "plot_precision_recall",
    "plot_retention_campaign",
    "plot_roc",
    "plot_textbook_ratio",
]


def plot_definition_rates(summary: pd.DataFrame, ax=None):
    """Churn rate under each definition (bars) and the true dead share (markers)."""
    ax = _ax(ax)
    x = np.arange(len(summary))
    ax.bar(x, 100 * summary["churn_rate"], color="#4c72b0", label="labelled churned")
    if "truth_true_dead_rate" in summary.columns:
        ax.scatter(
            x,
            100 * summary["truth_true_dead_rate"],
            color="#c44e52",
            marker="D",
            zorder=3,
            label="truly dropped out (simulation)",
        )
    for xi, r, n in zip(x, summary["churn_rate"], summary["members"], strict=True):
        ax.text(
            xi,
            50 * r,
            f"{100 * r:.0f}%\nn={n:,}",
            ha="center",
            va="center",
            fontsize=8,
            color="white",
        )
    names = {
        "textbook": "textbook\n(last / first year flights)",
        "palive": "model-based\n(BG/NBD P(alive))",
        "forward": "forward-looking\n(no flight in horizon)",
    }
    ax.set_xticks(x, [names.get(str(d), str(d)) for d in summary["definition"]], fontsize=8)
    ax.set_ylabel("members (%)")
    ax.set_ylim(0, max(100 * summary["churn_rate"].max() + 15, 30))
    ax.set_title("Churn rate by definition, same observation date")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_textbook_ratio(label: pd.DataFrame, churn_below=0.5, retain_from=0.9, ax=None, clip=3.0):
    """Histogram of the last-year / first-year flight ratio with the textbook thresholds."""
    ax = _ax(ax)
    r = label["ratio"].dropna().clip(upper=clip)
    ax.hist(r, bins=60, color="#8c8c8c")
    ax.axvline(churn_below, color="#c44e52", ls="--", label=f"churned below {churn_below}")
    ax.axvline(retain_from, color="#55a868", ls="--", label=f"retained from {retain_from}")
    n0 = int(label["ratio"].isna().sum())
    ax.set_xlabel(f"flights last year / flights first year (clipped at {clip:g})")
    ax.set_ylabel("established members")
    ax.set_title(f"Textbook churn ratio ({n0:,} members with no first-year flight not shown)")
    ax.legend(fontsize=8)
    return ax


def plot_odds_ratios(table: pd.DataFrame, ax=None):
    """Forest plot of odds ratios per standard deviation with 95% confidence intervals."""
    t = table.iloc[::-1]
    ax = _ax(ax, (7, 0.35 * len(t) + 1.5))
    y = np.arange(len(t))
    sig = (t["ci_low"] > 1) | (t["ci_high"] < 1)
    colors = np.where(sig, "#c44e52", "#8c8c8c")
    ax.hlines(y, t["ci_low"], t["ci_high"], colors=colors, lw=2)
    ax.scatter(t["odds_ratio"], y, c=colors, zorder=3)
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_xscale("log")
    lo, hi = float(t["ci_low"].min()), float(t["ci_high"].max())
    ticks = [v for v in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50) if lo / 1.5 <= v <= hi * 1.5]
    ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_yticks(y, t["feature"])
    ax.set_xlabel("odds ratio of churn per +1 SD (log scale; red: 95% CI excludes 1)")
    ax.set_title("Logistic regression: what goes with churn")
    return ax


def plot_permutation_importance(imp: pd.DataFrame, ax=None, top: int = 12):
    """Horizontal bars of the permutation importance (drop in held-out ROC AUC)."""
    t = imp.head(top).iloc[::-1]
    ax = _ax(ax, (7, 0.35 * len(t) + 1.5))
    ax.barh(t["feature"], t["importance_mean"], xerr=t["importance_std"], color="#4c72b0")
    ax.set_xlabel("drop in held-out ROC AUC when the feature is shuffled")
    ax.set_title("Gradient boosting: permutation importance")
    return ax


def plot_roc(y, scores: Mapping[str, np.ndarray], ax=None):
    """ROC curves of several scores on the same members, with their AUC."""
    from sklearn.metrics import roc_curve  # noqa: PLC0415

    from ..churn import roc_auc  # noqa: PLC0415

    ax = _ax(ax, (5.5, 5))
    for name, s in scores.items():
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc(y, s):.3f})")
    return finish_curves(
        ax,
        1,
        "random (AUC 0.5)",
        "false positive rate (share of stayers flagged)",
        "true positive rate (share of churners caught)",
        "ROC curves, held-out members",
    )


def plot_precision_recall(y, scores: Mapping[str, np.ndarray], ax=None):
    """Precision-recall curves with their average precision (PR AUC)."""
    from sklearn.metrics import precision_recall_curve  # noqa: PLC0415

    from ..churn import pr_auc  # noqa: PLC0415

    ax = _ax(ax, (5.5, 5))
    for name, s in scores.items():
        prec, rec, _ = precision_recall_curve(y, s)
        ax.step(rec, prec, where="post", label=f"{name} (PR AUC {pr_auc(y, s):.3f})")
    ax.axhline(np.mean(y), color="grey", ls=":", label=f"random ({np.mean(y):.2f})")
    ax.set_xlabel("recall (share of churners caught)")
    ax.set_ylabel("precision (share of flagged who churn)")
    ax.set_ylim(0, 1.02)
    ax.set_title("Precision-recall curves, held-out members")
    ax.legend(fontsize=8, loc="lower left")
    return ax


def plot_calibration(y, scores: Mapping[str, np.ndarray], ax=None, n_bins: int = 10):
    """Calibration curves: observed churn rate against mean predicted P(churn)."""
    from ..churn import calibration_table  # noqa: PLC0415

    ax = _ax(ax, (5.5, 5))
    for name, s in scores.items():
        t = calibration_table(y, s, n_bins=n_bins, strategy="quantile")
        ax.plot(t["mean_predicted"], t["observed_rate"], marker="o", label=name)
    ax.plot([0, 1], [0, 1], color="grey", ls=":", label="perfectly calibrated")
    ax.set_xlabel("mean predicted P(churn) in the bin")
    ax.set_ylabel("observed churn rate in the bin")
    ax.set_title(f"Calibration ({n_bins} equal-size bins), held-out members")
    ax.legend(fontsize=8)
    return ax


def plot_gains(y, scores: Mapping[str, np.ndarray], ax=None, n_bins: int = 10):
    """Cumulative gains: share of churners caught when contacting the top x% by score."""
    from ..churn import gains_table  # noqa: PLC0415

    ax = _ax(ax, (5.5, 5))
    for name, s in scores.items():
        t = gains_table(y, s, n_bins)
        ax.plot(
            np.r_[0, 100 * t["cum_share_members"]],
            np.r_[0, 100 * t["cum_share_churners"]],
            marker="o",
            label=f"{name} (top-decile lift {t['lift'].iloc[0]:.2f})",
        )
    return finish_curves(
        ax,
        100,
        "random",
        "members contacted, highest score first (%)",
        "churners caught (%)",
        "Cumulative gains, held-out members",
    )


def plot_confusion(cm: pd.DataFrame, ax=None, title: str = "Confusion matrix"):
    """A 2x2 confusion matrix with counts and row shares."""
    ax = _ax(ax, (4.5, 4))
    v = cm.to_numpy()
    ax.imshow(v, cmap="Blues")
    rows = v.sum(axis=1, keepdims=True)
    for i in range(2):
        for j in range(2):
            share = v[i, j] / rows[i, 0] if rows[i, 0] else 0
            ax.text(
                j,
                i,
                f"{v[i, j]:,}\n({100 * share:.0f}% of row)",
                ha="center",
                va="center",
                color="white" if v[i, j] > v.max() / 2 else "black",
            )
    ax.set_xticks([0, 1], list(cm.columns))
    ax.set_yticks([0, 1], list(cm.index))
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(title)
    return ax


def plot_evaluation(y, scores: Mapping[str, np.ndarray], axes=None, title: str = ""):
    """ROC, precision-recall, calibration and gains of every score on a 2x2 grid."""
    if axes is None:
        _, axes = plt.subplots(2, 2, figsize=(12, 10))
    axes = np.asarray(axes)
    plot_roc(y, scores, ax=axes[0, 0])
    plot_precision_recall(y, scores, ax=axes[0, 1])
    plot_calibration(y, scores, ax=axes[1, 0])
    plot_gains(y, scores, ax=axes[1, 1])
    if title:
        axes[0, 0].figure.suptitle(title)
    axes[0, 0].figure.tight_layout()
    return axes


def plot_confusion_matrices(y, scores: Mapping[str, np.ndarray], threshold=0.5, axes=None):
    """One confusion matrix per score at ``threshold``, two per row."""
    from ..churn import confusion_at  # noqa: PLC0415

    ncols = min(2, len(scores))
    nrows = int(np.ceil(len(scores) / ncols))
    if axes is None:
        _, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 4.4 * nrows), squeeze=False)
    axes = np.asarray(axes).reshape(-1)
    for ax in axes[len(scores) :]:
        ax.axis("off")
    for ax, (name, s) in zip(axes, scores.items(), strict=False):
        title = f"{name}\n(churn predicted at P >= {threshold})"
        plot_confusion(confusion_at(y, s, threshold), ax=ax, title=title)
    axes[0].figure.tight_layout()
    return axes


def plot_retention_campaign(result, by_segment: pd.DataFrame, axes=None):
    """The campaign curve (:func:`plot_campaign`) beside the loss by segment."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    plot_campaign(result, ax=axes[0])
    plot_loss_by_segment(by_segment, ax=axes[1])
    axes[0].figure.tight_layout()
    return axes


def plot_kaplan_meier(fitters: Mapping, ax=None, ci: bool = True):
    """Kaplan-Meier curves of the share of members still flying, one per group."""
    ax = _ax(ax, (7.5, 4.8))
    for _, kmf in fitters.items():
        kmf.plot_survival_function(ax=ax, ci_show=ci)
    ax.set_xlabel("months since first flight")
    ax.set_ylabel("share not yet lapsed (last flight still ahead)")
    ax.set_ylim(0, 1.02)
    ax.set_title("Time to last flight (Kaplan-Meier) by group")
    ax.legend(fontsize=8)
    return ax


def plot_campaign(result, ax=None):
    """Cumulative expected return against the number of members contacted."""
    ax = _ax(ax)
    t = result.table
    n = np.arange(1, len(t) + 1)
    ax.plot(n, t["cum_net"], color="#4c72b0")
    k = result.summary["n_contact"]
    if k > 0:
        ax.axvline(k, color="#c44e52", ls="--", label=f"contact {k:,} members")
        ax.scatter([k], [t["cum_net"].iloc[k - 1]], color="#c44e52", zorder=3)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("members contacted (ranked by expected loss)")
    ax.set_ylabel("cumulative expected return (currency units)")
    ax.set_title("Retention campaign: expected return by list depth")
    ax.legend(fontsize=8)
    return ax


def plot_loss_by_segment(by_segment: pd.DataFrame, ax=None):
    """Expected loss and expected campaign return by segment, win-back class highlighted."""
    ax = _ax(ax)
    t = by_segment
    x = np.arange(len(t))
    w = 0.4
    edge = np.where(t["winback"], "#c44e52", "none")
    ax.bar(
        x - w / 2,
        t["expected_loss"],
        w,
        label="expected loss P(churn) x CLV",
        color="#8c8c8c",
        edgecolor=edge,
        lw=2,
    )
    ax.bar(
        x + w / 2,
        t["expected_return"],
        w,
        label="expected campaign return",
        color="#4c72b0",
        edgecolor=edge,
        lw=2,
    )
    ax.set_xticks(x, [s.replace("_", "\n") for s in t["segment"]], fontsize=8)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_ylabel("currency units")
    title = "Expected loss and campaign return by segment"
    if t["winback"].any():
        title += " (red edge: win-back class)"
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax
