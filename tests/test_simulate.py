"""The simulator against the closed-form moments of the BG/NBD and Pareto/NBD models."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from crm_research.data.simulate import SimulationParams, simulate_programme


def bgnbd_expected(t, r, alpha, a, b):
    """E[X(t)], repeat transactions in (0, t] (Fader, Hardie & Lee 2005, eq. 7)."""
    z = t / (alpha + t)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))


def pareto_expected(t, r, alpha, s, beta):
    """E[X(t)] of the Pareto/NBD (Schmittlein, Morrison & Colombo 1987)."""
    return r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))


def repeat_flights_within(sim, weeks):
    """Repeat flights within `weeks` of each member's first flight, for members observed that long."""
    f = sim.flights.merge(sim.truth[["MEMBER_NO", "first_flight_date"]], on="MEMBER_NO")
    elapsed = (f["FLIGHT_DATE"] - f["first_flight_date"]).dt.days
    observed = sim.truth["first_flight_date"] <= sim.obs_end - pd.Timedelta(days=weeks * 7)
    ids = sim.truth.loc[observed, "MEMBER_NO"]
    inside = f[(elapsed <= weeks * 7) & f["MEMBER_NO"].isin(ids)]
    counts = inside.groupby("MEMBER_NO").size().reindex(ids, fill_value=0) - 1
    return counts


@pytest.mark.parametrize("weeks", [26, 104])
def test_bgnbd_mean_repeat_flights_match_formula(weeks):
    params = SimulationParams(r=0.7, alpha=5.0, a=1.8, b=6.0)
    sim = simulate_programme(40_000, seed=7, params=params)
    x = repeat_flights_within(sim, weeks)
    expected = bgnbd_expected(weeks, params.r, params.alpha, params.a, params.b)
    se = x.std() / np.sqrt(len(x))
    assert abs(x.mean() - expected) < 4 * se + 0.01 * expected, (x.mean(), expected)


def test_pareto_mean_repeat_flights_match_formula():
    params = SimulationParams(r=0.7, alpha=5.0, s=1.5, beta=30.0)
    sim = simulate_programme(40_000, seed=11, process="pareto", params=params)
    x = repeat_flights_within(sim, 52)
    expected = pareto_expected(52, params.r, params.alpha, params.s, params.beta)
    se = x.std() / np.sqrt(len(x))
    assert abs(x.mean() - expected) < 4 * se + 0.01 * expected, (x.mean(), expected)


def test_latent_traits_follow_their_distributions():
    p = SimulationParams()
    sim = simulate_programme(50_000, seed=3, params=p)
    t = sim.truth
    assert t["lam"].mean() == pytest.approx(p.r / p.alpha, rel=0.03)
    assert t["p"].mean() == pytest.approx(p.a / (p.a + p.b), rel=0.03)
    assert t["nu"].mean() == pytest.approx(p.gg_q / p.gg_gamma, rel=0.03)
    # revenue per flight: E[z | nu] = gg_p / nu
    f = sim.flights.merge(t[["MEMBER_NO", "mean_revenue"]], on="MEMBER_NO")
    ratio = f["REVENUE"].sum() / f["mean_revenue"].sum()
    assert ratio == pytest.approx(1.0, rel=0.02)


def test_dropout_happens_right_after_the_last_flight_under_bgnbd():
    sim = simulate_programme(5_000, seed=5)
    t = sim.truth
    dead = t[~t["alive"]]
    last = sim.flights.groupby("MEMBER_NO")["FLIGHT_DATE"].max()
    assert (dead["death_date"].to_numpy() == last.loc[dead["MEMBER_NO"]].to_numpy()).all()
    assert (t.loc[t["alive"], "death_date"].dropna() > sim.obs_end).all()
    # every dead member made at least one repeat flight (BG/NBD: dropout only after a repeat)
    assert (dead["n_flights"] >= 2).all()


def test_deterministic_from_seed_and_different_across_seeds():
    a = simulate_programme(2_000, seed=1)
    b = simulate_programme(2_000, seed=1)
    c = simulate_programme(2_000, seed=2)
    pd.testing.assert_frame_equal(a.flights, b.flights)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not a.flights["REVENUE"].equals(c.flights["REVENUE"])


def test_tables_are_consistent():
    sim = simulate_programme(3_000, seed=9)
    f, m = sim.flights, sim.members
    assert len(m) == 3_000 and m["MEMBER_NO"].is_unique
    assert f["FLIGHT_DATE"].max() <= sim.obs_end
    enrol = f["MEMBER_NO"].map(m.set_index("MEMBER_NO")["FFP_DATE"])
    assert (f["FLIGHT_DATE"] >= enrol).all()
    assert f["DISCOUNT"].between(0.14, 1.5).all()
    assert (f["SEG_KM"] > 0).all() and (f["REVENUE"] > 0).all()
    assert set(m["FFP_TIER"]) <= {4, 5, 6}
    assert set(m["GENDER"]) <= {"男", "女"}
    assert (sim.complaints["COMPLAINT_DATE"] <= sim.obs_end).all()


def test_complaints_mark_members_about_to_drop_out():
    sim = simulate_programme(20_000, seed=4)
    t = sim.truth.set_index("MEMBER_NO")
    complained = t.index.isin(sim.complaints["MEMBER_NO"])
    # members who complained are more often dead at the end: churn has a signal to find
    assert (~t["alive"][complained]).mean() > (~t["alive"][~complained]).mean() + 0.05


def test_bad_arguments():
    with pytest.raises(ValueError, match="process"):
        simulate_programme(10, process="weibull")
    with pytest.raises(ValueError, match="n_members"):
        simulate_programme(0)


def test_spend_falling_with_frequency_changes_only_the_spend():
    """The option changes each member's mean fare by (lam / ref)^e and nothing else."""
    base = simulate_programme(2_000, seed=5)
    P = SimulationParams(spend_frequency_elasticity=-0.5)
    dep = simulate_programme(2_000, seed=5, params=P)
    pd.testing.assert_series_equal(base.flights["FLIGHT_DATE"], dep.flights["FLIGHT_DATE"])
    np.testing.assert_allclose(dep.truth["lam"], base.truth["lam"])
    rel = np.maximum(base.truth["lam"], P.spend_lam_ref / 20) / P.spend_lam_ref
    np.testing.assert_allclose(dep.truth["mean_revenue"], base.truth["mean_revenue"] * rel**-0.5)
    rho = dep.truth[["lam", "mean_revenue"]].corr(method="spearman").iloc[0, 1]
    assert rho < -0.3
    rho0 = base.truth[["lam", "mean_revenue"]].corr(method="spearman").iloc[0, 1]
    assert abs(rho0) < 0.05
    with pytest.raises(ValueError, match="spend_lam_ref"):
        simulate_programme(
            10, params=SimulationParams(spend_frequency_elasticity=-1, spend_lam_ref=0)
        )
