"""Tests of crm_research.clv: inputs, fits, replication, CLV, validation, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_research import clv
from crm_research._compat import import_lifetimes, lifetimes_guard
from crm_research.data.schema import DataValidationError


def _log(rows):
    return pd.DataFrame(rows, columns=["MEMBER_NO", "FLIGHT_DATE", "REVENUE"]).assign(
        FLIGHT_DATE=lambda d: pd.to_datetime(d["FLIGHT_DATE"])
    )


@pytest.fixture(scope="module")
def hand_log():
    # member 1: first flight 2020-01-01, two flights on 2020-01-08, one on 2020-01-29,
    #           one in the holdout (2020-02-12); one repeat flight has zero revenue
    # member 2: a single flight
    # member 3: first flight after the calibration end (excluded, counted)
    return _log(
        [
            (1, "2020-01-01", 100.0),
            (1, "2020-01-08", 50.0),
            (1, "2020-01-08", 0.0),
            (1, "2020-01-29", 70.0),
            (1, "2020-02-12", 80.0),
            (2, "2020-01-15", 30.0),
            (3, "2020-02-05", 40.0),
            (3, "2020-02-10", 40.0),
        ]
    )


# --- inputs -------------------------------------------------------------------------------
def test_flight_summary_counts_flights_not_days(hand_log):
    s = clv.flight_summary(
        hand_log, calibration_end="2020-02-01", observation_end="2020-02-29", time_unit="weeks"
    )
    assert list(s.index) == [1, 2]
    m1, m2 = s.loc[1], s.loc[2]
    assert m1["frequency"] == 3  # both flights of 2020-01-08 count
    assert m1["recency"] == pytest.approx(4.0)  # 28 days
    assert m1["T"] == pytest.approx(31 / 7)
    assert m1["monetary_value"] == pytest.approx(60.0)  # (50 + 70) / 2, zero revenue left out
    assert m1["n_monetary"] == 2
    assert m1["frequency_holdout"] == 1
    assert m1["revenue_holdout"] == pytest.approx(80.0)
    assert m1["duration_holdout"] == pytest.approx(28 / 7)
    assert (m2["frequency"], m2["recency"]) == (0, 0.0)
    assert np.isnan(m2["monetary_value"]) and m2["n_monetary"] == 0
    assert s.attrs["n_members_late"] == 1
    assert s.attrs["n_revenue_nonpositive"] == 1


def test_flight_summary_merge_same_day_and_units(hand_log):
    s = clv.flight_summary(hand_log, calibration_end="2020-02-01", merge_same_day=True)
    assert s.loc[1, "frequency"] == 2
    assert s.loc[1, "monetary_value"] == pytest.approx(60.0)  # day total 50 + 0, then 70
    assert s.attrs["n_same_day_merged"] == 1
    d = clv.flight_summary(hand_log, calibration_end="2020-02-01", time_unit="days")
    assert d.loc[1, "recency"] == 28 and d.loc[1, "T"] == 31
    mo = clv.flight_summary(
        hand_log, calibration_end="2020-02-01", observation_end="2020-03-15", time_unit="months"
    )
    assert mo.loc[1, "T"] == pytest.approx(31 / (365.25 / 12))


def test_flight_summary_bad_input(hand_log):
    with pytest.raises(DataValidationError, match="outside the data"):
        clv.flight_summary(hand_log, calibration_end="2019-06-30")
    with pytest.raises(DataValidationError, match="outside the data"):
        clv.flight_summary(hand_log, calibration_end="2020-03-31", observation_end="2020-02-29")
    with pytest.raises(DataValidationError, match="shorter than one week"):
        clv.flight_summary(hand_log, calibration_end="2020-02-10", observation_end="2020-02-12")
    with pytest.raises(DataValidationError, match="FLIGHT_DATE"):
        clv.flight_summary(hand_log.drop(columns="FLIGHT_DATE"))
    bad = hand_log.astype({"FLIGHT_DATE": str})
    bad.loc[2, "FLIGHT_DATE"] = "not a date"
    with pytest.raises(DataValidationError, match="not a date"):
        clv.flight_summary(bad)
    with pytest.raises(ValueError, match="time_unit"):
        clv.flight_summary(hand_log, time_unit="fortnights")


def test_compress_is_exact():
    x = np.array([0, 2, 2, 0, 2, 1])
    tx = np.array([0.0, 3.0, 3.0, 0.0, 3.0, 1.0])
    T = np.array([5.0, 5.0, 5.0, 5.0, 6.0, 5.0])
    rows, inv = clv.compress(x, tx, T)
    assert rows["weights"].sum() == 6 and len(rows) == 4
    back = rows.iloc[inv]
    assert (back["frequency"].to_numpy() == x).all() and (back["T"].to_numpy() == T).all()


def test_summary_from_snapshot_window():
    snap = pd.DataFrame(
        {
            "MEMBER_NO": [1, 2, 3],
            "LOAD_TIME": pd.to_datetime(["2014-03-31"] * 3),
            # member 1 joined inside the window (exact); member 2 before it (restart at the
            # first flight in the window); member 3 did not fly in the window (excluded)
            "FIRST_FLIGHT_DATE": pd.to_datetime(["2013-01-01", "2010-05-05", "2009-01-01"]),
            "LAST_FLIGHT_DATE": pd.to_datetime(["2014-01-01", "2014-03-01", "2011-01-01"]),
            "FLIGHT_COUNT": [5, 3, 0],
            "AVG_INTERVAL": [91.25, 100.0, np.nan],
            "SUM_YR_1": [100.0, 0.0, 0.0],
            "SUM_YR_2": [400.0, 300.0, 0.0],
        }
    )
    s = clv.summary_from_snapshot(snap, time_unit="days")
    assert list(s.index) == [1, 2]
    assert tuple(s.loc[1, ["frequency", "recency", "T"]]) == (4, 365, 454)
    assert tuple(s.loc[2, ["frequency", "recency", "T"]]) == (2, 200, 230)
    assert s.loc[2, "left_truncated"] and not s.loc[1, "left_truncated"]
    assert s.loc[1, "monetary_value"] == pytest.approx(100.0)
    assert s.attrs["n_no_window_flight"] == 1


def test_summary_from_snapshot_implausible_dates_are_counted_not_fatal():
    # the real textbook file has first flights after the last one (placeholder dates)
    snap = pd.DataFrame(
        {
            "MEMBER_NO": [1, 2],
            "LOAD_TIME": pd.to_datetime(["2014-03-31"] * 2),
            "FIRST_FLIGHT_DATE": pd.to_datetime(["2014-03-20", "2013-01-01"]),
            "LAST_FLIGHT_DATE": pd.to_datetime(["2014-03-01", "2014-04-30"]),
            "FLIGHT_COUNT": [3, 2],
            "AVG_INTERVAL": [100.0, 50.0],
        }
    )
    s = clv.summary_from_snapshot(snap, time_unit="days")
    assert list(s.index) == [1]  # member 2's last flight is after LOAD_TIME: excluded
    assert s.loc[1, "left_truncated"]  # first flight unknown: restart in the window
    assert tuple(s.loc[1, ["frequency", "recency", "T"]]) == (2, 200, 230)
    assert s.attrs["n_first_flight_after_last"] == 1
    assert s.attrs["n_last_flight_after_load"] == 1


# --- fits ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cdnow():
    return clv.cdnow_fits()


def test_replicate_cdnow_matches_published():
    # Golden values: Fader, Hardie & Lee (2005a) Marketing Science 24(2) (BG/NBD, Pareto/NBD,
    # week-78 tracking) and (2005b) JMR 42(4) / Fader & Hardie note 025 (Gamma-Gamma);
    # they live in clv.PUBLISHED with the sources beside them.
    table, ok = clv.replicate_cdnow()
    assert len(table) == len(clv.PUBLISHED) == 16
    assert ok, table.loc[~table["ok"]].to_string()
    assert (table["rel_error"] <= 0.005).all()


def test_cdnow_recipe_counts(cdnow):
    s = cdnow["summary"]
    # Fader & Hardie's summary of the 1/10 sample: 2,357 customers, 2,457 calibration
    # repeat transactions (sum of x in cdnow_customers_summary), 946 with x > 0
    assert len(s) == 2357
    assert s["frequency"].sum() == 2457
    assert (s["frequency"] > 0).sum() == 946


def test_condensed_fit_equals_lifetimes_uncompressed(cdnow):
    s = cdnow["summary"]
    lt = import_lifetimes()
    with lifetimes_guard():
        ref = lt.BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    ours = cdnow["bgnbd"]
    assert ours.n_rows_ < len(s)
    np.testing.assert_allclose(ours.params_.to_numpy(), ref.params_.to_numpy(), rtol=1e-5)
    # our finite-difference Hessian gives lifetimes' standard errors
    np.testing.assert_allclose(
        ours.standard_errors_.to_numpy(), ref.standard_errors_.to_numpy(), rtol=1e-3
    )


def test_summary_and_information_criteria(cdnow):
    bg = cdnow["bgnbd"]
    tab = bg.summary
    assert list(tab.columns) == ["coef", "se", "lower_95", "upper_95"]
    assert ((tab["lower_95"] < tab["coef"]) & (tab["coef"] < tab["upper_95"])).all()
    assert bg.aic_ == pytest.approx(8 - 2 * bg.log_likelihood_)
    assert bg.bic_ == pytest.approx(4 * np.log(2357) - 2 * bg.log_likelihood_)
    pn = cdnow["pareto"]
    assert np.isfinite(pn.standard_errors_).all() and (pn.standard_errors_ > 0).all()


def test_time_unit_changes_only_alpha(cdnow):
    s = cdnow["summary"]
    days = s.assign(recency=s["recency"] * 7, T=s["T"] * 7)
    bd = clv.BGNBD().fit(days)
    bw = cdnow["bgnbd"]
    np.testing.assert_allclose(bd.params_[["r", "a", "b"]], bw.params_[["r", "a", "b"]], rtol=1e-4)
    assert bd.params_["alpha"] == pytest.approx(7 * bw.params_["alpha"], rel=1e-4)
    # the likelihood of times in days differs by the Jacobian: sum(x) * log(7)
    assert bd.log_likelihood_ == pytest.approx(bw.log_likelihood_ - 2457 * np.log(7), abs=1e-3)


@pytest.mark.parametrize("name", ["bgnbd", "mbgnbd", "pareto"])
def test_factorised_path_equals_direct_prediction(cdnow, name):
    s = cdnow["summary"].iloc[::7]
    model = cdnow[name] if name in cdnow else clv.MBGNBD().fit(cdnow["summary"])
    times = np.array([4.0, 13.0, 52.0])
    path = model.expected_flights_path(times, s["frequency"], s["recency"], s["T"])
    for j, t in enumerate(times):
        direct = model.expected_flights(t, s["frequency"], s["recency"], s["T"])
        np.testing.assert_allclose(path[:, j], direct, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("name", ["bgnbd", "mbgnbd", "pareto"])
def test_discounted_flights_equal_lifetimes_loop(cdnow, name):
    """The vectorised discounted sum (clv.expectations) equals lifetimes' monthly loop."""
    s = cdnow["summary"]
    bg = cdnow[name] if name in cdnow else clv.MBGNBD().fit(s)
    det = clv.discounted_expected_flights(
        bg, s["frequency"], s["recency"], s["T"], horizon_months=12, discount_rate_annual=0.1
    )
    # lifetimes' customer_lifetime_value loop (utils._customer_lifetime_value), spend = 1
    d = clv.monthly_rate(0.1)
    month = 365.25 / 12 / 7
    ref = np.zeros(len(s))
    for k in range(1, 13):
        inc = bg.fitter_.predict(k * month, s["frequency"], s["recency"], s["T"]) - (
            bg.fitter_.predict((k - 1) * month, s["frequency"], s["recency"], s["T"])
        )
        ref += np.asarray(inc) / (1 + d) ** k
    np.testing.assert_allclose(det, ref, rtol=1e-7, atol=1e-10)


