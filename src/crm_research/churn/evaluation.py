"""Evaluation of churn scores: scikit-learn's metrics plus cumulative gains and lift."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    roc_auc_score,
)


# ---------------------------------------------------------------------------------------
# evaluation metrics (tested against scikit-learn's)
# ---------------------------------------------------------------------------------------
def _yp(y, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    p = np.asarray(p, float)
    if y.shape != p.shape or y.ndim != 1:
        raise ValueError(
            f"labels and scores must be 1-D of equal length, got {y.shape} and {p.shape}"
        )
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0/1")
    if np.isnan(p).any():
        raise ValueError(f"{int(np.isnan(p).sum())} scores are missing (NaN)")
    return y.astype(np.int64), p


def roc_auc(y, score) -> float:
    """ROC AUC (``sklearn.metrics.roc_auc_score``) after the input checks of :func:`_yp`.

    Equals the Mann-Whitney probability that a churner outranks a non-churner, ties
    counting one half (Hanley & McNeil 1982).
    """
    y, s = _yp(y, score)
    if y.min() == y.max():
        raise ValueError("ROC AUC needs both classes")
    return float(roc_auc_score(y, s))


def pr_auc(y, score) -> float:
    """Area under the precision-recall curve as average precision (scikit-learn).

    ``AP = sum_k (R_k - R_{k-1}) P_k`` over the distinct score thresholds, highest first
    (the step-wise area, no interpolation: ``sklearn.metrics.average_precision_score``).
    """
    y, s = _yp(y, score)
    if y.sum() == 0:
        raise ValueError("PR AUC needs at least one churner")
    return float(average_precision_score(y, s))


def brier_score(y, p) -> float:
    """Mean squared difference between the predicted probability and the 0/1 outcome."""
    y, p = _yp(y, p)
    return float(brier_score_loss(y, p))


def calibration_table(y, p, n_bins: int = 10, strategy: str = "quantile") -> pd.DataFrame:
    """Observed churn rate against mean predicted probability, by bin.

    ``sklearn.calibration.calibration_curve`` gives the two rates; the member count per
    bin uses the same bins (``strategy="uniform"``: equal-width bins on [0, 1];
    ``"quantile"``: equal-count bins). Empty bins are left out.

    Returns
    -------
    DataFrame
        ``bin, n, mean_predicted, observed_rate``.
    """
    y, p = _yp(y, p)
    if strategy not in ("quantile", "uniform"):
        raise ValueError(f"strategy must be 'quantile' or 'uniform', got {strategy!r}")
    if p.min() < 0 or p.max() > 1:
        raise ValueError("calibration bins need probabilities in [0, 1]")
    observed, predicted = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    # sklearn's bins (calibration_curve: edges, then searchsorted on the inner edges)
    if strategy == "quantile":
        edges = np.percentile(p, np.linspace(0, 100, n_bins + 1))
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    n = np.bincount(np.searchsorted(edges[1:-1], p), minlength=n_bins)
    nz = n > 0
    return pd.DataFrame(
        {
            "bin": np.arange(len(n))[nz],
            "n": n[nz],
            "mean_predicted": predicted,
            "observed_rate": observed,
        }
    )


def gains_table(y, score, n_bins: int = 10) -> pd.DataFrame:
    """Cumulative gains and lift: members ranked by score, cut into ``n_bins`` groups.

    Members are sorted by decreasing score (ties keep their input order) and split into
    ``n_bins`` groups as equal as possible (the first groups one larger when the count
    does not divide).

    Returns
    -------
    DataFrame
        ``group`` (1 = highest scores), ``n, churners, churn_rate, lift`` (churn rate in
        the group / overall rate), ``cum_share_members, cum_share_churners`` (the gains
        curve) and ``cum_lift``.
    """
    y, s = _yp(y, score)
    if y.sum() == 0:
        raise ValueError("gains need at least one churner")
    if not 1 <= n_bins <= len(y):
        raise ValueError(f"n_bins must lie in [1, {len(y)}], got {n_bins}")
    order = np.argsort(-s, kind="mergesort")
    parts = np.array_split(y[order], n_bins)
    n = np.array([len(g) for g in parts])
    c = np.array([g.sum() for g in parts])
    base = y.mean()
    cn, cc = np.cumsum(n), np.cumsum(c)
    return pd.DataFrame(
        {
            "group": np.arange(1, n_bins + 1),
            "n": n,
            "churners": c,
            "churn_rate": c / n,
            "lift": c / n / base,
            "cum_share_members": cn / len(y),
            "cum_share_churners": cc / y.sum(),
            "cum_lift": cc / cn / base,
        }
    )


def top_decile_lift(y, score) -> float:
    """Churn rate among the 10% highest scores divided by the overall churn rate.

    The top decile is the first of ten groups of :func:`gains_table` (with fewer than ten
    members, the single highest score).
    """
    return float(gains_table(y, score, min(10, len(np.asarray(y))))["lift"].iloc[0])


def confusion_at(y, p, threshold: float = 0.5) -> pd.DataFrame:
    """Confusion matrix at a threshold (churn predicted when ``p >= threshold``).

    ``sklearn.metrics.confusion_matrix`` with labelled rows (actual: not churned,
    churned) and columns (predicted: not churned, churned).
    """
    y, p = _yp(y, p)
    m = confusion_matrix(y, (p >= threshold).astype(np.int64), labels=[0, 1])
    return pd.DataFrame(
        m,
        index=pd.Index(["not churned", "churned"], name="actual"),
        columns=pd.Index(["not churned", "churned"], name="predicted"),
    )


def evaluate_scores(y, scores: Mapping[str, Any], threshold: float = 0.5) -> pd.DataFrame:
    """Every metric for every score on the same members.

    Returns
    -------
    DataFrame
        One row per score: ``model, n, churn_rate, roc_auc, pr_auc, brier,
        top_decile_lift, precision, recall, accuracy`` (the last three at ``threshold``).
    """
    y = np.asarray(y)
    rows = []
    for name, s in scores.items():
        s = np.asarray(s, float)
        cm = confusion_at(y, s, threshold).to_numpy()
        tn, fp, fn, tp = cm.ravel()
        rows.append(
            {
                "model": name,
                "n": len(y),
                "churn_rate": float(y.mean()),
                "roc_auc": roc_auc(y, s),
                "pr_auc": pr_auc(y, s),
                "brier": brier_score(y, s),
                "top_decile_lift": top_decile_lift(y, s),
                "threshold": threshold,
                "precision": float(tp / (tp + fp)) if tp + fp else float("nan"),
                "recall": float(tp / (tp + fn)) if tp + fn else float("nan"),
                "accuracy": float((tp + tn) / len(y)),
            }
        )
    return pd.DataFrame(rows)


def score_checks(evaluation: pd.DataFrame, *, context: str = "notebook 05") -> list[dict]:
    """A check per score whose ROC AUC is below 0.5: worse than a coin, never shown silently.

    An AUC below 0.5 means the score ranks churners *below* non-churners. The classic
    case is ``1 - P(alive)`` of the BG/NBD against a forward label: the BG/NBD gives
    P(alive) = 1 to every member without a repeat flight (dropout can only happen after a
    repeat purchase), so one-time flyers, the likeliest to leave, get the lowest score.

    Returns
    -------
    list of dict
        ``FitVerdict.to_dict()`` entries (status ``failed``: not usable as a churn score)
        with ``check = "score"``, for the run's model checks.
    """
    from ..clv.verdict import FitVerdict  # noqa: PLC0415

    out = []
    for _, r in evaluation.iterrows():
        auc = float(r["roc_auc"])
        if np.isfinite(auc) and auc < 0.5:
            v = FitVerdict(
                f"churn score: {r['model']}",
                "failed",
                detail=f"ROC AUC {auc:.2f} on the held-out members is below 0.5: it ranks "
                "churners below non-churners (worse than a coin); do not use it as a churn score",
                context=context,
            )
            out.append({**v.to_dict(), "check": "score"})
    return out


def classifier_verdicts(logit, gbm=None, *, context: str = "notebook 05") -> list[dict]:
    """Verdicts of the churn classifiers (statsmodels' convergence flag; boosting's stop)."""
    from ..clv.verdict import FitVerdict  # noqa: PLC0415

    out = [
        FitVerdict(
            "logistic regression",
            "converged" if logit.converged_ else "failed",
            detail=""
            if logit.converged_
            else "statsmodels reports no convergence: "
            + "; ".join(str(w) for w in logit.warnings_),
            context=context,
        ).to_dict()
    ]
    if gbm is not None:
        out.append(
            FitVerdict(
                "gradient boosting",
                "converged",
                detail=f"{gbm.model_.n_iter_} boosting iterations (early stopping)",
                context=context,
            ).to_dict()
        )
    return out


__all__ = [
    "brier_score",
    "calibration_table",
    "classifier_verdicts",
    "confusion_at",
    "evaluate_scores",
    "gains_table",
    "pr_auc",
    "roc_auc",
    "score_checks",
    "top_decile_lift",
]
