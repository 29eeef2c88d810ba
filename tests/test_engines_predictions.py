"""Notebook 02's ``purchase_predictions.parquet`` written by each engine from the two model
files equals :func:`study02.member_predictions` in memory row for row (columns, order,
dtypes; members who first flew after the calibration end without holdout values), and
what the notebook prints of it (the ``describe`` table, mean P(alive), the share below
0.5, the expected flights next year, the simulated truth's comparison) is the same."""

from __future__ import annotations

import dataclasses
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from crm_research import clv
from crm_research.clv import study02
from crm_research.data.engines.flightlog import FlightLog
from crm_research.data.engines.predictions import COLUMNS, HOLDOUT_COLUMNS, PredictionTable


@pytest.fixture(scope="module")
def fitted(ds_small, tmp_path_factory):
    """conftest's 2,000 members: notebook 02's inputs, the BG/NBD on the calibration
    period and refitted on all data, both model files, the log as Parquet, and the
    in-memory predictions (the reference)."""
    d = tmp_path_factory.mktemp("predictions")
    st = study02.setup(ds_small, holdout_weeks=52)
    calib, full, has_holdout, _ = study02.purchase_inputs(ds_small, st)
    cal = clv.fit_ladder("bgnbd", calib, context="test: calibration")
    final = clv.refit_on_all(cal, calib, full, context="test: all data", source="test")
    paths = study02.save_models(final, cal, st, d, {"rule": "test"}, 0.01, has_holdout)
    want, text = study02.member_predictions(
        final, cal, full, calib, st, has_holdout, truth=ds_small.truth
    )
    ds_small.flights.to_parquet(d / "flights.parquet", index=False)
    return d, st, calib, full, paths, want, text


def _java() -> None:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("no Java in CI: apt-get install openjdk-17-jre-headless")
        pytest.skip("Spark needs Java 17+: apt-get install openjdk-17-jre-headless")


def test_the_calibration_fit_is_a_model_file_of_its_own(fitted):
    d, st, *_, paths, _, _ = fitted
    assert set(paths) == {"purchase_model", "purchase_model_calibration"}
    run = clv.load_purchase_model(d)  # the later notebooks' file, unchanged
    cal = clv.load_purchase_model(paths["purchase_model_calibration"])
    assert run.meta_["fitted_on"] == "all data" and run.meta_["calibration_end"] == "2014-03-31"
    assert cal.meta_["fitted_on"] == "calibration period"
    assert cal.meta_["calibration_end"] == str(st.cal_end.date())
    assert cal.verdict_.status == "converged" and cal.n_obs_ < run.n_obs_


@pytest.mark.parametrize(
    "engine", ["pandas", "duckdb", pytest.param("spark", marks=pytest.mark.slow)]
)
def test_engine_written_predictions_equal_the_in_memory_table(ds_small, fitted, tmp_path, engine):
    d, st, calib, full, paths, want, text = fitted
    ds = ds_small
    if engine != "pandas":  # the run's lazy log: the engine writes its own summaries
        if engine == "spark":
            _java()
            from crm_research.data.engines.spark_engine import spark_session

            spark_session("local[2]", {"spark.sql.shuffle.partitions": "2"})
        ds = dataclasses.replace(ds_small, flights=FlightLog(d / "flights.parquet", engine))
    (tmp_path / "purchase_predictions.parquet").write_bytes(b"an older run's file")
    pt = study02.predict_members(ds, paths, tmp_path, full, calib)
    assert pt.engine_name == engine
    got = pd.read_parquet(tmp_path / "purchase_predictions.parquet")
    ref = want.reset_index()
    assert list(got.columns) == ["MEMBER_NO", *COLUMNS, *HOLDOUT_COLUMNS]
    assert got.dtypes.to_dict() == ref.dtypes.to_dict()  # as notebooks 05/06 read it
    pd.testing.assert_frame_equal(got, ref, check_exact=False, rtol=1e-12, atol=0)
    late = ~got["MEMBER_NO"].isin(calib.index)
    assert late.sum() == calib.attrs["n_members_late"] > 0
    assert got.loc[late, list(HOLDOUT_COLUMNS)].isna().all().all()
    assert got.loc[~late, list(HOLDOUT_COLUMNS)].notna().all().all()
    # what notebook 02 prints, from the engine's queries over that file
    assert study02.predictions_text(pt, truth=study02.truth_alive(ds)) == text
    pd.testing.assert_frame_equal(pt.describe(), want.describe().T, rtol=1e-10)
    st_got, st_ref = pt.stats(), PredictionTable.of(want).stats()
    assert st_got["n"] == st_ref["n"] == len(full)
    for k in ("mean_p_alive", "share_p_alive_below_half", "expected_flights_next_year"):
        assert st_got[k] == pytest.approx(st_ref[k], rel=1e-12), k
    assert st_ref["expected_flights_next_year"] == float(want["expected_flights_next_year"].sum())
    pt.close()


def test_without_a_flight_log_no_holdout_columns(ds_small, tmp_path):
    """The textbook member table: no holdout, only the all-data columns (pandas)."""
    ds = dataclasses.replace(ds_small, flights=None, truth=None)
    assert study02.truth_alive(ds) is None
    st = study02.setup(ds)
    calib, full, has_holdout, _ = study02.purchase_inputs(ds, st)
    assert not has_holdout and st.counting_rule == "member table"
    final = clv.fit_ladder("bgnbd", full, context="test")
    paths = study02.save_models(final, final, st, tmp_path, {}, None, has_holdout)
    assert set(paths) == {"purchase_model"}
    pt = study02.predict_members(ds, paths, tmp_path, full, calib)
    want, text = study02.member_predictions(final, final, full, calib, st, has_holdout)
    got = pd.read_parquet(tmp_path / "purchase_predictions.parquet")
    assert list(got.columns) == ["MEMBER_NO", *COLUMNS]
    pd.testing.assert_frame_equal(got, want.reset_index(), rtol=1e-12, atol=0)
    assert study02.predictions_text(pt) == text
    assert np.isfinite(got["expected_flights_next_year"]).all()
