"""Notebook 02 at scale (issue 15): the models are fitted on the engine's distinct
histories (the same fits as on the per-member summaries), and above
``diagnostic_members`` the diagnostics run on a seeded sample of members that every
engine draws alike, named in every text; at or above the members nothing changes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from crm_research import clv
from crm_research.clv import study02
from crm_research.data.cdnow import cdnow_dataset
from crm_research.data.engines.flightlog import FlightLog

MODELS = ["bgnbd", "mbgnbd", "pareto"]


@pytest.fixture(scope="module")
def lazy_ds(ds_small, tmp_path_factory):
    """conftest's 2,000 members with the log as Parquet, scanned by DuckDB."""
    d = tmp_path_factory.mktemp("scale02")
    ds_small.flights.to_parquet(d / "flights.parquet", index=False)
    return dataclasses.replace(ds_small, flights=FlightLog(d / "flights.parquet", "duckdb"))


@pytest.fixture(scope="module")
def per_member(ds_small):
    """Today's path: candidates and final model fitted on the per-member summaries."""
    st = study02.setup(ds_small, holdout_weeks=52)
    calib, full, has_holdout, text = study02.purchase_inputs(ds_small, st)
    fitted, _, fit_text = study02.fit_candidates(MODELS, calib, st, has_holdout)
    final = clv.refit_on_all(fitted["BG/NBD"], calib, full, context="c", source="s")
    return st, calib, full, text, fitted, fit_text, final


def _same_fit(got, want):
    for attr in ("params_", "standard_errors_"):
        np.testing.assert_allclose(getattr(got, attr), getattr(want, attr), rtol=1e-9, atol=0)
    for attr in ("log_likelihood_", "aic_", "bic_"):
        assert getattr(got, attr) == pytest.approx(getattr(want, attr), rel=1e-10, abs=0)
    assert got.n_obs_ == want.n_obs_ and got.verdict_.sentence() == want.verdict_.sentence()


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_fits_on_the_histories_equal_the_per_member_fits(ds_small, lazy_ds, per_member, engine):
    st, calib, full, text, fitted, fit_text, final = per_member
    ds = ds_small if engine == "pandas" else lazy_ds
    inp = study02.purchase_data(ds, st)
    assert inp.sample is None and inp.text.startswith(text)  # + the histories' line
    pd.testing.assert_frame_equal(inp.calib, calib)
    pd.testing.assert_frame_equal(inp.full, full)
    h = inp.fit_calibration
    assert list(h.columns) == ["frequency", "recency", "T", "weights"]
    assert len(h) < len(calib) and h["weights"].sum() == len(calib)  # members, not rows
    assert inp.fit_all["weights"].sum() == len(full)
    got, _, got_text = study02.fit_candidates(MODELS, h, st, True)
    assert got_text == fit_text
    for name, m in fitted.items():
        _same_fit(got[name], m)
        assert got[name].n_obs_ == len(calib)  # BIC's n: the sum of the weights
    g = clv.refit_on_all(got["BG/NBD"], h, inp.fit_all, context="c", source="s")
    _same_fit(g, final)
    # the maps' grid from the histories: pandas' quantiles of every member, exactly
    for col, q in (("T", 0.75), ("frequency", 0.95), ("recency", 0.5)):
        assert study02._quantile(inp.fit_all, col, q) == full[col].quantile(q)
    assert study02.matrix_grid(inp.fit_all) == study02.matrix_grid(full)


