"""The flight-log scans under DuckDB and Spark against the pandas reference, row for row.

Same snapshots, summaries (calibration and holdout), distinct-history counts and
forward labels on the same small logs, including the snapshot tests' edge cases, and
the same error messages for bad input, under every engine. Spark runs in one local
session for the whole module (local[2], few shuffle partitions, no UI); without Java
its tests are skipped with an install hint, except in CI, where that is a failure.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest

from crm_research.data.engines import ENGINES, get_engine
from crm_research.data.schema import DataValidationError
from crm_research.data.simulate import simulate_programme

OBS = pd.Timestamp("2014-03-31")
JAVA_HINT = "Spark needs Java 17+: apt-get install openjdk-17-jre-headless (.ci/run does this)"


@pytest.fixture(scope="session")
def spark():
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"no Java in CI: {JAVA_HINT}")
        pytest.skip(JAVA_HINT)
    from crm_research.data.engines.spark_engine import spark_session

    s = spark_session("local[2]", {"spark.sql.shuffle.partitions": "2"})
    yield s
    s.stop()


@pytest.fixture(params=["duckdb", "duckdb-ranges", "spark"])
def engine(request):
    """A DuckDB or Spark engine (the pandas engine is the reference); ``duckdb-ranges``
    scans per range of members (about 60 flight rows each: several ranges even on the
    smallest logs), as DuckDB does at scale."""
    if request.param == "spark":
        request.getfixturevalue("spark")
    if request.param == "duckdb-ranges":
        eng = get_engine("duckdb", part_rows=60)
        yield eng
        eng.close()
        return
    eng = get_engine(request.param)
    yield eng
    eng.close()


@pytest.fixture
def maybe_spark(request):
    """The Spark session where Java is installed (error tests then cover all engines)."""
    if shutil.which("java") is not None or os.environ.get("CI"):
        return request.getfixturevalue("spark")
    return None


def reference():
    return get_engine("pandas")


# --- small logs ---------------------------------------------------------------------------
@pytest.fixture
def log(log):
    """The snapshot tests' log (conftest.py), with a work city per member."""
    f, m, c = log
    return f, m.assign(WORK_CITY=["北京", "上海", None]), c


@pytest.fixture(scope="module")
def sim():
    """A small simulated programme: several flights a day, zero revenues, a holdout."""
    p = simulate_programme(n_members=400, seed=7, obs_end="2014-03-31")
    f = p.flights.copy()
    # edge cases of the summaries: a zero and a missing revenue, same-day flights with
    # different revenues on a member's first day
    f.loc[f.index[3], "REVENUE"] = 0.0
    first = f.groupby("MEMBER_NO").head(1).index[:5]
    dup = f.loc[first].assign(REVENUE=lambda d: d["REVENUE"] * 3 + 1)
    f = pd.concat([f, dup]).sort_values(["MEMBER_NO", "FLIGHT_DATE"], kind="stable")
    return f.reset_index(drop=True), p.members, p.complaints, p.noshows


def same(got: pd.DataFrame, want: pd.DataFrame):
    """Row-for-row equality: same columns, dtypes, values (floats to 1e-9 relative)."""
    assert list(got.columns) == list(want.columns)
    for c in want.columns:
        if want[c].dtype == object:  # text attributes: Spark/DuckDB may give str or None
            got[c] = got[c].astype(object).where(got[c].notna(), None)
            want = want.assign(**{c: want[c].where(want[c].notna(), None)})
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9, atol=1e-9)


def run(eng, tables, fn):
    eng.load(*tables)
    return fn(eng)


# --- same results -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "as_of", ["2014-03-31", "2013-06-05", "2012-03-31"], ids=["end", "mid", "window-edge"]
)
def test_snapshot_same_as_pandas(engine, log, as_of):
    f, m, c = log
    want = reference().load(f, m, c).snapshot(as_of).to_pandas()
    got = engine.load(f, m, c).snapshot(as_of).to_pandas()
    same(got, want)
    if as_of == "2013-06-05":
        assert 2 not in set(got["MEMBER_NO"])  # had not flown yet


