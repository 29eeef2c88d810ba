"""Tests of crm_research.clv.likelihoods: our log-likelihoods against lifetimes', their
gradients against finite differences, and the published CDNOW values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from scipy.special import hyp2f1

from crm_research import clv
from crm_research._compat import import_lifetimes, lifetimes_guard
from crm_research.clv import likelihoods as lk
from crm_research.clv.lifetimes_patches import _fitter_class
from crm_research.clv.replicate import CDNOW_CALIBRATION_END, CDNOW_OBSERVATION_END

# Published log-likelihoods on the CDNOW 1/10 sample, weeks 1-39 (2,357 customers):
# BG/NBD -9582.429 and Pareto/NBD -9594.976: Fader, Hardie & Lee (2005a), "Counting your
# customers the easy way", Marketing Science 24(2), section 4; the same values to three
# decimals in CLVTools' correctness tests (tests/testthat/test_correctness_bgnbd.R,
# test_correctness_pnbd.R). Gamma-Gamma -4055.9177 on the 946 repeat buyers: Fader &
# Hardie (2013), "The Gamma-Gamma model of monetary value", note 025, and CLVTools'
# test_correctness_gg.R.
CDNOW_LL = {"bgnbd": -9582.429, "pareto": -9594.976, "gamma_gamma": -4055.9177}
PUBLISHED_PARAMS = {
    "bgnbd": [0.2426, 4.4137, 0.7930, 2.4262],
    "pareto": [0.5533, 10.5781, 0.6061, 11.6687],
    "mbgnbd": [0.5, 6.0, 0.9, 3.0],  # no published CDNOW value: any positive point
    "gamma_gamma": [6.25, 3.74, 15.44],
}
FUNCS = {
    "bgnbd": (lk.bgnbd_loglik, "BetaGeoFitter"),
    "mbgnbd": (lk.mbgnbd_loglik, "ModifiedBetaGeoFitter"),
    "pareto": (lk.pareto_loglik, "ParetoNBDFitter"),
}


@pytest.fixture(scope="module")
def cdnow():
    from crm_research.data.cdnow import load_cdnow_transactions

    return clv.flight_summary(
        load_cdnow_transactions(sample=True),
        calibration_end=CDNOW_CALIBRATION_END,
        observation_end=CDNOW_OBSERVATION_END,
        time_unit="weeks",
        merge_same_day=True,
        source="CDNOW",
    )


@pytest.fixture(scope="module")
def sim_summary():
    from crm_research.data.simulate import simulate_programme

    ds = simulate_programme(4000, seed=3)
    return clv.flight_summary(ds.flights, observation_end=ds.obs_end, time_unit="weeks")


def _lifetimes_ll(fitter: str, log_params, x, tx, T) -> float:
    cls = (
        _fitter_class(fitter)
        if fitter == "ParetoNBDFitter"
        else getattr(import_lifetimes(), fitter)
    )
    with lifetimes_guard(), np.errstate(all="ignore"):
        if fitter == "ParetoNBDFitter":
            return float(cls._conditional_log_likelihood(np.exp(log_params), x, tx, T).sum())
        return -float(
            cls._negative_log_likelihood(log_params, x, tx, T, np.ones(len(x)), 0.0)
        ) * len(x)


def _histories(s):
    rows, inv = clv.compress(*(s[c].to_numpy() for c in ("frequency", "recency", "T")))
    return lk.Histories.make(
        rows["frequency"], rows["recency"], rows["T"], np.bincount(inv, minlength=len(rows))
    )


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd", "pareto"])
@pytest.mark.parametrize("data", ["cdnow", "sim_summary"])
def test_purchase_loglik_equals_lifetimes(model, data, request):
    s = request.getfixturevalue(data)
    fn, fitter = FUNCS[model]
    x, tx, T = (s[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    h = _histories(s)
    for shift in (0.0, 0.3, -0.5):
        lp = np.log(PUBLISHED_PARAMS[model]) + shift
        ours = fn(lp, h, grad=False)
        theirs = _lifetimes_ll(fitter, lp, x, tx, T)
        assert np.isfinite(ours)
        assert ours == pytest.approx(theirs, rel=1e-8)


def test_gamma_gamma_loglik_equals_lifetimes(cdnow):
    m = cdnow.loc[cdnow["frequency"] > 0]
    x, v = m["frequency"].to_numpy(float), m["monetary_value"].to_numpy(float)
    d = lk.Spends.make(x, v)
    lt = import_lifetimes()
    for shift in (0.0, 0.4):
        lp = np.log(PUBLISHED_PARAMS["gamma_gamma"]) + shift
        with lifetimes_guard():
            nll = lt.GammaGammaFitter._negative_log_likelihood(lp, x, v, np.ones(len(x)), 0.0)
        assert lk.gamma_gamma_loglik(lp, d, grad=False) == pytest.approx(-nll * len(x), rel=1e-8)


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd", "pareto", "gamma_gamma"])
def test_gradients_match_finite_differences(model, cdnow):
    if model == "gamma_gamma":
        m = cdnow.loc[cdnow["frequency"] > 0]
        data, fn = lk.Spends.make(m["frequency"], m["monetary_value"]), lk.gamma_gamma_loglik
    else:
        # time rescaled as in the fit, and the parameters moved off the optimum
        data, fn = _histories(cdnow).scaled(1.0 / cdnow["T"].max()), FUNCS[model][0]
    for lp in (np.log(PUBLISHED_PARAMS[model]) - 0.3, np.log(PUBLISHED_PARAMS[model]) + 0.2):
        g = fn(lp, data)[1]
        # central differences (step 1e-5 on the log scale) on the total log-likelihood
        num = np.array(
            [
                (fn(lp + e, data, grad=False) - fn(lp - e, data, grad=False)) / 2e-5
                for e in np.eye(len(lp)) * 1e-5
            ]
        )
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-4)
        check = approx_fprime(lp, lambda q: fn(q, data, grad=False), 1e-7)
        assert np.max(np.abs(g - check)) < 1e-2 * max(1.0, np.max(np.abs(g)))


def test_hypergeometric_series_matches_scipy():
    rng = np.random.default_rng(0)
    b = rng.uniform(0.1, 30, 500)
    c = b + rng.uniform(0.05, 20, 500)
    z = rng.uniform(0, 0.97, 500)
    lh, db, dc, dz = lk._hyp2f1_1bc(b, c, z)
    np.testing.assert_allclose(lh, np.log(hyp2f1(1.0, b, c, z)), rtol=1e-12, atol=1e-13)
    e = 1e-6
    np.testing.assert_allclose(
        db,
        (np.log(hyp2f1(1, b + e, c, z)) - np.log(hyp2f1(1, b - e, c, z))) / (2 * e),
        rtol=1e-5,
        atol=1e-7,
    )
    np.testing.assert_allclose(
        dc,
        (np.log(hyp2f1(1, b, c + e, z)) - np.log(hyp2f1(1, b, c - e, z))) / (2 * e),
        rtol=1e-5,
        atol=1e-7,
    )
    zz = np.clip(z, e, None)
    np.testing.assert_allclose(
        dz[z > e],
        ((np.log(hyp2f1(1, b, c, zz + e)) - np.log(hyp2f1(1, b, c, zz - e))) / (2 * e))[z > e],
        rtol=1e-5,
        atol=1e-7,
    )


def test_cdnow_fits_reproduce_the_published_log_likelihoods(cdnow):
    assert clv.BGNBD().fit(cdnow).log_likelihood_ == pytest.approx(CDNOW_LL["bgnbd"], abs=5e-4)
    assert clv.ParetoNBD().fit(cdnow).log_likelihood_ == pytest.approx(CDNOW_LL["pareto"], abs=5e-4)
    gg = clv.GammaGamma().fit(cdnow)
    assert gg.log_likelihood_ == pytest.approx(CDNOW_LL["gamma_gamma"], abs=5e-5)


def test_standard_errors_match_lifetimes_autograd_hessian(cdnow):
    """Our Hessian (differenced analytic gradient) gives lifetimes' standard errors."""
    ours = clv.BGNBD().fit(cdnow)
    lt = import_lifetimes()
    x, tx, T = (cdnow[c].to_numpy() for c in ("frequency", "recency", "T"))
    with lifetimes_guard():
        ref = lt.BetaGeoFitter().fit(x, tx, T)
    np.testing.assert_allclose(ours.params_.to_numpy(), ref.params_.to_numpy(), rtol=1e-4)
    np.testing.assert_allclose(
        ours.standard_errors_.to_numpy(), ref.standard_errors_.to_numpy(), rtol=1e-3
    )
    gg = clv.GammaGamma().fit(cdnow)
    m = cdnow.loc[cdnow["frequency"] > 0]
    with lifetimes_guard():
        ref = lt.GammaGammaFitter().fit(m["frequency"], m["monetary_value"])
    np.testing.assert_allclose(
        gg.standard_errors_.to_numpy(), ref.standard_errors_.to_numpy(), rtol=1e-3
    )