def test_cdnow_and_member_table_paths(ds_small):
    cd = cdnow_dataset()
    st = study02.setup(cd)
    calib, full, has_holdout, _ = study02.purchase_inputs(cd, st)
    inp = study02.purchase_data(cd, st)
    assert "merged into an earlier one on the same day" in inp.text
    assert inp.fit_calibration["weights"].sum() == len(calib)
    a = clv.fit_ladder("bgnbd", calib)
    b = clv.fit_ladder("bgnbd", inp.fit_calibration, weights=inp.fit_calibration["weights"])
    _same_fit(b, a)
    # the member table has no log: its summary, and the calibration is all the data
    table = dataclasses.replace(ds_small, flights=None, truth=None)
    st = study02.setup(table)
    inp = study02.purchase_data(table, st)
    assert inp.fit_calibration is inp.fit_all and inp.calib is inp.full and not inp.has_holdout
    assert inp.fit_all["weights"].sum() == len(inp.full)
    share = f"{inp.full.attrs['n_left_truncated']:,} ({inp.full['left_truncated'].mean():.0%})"
    assert f"members: {len(inp.full):,};" in inp.text and share in inp.text


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_diagnostics_on_a_seeded_sample(ds_small, lazy_ds, per_member, engine, tmp_path):
    st, calib_all, full_all, text_all, *_ = per_member
    ds = ds_small if engine == "pandas" else lazy_ds
    inp = study02.purchase_data(ds, st, diagnostic_members=500, seed=11)
    again = study02.purchase_data(ds, st, diagnostic_members=500, seed=11)
    other = study02.purchase_data(ds, st, diagnostic_members=500, seed=12)
    n_all = len(full_all)
    assert inp.sample == {"members": 500, "of": n_all, "seed": 11,
                          "calibration_members": len(calib_all)}  # fmt: skip
    assert len(inp.full) == 500 and inp.full.index.is_monotonic_increasing
    pd.testing.assert_index_equal(inp.full.index, again.full.index)  # deterministic
    assert not inp.full.index.equals(other.full.index)
    # the same members' rows as the summaries of all members
    pd.testing.assert_frame_equal(inp.full, full_all.loc[inp.full.index], check_like=False)
    want_cal = calib_all.loc[calib_all.index.isin(inp.full.index)]
    pd.testing.assert_frame_equal(inp.calib, want_cal)
    # the counts printed are of all members; the sample is named
    assert text_all.splitlines()[:3] == inp.text.splitlines()[:3]
    note = f"on a random sample of 500 of {n_all:,} members (seed 11)"
    assert inp.text.endswith(note) and study02.sample_note(inp.calib) == note
    # the fits use every member's histories
    pd.testing.assert_frame_equal(
        inp.fit_calibration, study02.purchase_data(ds, st).fit_calibration
    )
    # notebook 02's functions run on the sample and say so
    fitted, _, _ = study02.fit_candidates(["bgnbd"], inp.fit_calibration, st, True)
    comparison = study02.comparison_table(fitted, inp.calib, ds, st, True)
    preferred, selection = clv.select_purchase_model(fitted, comparison)
    assert study02.selection_text(preferred, selection, inp.calib).endswith(note)
    by_freq, table, errors = study02.holdout_table(fitted, inp.calib, preferred, 5)
    assert study02.diagnostics_on(inp.calib) == note
    assert study02.diagnostics_on(calib_all) == "of all members"
    tracking = {preferred: clv.cumulative_tracking(fitted[preferred], inp.calib, ds.flights)}
    assert note in study02.tracking_text(tracking, inp.calib)
    assert tracking[preferred]["actual_cum"].iloc[-1] < len(inp.calib) * 40
    fit, _, ctext = study02.covariate_fit(ds, inp.full, preferred, seed=1)
    assert note in ctext
    final = clv.refit_on_all(fitted[preferred], inp.fit_calibration, inp.fit_all)
    err = clv.holdout_cumulative_error(comparison, preferred)
    paths = study02.save_models(final, fitted[preferred], st, tmp_path, selection, err, True,
                                sample=inp.sample)  # fmt: skip
    meta = clv.load_purchase_model(paths["purchase_model"]).meta_
    assert note in meta["selection"]["holdout_diagnostics"]
    pt = study02.predict_members(ds, paths, tmp_path, inp.full, inp.calib)
    assert pt.stats()["n"] == n_all  # every member scored, not the sample
    m = study02.metrics(st, inp.calib, fitted, final, preferred, selection, comparison, pt,
                        errors, tracking, None, [])  # fmt: skip
    assert m["diagnostic_sample_members"] == 500
    assert m["n_members_calibration"] == len(calib_all)
    pt.close()


def test_the_sample_is_the_same_under_each_engine(ds_small, lazy_ds, per_member):
    st = per_member[0]
    a = study02.purchase_data(ds_small, st, diagnostic_members=700, seed=3)
    b = study02.purchase_data(lazy_ds, st, diagnostic_members=700, seed=3)
    pd.testing.assert_index_equal(a.full.index, b.full.index)
    pd.testing.assert_index_equal(a.calib.index, b.calib.index)


def test_at_or_above_the_members_nothing_changes(ds_small, per_member):
    st, calib, full, text, *_ = per_member
    for n in (len(full), len(full) + 1):
        inp = study02.purchase_data(ds_small, st, diagnostic_members=n, seed=5)
        assert inp.sample is None and "sample" not in inp.calib.attrs
        pd.testing.assert_frame_equal(inp.full, full)
        assert study02.sample_note(inp.calib) == "" and "random sample" not in inp.text


def test_approximation_study_fits_the_log_on_its_histories(ds_small, per_member):
    """The flight log's BG/NBD of the member-table comparison on the distinct histories
    (notebook 02's ``fit_all`` in weeks, counting flights) is the per-member fit."""
    st, calib, full, *_ = per_member
    inp = study02.purchase_data(ds_small, st)
    out, _ = study02.approximation_study(ds_small, st, histories=inp.fit_all)
    want = clv.fit_ladder("bgnbd", clv.flight_summary(ds_small.flights, time_unit="weeks"))
    got = out["approximation"].loc["flight log (exact)", list(want.param_names)]
    np.testing.assert_allclose(got.to_numpy(float), want.params_.to_numpy(), rtol=1e-9)
    assert out["approximation"].loc["flight log (exact)", "verdict"] == want.verdict_.sentence()


def test_diagnostic_members_is_checked_before_a_run():
    from crm_research import params as P
    from crm_research.report import list_notebooks, notebook_parameters

    book = next(b for b in list_notebooks() if b.name.startswith("02"))
    declared = {book.stem: notebook_parameters(book)}
    assert P.spec("diagnostic_members", "02").default_for("02") == 1_000_000  # the notebook's
    ok = P.resolve(declared, [book.stem], {"diagnostic_members": 200_000})
    assert ok.per_book[book.stem]["diagnostic_members"] == 200_000
    for bad in (999, 2.5, "all"):
        with pytest.raises(P.ParameterError, match="'diagnostic_members' = .* an integer in"):
            P.resolve(declared, [book.stem], {"diagnostic_members": bad})