def test_snapshot_without_member_table_and_columns(engine, log):
    f, _, _ = log
    small = f[["MEMBER_NO", "FLIGHT_DATE", "REVENUE"]]
    want = reference().load(small).snapshot(OBS).to_pandas()
    got = engine.load(small).snapshot(OBS).to_pandas()
    same(got, want)
    assert (got["FFP_DATE"] == got["FIRST_FLIGHT_DATE"]).all()
    disc_only = f[["MEMBER_NO", "FLIGHT_DATE", "DISCOUNT"]]
    same(engine.load(disc_only).snapshot(OBS).to_pandas(), build_ref(disc_only))


def build_ref(f, *rest):
    return reference().load(f, *rest).snapshot(OBS).to_pandas()


def test_row_order_does_not_matter(engine, log):
    f, m, c = log
    shuffled = f.sample(frac=1.0, random_state=0)
    same(engine.load(shuffled, m, c).snapshot(OBS).to_pandas(), build_ref(f, m, c))


def test_simulated_log_snapshot_summaries_histories_labels(engine, sim):
    f, m, c, n = sim
    ref = reference().load(f, m, c, n)
    eng = engine.load(f, m, c, n)
    assert eng.validate() is not None and ref.validate() is not None
    for as_of in (OBS, "2013-03-31"):
        same(eng.snapshot(as_of).to_pandas(), ref.snapshot(as_of).to_pandas())
    for kw in (
        {"calibration_end": "2013-03-31", "observation_end": OBS},
        {"observation_end": OBS, "time_unit": "days"},
        {"calibration_end": "2013-03-31", "merge_same_day": True, "time_unit": "months"},
    ):
        want = ref.summary(**kw).to_pandas()
        got = eng.summary(**kw).to_pandas()
        same(got, want)
        assert got.attrs == want.attrs, kw
        same(eng.histories(**kw), ref.histories(**kw))
    label = {"obs_date": "2013-03-31", "horizon_months": 12, "data_end": OBS}
    same(eng.forward_label(**label).to_pandas(), ref.forward_label(**label).to_pandas())


def test_ranges_of_members_cover_every_member_once(sim, tmp_path):
    f, m, c, n = sim
    eng = get_engine("duckdb", part_rows=500).load(f, m, c, n)
    parts = eng.member_parts()
    assert len(parts) >= 8 and parts[0].startswith("MEMBER_NO <")
    assert "IS NULL" in parts[-1]  # missing ids (if not refused) go to the last range
    out = eng.snapshot(OBS).write_parquet(tmp_path / "snap")
    files = sorted(out.glob("part-*.parquet"))
    assert len(files) == len(parts)
    got = pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)
    want = reference().load(f, m, c, n).snapshot(OBS).to_pandas()
    assert got["MEMBER_NO"].tolist() == want["MEMBER_NO"].tolist()  # in order, each once
    one = get_engine("duckdb", part_rows=0).load(f, m, c, n)
    assert one.member_parts() == ["TRUE"]
    same(one.snapshot(OBS).to_pandas(), want)


def test_hand_log_summary_first_day_ties(engine):
    # member 1 flies twice on its first day: the first in the log is the first flight
    # (pandas' stable sort), so the 50 is a repeat and the 100 is not
    f = pd.DataFrame(
        {
            "MEMBER_NO": [1, 1, 1, 2, 3],
            "FLIGHT_DATE": pd.to_datetime(
                ["2020-01-01", "2020-01-01", "2020-01-20", "2020-01-15", "2020-02-05"]
            ),
            "REVENUE": [100.0, 50.0, np.nan, -0.0, 40.0],
        }
    )
    kw = {"calibration_end": "2020-01-31", "observation_end": "2020-02-29"}
    want = reference().load(f).summary(**kw).to_pandas()
    got = engine.load(f).summary(**kw).to_pandas()
    same(got, want)
    assert got.loc[1, "monetary_value"] == 50.0 and got.attrs == want.attrs


