"""Comparison with lifetime value and with the simulator's truth."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..data import schema as S
from ..data.schema import DataValidationError
from .naming import SEGMENTS


# ----------------------------------------------------------------------------------------
# comparison with lifetime value and with the simulator's truth
# ----------------------------------------------------------------------------------------
def true_future_value(truth: pd.DataFrame, horizon_weeks: float = 52.0) -> pd.DataFrame:
    """Each simulated member's true expected flights and revenue over the next horizon.

    Given the member's true flight rate ``lam`` (per week), dropout probability ``p``
    (BG/NBD) or death rate ``mu`` (Pareto/NBD), and whether the member is alive at the
    observation end:

    * BG/NBD, alive: ``E[X(t)] = (1 - exp(-lam p t)) / p`` -- the individual-level
      expectation of Fader, Hardie & Lee (2005), for a member alive at the start (the
      process is memoryless, so the past does not matter given alive);
      ``lam t`` when ``p = 0``.
    * Pareto/NBD, alive: ``E[X(t)] = lam / mu (1 - exp(-mu t))`` (Schmittlein et al.
      1987, individual level); ``lam t`` when ``mu = 0``.
    * dead: 0.

    True value = expected flights x ``mean_revenue`` (the member's expected revenue per
    flight, Gamma-Gamma). Undiscounted: over one year discounting changes the level, not
    the ranking, by little.

    Returns
    -------
    DataFrame
        ``MEMBER_NO, true_flights, true_value``.
    """
    need = ("MEMBER_NO", "lam", "alive", "mean_revenue")
    S.require_columns(truth, need, "truth table")
    t = float(horizon_weeks)
    if not t > 0:
        raise ValueError(f"horizon_weeks must be positive, got {horizon_weeks!r}")
    lam = truth["lam"].to_numpy(float)
    alive = truth["alive"].to_numpy(bool)
    p = truth["p"].to_numpy(float) if "p" in truth.columns else np.full(len(truth), np.nan)
    mu = truth["mu"].to_numpy(float) if "mu" in truth.columns else np.full(len(truth), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        bg = np.where(p > 0, -np.expm1(-lam * p * t) / p, lam * t)
        pn = np.where(mu > 0, lam / mu * -np.expm1(-mu * t), lam * t)
    flights = np.where(~np.isnan(p), bg, np.where(~np.isnan(mu), pn, np.nan))
    if np.isnan(flights[alive]).any():
        raise DataValidationError(
            "members alive at the observation end with neither p (BG/NBD) nor mu (Pareto/NBD)",
            source="truth table",
            column=["p", "mu"],
            values=truth.loc[alive & np.isnan(flights), "MEMBER_NO"].tolist(),
        )
    flights = np.where(alive, flights, 0.0)
    return pd.DataFrame(
        {
            "MEMBER_NO": truth["MEMBER_NO"].to_numpy(),
            "true_flights": flights,
            "true_value": flights * truth["mean_revenue"].to_numpy(float),
        }
    )


#: Members Kendall's tau is computed on (a random sample of larger tables).
KENDALL_SAMPLE = 100_000


def rank_agreement(
    df: pd.DataFrame,
    target: str,
    scores: Sequence[str],
    *,
    top_share: float = 0.2,
    kendall_sample: int | None = KENDALL_SAMPLE,
    seed: int = 0,
) -> pd.DataFrame:
    """How well each score ranks members as ``target`` does.

    Spearman's rank correlation, Kendall's tau-b, and the share of the true top
    ``top_share`` of members (by ``target``) found in the top ``top_share`` by the
    score (the "hit rate"; chance = ``top_share``). Rows with a missing value in the
    pair are dropped.

    Kendall's tau is computed on a random sample of ``kendall_sample`` of those rows
    (drawn with ``seed``; all of them when fewer, or with None): its sampling standard
    error is at most ``sqrt(2 (1 - tau**2) / n)`` (Daniels & Kendall 1947), 0.0045 on
    100,000 members (``0.67 / sqrt(n)`` = 0.002 for unrelated scores), while the 13
    comparisons of notebook 04 on the 730,000 members of a 1,000,000-member study took
    about 34 s (issue 12; ``tests/test_segmentation.py`` checks the sample against the
    whole). Spearman's rho and the hit rate always use every member; ``n`` is the number
    of members compared.
    """
    rows = []
    for s in scores:
        d = df[[s, target]].dropna()
        n = len(d)
        if n < 3 or d[s].nunique() < 2 or d[target].nunique() < 2:
            rows.append((s, n, np.nan, np.nan, np.nan))
            continue
        rho = stats.spearmanr(d[s], d[target]).statistic
        k = d
        if kendall_sample is not None and n > kendall_sample:
            k = d.iloc[np.sort(np.random.default_rng(seed).permutation(n)[:kendall_sample])]
        tau = stats.kendalltau(k[s], k[target]).statistic
        m = max(1, int(round(top_share * n)))
        top_true = set(d.index[d[target].rank(method="first", ascending=False) <= m])
        top_score = set(d.index[d[s].rank(method="first", ascending=False) <= m])
        rows.append((s, n, float(rho), float(tau), len(top_true & top_score) / m))
    return pd.DataFrame(
        rows,
        columns=[
            "score",
            "n",
            "spearman",
            "kendall_tau",
            f"top{int(round(top_share * 100))}_hit_rate",
        ],
    ).set_index("score")


def segment_value_table(
    segments: pd.DataFrame, value: str, *, top_share: float = 0.2
) -> pd.DataFrame:
    """Per segment: members, share, mean and median ``value``, share of the total value,
    and the share of the most valuable ``top_share`` of members the segment holds."""
    d = segments.dropna(subset=[value])
    n = len(d)
    if n == 0:
        return pd.DataFrame()
    m = max(1, int(round(top_share * n)))
    top = d[value].rank(method="first", ascending=False) <= m
    g = d.assign(_top=top).groupby("segment")
    out = pd.DataFrame(
        {
            "n": g.size(),
            "mean_value": g[value].mean(),
            "median_value": g[value].median(),
            "value_share": g[value].sum() / d[value].sum() if d[value].sum() else np.nan,
            "top_members": g["_top"].sum(),
        }
    )
    out["member_share"] = out["n"] / n
    out[f"share_of_top{int(round(top_share * 100))}"] = out["top_members"] / m
    out["lift"] = out[f"share_of_top{int(round(top_share * 100))}"] / out["member_share"]
    out = SEGMENTS[["segment_en", "segment_zh"]].join(out.drop(columns="top_members"), how="inner")
    return out.sort_values("mean_value", ascending=False)