def test_gamma_gamma_and_clv(cdnow):
    s = cdnow["summary"]
    gg = cdnow["gamma_gamma"]
    assert gg.n_obs_ == 946 and gg.n_excluded_ == 2357 - 946
    out = clv.customer_lifetime_value(
        cdnow["bgnbd"], gg, s, horizon_months=24, discount_rate_annual=0.1, margin=0.3
    )
    assert out["clv"].notna().all() and (out["clv"] > 0).all()
    no_repeat = s["frequency"] == 0
    np.testing.assert_allclose(
        out.loc[no_repeat, "expected_revenue_per_flight"], gg.population_mean
    )
    np.testing.assert_allclose(
        out["clv"], 0.3 * out["expected_revenue_per_flight"] * out["discounted_flights"]
    )
    assert (out["discounted_flights"] < out["expected_flights"]).all()
    corr = clv.spend_frequency_correlation(s)
    assert corr["n"] == 946 and abs(corr["pearson"]) < 0.3


def test_validation_tables(cdnow):
    s, bg = cdnow["summary"], cdnow["bgnbd"]
    hist = clv.frequency_histogram(bg, s)
    assert hist["actual"].sum() == 2357
    assert hist["expected"].sum() == pytest.approx(2357, rel=1e-6)
    tab = clv.holdout_by_frequency(bg, s)
    assert tab["members"].sum() == 2357 and list(tab.index)[-1] == "7+"
    from crm_research.data.cdnow import load_cdnow_transactions

    tr = clv.cumulative_tracking(bg, s, load_cdnow_transactions(sample=True), merge_same_day=True)
    assert tr["actual_cum"].iloc[-1] == s["frequency"].sum() + s["frequency_holdout"].sum()
    assert tr["holdout"].any() and not tr["holdout"].all()
    err = clv.holdout_errors(bg, s)
    assert err["correlation"] > 0.5
    comp = clv.compare_models({"BG/NBD": bg, "Pareto/NBD": cdnow["pareto"]}, s)
    assert comp.loc["BG/NBD", "log_likelihood"] > comp.loc["Pareto/NBD", "log_likelihood"]
    assert {"aic", "bic", "holdout_mae"} <= set(comp.columns)


