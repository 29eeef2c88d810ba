"""Customer lifetime value, customer equity, value concentration and bootstrap intervals.

CLV here is the expected discounted margin of a member's future flights over a horizon
(Fader, Hardie & Lee 2005b; the "DET" of Fader & Hardie's notes with monthly steps):

    CLV_i = margin * E[revenue per flight]_i * sum_k (E[X_i(t_k)] - E[X_i(t_{k-1})]) / (1 + d)^k

with ``t_k`` the end of month ``k`` of the horizon, ``d`` the monthly rate equivalent to
the annual discount rate and the expected flights from the purchase model given the
member's history, the spend from the Gamma-Gamma model. This is lifetimes'
``customer_lifetime_value`` (discounting at the end of each month) made fast by the
factorisation in :meth:`~crm_research.clv.models._PurchaseModel.expected_flights_path`.
Customer equity is the sum of the members' CLVs (Rust, Zeithaml & Lemon 2004).

Uncertainty: lifetimes gives standard errors of the parameters only. The bootstrap
(Efron & Tibshirani 1993) resamples members with replacement, refits both models and
recomputes the CLV of *the same* members, so its percentile intervals are those of the
customer equity of this member base due to the estimation of the parameters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exploration import gini, lorenz_curve  # noqa: F401  (lorenz_curve re-exported)
from ..exploration import top_share as top_value_share
from .models import BGNBD, FitError, GammaGamma, _PurchaseModel
from .summary import compress


def monthly_rate(discount_rate_annual: float) -> float:
    """Monthly discount rate equivalent to an annual one: ``(1 + d)^(1/12) - 1``."""
    if not 0 <= discount_rate_annual < 1:
        raise ValueError(f"discount_rate_annual must be in [0, 1), got {discount_rate_annual}")
    return (1.0 + discount_rate_annual) ** (1.0 / 12.0) - 1.0


def discounted_expected_flights(
    model: _PurchaseModel,
    frequency,
    recency,
    T,
    *,
    horizon_months: int = 36,
    discount_rate_annual: float = 0.1,
    days_per_unit: float = 7.0,
    unique: bool = False,
) -> np.ndarray:
    """Discounted expected flights per member over ``horizon_months`` (monthly steps).

    ``unique=True`` says the histories are already distinct (skips condensing them).
    """
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be >= 1, got {horizon_months}")
    month = (365.25 / 12.0) / days_per_unit
    times = month * np.arange(1, horizon_months + 1)
    disc = (1.0 + monthly_rate(discount_rate_annual)) ** -np.arange(1, horizon_months + 1)
    # sum_k (E_k - E_{k-1}) d_k = sum_k E_k (d_k - d_{k+1}), with d_{K+1} = 0
    combine = disc - np.r_[disc[1:], 0.0]
    return model.expected_flights_path(times, frequency, recency, T, combine=combine, unique=unique)


def customer_lifetime_value(
    purchase: _PurchaseModel,
    spend: GammaGamma,
    summary: pd.DataFrame,
    *,
    horizon_months: int = 36,
    discount_rate_annual: float = 0.1,
    margin: float = 0.1,
) -> pd.DataFrame:
    """Per-member CLV from a fitted purchase model and a fitted Gamma-Gamma model.

    Parameters
    ----------
    summary : DataFrame
        ``flight_summary`` output (``frequency, recency, T``, ``n_monetary``,
        ``monetary_value``); its ``attrs["days_per_unit"]`` gives the time unit.
    margin : float
        Share of revenue that is profit (contribution margin), in (0, 1].

    Returns
    -------
    DataFrame
        Indexed like ``summary``: ``p_alive``, ``expected_flights`` (undiscounted, over
        the horizon), ``discounted_flights``, ``expected_revenue_per_flight``, ``clv``.
    """
    if not 0 < margin <= 1:
        raise ValueError(f"margin must be in (0, 1], got {margin}")
    dpu = float(summary.attrs.get("days_per_unit", 7.0))
    x, tx, tt = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    month = (365.25 / 12.0) / dpu
    # every model quantity once per distinct history, then mapped back to members
    rows, inv = compress(x, tx, tt)
    rx, rtx, rT = (rows[c].to_numpy() for c in ("frequency", "recency", "T"))
    det = discounted_expected_flights(
        purchase,
        rx,
        rtx,
        rT,
        horizon_months=horizon_months,
        discount_rate_annual=discount_rate_annual,
        days_per_unit=dpu,
        unique=True,
    )[inv]
    p_alive = purchase.p_alive(rx, rtx, rT, unique=True)[inv]
    flights = purchase.expected_flights_path(
        [month * horizon_months], rx, rtx, rT, combine=[1.0], unique=True
    )[inv]
    n_m = summary["n_monetary"] if "n_monetary" in summary.columns else summary["frequency"]
    m = summary["monetary_value"].to_numpy() if "monetary_value" in summary.columns else None
    spend_per_flight = (
        spend.expected_revenue(n_m.to_numpy(), m)
        if m is not None
        else np.full(len(x), spend.population_mean)
    )
    out = pd.DataFrame(
        {
            "p_alive": p_alive,
            "expected_flights": flights,
            "discounted_flights": det,
            "expected_revenue_per_flight": spend_per_flight,
        },
        index=summary.index,
    )
    out["clv"] = margin * out["expected_revenue_per_flight"] * out["discounted_flights"]
    return out


def concentration(values, top_share: float = 0.2) -> dict:
    """Gini coefficient and the share of the total held by the top ``top_share`` of members.

    A thin view of :mod:`crm_research.exploration` (one implementation of Gini and the
    top share for the whole study).

    Returns
    -------
    dict
        ``gini``, ``top_share`` (fraction of members), ``top_value_share`` (their share of
        the total), ``n``, ``total``.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0 or v.sum() <= 0:
        raise ValueError("concentration needs at least one positive value")
    return {
        "gini": gini(v),
        "top_share": top_share,
        "top_value_share": top_value_share(v, top_share),
        "n": int(len(v)),
        "total": float(v.sum()),
    }


