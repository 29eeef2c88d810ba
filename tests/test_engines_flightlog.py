"""FlightLog.snapshot with the member and event tables: the log's ranges computed once."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_research import churn
from crm_research.data.engines import duckdb_engine, get_engine
from crm_research.data.engines.flightlog import FlightLog


def test_snapshots_at_several_dates_reuse_the_ranges_and_equal_a_fresh_engine(
    sim_tiny, tmp_path, monkeypatch
):
    f, m, c, n = sim_tiny.flights, sim_tiny.members, sim_tiny.complaints, sim_tiny.noshows
    f.to_parquet(tmp_path / "flights.parquet")
    # ranges of about 2,000 flights: several per-range scans on a small log
    monkeypatch.setattr(duckdb_engine, "PART_ROWS", 2000)
    bounds = []
    real = duckdb_engine.DuckDBEngine._member_bounds

    def spy(self, k):
        bounds.append(k)
        return real(self, k)

    monkeypatch.setattr(duckdb_engine.DuckDBEngine, "_member_bounds", spy)
    lazy = FlightLog(tmp_path / "flights.parquet", "duckdb")
    assert len(lazy) > 3 * 2000
    for date in ("2013-03-31", "2013-09-30", "2014-03-31"):
        got = lazy.snapshot(date, m, complaints=c, noshows=n)
        with get_engine("duckdb") as eng:  # the code before: a fresh engine, its own ranges
            eng.load(tmp_path / "flights.parquet", m, c, n, source=lazy.source)
            pd.testing.assert_frame_equal(got, eng.snapshot(date).to_pandas())
            assert len(eng.member_parts()) > 3
        want = churn.snapshot_as_of(f, m, date, complaints=c, noshows=n)
        assert list(got.columns) == list(want.columns) and len(got) == len(want)
        pd.testing.assert_series_equal(got["FLIGHT_COUNT"], want["FLIGHT_COUNT"])
    assert len(bounds) == 1 + 3  # the handle's, once; each fresh reference engine's own


def test_a_snapshot_without_members_is_the_handles_engine(sim_tiny, tmp_path):
    sim_tiny.flights.to_parquet(tmp_path / "flights.parquet")
    lazy = FlightLog(tmp_path / "flights.parquet", "duckdb")
    got = lazy.snapshot("2014-03-31")
    want = churn.snapshot_as_of(sim_tiny.flights, None, "2014-03-31")
    assert len(got) == len(want)
    pd.testing.assert_series_equal(got["SEG_KM_SUM"], want["SEG_KM_SUM"], check_dtype=False)
    with pytest.raises(Exception, match="no flights on or before 2000-01-01"):
        lazy.snapshot("2000-01-01", sim_tiny.members)