def test_cumulative_tracking_expected_is_the_sum_over_members(cdnow):
    # the expectation is evaluated once per distinct day gap (period end - first flight):
    # it must equal the direct sum over members of E[X(t)] at each period end
    from crm_research.data.cdnow import load_cdnow_transactions

    s, bg = cdnow["summary"], cdnow["bgnbd"]
    tr = clv.cumulative_tracking(bg, s, load_cdnow_transactions(sample=True), merge_same_day=True)
    first = s["first_flight"]
    first_d = (first - first.min()).dt.days.to_numpy()
    for k in (0, 10, 38, len(tr) - 1):
        end = 7 * (k + 1)
        t = np.clip(end - first_d, 0, None) / 7.0
        direct = bg.expected_flights_unconditional(t).sum()
        assert tr["expected_cum"].iloc[k] == pytest.approx(direct, rel=1e-12)


def test_discretisation_effect_runs_lifetimes_summary(cdnow):
    # the "distinct weeks" row calls lifetimes' summary_data_from_transaction_data, which
    # must keep working under pandas 3 (copy-on-write, no SettingWithCopyWarning class)
    from crm_research.data.cdnow import load_cdnow_transactions

    tab = clv.discretisation_effect(
        load_cdnow_transactions(sample=True),
        calibration_end="1997-09-30",
        observation_end="1998-06-30",
    )
    assert list(tab.index) == ["flights, days", "distinct days", "distinct weeks (lifetimes)"]
    assert tab.pop("verdict").str.endswith("converged").all()  # each fit's verdict beside it
    assert np.isfinite(tab.to_numpy(float)).all()
    # distinct days is the CDNOW recipe of the replication: the same BG/NBD estimates
    want = pd.Series(cdnow["bgnbd"].params_)[tab.columns]
    np.testing.assert_allclose(tab.loc["distinct days"], want, rtol=1e-6)
    # counting weeks instead of days loses repeat purchases: fewer per unit of time
    weeks, days = tab.loc["distinct weeks (lifetimes)"], tab.loc["distinct days"]
    assert weeks["r"] / weeks["alpha"] < days["r"] / days["alpha"]


