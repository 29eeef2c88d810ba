"""Tests of crm_research.clv.study02 / study03: the decisions, tables and sentences of
notebooks 02 and 03, on a small simulation and on CDNOW."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_research import clv
from crm_research.clv import study02, study03
from crm_research.data.cdnow import cdnow_dataset
from crm_research.data.simulate import simulate_programme


@pytest.fixture(scope="module")
def sim_ds():
    return simulate_programme(2500, seed=4).to_dataset()


@pytest.fixture(scope="module")
def fitted02(sim_ds):
    st = study02.setup(sim_ds, holdout_weeks=52)
    calib, full, has_holdout, text = study02.purchase_inputs(sim_ds, st)
    fitted, checks, fit_text = study02.fit_candidates(["bgnbd", "pareto"], calib, st, has_holdout)
    return st, calib, full, has_holdout, text, fitted, checks, fit_text


def test_setup_chooses_the_calibration_end(sim_ds):
    st = study02.setup(sim_ds, holdout_weeks=52)
    assert st.cal_end == sim_ds.obs_end - pd.Timedelta(days=364)
    assert study02.setup(sim_ds, holdout_weeks=0).cal_end == sim_ds.obs_end
    assert study02.setup(sim_ds, calibration_end="2013-01-01").cal_end == pd.Timestamp("2013-01-01")
    assert "holdout 364 days" in st.text() and st.counting_rule == "flights"
    cd = study02.setup(cdnow_dataset())
    assert cd.cal_end == pd.Timestamp("1997-09-30") and cd.merge_same_day


def test_inputs_candidates_recovery_predictions_metrics(sim_ds, fitted02):
    st, calib, full, has_holdout, text, fitted, checks, fit_text = fitted02
    assert has_holdout and "members in the calibration period" in text
    assert set(fitted) == {"BG/NBD", "Pareto/NBD"} and len(checks) == 2
    assert "verdict" in fit_text
    rec = study02.parameter_recovery(fitted, st)
    assert rec.attrs["model"] == "BG/NBD" and {"truth", "error_pct"} <= set(rec.columns)
    by_freq, table, errors = study02.holdout_table(fitted, calib, "BG/NBD", 5)
    assert "expected (BG/NBD)" in table.columns and "expected (Pareto/NBD)" in table.columns
    assert set(errors) == set(fitted)
    pred, ptext = study02.member_predictions(
        fitted["BG/NBD"], fitted["BG/NBD"], full, calib, st, has_holdout, truth=sim_ds.truth
    )
    assert len(pred) == len(full) and pred["p_alive"].between(0, 1).all()
    assert "simulated truth" in ptext
    comparison = clv.compare_models(fitted, calib)
    m = study02.metrics(
        st,
        calib,
        fitted,
        fitted["BG/NBD"],
        "BG/NBD",
        {"rule": "x"},
        comparison,
        pred,
        errors,
        {},
        rec,
        checks,
    )
    assert m["bgnbd_r"] == pytest.approx(fitted["BG/NBD"].params_["r"])
    assert m["max_abs_parameter_error_pct"] == pytest.approx(rec["error_pct"].abs().max())


def test_failed_candidate_is_reported_not_silent(sim_ds, fitted02):
    st, calib = fitted02[0], fitted02[1]
    empty = calib.assign(frequency=0, recency=0.0)
    with pytest.raises(RuntimeError, match="no purchase model"):
        study02.fit_candidates(["bgnbd"], empty, st, True)


def test_member_covariates_present_and_absent(sim_ds, fitted02):
    full = fitted02[2]
    design, text = study02.member_covariates(sim_ds, full.index)
    assert "age band, gender, enrolment year, city tier" in text
    assert "tier at enrolment (not in the data" in text
    assert not any(c.startswith("FFP_TIER") for c in design.columns)
    assert design.notna().all().all() and len(design) == len(full)
    assert set(np.unique(design.to_numpy())) <= {0.0, 1.0}
    none, why = study02.member_covariates(cdnow_dataset(), full.index)
    assert none is None and why.startswith("Skipped")
    fit, checks, ftext = study02.covariate_fit(sim_ds, full, "BG/NBD")
    assert fit.lr_test_["df"] == 3 * design.shape[1] and "likelihood ratio" in ftext
    # the covariate fit carries its own verdict into the run's model checks
    assert [c["model"] for c in checks] == ["BG/NBD with covariates"]
    assert checks[0]["status"] == fit.verdict_.status == "converged"
    assert checks[0]["context"] == "notebook 02: covariates (description)"
    assert fit.verdict_.sentence() in ftext


def test_covariate_fit_that_fails_is_a_failed_check(sim_ds, fitted02, monkeypatch):
    def boom(*args, **kwargs):
        raise study02.FitError("no convergence (test)")

    monkeypatch.setattr(study02, "fit_covariates", boom)
    fit, checks, text = study02.covariate_fit(sim_ds, fitted02[2], "BG/NBD", sample_members=300)
    assert fit is None and "could not be fitted" in text
    assert [c["status"] for c in checks] == ["failed"]
    assert "no convergence (test)" in checks[0]["detail"]


def test_approximation_study_skips_without_truth():
    out, why = study02.approximation_study(cdnow_dataset(), study02.setup(cdnow_dataset()))
    assert out is None and why.startswith("Skipped")


def test_tracking_text():
    t = pd.DataFrame(
        {"expected_cum": [90.0], "actual_cum": [100.0], "period_end": [pd.Timestamp("2014-03-31")]}
    )
    assert study02.tracking_text({"BG/NBD": t}) == (
        "BG/NBD: expected 90 vs actual 100 cumulative repeat flights at 2014-03-31 (-10.00%)"
    )


def test_study03_tables_and_sentences(sim_ds, fitted02):
    full = fitted02[2]
    purchase = fitted02[5]["BG/NBD"]
    purchase.meta_ = {
        "time_unit": "weeks",
        "counting_rule": "flights",
        "calibration_end": "2014-03-31",
        "selection": {"rule": "r", "reason": "why"},
        "holdout_cumulative_error": 0.05,
    }
    summary, has_revenue, text = study03.inputs(sim_ds, purchase)
    assert has_revenue and "members: " in text and len(summary) == len(full)
    assert "chosen by notebook 02: r (why)" in study03.purchase_text(purchase)
    choice = clv.choose_spend_model(summary)
    stext, tables = study03.spend_report(choice, sim_ds, "yuan")
    assert stext.startswith("Spend model used") and any("true values" in t for t in tables)
    settings = {"horizon_months": 12, "discount_rate_annual": 0.1, "margin": 0.1}
    values = clv.customer_lifetime_value(purchase, choice.model, summary, **settings)
    equity = float(values["clv"].sum())
    ctext = study03.clv_text(
        values, purchase, choice.model, currency="yuan", truth=sim_ds.truth, **settings
    )
    assert f"{equity:,.0f} yuan" in ctext and "correlation of predicted CLV" in ctext
    conc, curves, vtext = study03.value_concentration(values, sim_ds.flights, 0.2)
    assert set(curves) == {"predicted CLV", "past revenue"} and "Gini of past revenue" in vtext
    seg = study03.bootstrap_segments(sim_ds, summary)
    assert seg.str.startswith("tier ").all()
    boot = clv.bootstrap_clv(
        summary, purchase, choice.model, n_bootstrap=10, seed=1, segments=seg, **settings
    )
    iv = clv.equity_interval(boot, equity)
    table = study03.segment_table(values, seg, boot, equity, iv)
    assert table["clv_total"].sum() == pytest.approx(equity)
    assert table["share_of_equity"].sum() == pytest.approx(1.0)
    assert {"lower_95", "upper_95"} <= set(table.columns)
    assert list(study03.parameter_intervals(boot).columns) == ["lower_95", "upper_95"]
    bands = clv.equity_bands(iv, 0.05, currency="yuan")
    eq = study03.equity_summary(
        "synthetic", values, summary, equity=equity, currency="yuan", purchase=purchase,
        spend=choice.model, spend_choice=choice, conc=conc, top_share=0.2, bands=bands, **settings,
    )  # fmt: skip
    assert eq["customer_equity"] == equity and eq["holdout_cumulative_error"] == 0.05
    assert study03.equity_summary("x", None, summary, equity=None, currency="", purchase=None,
                                  spend=None, spend_choice=None, conc=None, top_share=0.2,
                                  bands=None, **settings) == {"source": "x", "computed": False}  # fmt: skip
    m = study03.metrics(eq, None, choice, boot, values, [])
    assert len(m["model_checks"]) == len(choice.verdicts) + 1 and "mean_clv" in m
    assert list(study03.clv_table(values, summary).columns)[-1] == "monetary_value"
    # CDNOW: no tiers, frequency bands
    assert study03.currency_of("cdnow") == "USD"


@pytest.mark.slow  # the Pareto/NBD with covariates runs group by group: about 30 s
def test_covariate_fit_on_a_sample(sim_ds, fitted02):
    fit, _, text = study02.covariate_fit(sim_ds, fitted02[2], "Pareto/NBD", sample_members=800)
    assert fit.n_obs_ == 800 and fit.model == "pareto"
    assert "random sample of 800 members" in text


def test_study03_spend_model_bootstrap_study_and_figures(sim_ds, fitted02, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from crm_research.plots import clv as pclv

    purchase = fitted02[5]["BG/NBD"]
    purchase.meta_ = {"time_unit": "weeks", "counting_rule": "flights",
                      "holdout_cumulative_error": 0.05}  # fmt: skip
    summary, has_revenue, _ = study03.inputs(sim_ds, purchase)
    indep = clv.independence_check(summary, threshold=0.2)
    assert study03.independence_text(indep).startswith(f"members used: {indep.n:,}; ")
    assert indep.verdict.upper() in study03.independence_text(indep)
    # no revenue, or no usable fit: no spend model, and the text says why
    assert study03.spend_model(
        sim_ds, summary, has_revenue=False, threshold=0.2, currency="yuan"
    ) == (None, "No spend model: the data have no revenue.", {})

    def boom(*args, **kwargs):
        raise study03.FitError("both fits failed (test)")

    with monkeypatch.context() as m:
        m.setattr(study03, "choose_spend_model", boom)
        choice, text, tables = study03.spend_model(
            sim_ds, summary, has_revenue=True, threshold=0.2, currency="yuan"
        )
    assert choice is None and text == "No spend model: both fits failed (test)" and not tables
    choice, text, tables = study03.spend_model(
        sim_ds, summary, has_revenue=True, threshold=0.2, currency="yuan"
    )
    want = clv.choose_spend_model(summary, threshold=0.2)
    assert choice.model.name == want.model.name and choice.reason == want.reason
    report_text, report_tables = study03.spend_report(choice, sim_ds, "yuan")
    assert text == report_text and list(tables) == list(report_tables)
    settings = {"horizon_months": 12, "discount_rate_annual": 0.1, "margin": 0.1}
    values = clv.customer_lifetime_value(purchase, choice.model, summary, **settings)
    equity = float(values["clv"].sum())
    bs = study03.bootstrap_study(
        sim_ds, summary, purchase, choice.model, values, n_bootstrap=10, seed=1, **settings
    )
    assert bs["equity"] == pytest.approx(equity)
    boot = clv.bootstrap_clv(summary, purchase, choice.model, n_bootstrap=10, seed=1,
                             segments=bs["segments"], **settings)  # fmt: skip
    np.testing.assert_allclose(bs["boot"]["equity"], boot["equity"])
    assert bs["interval"] == clv.equity_interval(boot, equity)
    assert bs["bands"]["text"] in bs["text"] and f"{equity:,.0f} yuan" in bs["text"]
    seg_table = list(bs["tables"].values())[-1]
    assert seg_table["clv_total"].sum() == pytest.approx(equity, rel=1e-4)
    assert len(bs["tables"]) == (2 if bs["interval"]["lower"] is not None else 1)
    # equity_summary computes the equity from the values when it is not given
    eq = study03.equity_summary("synthetic", values, summary, currency="yuan", purchase=purchase,
                                spend=choice.model, spend_choice=choice, conc={"gini": 0.5,
                                "top_value_share": 0.6}, top_share=0.2, bands=bs["bands"],
                                **settings)  # fmt: skip
    assert eq["customer_equity"] == pytest.approx(equity)
    assert eq["equity_holdout_text"] == bs["bands"]["holdout_band"]["text"]
    ax = pclv.plot_equity_bootstrap(bs["boot"], equity, bs["interval"], currency="yuan")
    assert ax.get_xlabel() == "customer equity (yuan)"
    no_iv = pclv.plot_equity_bootstrap(bs["boot"], equity, {"lower": None}, currency="yuan")
    assert len(no_iv.lines) == 1  # the estimate only, no interval lines
    _, curves, _ = study03.value_concentration(values, sim_ds.flights, 0.2)
    fig = pclv.plot_clv_and_concentration(values["clv"], curves, currency="yuan")
    assert len(fig.axes) == 2
    plt.close("all")


def test_study02_comparison_matrices_and_sentences(sim_ds, fitted02):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from crm_research.plots import clv as pclv

    st, calib, full, has_holdout, _, fitted = fitted02[:6]
    comparison = study02.comparison_table(fitted, calib, sim_ds, st, has_holdout)
    want = clv.compare_models(fitted, calib, sim_ds.flights, merge_same_day=st.merge_same_day)
    pd.testing.assert_frame_equal(comparison.drop(columns="verdict"), want)
    assert comparison["verdict"].to_dict() == {n: m.verdict_.status for n, m in fitted.items()}
    # without a holdout: no flight log passed, so no cumulative holdout columns
    no_holdout = study02.comparison_table(fitted, calib, sim_ds, st, False)
    assert set(no_holdout.columns) < set(comparison.columns)
    assert study02.selection_text("BG/NBD", {"rule": "lowest BIC", "reason": "no holdout"}) == (
        "purchase model of this run: BG/NBD (lowest BIC: no holdout)"
    )
    final = fitted["BG/NBD"]
    expected, p_alive, at = study02.model_matrices(final, full, st, n_grid=10)
    matrix_T, max_f = study02.matrix_grid(full)
    assert at == f"BG/NBD, T = {matrix_T:.0f} weeks"
    assert expected.shape == p_alive.shape and expected.columns.max() == max_f
    assert p_alive.to_numpy().min() >= 0 and p_alive.to_numpy().max() <= 1
    fig = pclv.plot_frequency_recency_matrices(expected, p_alive, at=at)
    titles = [a.get_title() for a in fig.axes if a.get_title()]
    assert titles == [
        f"Expected flights in the next year ({at})",
        f"Probability of being alive ({at})",
    ]
    plt.close("all")
    assert study02.saved_model_text("/x/purchase_model.json", final, -0.0123) == (
        "wrote purchase_model.json: BG/NBD, holdout cumulative error -1.23%"
    )
    assert study02.saved_model_text("p.json", final, None).endswith("not available (no holdout)")
    paths = {"purchase_model": "/x/purchase_model.json",
             "purchase_model_calibration": "/x/purchase_model_calibration.json"}  # fmt: skip
    assert study02.saved_model_text(paths, final, -0.0123).splitlines() == [
        "wrote purchase_model.json: BG/NBD, holdout cumulative error -1.23%",
        "wrote purchase_model_calibration.json: BG/NBD fitted on the calibration period (the "
        "holdout predictions of purchase_predictions.parquet)",
    ]
