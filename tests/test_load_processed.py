"""load_processed: tables read on demand (crm_research.data.Dataset / OnDisk)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from crm_research.clv import study03
from crm_research.data import TABLES, Dataset, OnDisk, load_processed

FRAMES = [n for n in TABLES if n != "flights"]


@pytest.fixture
def saved(sim_tiny, tmp_path):
    """The tiny simulation's dataset (every table and the truth) and its processed folder."""
    ds = sim_tiny.to_dataset()
    return ds, ds.save(tmp_path / "processed")


@pytest.fixture
def reads(monkeypatch):
    """The paths pandas.read_parquet is asked to read (it still reads them)."""
    calls, real = [], pd.read_parquet

    def spy(path, *args, **kwargs):
        calls.append((str(path), kwargs.get("columns")))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pd, "read_parquet", spy)
    return calls


def test_nothing_is_read_before_access_and_a_table_once(saved, reads):
    want, d = saved
    ds = load_processed(d)
    assert reads == []
    assert ds.has_truth and ds.has_flight_log and ds.has_table("members")
    assert ds.table_columns("truth") == list(want.truth.columns)
    assert ds.table_columns("snapshot") == list(want.snapshot.columns)
    assert "truth=OnDisk" in repr(ds) and reads == []
    assert not any(ds.is_read(n) for n in TABLES)
    t = ds.truth
    assert reads == [(str(d / "truth.parquet"), None)] and ds.is_read("truth")
    assert ds.truth is t and len(reads) == 1  # kept
    assert not ds.is_read("snapshot") and not ds.is_read("members")


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_the_same_frames_as_read_whole(saved, engine):
    want, d = saved
    ds = load_processed(d, engine=engine)
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(ds, name), pd.read_parquet(d / f"{name}.parquet"))
        pd.testing.assert_frame_equal(getattr(ds, name), getattr(want, name), check_dtype=False)
    if engine == "pandas":
        pd.testing.assert_frame_equal(ds.flights, want.flights)
    else:
        from crm_research.data.engines.flightlog import FlightLog

        assert isinstance(ds.flights, FlightLog) and len(ds.flights) == len(want.flights)


def test_read_gives_only_the_columns_asked_and_keeps_nothing(saved, reads):
    want, d = saved
    ds = load_processed(d)
    cols = ["MEMBER_NO", "FFP_TIER"]
    got = ds.read("snapshot", cols)
    assert list(got.columns) == cols and reads == [(str(d / "snapshot.parquet"), cols)]
    pd.testing.assert_frame_equal(got, want.snapshot[cols], check_dtype=False)
    assert not ds.is_read("snapshot")  # not kept: the next use reads again
    ds.read("snapshot", cols)
    assert len(reads) == 2
    # the flight log's Parquet, and a frame in memory (taken from it, nothing read)
    assert list(ds.read("flights", ["REVENUE"]).columns) == ["REVENUE"]
    reads.clear()
    mem = want.read("truth", ["MEMBER_NO", "alive"])
    pd.testing.assert_frame_equal(mem, want.truth[["MEMBER_NO", "alive"]])
    assert reads == []


def test_read_refuses_an_unknown_column_or_table(saved):
    _, d = saved
    ds = load_processed(d)
    with pytest.raises(KeyError, match=r"truth\.parquet: no column 'nope'; it has MEMBER_NO"):
        ds.read("truth", ["MEMBER_NO", "nope"])
    with pytest.raises(ValueError, match="table 'truths' unknown; allowed: snapshot, flights"):
        ds.has_table("truths")


def test_a_missing_table_is_none_as_before(sim_tiny, tmp_path, reads):
    snap = sim_tiny.to_dataset().snapshot
    Dataset(snapshot=snap, info={"source": "textbook", "obs_end": "2014-03-31"}).save(tmp_path)
    ds = load_processed(tmp_path)
    assert not ds.has_truth and not ds.has_flight_log and not ds.has_table("members")
    assert ds.truth is None and ds.flights is None and ds.members is None
    assert ds.read("truth", ["MEMBER_NO"]) is None and ds.table_columns("noshows") is None
    assert reads == []
    # the tier segments of notebook 03 fall back to frequency bands without a tier
    no_tier = tmp_path / "no_tier"
    Dataset(snapshot=snap.drop(columns="FFP_TIER"), info={"obs_end": "2014-03-31"}).save(no_tier)
    summary = pd.DataFrame({"frequency": [0, 5]}, index=snap["MEMBER_NO"][:2])
    seg = study03.bootstrap_segments(load_processed(no_tier), summary)
    assert list(seg) == ["0 repeat flights", "3-9"]


def test_bootstrap_segments_read_two_columns_only(saved, reads):
    want, d = saved
    ds = load_processed(d)
    summary = pd.DataFrame(
        {"frequency": 1}, index=want.snapshot["MEMBER_NO"].sample(50, random_state=1)
    )
    got = study03.bootstrap_segments(ds, summary)
    assert reads == [(str(d / "snapshot.parquet"), ["MEMBER_NO", "FFP_TIER"])]
    assert not ds.is_read("snapshot")
    pd.testing.assert_series_equal(got, study03.bootstrap_segments(want, summary))


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_save_round_trips_without_reading(saved, tmp_path, reads, engine):
    want, d = saved
    ds = load_processed(d, engine=engine)
    _ = ds.members  # one table in memory, the others still on disk
    reads.clear()
    out = ds.save(tmp_path / "copy")
    assert reads == []  # copied file to file
    ds.save(d)  # into its own folder: the files are kept as they are
    for folder in (out, d):
        back = load_processed(folder, engine="pandas")
        assert back.info["tables"] == list(TABLES)
        for name in TABLES:
            pd.testing.assert_frame_equal(
                getattr(back, name), getattr(want, name), check_dtype=False
            )


def test_a_dataset_of_frames_works_as_before(sim_tiny):
    ds = sim_tiny.to_dataset()
    assert ds.has_truth and ds.has_table("noshows") and ds.is_read("truth")
    assert ds.table_columns("members") == list(ds.members.columns)
    no_log = dataclasses.replace(ds, flights=None)
    assert not no_log.has_flight_log and no_log.truth is ds.truth
    lazy = Dataset(snapshot=OnDisk("nowhere.parquet"), info={})
    assert lazy.has_table("snapshot") and not lazy.is_read("snapshot")
    with pytest.raises(TypeError, match="snapshot"):
        Dataset(info={})