def test_pareto_pmf_sums_to_one(cdnow):
    pn = cdnow["pareto"]
    total = sum(pn.prob_n_flights(20.0, n) for n in range(60))
    assert total == pytest.approx(1.0, abs=1e-4)


# --- bad fits -----------------------------------------------------------------------------
def test_no_repeat_flights_is_a_clear_error():
    with pytest.raises(clv.FitError, match="no repeat flights"):
        clv.BGNBD().fit(np.zeros(5, int), np.zeros(5), np.full(5, 10.0))


def test_degenerate_fit_is_at_a_bound_not_an_error():
    rng = np.random.default_rng(0)
    T = rng.uniform(20, 50, 500)
    x = rng.poisson(5, 500) + 1
    m = clv.BGNBD().fit(x, T, T)  # nobody ever stops flying: dropout not identified
    assert m.verdict_.status == "at_bound" and not m.verdict_.usable
    assert set(m.verdict_.parameters) & {"a", "b"}


def test_invalid_histories_are_rejected():
    with pytest.raises(DataValidationError, match="recency must lie in"):
        clv.BGNBD().fit([1, 2], [5.0, 1.0], [4.0, 3.0])
    with pytest.raises(DataValidationError, match="whole number"):
        clv.BGNBD().fit([1.5, 2], [1.0, 1.0], [4.0, 3.0])


