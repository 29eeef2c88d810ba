"""Tests of crm_research.clv.covariates (Fader & Hardie 2007) and the simulator's effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_research import clv
from crm_research.clv import covariates as cv
from crm_research.data.simulate import SimulationParams, simulate_programme


def _design(sim) -> pd.DataFrame:
    m = sim.members.set_index("MEMBER_NO")
    return pd.DataFrame(
        {
            "female": (m["GENDER"] == "女").astype(float),
            "enrolled_since_2010": (m["FFP_DATE"].dt.year >= 2010).astype(float),
        },
        index=m.index,
    )


def _summary(sim):
    return clv.flight_summary(sim.flights, observation_end=sim.obs_end, time_unit="weeks")


@pytest.mark.parametrize("model", ["bgnbd", "pareto"])
def test_gradient_with_covariates_matches_finite_differences(model):
    sim = simulate_programme(1500, seed=5)
    s = _summary(sim)
    Z = _design(sim).reindex(s.index).to_numpy()
    g = cv._groups(*(s[c].to_numpy(float) for c in ("frequency", "recency", "T")), Z, 1 / 500)
    theta = np.r_[
        np.log([0.6, 0.01, 0.5, 0.5]),
        np.linspace(-0.3, 0.3, 2 * Z.shape[1] if model == "pareto" else 3 * Z.shape[1]),
    ]
    ll, grad = cv._loglik(model, theta, g)
    num = [
        (cv._loglik(model, theta + e, g, grad=False) - cv._loglik(model, theta - e, g, grad=False))
        / 2e-6
        for e in np.eye(len(theta)) * 1e-6
    ]
    np.testing.assert_allclose(grad, num, rtol=1e-4, atol=1e-3)


def test_irrelevant_covariate_is_not_significant_and_base_matches_plain_fit():
    sim = simulate_programme(3000, seed=11)
    s = _summary(sim)
    rng = np.random.default_rng(0)
    Z = pd.DataFrame({"coin": rng.integers(0, 2, len(s)).astype(float)}, index=s.index)
    fit = cv.fit_covariates("bgnbd", s, Z)
    assert fit.lr_test_["df"] == 3
    assert fit.lr_test_["p_value"] > 0.01
    # the model without covariates is the plain BG/NBD: same log-likelihood
    plain = clv.BGNBD().fit(s)
    assert fit.base_log_likelihood_ == pytest.approx(plain.log_likelihood_, abs=1e-3)
    assert fit.log_likelihood_ >= fit.base_log_likelihood_
    assert "do not significantly improve" in fit.text()


def test_missing_covariates_are_refused():
    sim = simulate_programme(500, seed=1)
    s = _summary(sim)
    Z = _design(sim).iloc[:-3]
    with pytest.raises(ValueError, match="missing"):
        cv.fit_covariates("bgnbd", s, Z)


def test_simulator_refuses_unknown_covariates():
    with pytest.raises(ValueError, match="unknown covariate"):
        simulate_programme(100, params=SimulationParams(covariate_effects={"shoe": {"alpha": 1}}))
    with pytest.raises(ValueError, match="not one of"):
        simulate_programme(100, params=SimulationParams(covariate_effects={"female": {"beta": 1}}))


def test_covariate_design_drops_the_most_common_level():
    d = cv.covariate_design(pd.DataFrame({"g": ["m", "m", "f"], "band": ["<35", "35-50", "<35"]}))
    assert list(d.columns) == ["g=f", "band=35-50"]


# True effects (log scale) for the recovery test, on 100,000 members: each estimated within
# 10% of the truth (standard errors 2-5% of the values), coefficients without an effect
# within 0.1 of zero.
EFFECTS = {
    "bgnbd": {
        "female": {"alpha": 0.4, "b": -0.5},
        "enrolled_since_2010": {"alpha": -0.3, "a": 0.4},
    },
    "pareto": {
        "female": {"alpha": 0.4, "beta": -0.5},
        "enrolled_since_2010": {"alpha": -0.3, "beta": 0.4},
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("model", ["bgnbd", "pareto"])
def test_covariate_effects_recovered_on_100k(model):
    sim = simulate_programme(
        100_000, seed=42, process=model, params=SimulationParams(covariate_effects=EFFECTS[model])
    )
    fit = cv.fit_covariates(model, _summary(sim), _design(sim))
    for cov in ("female", "enrolled_since_2010"):
        for par in cv.COVARIATE_PARAMS[model]:
            est = fit.params_[f"{par}:{cov}"]
            truth = EFFECTS[model][cov].get(par, 0.0)
            if truth:
                assert est == pytest.approx(truth, rel=0.10), (par, cov)
            else:
                assert abs(est) < 0.1, (par, cov)
    assert fit.lr_test_["p_value"] < 1e-10
