"""The steps of notebook 03 (spend, CLV, equity) that are decisions, tables or sentences.

Tested in ``tests/test_clv_study.py``; the notebook keeps the narrative, calls and figures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..config import ARTIFACTS
from ..data.engines.valuetable import ValueTable, score_value_table
from .modelfile import FILE_NAME, purchase_summary
from .models import FitError
from .spend import choose_spend_model
from .value import bootstrap_clv, equity_bands, equity_interval


def currency_of(source: str) -> str:
    """CDNOW is in US dollars, the airline data in yuan."""
    return "USD" if source == "cdnow" else "yuan"


def inputs(ds, purchase):
    """Members' ``(x, t_x, T)`` and spend with the purchase model's time unit and counting
    rule (so P(alive) is notebook 02's), whether there is revenue, and a report."""
    summary = purchase_summary(
        ds, time_unit=purchase.meta_["time_unit"], counting_rule=purchase.meta_["counting_rule"]
    )
    has_revenue = "monetary_value" in summary.columns
    lines = []
    if ds.flights is None:
        lines.append(
            "No flight log: (x, t_x, T) and the mean revenue per flight are approximated from "
            "the member table (see notebook 02 and clv.summary_from_snapshot)."
        )
    lines.append(
        f"data: {ds.info.get('source', 'unknown')}; members: {len(summary):,}; observation "
        f"end {ds.obs_end.date()}"
    )
    if has_revenue and ds.flights is not None:
        a = summary.attrs
        lines.append(
            "flights with zero or negative revenue (award tickets, refunds; kept as flights, "
            f"left out of the spend averages): {a['n_revenue_nonpositive']:,}; with missing "
            f"revenue: {a['n_revenue_missing']:,}"
        )
    elif not has_revenue:
        lines.append("The data has no revenue column: spend per flight and CLV cannot be computed.")
    return summary, has_revenue, "\n".join(lines)


def purchase_text(purchase) -> str:
    """What the run's purchase model is, where it comes from, and its verdict."""
    meta = purchase.meta_
    sel = meta.get("selection") or {}
    return (
        f"{purchase.name} (time unit {meta['time_unit']}, counting rule: "
        f"{meta['counting_rule']}, fitted on the data up to {meta['calibration_end']}):\n"
        f"chosen by notebook 02: {sel.get('rule', '-')} ({sel.get('reason', '-')})\n"
        f"verdict: {purchase.verdict_.sentence()}"
    )


def independence_text(independence) -> str:
    """The line notebook 03 prints on the spend-frequency independence check."""
    return (
        f"members used: {independence.n:,}; {independence.verdict.upper()}: "
        f"{independence.sentence()}"
    )


def spend_model(ds, summary, *, has_revenue: bool, threshold: float, currency: str):
    """The spend model of notebook 03: :func:`~crm_research.clv.choose_spend_model` and its
    report, or no model with the reason (no revenue in the data, or both fits failed).

    Returns ``(choice, text, tables)`` with ``choice`` None when there is no spend model;
    ``text`` and ``tables`` as in :func:`spend_report`.
    """
    if not has_revenue:
        return None, "No spend model: the data have no revenue.", {}
    try:
        choice = choose_spend_model(
            summary,
            threshold=threshold,
            source=f"{ds.info.get('source', 'unknown')} members",
            context="notebook 03",
        )
    except FitError as err:
        return None, f"No spend model: {err}", {}
    text, tables = spend_report(choice, ds, currency)
    return choice, text, tables


def spend_report(choice, ds, currency: str):
    """Sentences on the spend model used, its fits (tables), and the Gamma-Gamma recovery.

    Returns ``(text, tables)``: ``tables`` maps a title to a DataFrame (each fit's
    summary; the Gamma-Gamma estimates beside the truth of a simulation whose spend is
    independent of frequency).
    """
    spend = choice.model
    tables = {}
    lines = [f"Spend model used: {choice.reason}."]
    for fit in choice.fits.values():
        lines.append(fit.verdict_.sentence())
        if hasattr(fit, "params_"):
            tables[fit.verdict_.sentence()] = fit.summary
    lines.append(
        f"fitted on {spend.n_obs_:,.0f} members with a repeat flight with a positive revenue "
        f"({spend.n_excluded_:,} without one get the model's prediction for their flight "
        "history)"
    )
    lines.append(
        f"mean revenue per flight of a member without history: {spend.population_mean:,.2f} "
        f"{currency}"
    )
    truth = ds.info.get("true_params") if ds.has_truth else None
    gg = choice.fits.get("gamma_gamma")
    if truth is not None and hasattr(gg, "params_") and not truth.get("spend_frequency_elasticity"):
        want = pd.Series({"p": truth["gg_p"], "q": truth["gg_q"], "gamma": truth["gg_gamma"]})
        check = gg.summary.assign(truth=want)
        check["error_pct"] = 100 * (check["coef"] / check["truth"] - 1)
        tables["Gamma-Gamma against the true values of the simulation"] = check
    return "\n".join(lines), tables


def score_clv(ds, purchase, spend, processed_dir, **settings) -> ValueTable:
    """Every member's CLV scored in batches from the run's model file into
    ``clv.parquet`` (:func:`~crm_research.data.engines.valuetable.score_value_table`: the
    run's engine writes the summaries and scores them, no per-member table in this
    process), returned as the :class:`~crm_research.data.engines.valuetable.ValueTable`
    whose aggregates that engine computes over the Parquet."""
    from ..data.engines.valuetable import value_table

    d = Path(processed_dir)
    path = score_value_table(ds, purchase, spend, d / ARTIFACTS["clv"],
                             model_file=d / FILE_NAME, **settings)  # fmt: skip
    return value_table(path, ds)


def clv_text(
    values, purchase, spend, *, horizon_months, discount_rate_annual, margin, currency, truth=None
) -> str:
    """The CLV's settings, the customer equity, and (simulation) agreement with the truth.

    ``values``: a :class:`~crm_research.data.engines.valuetable.ValueTable` or the
    DataFrame of :func:`~crm_research.clv.customer_lifetime_value`.
    """
    vt = ValueTable.of(values)
    st = vt.stats()
    equity = st["equity"]
    lines = [
        f"purchase model {purchase.name}, spend model {spend.name}; horizon {horizon_months} "
        f"months, discount rate {discount_rate_annual:.0%} a year, margin {margin:.0%}"
    ]
    if st["n_nonfinite"]:
        lines.append(
            f"WARNING: {st['n_nonfinite']:,} members have no finite CLV (numerical "
            "overflow of the purchase model's prediction); they are left out of the equity below"
        )
    lines.append(
        f"customer equity (sum of CLV): {equity:,.0f} {currency}; mean CLV "
        f"{st['mean_clv']:,.1f}; median {st['median_clv']:,.1f}"
    )
    if truth is not None:  # the simulation's truth is a table of every member anyway
        values = vt.columns(["clv", "expected_revenue_per_flight"])
        t = truth.set_index("MEMBER_NO").reindex(values.index)
        proxy = t["alive"] * t["lam"] * t["mean_revenue"]
        lines.append(
            "correlation of predicted CLV with the true current value rate (alive x flights "
            f"per week x mean revenue): {np.corrcoef(values['clv'], proxy)[0, 1]:.3f}"
        )
        lines.append(
            "correlation of predicted and true mean revenue per flight: "
            f"{np.corrcoef(values['expected_revenue_per_flight'], t['mean_revenue'])[0, 1]:.3f}"
        )
    return "\n".join(lines)


def value_concentration(values, flights, top_share: float):
    """Gini and top share of predicted CLV, Lorenz curves (CLV; past revenue of the same
    members), a report; computed by the value table's engine (the curves at most
    :data:`~crm_research.data.engines.valuetable.LORENZ_POINTS` points)."""
    vt = ValueTable.of(values)
    conc = vt.concentration(top_share)
    curves = {"predicted CLV": conc.pop("curve")}
    lines = [
        f"Gini of predicted CLV: {conc['gini']:.3f}; the top {top_share:.0%} of members hold "
        f"{conc['top_value_share']:.1%} of the customer equity"
    ]
    past = vt.past_revenue(flights, top_share)  # engine or pandas
    if past is not None:
        curves["past revenue"] = past["curve"]
        lines.append(f"Gini of past revenue: {past['gini']:.3f}")
    return conc, curves, "\n".join(lines)


def bootstrap_segments(ds, summary) -> pd.Series:
    """Segments whose CLV totals get bootstrap intervals: the tier, else frequency bands."""
    has_tier = "FFP_TIER" in ds.table_columns("snapshot")  # the Parquet schema: nothing read
    tiers = ds.read("snapshot", ["MEMBER_NO", "FFP_TIER"]) if has_tier else None
    if has_tier and tiers["FFP_TIER"].notna().any():
        seg = tiers.set_index("MEMBER_NO")["FFP_TIER"].reindex(summary.index)
        return "tier " + seg.astype("Int64").astype(str)
    bands = pd.cut(
        summary["frequency"],
        [-1, 0, 2, 9, np.inf],
        labels=["0 repeat flights", "1-2", "3-9", "10+"],
    )
    return bands.astype(str)


def segment_table(values, segments, boot, equity: float, interval: dict) -> pd.DataFrame:
    """Members, CLV total, share of equity and (when computable) the bootstrap interval."""
    clv = ValueTable.of(values).columns(["clv"])["clv"]
    out = pd.DataFrame(
        {"members": segments.value_counts(), "clv_total": clv.groupby(segments).sum()}
    )
    out["share_of_equity"] = out["clv_total"] / equity
    if interval.get("lower") is not None and "segments" in boot:
        out["lower_95"] = boot["segments"].quantile(0.025)
        out["upper_95"] = boot["segments"].quantile(0.975)
    return out


def parameter_intervals(boot) -> pd.DataFrame:
    """Bootstrap 95% intervals of the parameters (``spend_`` = the spend model's)."""
    p = boot["params"]
    return pd.DataFrame({"lower_95": p.quantile(0.025), "upper_95": p.quantile(0.975)})


def bootstrap_study(
    ds,
    summary,
    purchase,
    spend,
    values,
    *,
    n_bootstrap: int,
    seed: int,
    horizon_months: int,
    discount_rate_annual: float,
    margin: float,
    bootstrap_members: int | None = None,
) -> dict:
    """Section 6 of notebook 03: the bootstrap of the customer equity beside the holdout band.

    Redraws the members ``n_bootstrap`` times (:func:`~crm_research.clv.bootstrap_clv`,
    segments of :func:`bootstrap_segments`); with more than ``bootstrap_members`` members
    (notebook 03's parameter; None: no limit), a seeded sample of that many, its
    deviations rescaled to all members (``max_members`` of
    :func:`~crm_research.clv.bootstrap_clv`: the m-out-of-n bootstrap; the verdict says
    so). Computes the equity's interval (parameter uncertainty only) and puts the purchase
    model's holdout error (notebook 02's, from the purchase-model file) beside it as the
    practical band. Amounts are in the data's currency (:func:`currency_of`).

    Returns a dict: ``boot``, ``equity`` (the main fit's), ``interval``
    (:func:`~crm_research.clv.equity_interval`), ``bands``
    (:func:`~crm_research.clv.equity_bands`), ``segments``, ``text`` (the sentences to
    print) and ``tables`` (title -> rounded DataFrame: the parameters' intervals when the
    interval is computable, the CLV by segment).
    """
    currency = currency_of(ds.info.get("source", "unknown"))
    equity = ValueTable.of(values).stats()["equity"]
    segments = bootstrap_segments(ds, summary)
    totals = None
    if bootstrap_members is not None and len(summary) > bootstrap_members:  # on a sample
        totals = ValueTable.of(values).columns(["clv"])["clv"].groupby(segments).sum()
    boot = bootstrap_clv(
        summary,
        purchase,
        spend,
        max_members=bootstrap_members,
        equity=equity,
        segment_totals=totals,
        n_bootstrap=n_bootstrap,
        seed=seed,
        segments=segments,
        horizon_months=horizon_months,
        discount_rate_annual=discount_rate_annual,
        margin=margin,
        context="notebook 03: bootstrap of the customer equity",
    )
    interval = equity_interval(boot, equity)
    bands = equity_bands(interval, purchase.meta_["holdout_cumulative_error"], currency=currency)
    tables = {}
    if interval["lower"] is not None:
        title = f"bootstrap 95% intervals of the parameters (spend_ = {spend.name})"
        tables[title] = parameter_intervals(boot).round(4)
    table = segment_table(values, segments, boot, equity, interval).round(2)
    tables["CLV by segment, with its bootstrap interval"] = table
    text = (
        f"{boot['verdict'].sentence()}\n\ncustomer equity {equity:,.0f} {currency}\n{bands['text']}"
    )
    return {
        "boot": boot,
        "equity": equity,
        "interval": interval,
        "bands": bands,
        "segments": segments,
        "text": text,
        "tables": tables,
    }


def equity_summary(
    source,
    values,
    summary,
    *,
    equity=None,
    currency,
    horizon_months,
    discount_rate_annual,
    margin,
    purchase,
    spend,
    spend_choice,
    conc,
    top_share,
    bands,
) -> dict:
    """``customer_equity.json``: the equity, its settings, concentration and bands.

    ``equity`` defaults to the sum of ``values["clv"]`` (the customer equity of the main fit).
    """
    out = {"source": source, "computed": values is not None}
    if values is None:
        return out
    st = ValueTable.of(values).stats()
    if equity is None:
        equity = st["equity"]
    out.update(
        customer_equity=equity, currency=currency, horizon_months=horizon_months,
        discount_rate_annual=discount_rate_annual, margin=margin, purchase_model=purchase.name,
        spend_model=spend.name, spend_model_reason=spend_choice.reason,
        n_members=st["n"], n_members_nonfinite_clv=st["n_nonfinite"],
        gini=conc["gini"], top_share=top_share, top_value_share=conc["top_value_share"],
    )  # fmt: skip
    if bands is not None:
        iv, band = bands["parameter_uncertainty"], bands["holdout_band"]
        out.update(
            equity_interval_label=iv["label"], equity_lower_95=iv["lower"],
            equity_upper_95=iv["upper"], equity_interval_text=iv["text"],
            n_bootstrap=iv["n_bootstrap"], n_bootstrap_failed=iv["n_failed"],
            bootstrap_sample_members=iv.get("sample_members"),
            holdout_cumulative_error=band["relative_error"], equity_holdout_lower=band["lower"],
            equity_holdout_upper=band["upper"], equity_holdout_text=band["text"],
        )  # fmt: skip
    return out


def clv_table(values, summary) -> pd.DataFrame:
    """``clv.parquet`` in memory: the CLV columns with each member's ``(x, t_x, T)`` and mean
    spend (the reference of the batch-scored table of :func:`score_clv`, tested)."""
    cols = ["frequency", "recency", "T"] + (
        ["monetary_value"] if "monetary_value" in summary.columns else []
    )
    return values.join(summary[cols]).reset_index()


def metrics(eq_summary, independence, spend_choice, boot, values, model_checks) -> dict:
    """The key numbers of notebook 03 for its metrics file, with every model check."""
    out = dict(eq_summary)
    checks = list(model_checks)
    if independence is not None:
        out["spend_frequency_spearman"] = independence.spearman
        out["spend_independence"] = independence.to_dict()
        out["spend_verdict"] = independence.verdict
    if spend_choice is not None:
        checks += [v.to_dict() for v in spend_choice.verdicts]
        out.update({f"spend_{k}": float(v) for k, v in spend_choice.model.params_.items()})
        out["mean_revenue_per_flight"] = spend_choice.model.population_mean
    if boot is not None:
        checks.append(boot["verdict"].to_dict())
    if values is not None:
        st = ValueTable.of(values).stats()
        out["mean_clv"], out["mean_p_alive"] = st["mean_clv"], st["mean_p_alive"]
    out["model_checks"] = checks
    return out