def test_gamma_gamma_rejects_non_positive_spend():
    with pytest.raises(DataValidationError, match="positive"):
        clv.GammaGamma().fit([1, 2, 3, 1], [10.0, -5.0, 3.0, 4.0])
    with pytest.raises(clv.FitError, match="at least 3"):
        clv.GammaGamma().fit([0, 0, 1], [np.nan, np.nan, 4.0])


# --- value --------------------------------------------------------------------------------
def test_concentration():
    c = clv.concentration(np.ones(100))
    assert c["gini"] == pytest.approx(0.0, abs=1e-12) and c["top_value_share"] == pytest.approx(0.2)
    c = clv.concentration(np.r_[np.zeros(99), 1.0])
    assert c["gini"] == pytest.approx(0.99) and c["top_value_share"] == pytest.approx(1.0)
    lc = clv.lorenz_curve([1, 2, 3])
    assert lc["value_share"].iloc[-1] == 1.0 and lc["member_share"].iloc[0] == 0.0


def test_bootstrap_is_seeded(cdnow):
    s = cdnow["summary"]
    seg = pd.Series(np.where(s["frequency"] > 0, "repeat", "one-off"), index=s.index)
    fits = (cdnow["bgnbd"], cdnow["gamma_gamma"])
    a = clv.bootstrap_clv(s, *fits, n_bootstrap=3, seed=7, segments=seg)
    b = clv.bootstrap_clv(s, *fits, n_bootstrap=3, seed=7, segments=seg)
    assert len(a["equity"]) == 3 and a["n_failed"] == 0 and a["verdict"].ok
    pd.testing.assert_series_equal(a["equity"], b["equity"])
    assert set(a["segments"].columns) == {"repeat", "one-off"}
    np.testing.assert_allclose(a["segments"].sum(axis=1), a["equity"])
    assert a["params"]["r"].std() > 0