def test_penalizer_means_what_it_means_in_lifetimes(cdnow):
    """The same penalizer gives lifetimes' penalized estimates (the fit ladder relies on it)."""
    lt = import_lifetimes()
    x, tx, T = (cdnow[c].to_numpy() for c in ("frequency", "recency", "T"))
    ours = clv.BGNBD(penalizer=0.01).fit(cdnow)
    with lifetimes_guard():
        ref = lt.BetaGeoFitter(penalizer_coef=0.01).fit(x, tx, T)
    np.testing.assert_allclose(ours.params_.to_numpy(), ref.params_.to_numpy(), rtol=1e-4)


def test_replicate_fit_skips_standard_errors(cdnow):
    main = clv.BGNBD().fit(cdnow)
    rep = clv.BGNBD(warm_start=False).fit(cdnow, start_from=main, standard_errors=False)
    assert rep.standard_errors_.isna().all() and rep.verdict_.usable
    np.testing.assert_allclose(rep.params_.to_numpy(), main.params_.to_numpy(), rtol=1e-4)


# -- the fitting speed (issue 12): the faster paths give the same answers ------------------
def _members(n=30_000, seed=5):
    """Members with many repeated histories: day-resolution times, some odd floats."""
    rng = np.random.default_rng(seed)
    x = rng.poisson(2.0, n)
    T = rng.integers(1, 400, n) / 7.0
    tx = np.where(x > 0, np.floor(rng.uniform(0, 1, n) * T * 7) / 7.0, 0.0)
    tx[:50] = np.where(x[:50] > 0, T[:50] * 0.123456789, 0.0)  # not on the day grid
    return x, tx, T


