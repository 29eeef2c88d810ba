"""Customer lifetime value, customer equity, value concentration and bootstrap intervals.

CLV here is the expected discounted margin of a member's future flights over a horizon
(Fader, Hardie & Lee 2005b; the "DET" of Fader & Hardie's notes with monthly steps):

    CLV_i = margin * E[revenue per flight]_i * sum_k (E[X_i(t_k)] - E[X_i(t_{k-1})]) / (1 + d)^k

with ``t_k`` the end of month ``k`` of the horizon, ``d`` the monthly rate equivalent to
the annual discount rate and the expected flights from the purchase model given the
member's history, the spend from the spend model chosen by
:func:`crm_research.clv.spend.choose_spend_model` (Gamma-Gamma, or the log-spend
regression when spend depends on frequency). With Gamma-Gamma this is lifetimes'
``customer_lifetime_value`` (discounting at the end of each month) made fast by the
factorisation in :meth:`~crm_research.clv.models._PurchaseModel.expected_flights_path`.
Customer equity is the sum of the members' CLVs (Rust, Zeithaml & Lemon 2004).

Uncertainty: lifetimes gives standard errors of the parameters only. The bootstrap
(Efron & Tibshirani 1993) resamples members with replacement, refits both models (with
the main fit's penalizer, from its estimates) and recomputes the CLV of *the same*
members, so its percentile intervals are those of the customer equity of this member
base due to the estimation of the parameters: **parameter uncertainty** only. They do
not cover a wrong model or a future unlike the past; the model's error on a holdout
period (its cumulative forecast error) is the practical band for that
(:func:`equity_bands`). Above ``max_members`` members the bootstrap runs on a seeded
sample of that many and rescales its deviations by ``sqrt(m/N)`` (the m-out-of-n
bootstrap, :func:`_bootstrap_on_sample`): its cost stays that of ``max_members``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exploration import gini, lorenz_curve  # noqa: F401  (lorenz_curve re-exported)
from ..exploration import top_share as top_value_share
from .models import FitError, GammaGamma, _PurchaseModel
from .spend import LogSpendRegression, refit_spend, spend_per_flight
from .summary import compress
from .verdict import FitVerdict

#: Label of the bootstrap interval of the customer equity: what it covers.
PARAMETER_UNCERTAINTY = "parameter uncertainty"


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


def _discounted_per_member(model, histories, inv, horizon_months, discount_rate_annual, dpu):
    """Discounted expected flights once per distinct history ``(x, t_x, T)``, mapped back
    to the members by ``inv`` (as :func:`~crm_research.clv.summary.compress` returns it)."""
    return discounted_expected_flights(
        model,
        *histories,
        horizon_months=horizon_months,
        discount_rate_annual=discount_rate_annual,
        days_per_unit=dpu,
        unique=True,
    )[inv]


def customer_lifetime_value(
    purchase: _PurchaseModel,
    spend: GammaGamma | LogSpendRegression,
    summary: pd.DataFrame,
    *,
    horizon_months: int = 36,
    discount_rate_annual: float = 0.1,
    margin: float = 0.1,
) -> pd.DataFrame:
    """Per-member CLV from a fitted purchase model and a fitted spend model.

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
        the horizon), ``discounted_flights``, ``expected_revenue_per_flight``, ``clv``;
        ``attrs["n_nonfinite"]`` counts members whose CLV is not finite.
    """
    if not 0 < margin <= 1:
        raise ValueError(f"margin must be in (0, 1], got {margin}")
    dpu = float(summary.attrs.get("days_per_unit", 7.0))
    x, tx, tt = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    month = (365.25 / 12.0) / dpu
    # every model quantity once per distinct history, then mapped back to members
    rows, inv = compress(x, tx, tt)
    rx, rtx, rT = (rows[c].to_numpy() for c in ("frequency", "recency", "T"))
    det = _discounted_per_member(
        purchase, (rx, rtx, rT), inv, horizon_months, discount_rate_annual, dpu
    )
    p_alive = purchase.p_alive(rx, rtx, rT, unique=True)[inv]
    flights = purchase.expected_flights_path(
        [month * horizon_months], rx, rtx, rT, combine=[1.0], unique=True
    )[inv]
    per_flight = (
        spend_per_flight(spend, summary)
        if "monetary_value" in summary.columns
        else np.full(len(x), spend.population_mean)
    )
    out = pd.DataFrame(
        {
            "p_alive": p_alive,
            "expected_flights": flights,
            "discounted_flights": det,
            "expected_revenue_per_flight": per_flight,
        },
        index=summary.index,
    )
    out["clv"] = margin * out["expected_revenue_per_flight"] * out["discounted_flights"]
    # members whose prediction is not finite (lifetimes' hypergeometric term at extreme
    # estimates): counted here so that the caller can say so, never summed away silently
    out.attrs["n_nonfinite"] = int((~np.isfinite(out["clv"].to_numpy())).sum())
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
    purchase: _PurchaseModel,
    spend: GammaGamma | LogSpendRegression,
    *,
    n_bootstrap: int = 200,
    seed: int = 42,
    horizon_months: int = 36,
    discount_rate_annual: float = 0.1,
    margin: float = 0.1,
    segments: pd.Series | None = None,
    context: str = "",
    max_members: int | None = None,
    equity: float | None = None,
    segment_totals: pd.Series | None = None,
) -> dict:
    """Bootstrap the parameters, the customer equity and per-segment CLV totals.

    Each replicate draws the members with replacement (multinomial counts, so the
    condensed fit only reweights rows), refits the purchase model with the main fit's
    ``penalizer`` and the spend model (same class as ``spend``, i.e. the chosen one),
    both starting from the main fit's estimates, and recomputes the CLV of the original
    members. A replicate whose fit fails is dropped, counted and its reason kept. With
    more than ``max_members`` members: the m-out-of-n bootstrap on a seeded sample of
    ``max_members`` (:func:`_bootstrap_on_sample`, see there); at or below, or without
    ``max_members``, exactly the above.

    Parameters
    ----------
    summary : DataFrame
        The ``flight_summary`` the main fits were made on.
    purchase : fitted purchase model
        ``BGNBD``, ``MBGNBD`` or ``ParetoNBD`` (e.g. from the model file); its class,
        ``penalizer`` and estimates are used.
    spend : fitted spend model
        ``GammaGamma`` or ``LogSpendRegression``.
    max_members : int, optional
        Members above which the bootstrap runs on a sample of this many (notebook 03's
        parameter ``bootstrap_members``).
    equity, segment_totals : float, Series
        The main fit's customer equity and CLV total per segment over all members: where
        the sample's deviations are carried (needed above ``max_members`` only).

    Returns
    -------
    dict
        ``params`` (replicates x parameters; ``spend_`` prefix for the spend model),
        ``equity`` (Series of replicates), ``segments`` (replicates x segment totals, if
        ``segments`` is given), ``n_bootstrap``, ``n_failed``, ``failures`` (reason ->
        count) and ``verdict`` (:class:`FitVerdict` of the bootstrap as a whole, with
        ``context``); on a sample also ``sample`` (``m``, ``N``, ``scale``,
        ``equity_sample``, ``params_sample``), in the units of all members.
    """
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be >= 1, got {n_bootstrap}")
    if max_members is not None and len(summary) > max_members:
        kw = dict(n_bootstrap=n_bootstrap, seed=seed, horizon_months=horizon_months,
                  discount_rate_annual=discount_rate_annual, margin=margin,
                  segments=segments, context=context)  # fmt: skip
        return _bootstrap_on_sample(summary, purchase, spend, max_members, equity,
                                    segment_totals, kw)  # fmt: skip
    purchase._require_fit()
    spend._require_fit()
    rng = np.random.default_rng(seed)
    n = len(summary)
    x, tx, tt = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    dpu = float(summary.attrs.get("days_per_unit", 7.0))
    rows, inv = compress(x, tx, tt)
    rx, rtx, rT = (rows[c].to_numpy() for c in ("frequency", "recency", "T"))
    seg = None if segments is None else pd.Series(segments).reindex(summary.index).to_numpy()
    cls = type(purchase)
    rows_params, equity, seg_rows = [], [], []
    failures: dict[str, int] = {}
    for _ in range(n_bootstrap):
        w = np.bincount(rng.integers(0, n, n), minlength=n)
        try:
            # on the distinct histories with the replicate's members per history: the fit
            # condenses to exactly these rows and weights anyway (the same estimates),
            # without condensing all the members again in each replicate
            pm = cls(penalizer=purchase.penalizer, tol=purchase.tol, warm_start=False).fit(
                rx,
                rtx,
                rT,
                weights=np.bincount(inv, weights=w, minlength=len(rows)),
                source="bootstrap sample",
                start_from=purchase,
                standard_errors=False,  # replicates need the estimates only
            )
            if not pm.verdict_.usable:  # a replicate that ran to a bound is a failed one
                raise FitError(f"{pm.name}: parameter(s) at a bound ({pm.verdict_.detail})")
            sm = refit_spend(spend, summary, w)
        except FitError as err:
            reason = str(err).split(". Remedy")[0]
            failures[reason] = failures.get(reason, 0) + 1
            continue
        det = _discounted_per_member(
            pm, (rx, rtx, rT), inv, horizon_months, discount_rate_annual, dpu
        )
        clv = margin * spend_per_flight(sm, summary) * det
        if not np.all(np.isfinite(clv)):
            # e.g. lifetimes' hypergeometric term at extreme estimates: never a silent NaN
            part = pm.name if not np.all(np.isfinite(det)) else sm.name
            key = f"{part}: non-finite predictions at the replicate's estimates"
            failures[key] = failures.get(key, 0) + 1
            continue
        rows_params.append(
            {**pm.params_.to_dict(), **{f"spend_{k}": v for k, v in sm.params_.items()}}
        )
        equity.append(float(clv.sum()))
        if seg is not None:
            seg_rows.append(pd.Series(clv).groupby(seg).sum())
    n_failed = sum(failures.values())
    out = {
        "params": pd.DataFrame(rows_params),
        "equity": pd.Series(equity, name="customer_equity"),
        "n_bootstrap": int(n_bootstrap),
        "n_failed": int(n_failed),
        "failures": failures,
        "verdict": _bootstrap_verdict(purchase, spend, n_bootstrap, failures, context),
    }
    if seg is not None:
        out["segments"] = pd.DataFrame(seg_rows).reset_index(drop=True)
    return out


def _bootstrap_on_sample(summary, purchase, spend, max_members, equity, segment_totals, kw):
    r"""The m-out-of-n bootstrap of :func:`bootstrap_clv` on a seeded sample of members,
    with the deviations rescaled to all members (``kw``: :func:`bootstrap_clv`'s settings).

    With ``N`` members and ``m = max_members < N``:

    1. ``m`` members are drawn without replacement (seeded from ``seed``, a stream apart
       from the replicates');
    2. both models are fitted on the sample (``theta_s``: the purchase model with the main
       fit's class and penalizer, the spend model of the same class, both started from the
       main fit's estimates), and the sample's equity ``E_s`` and segment totals ``S_s``
       are computed at ``theta_s``;
    3. the sample is bootstrapped exactly as :func:`bootstrap_clv` does for all members
       (``n_bootstrap`` replicates of ``m`` draws with replacement, refits from
       ``theta_s``, the CLV of the sample's members): ``theta_r``, ``E_r``, ``S_r``;
    4. each replicate's deviation from the sample's own fit is carried to all members,
       shrunk by :math:`\sqrt{m/N}`:

       .. math::

          \theta^*_r = \hat\theta_N + \sqrt{m/N}\,(\theta_r - \theta_s), \qquad
          E^*_r = \hat E_N \Big(1 + \sqrt{m/N}\,\big(E_r / E_s - 1\big)\Big)

       and likewise each segment's total with ``segment_totals`` (the main fit's, all
       members) in place of ``\hat E_N``.

    Why: the estimates are smooth functions of means over members, so their sampling
    error shrinks as :math:`1/\sqrt{n}`; the bootstrap of ``m`` members estimates the
    law of :math:`\sqrt{m}(\hat\theta_m - \theta)`, which is that of
    :math:`\sqrt{N}(\hat\theta_N - \theta)` to first order (Bickel, Goetze & van Zwet
    1997, "Resampling fewer than n observations: gains, losses, and remedies for losses",
    Statistica Sinica 7, 1-31; Politis, Romano & Wolf 1999, *Subsampling*, Springer, ch. 2:
    the rate :math:`\tau_m/\tau_N = \sqrt{m/N}`). Deviations are taken from the
    sample's own fit ``theta_s``, around which the replicates scatter, not from the main
    fit ``hat theta_N``: the gap ``theta_s - hat theta_N`` is the sample's own error, of
    the size of the spread itself, and would shift the interval. The equity and segment
    totals move by relative deviations because the sample's equity is about ``m/N`` of
    all members'. What is lost: the rescaling is linear, so the interval keeps the shape
    (the skew) of the replicates of ``m`` members, which fades as ``1/sqrt(m)``, not
    ``1/sqrt(N)``; the Monte Carlo error of ``n_bootstrap`` replicates is as before.
    ``tests/test_clv_bootstrap.py`` checks it against the bootstrap of all members.

    The verdict's detail starts "m-out-of-n bootstrap on a sample of m of N members,
    deviations rescaled by sqrt(m/N)".
    """
    segments, n_bootstrap = kw["segments"], kw["n_bootstrap"]
    n_all = len(summary)
    if max_members < 1:
        raise ValueError(f"max_members must be >= 1, got {max_members}")
    if equity is None:
        raise ValueError("equity (all members' customer equity) is needed on a sample")
    if segments is not None and segment_totals is None:
        raise ValueError("segment_totals (all members' CLV per segment) is needed with segments")
    purchase._require_fit()
    spend._require_fit()
    m = int(max_members)
    scale = float(np.sqrt(m / n_all))
    rng = np.random.default_rng([kw["seed"], 1])  # a stream apart from the replicates'
    pick = np.sort(rng.choice(n_all, size=m, replace=False))
    sample = summary.iloc[pick]
    sample.attrs = dict(summary.attrs)
    what = _sample_words({"sample": {"m": m, "N": n_all, "scale": scale}})[2:]
    try:
        pm = type(purchase)(penalizer=purchase.penalizer, tol=purchase.tol, warm_start=False)
        pm.fit(sample, source="bootstrap's sample of members", start_from=purchase,
               standard_errors=False)  # fmt: skip
        if not pm.verdict_.usable:
            raise FitError(f"{pm.name}: parameter(s) at a bound ({pm.verdict_.detail})")
        sm = refit_spend(spend, sample, np.ones(m), source="bootstrap's sample of members")
        settings = {k: kw[k] for k in ("horizon_months", "discount_rate_annual", "margin")}
        clv_s = customer_lifetime_value(pm, sm, sample, **settings)["clv"]
        if not np.all(np.isfinite(clv_s.to_numpy())):
            raise FitError(f"non-finite CLV of the sample at its fit ({pm.name}, {sm.name})")
    except FitError as err:
        reason = "fit on the sample: " + str(err).split(". Remedy")[0]
        out = {
            "params": pd.DataFrame(), "equity": pd.Series([], dtype=float, name="customer_equity"),
            "n_bootstrap": int(n_bootstrap), "n_failed": int(n_bootstrap),
            "failures": {reason: int(n_bootstrap)},
            "verdict": _bootstrap_verdict(purchase, spend, n_bootstrap, {reason: n_bootstrap},
                                          kw["context"], what),
        }  # fmt: skip
        if segments is not None:
            out["segments"] = pd.DataFrame()
        return out
    boot = bootstrap_clv(sample, pm, sm, **kw)
    theta_s = {**pm.params_.to_dict(), **{f"spend_{k}": v for k, v in sm.params_.items()}}
    theta_n = {**purchase.params_.to_dict(), **{f"spend_{k}": v for k, v in spend.params_.items()}}
    theta_s, theta_n = pd.Series(theta_s), pd.Series(theta_n)
    e_s = float(clv_s.sum())
    boot["params"] = theta_n + (boot["params"] - theta_s) * scale
    boot["equity"] = float(equity) * (1.0 + (boot["equity"] / e_s - 1.0) * scale)
    if segments is not None:
        seg = pd.Series(segments).reindex(sample.index).to_numpy()
        s_s = pd.Series(clv_s.to_numpy()).groupby(seg).sum()
        totals = pd.Series(segment_totals).reindex(s_s.index)
        boot["segments"] = totals * (1.0 + (boot["segments"] / s_s - 1.0) * scale)
    boot["sample"] = {"m": m, "N": n_all, "scale": scale, "equity_sample": e_s,
                      "params_sample": theta_s.to_dict()}  # fmt: skip
    boot["verdict"] = _bootstrap_verdict(purchase, spend, n_bootstrap, boot["failures"],
                                         kw["context"], what)  # fmt: skip
    return boot


def _bootstrap_verdict(purchase, spend, n_bootstrap, failures, context, what="") -> FitVerdict:
    n_failed = sum(failures.values())
    model = f"bootstrap ({purchase.name} + {spend.name})"
    detail = f"{n_bootstrap - n_failed} of {n_bootstrap} replicates fitted"
    if what:  # the m-out-of-n bootstrap on a sample says so first
        detail = f"{what}; {detail}"
    if n_failed:
        top = max(failures, key=failures.get)
        detail += f"; {n_failed} failed (most often: {top})"
    if n_bootstrap - n_failed < 2:
        return FitVerdict(
            model, "failed", penalizer=purchase.penalizer, detail=detail, context=context
        )
    if purchase.penalizer > 0:
        detail += f"; every replicate refitted with the main fit's penalizer {purchase.penalizer:g}"
        return FitVerdict(
            model, "penalized", penalizer=purchase.penalizer, detail=detail, context=context
        )
    return FitVerdict(model, "converged", detail=detail, context=context)


def equity_interval(
    boot: dict, point: float, *, level: float = 0.95, min_replicates: int = 10
) -> dict:
    """The bootstrap interval of the customer equity, labelled with what it covers.

    Parameters
    ----------
    boot : dict
        :func:`bootstrap_clv` output.
    point : float
        The customer equity of the main fit.
    min_replicates : int
        Fewer successful replicates than this: no interval, and the text says why.

    Returns
    -------
    dict
        ``label`` ("parameter uncertainty"), ``level``, ``point``, ``lower``, ``upper``
        (None when not computable, never NaN), ``n_bootstrap``, ``n_failed``,
        ``sample_members`` (the m of the m-out-of-n :func:`bootstrap_clv`'s sample, None when
        all members were bootstrapped), ``text`` (plain words, also when there is no
        interval; it names the sample).
    """
    eq = np.asarray(boot["equity"], dtype=float)
    eq = eq[np.isfinite(eq)]
    n_boot = int(boot.get("n_bootstrap", len(eq) + boot.get("n_failed", 0)))
    n_failed = int(boot.get("n_failed", 0))
    out = {
        "label": PARAMETER_UNCERTAINTY,
        "level": level,
        "point": float(point),
        "lower": None,
        "upper": None,
        "n_bootstrap": n_boot,
        "n_failed": n_failed,
        "sample_members": (boot.get("sample") or {}).get("m"),  # None: all members
    }
    if len(eq) < min_replicates:
        reasons = boot.get("failures") or {}
        why = f" (most often: {max(reasons, key=reasons.get)})" if reasons else ""
        if n_boot < min_replicates:
            what = f"only {n_boot} bootstrap replicates were asked for (n_bootstrap)"
        else:
            what = f"only {len(eq)} of {n_boot} bootstrap replicates could be fitted{why}"
        out["text"] = (
            f"No {PARAMETER_UNCERTAINTY} interval: {what}, fewer than the {min_replicates} "
            "a percentile interval needs. The equity is a point estimate without a measure "
            "of its precision."
        )
        return out
    lo, hi = interval(eq, level)
    out["lower"], out["upper"] = lo, hi
    failed = f"; {n_failed} replicates failed and were left out" if n_failed else ""
    out["text"] = (
        f"{level:.0%} bootstrap interval ({PARAMETER_UNCERTAINTY} only): {lo:,.0f} to "
        f"{hi:,.0f} ({len(eq)} of {n_boot} replicates{failed}{_sample_words(boot)}). It "
        "shows how much the equity moves with the estimated parameters; it does not cover "
        "a wrong model or a future unlike the past."
    )
    return out


def _sample_words(boot: dict) -> str:
    """``"; m-out-of-n bootstrap on a sample of m of N members, ..."`` for a bootstrap of
    the m-out-of-n :func:`bootstrap_clv` on a sample, else nothing."""
    sample = boot.get("sample")
    if not sample:
        return ""
    return (
        f"; m-out-of-n bootstrap on a sample of {sample['m']:,} of {sample['N']:,} members, "
        f"deviations rescaled by sqrt(m/N) = {sample['scale']:.3f}"
    )


def equity_bands(
    interval_info: dict, holdout_cumulative_error: float | None, *, currency: str = ""
) -> dict:
    """The parameter-uncertainty interval beside the holdout's forecast error band.

    The practical band is ``equity x (1 -+ |e|)`` with ``e`` the purchase model's relative
    error of the cumulative forecast of flights at the end of the holdout period
    ((forecast - actual) / actual): how far off the same model was out of sample.

    Parameters
    ----------
    interval_info : dict
        :func:`equity_interval` output.
    holdout_cumulative_error : float or None
        From the purchase-model file; None when there was no holdout.

    Returns
    -------
    dict
        ``parameter_uncertainty`` (the interval dict), ``holdout_band`` (``label``,
        ``relative_error``, ``lower``, ``upper``, ``text``; bounds None without a
        holdout) and ``text`` (both in plain words, one line each).
    """
    point = float(interval_info["point"])
    unit = f" {currency}" if currency else ""
    band = {
        "label": "holdout forecast error",
        "relative_error": None,
        "lower": None,
        "upper": None,
    }
    e = holdout_cumulative_error
    if e is None or not np.isfinite(e):
        band["text"] = (
            "No holdout forecast error is available (no holdout period, or none recorded "
            "with the purchase model), so the model's out-of-sample error is unknown; the "
            "real uncertainty is likely larger than the parameter interval."
        )
    else:
        e = float(e)
        lo, hi = point * (1 - abs(e)), point * (1 + abs(e))
        band.update(relative_error=e, lower=lo, upper=hi)
        direction = "over" if e > 0 else "under"
        compare = ""
        if interval_info.get("lower") is not None:
            width_p = interval_info["upper"] - interval_info["lower"]
            if hi - lo > width_p:
                compare = (
                    f", {(hi - lo) / max(width_p, 1e-300):.1f} times as wide as the "
                    "parameter interval"
                )
        band["text"] = (
            f"Practical band from the holdout: the same model {direction}-forecast the "
            f"cumulative flights of the holdout period by {abs(e):.1%}; at that error the "
            f"equity lies between {lo:,.0f} and {hi:,.0f}{unit}{compare}."
        )
    return {
        "parameter_uncertainty": interval_info,
        "holdout_band": band,
        "text": interval_info["text"] + "\n" + band["text"],
    }


def interval(samples, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap samples."""
    s = np.asarray(samples, dtype=float)
    s = s[np.isfinite(s)]
    if len(s) == 0:
        return (float("nan"), float("nan"))
    a = (1 - level) / 2
    return float(np.quantile(s, a)), float(np.quantile(s, 1 - a))