def test_parquet_folder_input(engine, sim, tmp_path):
    f, m, _, _ = sim
    d = tmp_path / "flights"
    d.mkdir()
    half = len(f) // 2
    f.iloc[:half].to_parquet(d / "part-00000.parquet")
    f.iloc[half:].to_parquet(d / "part-00001.parquet")
    m.to_parquet(tmp_path / "members.parquet")
    ref = reference().load(d, tmp_path / "members.parquet")
    eng = engine.load(d, tmp_path / "members.parquet")
    same(eng.snapshot(OBS).to_pandas(), ref.validate() and ref.snapshot(OBS).to_pandas())
    kw = {"calibration_end": "2013-03-31", "observation_end": OBS}
    same(eng.histories(**kw), ref.histories(**kw))
    # an offending row in the second file is numbered as in the whole log
    bad = f.iloc[half:].copy()
    bad.iloc[2, bad.columns.get_loc("SEG_KM")] = -1.0
    bad.to_parquet(d / "part-00001.parquet")
    with pytest.raises(DataValidationError) as e:
        engine.load(d, tmp_path / "members.parquet").validate()
    assert f"rows: {half + 3}" in str(e.value)


def test_scores_written_in_batches(engine, sim, tmp_path):
    from crm_research.data.engines.scale import fit_on_histories, score_to_parquet

    f, m, _, _ = sim
    eng = engine.load(f, m)
    kw = {"calibration_end": OBS, "observation_end": OBS}
    model = fit_on_histories(eng.histories(**kw))
    out = score_to_parquet(eng, model, tmp_path / "scores", horizon=52.0, batch_rows=100, **kw)
    got = pd.read_parquet(out).sort_values("MEMBER_NO").reset_index(drop=True)
    s = reference().load(f, m).summary(**kw).to_pandas()
    assert len(got) == len(s)
    np.testing.assert_allclose(
        got["p_alive"], model.p_alive(s["frequency"], s["recency"], s["T"]), rtol=1e-9
    )


def test_fit_on_histories_is_the_fit_on_members(sim):
    from crm_research import clv
    from crm_research.data.engines.scale import fit_on_histories

    f = sim[0]
    eng = get_engine("duckdb").load(f)
    kw = {"calibration_end": "2013-03-31", "observation_end": OBS}
    a = fit_on_histories(eng.histories(**kw))
    b = clv.BGNBD().fit(reference().load(f).summary(**kw).to_pandas())
    np.testing.assert_allclose(a.params_.to_numpy(), b.params_.to_numpy(), rtol=1e-6)


# --- same errors --------------------------------------------------------------------------
def _errors(make, *, obs_end=None, members=True):
    """The messages of every engine for one bad input."""
    out = {}
    for name in ENGINES:
        if name == "spark" and shutil.which("java") is None:
            continue
        eng = get_engine(name)
        try:
            f, m = make()
            with pytest.raises(DataValidationError) as e:
                eng.load(f, m if members else None, source="flights.csv").validate(obs_end=obs_end)
            out[name] = str(e.value)
        finally:
            eng.close()
    return out