def test_bootstrap_of_a_penalized_fit():
    """Heavy flyers who hardly ever stop: the BG/NBD needs a penalizer, and so does every
    replicate (refitting without it, as the bootstrap used to, fails)."""
    from crm_research.data.simulate import SimulationParams, simulate_programme

    sim = simulate_programme(1500, seed=3, params=SimulationParams(a=2.0, b=1e4))
    s = clv.flight_summary(sim.flights, observation_end=sim.obs_end, time_unit="weeks")
    s = s[s["frequency"] >= 1]
    assert clv.BGNBD().fit(s).verdict_.status == "at_bound"
    bg = clv.BGNBD(penalizer=0.001).fit(s)
    spend = clv.choose_spend_model(s).model
    boot = clv.bootstrap_clv(s, bg, spend, n_bootstrap=12, seed=1)
    assert boot["n_bootstrap"] == 12 and boot["n_failed"] == 0 and boot["failures"] == {}
    v = boot["verdict"]
    assert v.status == "penalized" and v.penalizer == 0.001 and "12 of 12" in v.detail
    # the replicates stay near the penalized estimates (b ~ 0.4, not at a bound)
    assert boot["params"]["b"].max() < 10 * bg.params_["b"]
    point = float(clv.customer_lifetime_value(bg, spend, s)["clv"].sum())
    iv = clv.equity_interval(boot, point)
    assert iv["label"] == "parameter uncertainty"
    assert iv["lower"] < point < iv["upper"] and "parameter uncertainty" in iv["text"]
    bands = clv.equity_bands(iv, -0.08, currency="yuan")
    band = bands["holdout_band"]
    assert band["lower"] == pytest.approx(0.92 * point) and band["upper"] == pytest.approx(
        1.08 * point
    )
    assert "under-forecast" in band["text"] and "8.0%" in band["text"]
    assert "no holdout" in clv.equity_bands(iv, None)["holdout_band"]["text"].lower()


def test_an_interval_that_cannot_be_computed_is_explained():
    boot = {
        "equity": pd.Series([1.0, 2.0]),
        "n_bootstrap": 50,
        "n_failed": 48,
        "failures": {"BG/NBD: parameter(s) ['b'] ran to a bound": 48},
    }
    iv = clv.equity_interval(boot, 100.0)
    assert iv["lower"] is None and iv["upper"] is None
    assert "only 2 of 50" in iv["text"] and "ran to a bound" in iv["text"]
    text = clv.equity_bands(iv, 0.1)["text"]
    assert "nan" not in text.lower() and "90 and 110" in text


# --- parameter recovery on the simulator --------------------------------------------------
@pytest.fixture(scope="module")
def sim100k():
    from crm_research.data.simulate import simulate_programme

    return simulate_programme(n_members=100_000, seed=42)


