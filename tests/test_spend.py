"""Tests of crm_research.clv.spend: independence check, spend models, choice, verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_research import clv
from crm_research.clv import spend as sp
from crm_research.data.schema import DataValidationError
from crm_research.data.simulate import SimulationParams, simulate_programme


def _summary(sim):
    return clv.flight_summary(sim.flights, observation_end=sim.obs_end, time_unit="weeks")


def _params(elasticity: float) -> SimulationParams:
    # noisier single fares (gg_p = 4) and less spread of members' means (gg_q = 8) than the
    # default, mean fare about 950 yuan: the shrinkage target matters, as in airline data
    return SimulationParams(
        spend_frequency_elasticity=elasticity, gg_p=4.0, gg_q=8.0, gg_gamma=950 * 7 / 4
    )


@pytest.fixture(scope="module")
def dependent():
    sim = simulate_programme(3_000, seed=1, params=_params(-0.5))
    return sim, _summary(sim)


@pytest.fixture(scope="module")
def independent():
    sim = simulate_programme(3_000, seed=1, params=_params(0.0))
    return sim, _summary(sim)


def _errors(sim, s, model):
    """Spend-per-flight error against the truth: mean absolute (weighted by the true
    future flight rate of the members alive) and relative error of the value rate."""
    t = sim.truth.set_index("MEMBER_NO").reindex(s.index)
    pred = clv.spend_per_flight(model, s)
    w = (t["lam"] * t["alive"]).to_numpy()
    truth = t["mean_revenue"].to_numpy()
    mae = float(np.sum(w * np.abs(pred - truth)) / w.sum())
    total = float(np.sum(w * pred) / np.sum(w * truth) - 1)
    return mae, total


# --- the independence check ---------------------------------------------------------------
def test_check_on_hand_made_data():
    x = np.arange(1, 41)
    s = pd.DataFrame({"frequency": x, "monetary_value": 1000.0 / x, "n_monetary": x})
    c = clv.independence_check(s)
    assert c.spearman == pytest.approx(-1.0) and c.verdict == "dependent"
    rng = np.random.default_rng(0)
    s2 = s.assign(monetary_value=rng.permutation(s["monetary_value"].to_numpy()))
    c2 = clv.independence_check(s2)
    assert c2.lower < c2.spearman < c2.upper
    # small samples: the interval is wide, the check keeps Gamma-Gamma
    c3 = clv.independence_check(s.iloc[:6].assign(monetary_value=[5.0, 3, 4, 1, 0.5, 2]))
    assert abs(c3.spearman) > 0.2 and c3.lower < 0 < c3.upper and c3.verdict == "independent"
    d = c.to_dict()
    assert d["verdict"] == "dependent" and "threshold" in d["sentence"]


def test_check_interval_is_bonett_wright():
    rng = np.random.default_rng(1)
    x = rng.poisson(5, 400) + 1
    m = np.exp(-0.3 * np.log(x) + rng.normal(0, 0.5, 400))
    c = clv.independence_check(pd.DataFrame({"frequency": x, "monetary_value": m}), level=0.9)
    z, n = np.arctanh(c.spearman), 400
    half = 1.6448536269514722 * np.sqrt((1 + c.spearman**2 / 2) / (n - 3))
    assert c.lower == pytest.approx(np.tanh(z - half)) and c.upper == pytest.approx(
        np.tanh(z + half)
    )


def test_cdnow_keeps_gamma_gamma():
    """On CDNOW, the paper's data, spend is weakly related to frequency: Gamma-Gamma stays."""
    from crm_research.data.cdnow import load_cdnow_transactions

    tr = load_cdnow_transactions(sample=True)
    s = clv.flight_summary(tr, observation_end="1998-06-30", time_unit="weeks", merge_same_day=True)
    c = clv.independence_check(s)
    assert 0.1 < c.spearman < 0.3 and c.verdict == "independent"
    assert isinstance(clv.choose_spend_model(s).model, clv.GammaGamma)


def test_check_refuses_bad_input():
    with pytest.raises(DataValidationError, match="REVENUE"):
        clv.independence_check(pd.DataFrame({"frequency": [1, 2]}))
    with pytest.raises(DataValidationError, match="needs 5"):
        clv.independence_check(pd.DataFrame({"frequency": [1, 2], "monetary_value": [1.0, 2.0]}))
    with pytest.raises(ValueError, match="threshold"):
        clv.independence_check(
            pd.DataFrame({"frequency": [1], "monetary_value": [1.0]}), threshold=1
        )


