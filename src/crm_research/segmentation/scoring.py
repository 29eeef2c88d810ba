"""The AHP customer value score on normalised LRFMC."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..data import schema as S
from .features import LRFMC, check_lrfmc

# ----------------------------------------------------------------------------------------
# the AHP value score
# ----------------------------------------------------------------------------------------
NORMALISE = ("minmax", "rank")


def normalise_lrfmc(X: pd.DataFrame, method: str = "minmax") -> pd.DataFrame:
    """Map each variable to [0, 1] with "more valuable" = higher; R is reversed.

    ``minmax``: ``(x - min) / (max - min)`` (R: ``(max - x) / (max - min)``), sensitive
    to extreme flyers. ``rank``: mid-rank percentile ``(rank - 0.5) / n`` (R reversed),
    robust to them.
    """
    if method not in NORMALISE:
        raise ValueError(f"normalisation {method!r} unknown; choose one of {NORMALISE}")
    Xf = check_lrfmc(X)
    if method == "minmax":
        out = (Xf - Xf.min()) / (Xf.max() - Xf.min())
    else:
        out = (Xf.rank(method="average") - 0.5) / len(Xf)
    out["R"] = 1.0 - out["R"]
    return out


def value_score(X: pd.DataFrame, weights, method: str = "minmax") -> pd.Series:
    """The customer value score: AHP-weighted sum of the normalised L, R, F, M, C.

    Parameters
    ----------
    X : DataFrame
        Columns L, R, F, M, C (member ids in ``MEMBER_NO`` or the index).
    weights : Series, mapping or AHPResult
        Weights of L, R, F, M, C (e.g. ``ahp_weights(matrix, LRFMC)``); rescaled to sum
        to one.
    method : {"minmax", "rank"}
        See :func:`normalise_lrfmc`.

    Returns
    -------
    Series
        Score in [0, 1] per member, indexed by member id.
    """
    w = getattr(weights, "weights", weights)
    w = pd.Series(w, dtype=float) if isinstance(w, Mapping) else pd.Series(w).astype(float)
    missing = [v for v in LRFMC if v not in w.index]
    if missing:
        raise ValueError(f"AHP weights: no weight for {missing}; weights given for {list(w.index)}")
    w = w[list(LRFMC)]
    if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError(
            f"AHP weights must be non-negative and finite with a positive sum, got {w.to_dict()}"
        )
    w = w / w.sum()
    norm = normalise_lrfmc(X, method)
    ids = X[S.MEMBER] if S.MEMBER in X.columns else pd.Series(X.index, index=X.index)
    score = norm.to_numpy() @ w.to_numpy()
    return pd.Series(score, index=pd.Index(ids.to_numpy(), name=S.MEMBER), name="value_score")