def test_parameter_recovery_100k(sim100k):
    """Every BG/NBD and Gamma-Gamma parameter within 5% of the truth (issue 3).

    At 100,000 members the standard errors are about 0.5% (r), 0.7% (alpha), 1.5% (a),
    2.3% (b), 2.5% (p), 0.6% (q) and 3% (gamma) of the values, so 5% is 1.7 to 10
    standard errors: the test is deterministic with the house seed 42; of 14 other seeds
    tried (200-213), 2 missed the 5% (gamma by 5.5%, b by 5.1%). The fit uses the whole
    observation window; the holdout check fits on the calibration period.
    """
    sim = sim100k
    P = sim.params
    full = clv.flight_summary(sim.flights, observation_end=sim.obs_end)
    bg = clv.BGNBD().fit(full)
    gg = clv.GammaGamma().fit(full)
    for k, v in {"r": P.r, "alpha": P.alpha, "a": P.a, "b": P.b}.items():
        assert bg.params_[k] == pytest.approx(v, rel=0.05), (k, bg.params_[k], v)
    for k, v in {"p": P.gg_p, "q": P.gg_q, "gamma": P.gg_gamma}.items():
        assert gg.params_[k] == pytest.approx(v, rel=0.05), (k, gg.params_[k], v)
    # the truth lies inside the 99.9% intervals (3.3 standard errors) of all parameters
    for model, truth in ((bg, [P.r, P.alpha, P.a, P.b]), (gg, [P.gg_p, P.gg_q, P.gg_gamma])):
        z = (model.params_.to_numpy() - truth) / model.standard_errors_.to_numpy()
        assert np.all(np.abs(z) < 3.3), z

    cal_end = sim.obs_end - pd.Timedelta(days=364)
    s = clv.flight_summary(sim.flights, calibration_end=cal_end, observation_end=sim.obs_end)
    bg_cal = clv.BGNBD().fit(s)
    err = clv.holdout_errors(bg_cal, s)
    assert err["correlation"] > 0.7
    assert abs(err["total_error_pct"]) < 5


def test_stable_pareto_likelihood_matches_lifetimes_and_does_not_overflow():
    from crm_research.clv.models import _fitter_class

    lt = import_lifetimes()
    params = [0.55, 10.6, 0.61, 11.7]
    x = np.array([0, 1, 3, 10, 25])
    tx = np.array([0.0, 5.0, 20.0, 30.0, 38.0])
    T = np.full(5, 39.0)
    with lifetimes_guard(), np.errstate(all="ignore"):
        ref = lt.ParetoNBDFitter._conditional_log_likelihood(params, x, tx, T)
        ours = _fitter_class("ParetoNBDFitter")._conditional_log_likelihood(params, x, tx, T)
        np.testing.assert_allclose(ours, ref, rtol=1e-10)
        # lifetimes gives NaN when the last flight is at T (member 751 of the simulated
        # study data) and overflows for many flights with alpha << beta; ours stays finite
        cases = [
            ([0.7584, 5.2532, 0.4405, 46.5722], [180], [215.857142857], [215.857142857]),
            ([0.5, 0.1, 0.6, 100.0], [1000], [1.0], [50.0]),
        ]
        for p, *hist in cases:
            hist = [np.array(h) for h in hist]
            assert not np.isfinite(lt.ParetoNBDFitter._conditional_log_likelihood(p, *hist)).all()
            fixed = _fitter_class("ParetoNBDFitter")._conditional_log_likelihood(p, *hist)
            assert np.isfinite(fixed).all()


