"""The fit ladder, the verdict of a degenerate fit and the choice of the purchase model."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from crm_research import clv
from crm_research.clv.verdict import FitVerdict
from crm_research.data.heavyflyers import heavy_flyer_snapshot


@pytest.fixture(scope="module")
def nobody_stops():
    """Hand-made degenerate data: everyone flew at T (t_x = T), nobody ever stops flying."""
    rng = np.random.default_rng(0)
    T = rng.uniform(20, 50, 500)
    return rng.poisson(5, 500) + 1, T, T


@pytest.mark.parametrize("key", ["bgnbd", "mbgnbd", "pareto"])
def test_degenerate_data_run_to_a_bound_at_every_rung(nobody_stops, key):
    x, tx, T = nobody_stops
    m = clv.fit_ladder(key, x, tx, T, context="test")
    assert m.verdict_.status == "at_bound" and not m.verdict_.usable
    assert m.verdict_.context == "test"
    assert "no penalizer up to 0.1" in m.verdict_.detail
    assert m.verdict_.parameters  # names the parameter(s) at the bound
    assert [s["penalizer"] for s in m.ladder_] == [0.0, 0.001, 0.01, 0.1]  # each step recorded
    # the dropout parameters are the ones that run off: nobody is seen to stop
    assert set(m.verdict_.parameters) <= {"a", "b", "s", "beta"}


def test_clean_fit_converges_without_penalty():
    from crm_research.data.simulate import simulate_programme

    sim = simulate_programme(n_members=1500, seed=2)
    s = clv.flight_summary(sim.flights, observation_end=sim.obs_end)
    m = clv.fit_ladder("bgnbd", s)
    assert m.verdict_.status == "converged" and m.penalizer == 0 and len(m.ladder_) == 1


def test_heavy_flyers_need_the_ladder_and_say_why():
    """Textbook-like rows: some model runs to a bound and is refitted with a penalizer."""
    s = clv.summary_from_snapshot(heavy_flyer_snapshot(1500, seed=2))
    m = clv.fit_ladder("mbgnbd", s)
    assert m.verdict_.status == "penalized" and m.verdict_.penalizer > 0
    assert "ran to a bound" in m.verdict_.detail  # why the penalty was needed
    assert m.ladder_[0]["status"] == "at_bound"


def _stub(name, status, bic, penalizer=0.0):
    v = FitVerdict(name, status, penalizer=penalizer)
    return SimpleNamespace(name=name, verdict_=v, bic_=bic)


def test_auto_never_picks_a_model_at_a_bound():
    fitted = {
        "BG/NBD": _stub("BG/NBD", "converged", 120.0),
        "Pareto/NBD": _stub("Pareto/NBD", "at_bound", 100.0),  # best BIC, but at a bound
        "MBG/NBD": _stub("MBG/NBD", "penalized", 110.0, 0.001),
    }
    comp = pd.DataFrame(index=list(fitted))
    name, sel = clv.select_purchase_model(fitted, comp, "auto")
    assert name == "MBG/NBD" and "BIC" in sel["rule"] and "Pareto/NBD (at_bound)" in sel["reason"]
    # with a holdout the holdout error decides, whatever the BIC
    comp["cumulative_error_pct_at_end"] = [1.0, 0.1, -5.0]
    name, sel = clv.select_purchase_model(fitted, comp, "auto")
    assert name == "BG/NBD" and "holdout" in sel["rule"]
    assert sel["candidates"]["MBG/NBD"]["holdout_error_pct"] == 5.0
    # a named model is taken when usable, refused when not
    assert clv.select_purchase_model(fitted, comp, "mbgnbd")[0] == "MBG/NBD"
    with pytest.raises(clv.FitError, match="at a bound"):
        clv.select_purchase_model(fitted, comp, "pareto")
    with pytest.raises(ValueError, match="purchase_model must be one of"):
        clv.select_purchase_model(fitted, comp, "best")
    with pytest.raises(clv.FitError, match="no purchase model has a usable fit"):
        clv.select_purchase_model({"Pareto/NBD": fitted["Pareto/NBD"]}, comp, "auto")


def test_holdout_cumulative_error_is_a_fraction():
    comp = pd.DataFrame({"cumulative_error_pct_at_end": [-2.5]}, index=["BG/NBD"])
    assert clv.holdout_cumulative_error(comp, "BG/NBD") == pytest.approx(-0.025)
    assert clv.holdout_cumulative_error(pd.DataFrame(index=["BG/NBD"]), "BG/NBD") is None


def test_verdict_table():
    t = clv.verdict_table([FitVerdict("BG/NBD", "at_bound", parameters=("b",))])
    assert t.loc[0, "parameters at a bound"] == "b" and "b at a bound" in t.loc[0, "verdict"]