# --- the log-spend regression ---------------------------------------------------------------
def test_regression_recovers_its_own_parameters():
    rng = np.random.default_rng(2)
    n_members = 4000
    T = rng.uniform(50, 100, n_members)
    lam = rng.gamma(1.0, 0.1, n_members)
    x = rng.poisson(lam * T)
    r_, a_ = sp._nbd_rate(x.astype(float), T, np.ones(n_members))
    z = np.log((r_ + x) / (a_ + T))
    eta = 6.0 - 0.4 * z + rng.normal(0, 0.3, n_members)  # log true mean fare
    s_cv = 0.6  # single fares: lognormal with coefficient of variation 0.6
    sig = np.sqrt(np.log(1 + s_cv**2))
    m = np.array(
        [
            np.exp(e - sig**2 / 2 + sig * rng.standard_normal(k)).mean() if k else np.nan
            for e, k in zip(eta, x, strict=True)
        ]
    )
    s = pd.DataFrame({"frequency": x, "T": T, "monetary_value": m, "n_monetary": x})
    reg = clv.LogSpendRegression().fit(s)
    p = reg.params_
    assert reg.verdict_.status == "converged"
    assert p["beta1"] == pytest.approx(-0.4, abs=0.05)
    assert p["tau"] == pytest.approx(0.3, abs=0.05)
    assert p["s"] == pytest.approx(s_cv, abs=0.1)
    assert (reg.summary["se"] > 0).all()
    # shrinkage: a member with many flights keeps about their own mean, members without
    # repeat flights get the line
    pred = reg.predict(s)
    many = x >= 20
    assert np.median(np.abs(pred[many] / m[many] - 1)) < 0.1
    none = x == 0
    np.testing.assert_allclose(
        pred[none], np.exp(p["beta0"] + p["beta1"] * z[none] + p["tau"] ** 2 / 2)
    )


def test_regression_refuses_too_few_members():
    s = pd.DataFrame({"frequency": [1, 2, 0], "T": [5.0, 6, 7], "monetary_value": [1.0, 2, np.nan]})
    with pytest.raises(clv.FitError, match="at least 5"):
        clv.LogSpendRegression().fit(s)
    with pytest.raises(DataValidationError, match="positive"):
        clv.LogSpendRegression().fit(s.assign(monetary_value=[1.0, -2, np.nan]))


# --- choice on the simulator ----------------------------------------------------------------
def test_dependent_spend_chooses_the_regression_and_beats_gamma_gamma(dependent):
    sim, s = dependent
    choice = clv.choose_spend_model(s, context="test")
    assert choice.check.verdict == "dependent" and choice.check.spearman < -0.2
    assert isinstance(choice.model, clv.LogSpendRegression)
    assert choice.model.params_["beta1"] < 0
    assert "independence assumption fails" in choice.reason
    gg = choice.fits["gamma_gamma"]
    assert gg.verdict_.usable  # Gamma-Gamma fits, it is just the wrong model here
    mae_reg, tot_reg = _errors(sim, s, choice.model)
    mae_gg, tot_gg = _errors(sim, s, gg)
    assert mae_reg < 0.95 * mae_gg
    assert abs(tot_reg) < 0.5 * abs(tot_gg)
    assert [v.context for v in choice.verdicts] == [
        "test: spend model used",
        "test: fitted for comparison, not used",
    ]


def test_independent_spend_keeps_gamma_gamma(independent):
    sim, s = independent
    choice = clv.choose_spend_model(s)
    assert choice.check.verdict == "independent"
    assert isinstance(choice.model, clv.GammaGamma) and choice.model.verdict_.ok
    assert choice.reason.startswith("Gamma-Gamma, because")
    # and the regression finds no slope to speak of
    assert abs(choice.fits["regression"].params_["beta1"]) < 0.05
    mae_gg, tot_gg = _errors(sim, s, choice.model)
    assert abs(tot_gg) < 0.02


def test_clv_uses_the_chosen_spend_model(dependent):
    _, s = dependent
    choice = clv.choose_spend_model(s)
    bg = clv.BGNBD().fit(s)
    out = clv.customer_lifetime_value(bg, choice.model, s, margin=0.2)
    np.testing.assert_allclose(out["expected_revenue_per_flight"], choice.model.predict(s))
    assert out.attrs["n_nonfinite"] == 0


# --- Gamma-Gamma verdicts ---------------------------------------------------------------------
def test_gamma_gamma_verdict_on_a_degenerate_fit():
    # every member pays exactly the same on every flight: no spread within or between
    # members, the model cannot be identified
    x = np.tile(np.arange(1, 11), 20)
    s = pd.DataFrame({"frequency": x, "monetary_value": np.full(len(x), 500.0)})
    gg = clv.fit_gamma_gamma(s, context="degenerate")
    assert gg.verdict_.status in ("at_bound", "failed") and not gg.verdict_.usable
    assert gg.verdict_.context == "degenerate" and gg.verdict_.detail


def test_gamma_gamma_at_bound_when_members_do_not_differ():
    """Everyone has the same mean fare: q and gamma run off together (gamma in the tens
    of thousands, as on real heavy-flyer rows), and the verdict says so."""
    rng = np.random.default_rng(0)
    x = rng.integers(1, 30, 200)
    m = np.array([rng.gamma(4, 500 / 4, k).mean() for k in x])
    gg = clv.fit_gamma_gamma(pd.DataFrame({"frequency": x, "monetary_value": m}))
    assert gg.verdict_.status == "at_bound" and set(gg.verdict_.parameters) == {"q", "gamma"}
    assert gg.params_["gamma"] > 1e4 and "not identifiable" in gg.verdict_.sentence()


def test_gamma_gamma_verdict_converged(independent):
    _, s = independent
    gg = clv.fit_gamma_gamma(s)
    assert gg.verdict_.status == "converged"
    pen = clv.fit_gamma_gamma(s, penalizer=1e-6)
    assert pen.verdict_.status == "penalized" and pen.verdict_.penalizer == 1e-6
