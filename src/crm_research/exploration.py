"""Descriptive statistics of notebook 01: value concentration and data quality.

Airline revenue is said to follow an 80/20 rule (DOMAIN.md). These functions measure
it on any per-member value: the Lorenz curve, the Gini coefficient and the share of
the total held by the top ``q`` of members.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _values(values) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        raise ValueError("no non-missing values to measure concentration on")
    if (v < 0).any():
        raise ValueError(
            f"concentration needs non-negative values; found {int((v < 0).sum())} negative"
        )
    if v.sum() <= 0:
        raise ValueError("all values are zero: concentration is undefined")
    return v


def lorenz_curve(values) -> pd.DataFrame:
    """Lorenz curve: cumulative share of members (ascending value) vs share of value.

    Returns a DataFrame with ``member_share`` and ``value_share``, starting at (0, 0).
    """
    v = np.sort(_values(values))
    cum = np.cumsum(v)
    return pd.DataFrame(
        {
            "member_share": np.r_[0.0, np.arange(1, v.size + 1) / v.size],
            "value_share": np.r_[0.0, cum / cum[-1]],
        }
    )


def gini(values) -> float:
    """Gini coefficient of non-negative values (0 = equal, 1 = one member has all).

    Uses the sorted-rank formula ``G = sum((2i - n - 1) x_i) / (n sum x)``.
    """
    v = np.sort(_values(values))
    n = v.size
    i = np.arange(1, n + 1)
    return float(np.sum((2 * i - n - 1) * v) / (n * v.sum()))


def top_share(values, q: float = 0.2) -> float:
    """Share of the total held by the top ``q`` fraction of members (the 80/20 check)."""
    if not 0 < q < 1:
        raise ValueError(f"q must be between 0 and 1, got {q}")
    v = np.sort(_values(values))[::-1]
    k = max(1, int(np.ceil(q * v.size)))
    return float(v[:k].sum() / v.sum())


def concentration_summary(values, q: float = 0.2) -> dict:
    """Gini, top-``q`` share and the member share that holds 80% of value."""
    lc = lorenz_curve(values)
    # smallest share of top members holding 80% of value
    top80 = 1.0 - float(np.interp(0.2, lc["value_share"], lc["member_share"]))
    return {
        "gini": gini(values),
        f"top_{int(round(q * 100))}pct_share": top_share(values, q),
        "members_share_for_80pct_value": top80,
        "n_members": int(np.isfinite(np.asarray(values, dtype=float)).sum()),
    }


def member_value(snapshot: pd.DataFrame) -> pd.Series:
    """Per-member revenue of the observation window (SUM_YR_1 + SUM_YR_2).

    Missing yearly fares count as zero (the textbook file has nulls there).
    """
    cols = [c for c in ("SUM_YR_1", "SUM_YR_2") if c in snapshot.columns]
    if not cols:
        raise ValueError("the snapshot has no revenue columns (SUM_YR_1, SUM_YR_2)")
    return snapshot[cols].fillna(0).sum(axis=1).rename("window_revenue")


def quality_report(snapshot: pd.DataFrame) -> pd.DataFrame:
    """Data-quality findings of a member snapshot, one row per check, with counts."""
    n = len(snapshot)
    rows = []

    def add(check, count, note=""):
        rows.append(
            {
                "check": check,
                "members": int(count),
                "share": count / n if n else np.nan,
                "note": note,
            }
        )

    for col in snapshot.columns:
        miss = int(snapshot[col].isna().sum())
        if miss:
            add(f"missing {col}", miss)
    if "FLIGHT_COUNT" in snapshot:
        add(
            "no flight in the window",
            (snapshot["FLIGHT_COUNT"] == 0).sum(),
            "flew before the window only",
        )
        add("one flight in the window", (snapshot["FLIGHT_COUNT"] == 1).sum())
    if {"SUM_YR_1", "SUM_YR_2"} <= set(snapshot.columns):
        z = (snapshot["SUM_YR_1"].fillna(0) == 0) & (snapshot["SUM_YR_2"].fillna(0) == 0)
        add("zero revenue in both years", z.sum(), "award tickets or no flight")
    if "avg_discount" in snapshot:
        add("avg_discount = 0", (snapshot["avg_discount"] == 0).sum())
    if "AGE" in snapshot:
        add("AGE above 100", (snapshot["AGE"] > 100).sum(), "implausible")
    if {"FIRST_FLIGHT_DATE", "FFP_DATE"} <= set(snapshot.columns):
        add(
            "first flight before enrolment",
            (snapshot["FIRST_FLIGHT_DATE"] < snapshot["FFP_DATE"]).sum(),
        )
    return pd.DataFrame(rows, columns=["check", "members", "share", "note"])