def bootstrap_clv(
    summary: pd.DataFrame,
    *,
    purchase_model: type[_PurchaseModel] = BGNBD,
    penalizer: float = 0.0,
    n_bootstrap: int = 200,
    seed: int = 42,
    horizon_months: int = 36,
    discount_rate_annual: float = 0.1,
    margin: float = 0.1,
    segments: pd.Series | None = None,
    start: tuple[_PurchaseModel, GammaGamma] | None = None,
) -> dict:
    """Bootstrap the parameters, the customer equity and per-segment CLV totals.

    Each replicate draws the members with replacement (multinomial counts, so the
    condensed fit only reweights rows), refits the purchase and Gamma-Gamma models
    (starting from the full-data estimates in ``start``) and recomputes the CLV of the
    original members. Replicates whose fit fails are dropped and counted.

    Returns
    -------
    dict
        ``params`` (replicates x parameters), ``equity`` (Series of replicates),
        ``segments`` (replicates x segment totals, if ``segments`` is given),
        ``n_failed``.
    """
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be >= 1, got {n_bootstrap}")
    rng = np.random.default_rng(seed)
    n = len(summary)
    x, tx, tt = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    n_m = (
        summary["n_monetary"] if "n_monetary" in summary.columns else summary["frequency"]
    ).to_numpy()
    m = summary["monetary_value"].to_numpy()
    dpu = float(summary.attrs.get("days_per_unit", 7.0))
    rows, inv = compress(x, tx, tt)
    rx, rtx, rT = (rows[c].to_numpy() for c in ("frequency", "recency", "T"))
    seg = None if segments is None else pd.Series(segments).reindex(summary.index).to_numpy()
    rows_params, equity, seg_rows = [], [], []
    n_failed = 0
    for _ in range(n_bootstrap):
        w = np.bincount(rng.integers(0, n, n), minlength=n)
        try:
            pm = purchase_model(penalizer=penalizer, warm_start=False).fit(
                x,
                tx,
                tt,
                weights=w,
                source="bootstrap sample",
                start_from=start[0] if start else None,
            )
            gg = GammaGamma(penalizer=penalizer, warm_start=False).fit(
                n_m, m, weights=w, source="bootstrap sample", start_from=start[1] if start else None
            )
        except FitError:
            n_failed += 1
            continue
        det = discounted_expected_flights(
            pm,
            rx,
            rtx,
            rT,
            horizon_months=horizon_months,
            discount_rate_annual=discount_rate_annual,
            days_per_unit=dpu,
            unique=True,
        )[inv]
        clv = margin * gg.expected_revenue(n_m, m) * det
        rows_params.append(
            {**pm.params_.to_dict(), **{f"gg_{k}": v for k, v in gg.params_.items()}}
        )
        equity.append(float(clv.sum()))
        if seg is not None:
            seg_rows.append(pd.Series(clv).groupby(seg).sum())
    out = {
        "params": pd.DataFrame(rows_params),
        "equity": pd.Series(equity, name="customer_equity"),
        "n_failed": n_failed,
    }
    if seg is not None:
        out["segments"] = pd.DataFrame(seg_rows).reset_index(drop=True)
    return out


def interval(samples, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap samples."""
    s = np.asarray(samples, dtype=float)
    s = s[np.isfinite(s)]
    if len(s) == 0:
        return (float("nan"), float("nan"))
    a = (1 - level) / 2
    return float(np.quantile(s, a)), float(np.quantile(s, 1 - a))