@pytest.mark.parametrize("freq_dtype", [np.int64, float])
def test_compress_codes_equals_pandas_groupby_row_for_row(freq_dtype):
    import pandas as pd

    from crm_research.clv.summary import compress_codes

    x, tx, T = _members()
    x = x.astype(freq_dtype)
    c = compress_codes(x, tx, T)
    ref = (
        pd.DataFrame({"frequency": x, "recency": tx, "T": T})
        .groupby(["frequency", "recency", "T"], sort=True)
        .size()
        .reset_index(name="weights")
    )
    pd.testing.assert_frame_equal(c.rows, ref)
    # every member maps to its own row, and the codes to the rows' values
    for col, v in (("frequency", x), ("recency", tx), ("T", T)):
        np.testing.assert_array_equal(c.rows[col].to_numpy()[c.inverse], v)
    np.testing.assert_array_equal(c.ux[c.ix], c.rows["frequency"])
    np.testing.assert_array_equal(c.utx[c.itx], c.rows["recency"])
    np.testing.assert_array_equal(c.uT[c.iT], c.rows["T"])
    rows, inv = clv.compress(x, tx, T)
    pd.testing.assert_frame_equal(rows, c.rows)
    np.testing.assert_array_equal(inv, c.inverse)


def test_history_pairs_equal_distinct_pairs():
    from crm_research.clv.summary import compress_codes

    x, tx, T = _members()
    c = compress_codes(x, tx, T)
    r = c.rows
    codes = (c.ux, c.ix, c.utx, c.itx, c.uT, c.iT)
    for h in (
        lk.Histories.make(r["frequency"], r["recency"], r["T"], r["weights"], codes=codes),
        lk.Histories.make(r["frequency"], r["recency"], r["T"], r["weights"]),
    ):
        got = lk.history_pairs(h)
        ref = lk.distinct_pairs(h.x, h.tx, h.T)
        for a, b in zip(got, ref, strict=True):
            np.testing.assert_array_equal(a, b)


def test_likelihoods_with_codes_equal_without():
    """Histories made from compress_codes' codes give the same values and gradients."""
    from crm_research.clv.summary import compress_codes

    x, tx, T = _members()
    c = compress_codes(x, tx, T)
    r = c.rows
    codes = (c.ux, c.ix, c.utx, c.itx, c.uT, c.iT)
    fast = lk.Histories.make(r["frequency"], r["recency"], r["T"], r["weights"], codes=codes)
    plain = lk.Histories.make(r["frequency"], r["recency"], r["T"], r["weights"])
    for model in ("bgnbd", "mbgnbd", "pareto"):
        fn = FUNCS[model][0]
        lp = np.log(PUBLISHED_PARAMS[model])
        a, ga = fn(lp, fast.scaled(1 / 57.0))
        b, gb = fn(lp, plain.scaled(1 / 57.0))
        assert a == pytest.approx(b, rel=1e-13)
        np.testing.assert_allclose(ga, gb, rtol=1e-10, atol=1e-8)