# --- P(no flight in the horizon) -----------------------------------------------------------
def test_prob_no_flight_of_a_new_member_is_lifetimes_p_x_zero(cdnow):
    cdnow_summary = cdnow["summary"]
    m = cdnow["bgnbd"]
    for t in (4.0, 26.0, 52.0):
        got = m.prob_no_flight(t, 0, 0.0, 0.0)
        assert got == pytest.approx(m.prob_n_flights(t, 0), rel=1e-9)
    x, tx, T = (cdnow_summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    p = m.prob_no_flight(39.0, x, tx, T)
    pa = m.p_alive(x, tx, T)
    assert ((p >= 1 - pa - 1e-12) & (p <= 1 + 1e-12)).all()
    # members without a repeat purchase: P(alive) = 1, yet P(no purchase) is far from 0
    assert (pa[x == 0] == 1).all() and p[x == 0].min() > 0.5


def test_pareto_prob_no_flight_against_direct_integration(cdnow):
    from scipy import integrate

    m = cdnow["pareto"]
    r, alpha, s, beta = m.params_.to_numpy()
    for x, tx, T, t in ((0, 0.0, 30.0, 39.0), (3, 20.0, 35.0, 39.0), (20, 30.0, 31.0, 10.0)):
        A, B, k = alpha + T, beta + T, r + x

        def f(u, A=A, B=B, k=k):
            return (k / A) * (A / (A + u)) ** (k + 1) * (B / (B + u)) ** s

        quiet = 1 - integrate.quad(f, 0, t)[0]
        pa = m.p_alive(x, tx, T)
        assert m.prob_no_flight(t, x, tx, T) == pytest.approx(1 - pa + pa * quiet, rel=1e-8)


def test_discretisation_effect_on_a_sample_of_members():
    from crm_research.data.cdnow import load_cdnow_transactions

    tr = load_cdnow_transactions(sample=True)
    tab = clv.discretisation_effect(
        tr, calibration_end="1997-09-30", observation_end="1998-06-30", sample_members=1000
    )
    assert tab.attrs == {"n_members": 1000, "sampled": True}
    assert np.isfinite(tab.drop(columns="verdict").to_numpy(float)).all()
    full = clv.discretisation_effect(
        tr, calibration_end="1997-09-30", observation_end="1998-06-30", sample_members=None
    )
    assert full.attrs == {"n_members": tr["MEMBER_NO"].nunique(), "sampled": False}


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_discounted_alive_expectation_interpolation_matches_the_direct_sum(model):
    # the Chebyshev interpolant in log(alpha + T) (frequencies shared by many ages) must
    # give the direct sum over months for every history, at ordinary and extreme estimates
    from crm_research.clv import expectations as ex

    g = {"bgnbd": ex.bgnbd_alive_expectation, "mbgnbd": ex.mbgnbd_alive_expectation}[model]
    rng = np.random.default_rng(3)
    x = np.r_[np.zeros(3000), rng.integers(1, 4, 3000), rng.integers(0, 300, 500)]
    T = np.round(rng.uniform(0, 520, len(x)) * 7) / 7  # whole days, in weeks
    month = (365.25 / 12) / 7
    times = month * np.arange(1, 37)
    disc = 1.1 ** (-np.arange(1, 37) / 12)
    wts = disc - np.r_[disc[1:], 0.0]
    for params in ([0.6, 4.0, 0.5, 8.1], [0.3, 8.0, 1.7, 3.0], [2.0, 1.0, 0.2, 20.0]):
        direct = ex.discounted_alive_expectation(g, params, times, wts, x, T, nodes=0)
        fast = ex.discounted_alive_expectation(g, params, times, wts, x, T)
        # NaN exactly where the direct sum is NaN (MBG/NBD's hypergeometric term overflows
        # at the extreme estimates for a few large x at small T: not interpolated there)
        np.testing.assert_allclose(fast, direct, rtol=1e-11, atol=0, equal_nan=True)


def test_repeated_validation_calls_are_recomputed_after_a_refit(cdnow):
    # holdout predictions and tracking counts are computed once per (model, estimates,
    # summary, log): a refit of the same object on other data gives its own numbers
    from crm_research.data.cdnow import load_cdnow_transactions

    s = cdnow["summary"]
    log = load_cdnow_transactions(sample=True)
    bg = clv.BGNBD().fit(s)
    first = clv.holdout_errors(bg, s)
    assert clv.holdout_errors(bg, s) == first
    tr1 = clv.cumulative_tracking(bg, s, log, merge_same_day=True)
    bg.fit(s.iloc[: len(s) // 2])  # the same object, other estimates
    fresh = clv.BGNBD().fit(s.iloc[: len(s) // 2])
    assert clv.holdout_errors(bg, s) == clv.holdout_errors(fresh, s) != first
    tr2 = clv.cumulative_tracking(bg, s, log, merge_same_day=True)
    pd.testing.assert_series_equal(tr1["actual_cum"], tr2["actual_cum"])  # the same flights
    assert not np.allclose(tr1["expected_cum"], tr2["expected_cum"])
    other = clv.cumulative_tracking(fresh, s, log.copy(), merge_same_day=True)  # another log
    pd.testing.assert_frame_equal(tr2, other)