BAD_CASES = {
    "negative km": ("SEG_KM", -5, "negative"),
    "negative revenue": ("REVENUE", -1.0, "negative"),
    "discount": ("DISCOUNT", 2.5, r"outside [0, 2]"),
    "date": ("FLIGHT_DATE", "2013-13-45", "cannot be parsed"),
    "text in km": ("SEG_KM", "far", "non-numeric"),
    "missing member": ("MEMBER_NO", None, "missing member ids"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_same_errors_for_bad_values(maybe_spark, log, case):
    column, value, match = BAD_CASES[case]

    def make():
        f, m, _ = log
        f = f.astype({"FLIGHT_DATE": object, "SEG_KM": object, "MEMBER_NO": object})
        f.loc[2, column] = value
        f.loc[4, column] = value
        return f, m

    msgs = _errors(make, members=False)
    assert len(set(msgs.values())) == 1, msgs
    msg = msgs["pandas"]
    assert match in msg and "flights.csv" in msg and "rows: 3, 5" in msg


def test_same_errors_for_dates_members_and_columns(maybe_spark, log):
    f0, m0, _ = log

    def late():
        return f0, m0

    msgs = _errors(late, obs_end="2014-01-01")
    assert len(set(msgs.values())) == 1 and "after the observation date" in msgs["pandas"]

    def early():
        m = m0.copy()
        m.loc[0, "FFP_DATE"] = pd.Timestamp("2012-01-01")
        return f0, m

    msgs = _errors(early)
    assert len(set(msgs.values())) == 1 and "member 1: flight 2011-06-01" in msgs["pandas"]

    def unknown():
        return f0, m0[m0["MEMBER_NO"] != 3]

    msgs = _errors(unknown)
    assert len(set(msgs.values())) == 1 and "values: 3" in msgs["pandas"]

    def dup():
        return f0, pd.concat([m0, m0.iloc[[0]]], ignore_index=True)

    msgs = _errors(dup)
    assert len(set(msgs.values())) == 1 and "duplicate ids" in msgs["pandas"]

    def no_date():
        return f0.drop(columns="FLIGHT_DATE"), m0

    msgs = _errors(no_date)
    assert len(set(msgs.values())) == 1 and "missing required column" in msgs["pandas"]

    def empty():
        return f0.iloc[0:0], None

    msgs = _errors(empty, members=False)
    assert len(set(msgs.values())) == 1 and "no rows" in msgs["pandas"]


def test_many_offending_rows_are_counted(maybe_spark, log):
    def make():
        f = pd.concat([log[0]] * 5, ignore_index=True)
        f["SEG_KM"] = -1.0
        return f, None

    msgs = _errors(make, members=False)
    assert len(set(msgs.values())) == 1, msgs
    assert "rows (first 10 of 30)" in msgs["pandas"]


def test_same_errors_for_summary_and_label_bounds(engine, log):
    f = log[0]
    for kw, match in (
        ({"calibration_end": "2009-06-30"}, "lies outside the data"),
        ({"calibration_end": "2014-03-28", "observation_end": OBS}, "shorter than one week"),
        ({"observation_end": "2009-01-01"}, "before the first flight"),
    ):
        with pytest.raises(DataValidationError, match=match) as want:
            reference().load(f).summary(**kw)
        with pytest.raises(DataValidationError) as got:
            engine.load(f).summary(**kw)
        assert str(got.value).replace("flight log", "x") == str(want.value).replace(
            "flight log", "x"
        )
    with pytest.raises(DataValidationError, match="horizon of 13 months"):
        engine.load(f).forward_label("2013-03-31", 13, data_end=OBS)


def test_unknown_engine():
    with pytest.raises(ValueError, match="duckdb"):
        get_engine("polars")


# --- the same errors from a Parquet flight-log folder, as the runner checks it ---------------
def _folder(tmp_path, log, change):
    """The log as a Parquet folder (dates as text where a case needs text), changed."""
    f, m, c = (t.copy() for t in log)
    f, m, c = change(f, m, c)
    d = tmp_path / "log"
    d.mkdir()
    f.to_parquet(d / "flights.parquet")
    m.to_parquet(d / "members.parquet")
    c.to_parquet(d / "complaints.parquet")
    return d


def _set(df, row, col, value):
    df[col] = df[col].astype(object)
    df.loc[row, col] = value
    if all(isinstance(v, str) or v is None for v in df[col]):
        df[col] = df[col].astype("string")
    return df


def _text_dates(f):
    return f.assign(FLIGHT_DATE=f["FLIGHT_DATE"].dt.strftime("%Y-%m-%d"))


FOLDER_CASES = {
    "km longer than any flight": (
        lambda f, m, c: (_set(f, 1, "SEG_KM", 30000.0), m, c),
        "longer than any flight",
        None,
    ),
    "absurd km": (lambda f, m, c: (_set(f, 1, "SEG_KM", 1e300), m, c), "absurd", None),
    "infinite revenue": (
        lambda f, m, c: (_set(f, 2, "REVENUE", float("inf")), m, c),
        "infinite",
        None,
    ),
    "implausible typed date": (
        lambda f, m, c: (_set(f, 1, "FLIGHT_DATE", pd.Timestamp("1899-05-01")), m, c),
        "implausible dates",
        None,
    ),
    "implausible text date": (
        lambda f, m, c: (_set(_text_dates(f), 1, "FLIGHT_DATE", "2099-05-01"), m, c),
        "implausible dates",
        None,
    ),
    "ambiguous text date": (
        lambda f, m, c: (_set(_text_dates(f), 1, "FLIGHT_DATE", "05.03.2013"), m, c),
        "ambiguous",
        None,
    ),
    "age 150": (lambda f, m, c: (f, _set(m, 0, "AGE", 150), c), "outside [0, 120]", None),
    "blank text id": (
        lambda f, m, c: (_set(f.astype({"MEMBER_NO": str}), 3, "MEMBER_NO", " "), m, c),
        "missing member ids",
        None,
    ),
    "event of an unknown member": (
        lambda f, m, c: (f, m, _set(c, 1, "MEMBER_NO", 99)),
        "events of members that are not",
        "2014-03-31",
    ),
    "event after the end": (
        lambda f, m, c: (f, m, _set(c, 2, "COMPLAINT_DATE", pd.Timestamp("2014-06-01"))),
        "events after the observation end 2014-03-31",
        "2014-03-31",
    ),
    "flights after the end": (
        lambda f, m, c: (f, m, c),
        "after the observation date",
        "2014-01-01",
    ),
    "one flight far after the rest": (
        lambda f, m, c: (
            pd.concat([f] * 30, ignore_index=True).pipe(
                _set, 7, "FLIGHT_DATE", pd.Timestamp("2019-06-01")
            ),
            m,
            c,
        ),
        "more than 92 days after 99%",
        None,
    ),
}


@pytest.mark.parametrize("case", list(FOLDER_CASES))
def test_same_errors_from_a_parquet_folder(maybe_spark, log, tmp_path, case):
    """The runner's check of a Parquet log: pandas in memory, DuckDB/Spark by SQL counts."""
    from crm_research.data import sources

    change, match, obs_end = FOLDER_CASES[case]
    d = _folder(tmp_path, log, change)
    msgs = {}
    for name in ENGINES:
        if name == "spark" and maybe_spark is None:
            continue
        with pytest.raises(DataValidationError) as e:
            sources.load_source(str(d), obs_end=obs_end, engine=name)
        msgs[name] = str(e.value)
    assert len(set(msgs.values())) == 1, msgs
    assert match in msgs["pandas"] and str(d) in msgs["pandas"]


def test_parquet_folder_gives_a_lazy_log_equal_to_pandas(maybe_spark, log, tmp_path):
    """A valid Parquet log: same snapshot; ds.flights a FlightLog whose answers are pandas'."""
    from crm_research.data import load_processed, sources
    from crm_research.data.engines.flightlog import FlightLog

    d = _folder(tmp_path, log, lambda f, m, c: (f, m, c))
    want = sources.load_source(str(d), obs_end="2014-03-31", engine="pandas")
    f = want.flights
    for name in [n for n in ENGINES if n != "pandas" and (n != "spark" or maybe_spark)]:
        got = sources.load_source(str(d), obs_end="2014-03-31", engine=name)
        assert isinstance(got.flights, FlightLog)
        assert got.info["obs_end"] == want.info["obs_end"] and len(got.flights) == len(f)
        same(got.snapshot, want.snapshot)
        pd.testing.assert_frame_equal(got.flights.to_pandas(), f)
        got.save(tmp_path / f"proc-{name}")
        lazy = load_processed(tmp_path / f"proc-{name}").flights
        assert isinstance(lazy, FlightLog)
        monthly = f.set_index("FLIGHT_DATE").resample("MS").size()
        pd.testing.assert_series_equal(lazy.monthly_counts(), monthly, check_names=False)
        rev = f.groupby("MEMBER_NO")["REVENUE"].sum()
        pd.testing.assert_series_equal(lazy.revenue_by_member(), rev, check_names=False)
        assert lazy.date_range() == (f["FLIGHT_DATE"].min(), f["FLIGHT_DATE"].max())
        # code not yet switched sees the DataFrame (small logs), and is told
        from crm_research.data.engines.flightlog import LazyLogFallback

        with pytest.warns(LazyLogFallback, match="reads the whole flight log"):
            assert lazy["MEMBER_NO"].nunique() == f["MEMBER_NO"].nunique()
        lazy.max_pandas_rows, lazy._frame = 3, None
        with pytest.raises(MemoryError, match="too many for pandas"), pytest.warns(LazyLogFallback):
            lazy.groupby("MEMBER_NO")


def test_package_functions_dispatch_a_lazy_log(log, tmp_path):
    """clv.flight_summary and churn.forward_label give the pandas answers for a FlightLog."""
    from crm_research import churn, clv
    from crm_research.data.engines.flightlog import FlightLog

    f = log[0]
    f.to_parquet(tmp_path / "flights.parquet")
    lazy = FlightLog(tmp_path / "flights.parquet", "duckdb")
    kw = {"calibration_end": "2013-03-31", "observation_end": OBS, "merge_same_day": True}
    same(clv.flight_summary(lazy, **kw), clv.flight_summary(f, **kw))
    args = ("2013-03-31", 6)
    same(
        churn.forward_label(lazy, *args, data_end=OBS), churn.forward_label(f, *args, data_end=OBS)
    )
    from crm_research.data.engines.flightlog import revenue_by_member

    pd.testing.assert_series_equal(revenue_by_member(lazy), revenue_by_member(f))


@pytest.mark.parametrize("merge", [False, True], ids=["flights", "distinct-days"])
def test_tracking_and_earlier_snapshots_of_a_lazy_log(maybe_spark, sim, tmp_path, merge):
    """cumulative_tracking and churn.snapshot_as_of: the engine's answers are pandas'."""
    from crm_research import churn, clv
    from crm_research.data.engines.flightlog import FlightLog

    f, m, c, n = sim
    f.to_parquet(tmp_path / "flights.parquet")
    kw = {"calibration_end": "2013-03-31", "observation_end": OBS, "merge_same_day": merge}
    s = clv.flight_summary(f, **kw)
    model = clv.BGNBD().fit(s)
    want = clv.cumulative_tracking(model, s, f, merge_same_day=merge)
    snap_want = churn.snapshot_as_of(f, m, "2013-03-31", complaints=c, noshows=n)
    for name in [e for e in ENGINES if e != "pandas" and (e != "spark" or maybe_spark)]:
        lazy = FlightLog(tmp_path / "flights.parquet", name)
        got = clv.cumulative_tracking(model, s, lazy, merge_same_day=merge)
        pd.testing.assert_frame_equal(got, want)
        if merge:
            continue
        got = churn.snapshot_as_of(lazy, m, "2013-03-31", complaints=c, noshows=n)
        same(got, snap_want)


def test_discretisation_sample_of_a_lazy_log_stays_in_the_engine(sim, tmp_path):
    """clv.discretisation_effect on a FlightLog: the engine filters the sampled members'
    flights (no LazyLogFallback: the whole log never reaches pandas), same table as pandas."""
    import warnings

    from crm_research import clv
    from crm_research.data.engines.flightlog import FlightLog, LazyLogFallback

    f = sim[0]
    f.to_parquet(tmp_path / "flights.parquet")
    kw = {"calibration_end": "2013-03-31", "observation_end": OBS, "sample_members": 150}
    want = clv.discretisation_effect(f, **kw)
    lazy = FlightLog(tmp_path / "flights.parquet", "duckdb")
    with warnings.catch_warnings():
        warnings.simplefilter("error", LazyLogFallback)
        got = clv.discretisation_effect(lazy, **kw)
    assert got.attrs == want.attrs == {"n_members": 150, "sampled": True}
    pd.testing.assert_frame_equal(got, want)