def test_softplus_and_expit_equal_numpy_and_scipy():
    from scipy.special import expit

    d = np.r_[-np.inf, -800.0, -40.0, np.linspace(-30, 30, 601), 40.0, 800.0]
    sp, p = lk._softplus(d, expit=True)
    np.testing.assert_allclose(sp, np.logaddexp(0.0, d), rtol=1e-15, atol=2.3e-16)
    np.testing.assert_allclose(p, expit(d), rtol=1e-15, atol=1e-300)
    assert sp[0] == 0.0 and p[0] == 0.0


def test_series_in_blocks_equals_term_by_term():
    """Many elements (summed term by term) and few (summed in blocks) agree."""
    rng = np.random.default_rng(1)
    n = 3 * lk.SERIES_BLOCK_ROWS
    b = rng.uniform(0.1, 30, n)
    c = b + rng.uniform(0.05, 20, n)
    z = rng.uniform(0, 0.995, n)
    whole = lk._hyp2f1_1bc(b, c, z)
    parts = [
        lk._hyp2f1_1bc(b[i : i + 500], c[i : i + 500], z[i : i + 500]) for i in range(0, n, 500)
    ]
    for k, got in enumerate(whole):
        np.testing.assert_allclose(
            got, np.concatenate([p[k] for p in parts]), rtol=1e-13, atol=1e-14
        )
    np.testing.assert_allclose(
        lk._hyp2f1_1bc(b, c, z, grad=False), whole[0], rtol=1e-15, atol=1e-15
    )


def test_series_bounds_bracket_the_sum():
    rng = np.random.default_rng(2)
    b = rng.uniform(0.1, 5, 400)
    c = b + rng.uniform(0.05, 3, 400)
    z = np.r_[rng.uniform(0, 0.9, 200), 1 - 10 ** rng.uniform(-4, -1, 200)]
    exact = lk._hyp2f1_1bc(b, c, z, grad=False)
    for n_terms in (8, 64, 1024):
        lo, hi = lk._hyp2f1_1bc_bounds(b, c, z, n_terms)
        assert np.all(lo <= exact + 1e-13) and np.all(exact <= hi + 1e-13)
    # where the series converge, the bounds close in on the sum
    lo, hi = lk._hyp2f1_1bc_bounds(b, c, z, lk.MAX_SERIES_TERMS)
    assert np.all(hi[:200] - lo[:200] <= 10 * lk.BOUNDS_TOL)


def test_pareto_upper_bound_and_ridge_check(cdnow):
    """The bounded likelihood the ridge check uses is above the exact one, and the
    verdict is what the exact likelihood gives (converged on CDNOW)."""
    m = clv.ParetoNBD().fit(cdnow)
    assert m.verdict_.status == "converged"
    p0 = m.params_.to_numpy()
    names = list(m.param_names)
    for which, sign in m._edge_moves:
        p = p0.copy()
        for n in which:
            p[names.index(n)] *= 100.0**sign
        exact = m.log_likelihood(m.data_, p)
        for k in (8, 32, 256):
            upper = lk.pareto_loglik(np.log(p), m._hist, grad=False, n_terms=k)
            assert upper >= exact - 1e-9 * abs(exact)
        assert m._loglik_upper(m.data_, p, -np.inf) >= exact - 1e-9 * abs(exact)


def test_fit_with_zero_weights_equals_fit_on_the_rest(cdnow):
    """Bootstrap weights with zeros: the rows left out are dropped with their codes."""
    rng = np.random.default_rng(0)
    w = rng.poisson(1.0, len(cdnow))
    keep = w > 0
    for cls in (clv.BGNBD, clv.ParetoNBD):
        a = cls().fit(cdnow, weights=w)
        sub = cdnow.iloc[np.repeat(np.flatnonzero(keep), w[keep])]
        b = cls().fit(sub)
        np.testing.assert_allclose(a.params_.to_numpy(), b.params_.to_numpy(), rtol=1e-5)
        assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=1e-9)
