"""The textbook member table: loader quirks, cleaning rules, bad input, the writer.

All fixtures are made by code: small hand-written tables with one quirk each, and a
small simulated programme written in the textbook's format by ``write_textbook_csv``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_research.data import load_processed
from crm_research.data.fixtures import NULL_COLUMNS, textbook_frame, write_textbook_csv
from crm_research.data.schema import SNAPSHOT_COLUMNS, DataValidationError
from crm_research.data.snapshot import build_snapshot
from crm_research.data.textbook import (
    LAST_FLIGHT_PLACEHOLDER,
    TEXTBOOK_COLUMNS,
    TEXTBOOK_REQUIRED,
    clean_textbook,
    load_textbook,
    standardise_textbook,
)

ENCODINGS = ["utf-8", "gb18030"]


# --------------------------------------------------------------------------------------
# hand-made tables in the file's own format (strings as in air_data.csv)
# --------------------------------------------------------------------------------------
def member(i: int, **over) -> dict:
    """One member as the real file writes it; LAST_TO_END = LOAD_TIME - LAST_FLIGHT_DATE."""
    row = {c: 0 for c in TEXTBOOK_COLUMNS}
    # enrolment and profile
    row.update(MEMBER_NO=i, FFP_DATE="2010/5/3", FIRST_FLIGHT_DATE="2010/6/1", FFP_TIER=4)
    row.update(GENDER="男", AGE=40, WORK_CITY="北京", WORK_PROVINCE="北京", WORK_COUNTRY="CN")
    # the window's flights: counts, distance, fares and points
    row.update(FLIGHT_COUNT=10, P1Y_Flight_Count=4, L1Y_Flight_Count=6)
    row.update(SEG_KM_SUM=12000, WEIGHTED_SEG_KM=8640.0, avg_discount=0.72)
    row.update(SUM_YR_1=5000.0, SUM_YR_2=6000.0, BP_SUM=8000, Points_Sum=8000)
    # dates and intervals
    row.update(LOAD_TIME="2014/3/31", LAST_FLIGHT_DATE="2014/3/1", LAST_TO_END=30)
    row.update(AVG_INTERVAL=50.5, MAX_INTERVAL=120)
    row.update(over)
    return row


def table(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(TEXTBOOK_COLUMNS))


def write(df: pd.DataFrame, path, encoding: str = "utf-8"):
    df.to_csv(path, index=False, encoding=encoding)
    return path


def quirky_table() -> pd.DataFrame:
    """Every loader quirk of the real file, one per member."""
    return table(
        member(1),
        member(2, FFP_DATE="2006/11/2", FIRST_FLIGHT_DATE="2008/12/24", GENDER="女"),
        member(3, LOAD_TIME="2014/03/31", LAST_FLIGHT_DATE="2014/03/05", LAST_TO_END=26),
        member(4, LAST_FLIGHT_DATE=LAST_FLIGHT_PLACEHOLDER, LAST_TO_END=33),
        member(5, SUM_YR_1=None, AGE=None, GENDER=None, WORK_CITY=None, WORK_PROVINCE=None),
        member(6, AGE=105, WORK_COUNTRY=None, SUM_YR_2=None),
        member(7, FIRST_FLIGHT_DATE="1905/1/1"),
        member(8, FIRST_FLIGHT_DATE="2015/1/1"),
        member(9, LAST_FLIGHT_DATE="2014/3/31  0:00:00", LAST_TO_END=0),
    )


# --------------------------------------------------------------------------------------
# the loader
# --------------------------------------------------------------------------------------
def test_textbook_has_44_distinct_columns():
    assert len(TEXTBOOK_COLUMNS) == 44 == len(set(TEXTBOOK_COLUMNS))
    assert set(TEXTBOOK_REQUIRED) <= set(TEXTBOOK_COLUMNS)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_loader_reads_every_quirk(tmp_path, encoding):
    path = write(quirky_table(), tmp_path / "air_data.csv", encoding)
    raw_bytes = path.read_bytes()
    if encoding == "gb18030":  # the fixture really is GB18030, not UTF-8
        with pytest.raises(UnicodeDecodeError):
            raw_bytes.decode("utf-8")
    ds = load_textbook(path)
    s = ds.snapshot.set_index("MEMBER_NO")

    assert ds.flights is None and ds.members is None
    assert ds.info["source"] == "textbook"
    assert ds.info["obs_end"] == "2014-03-31" and ds.obs_end == pd.Timestamp("2014-03-31")
    assert ds.info["has_ffp_columns"] is True
    assert ds.info["encoding"] == encoding
    assert len(s) == 9

    # dates written 2006/11/2, 2014/03/31 and 2014/3/31  0:00:00
    assert s.loc[2, "FFP_DATE"] == pd.Timestamp("2006-11-02")
    assert s.loc[2, "FIRST_FLIGHT_DATE"] == pd.Timestamp("2008-12-24")
    assert (s["LOAD_TIME"] == pd.Timestamp("2014-03-31")).all()
    assert s.loc[3, "LAST_FLIGHT_DATE"] == pd.Timestamp("2014-03-05")
    assert s.loc[9, "LAST_FLIGHT_DATE"] == pd.Timestamp("2014-03-31")
    # the placeholder is rebuilt from LOAD_TIME - LAST_TO_END (33 days)
    assert s.loc[4, "LAST_FLIGHT_DATE"] == pd.Timestamp("2014-02-26")
    lf = ds.info["quality"]["last_flight_date"]
    assert lf["placeholders_rebuilt"] == 1
    assert lf["placeholder_values"] == [LAST_FLIGHT_PLACEHOLDER]
    assert lf["offset_days"] == 0 and lf["inconsistent_with_last_to_end"] == 0

    # Chinese text survives both encodings; nulls stay missing
    assert s.loc[1, "GENDER"] == "男" and s.loc[2, "GENDER"] == "女"
    assert s.loc[1, "WORK_CITY"] == "北京"
    assert pd.isna(s.loc[5, "GENDER"]) and pd.isna(s.loc[5, "WORK_CITY"])
    assert pd.isna(s.loc[5, "SUM_YR_1"]) and pd.isna(s.loc[5, "AGE"])
    assert pd.isna(s.loc[6, "SUM_YR_2"]) and pd.isna(s.loc[6, "WORK_COUNTRY"])
    nulls = ds.info["quality"]["nulls"]
    for col in NULL_COLUMNS:
        assert nulls[col] == 1, col

    # ages above 100 and implausible first flights are flagged and kept by default
    q = ds.info["quality"]
    assert q["age_over_100"] == 1 and s.loc[6, "AGE"] == 105
    ff = q["first_flight_implausible"]
    assert (ff["before_earliest"], ff["after_load_time"], ff["action"]) == (1, 1, "keep")
    assert sorted(ff["members"]) == [7, 8]
    assert s.loc[7, "FIRST_FLIGHT_DATE"] == pd.Timestamp("1905-01-01")

    # types of the canonical snapshot
    snap = ds.snapshot
    assert snap["MEMBER_NO"].dtype == np.int64
    assert snap["FLIGHT_COUNT"].dtype == np.int64
    assert snap["LAST_TO_END"].dtype == np.int64
    for col in ("FFP_DATE", "FIRST_FLIGHT_DATE", "LOAD_TIME", "LAST_FLIGHT_DATE"):
        assert pd.api.types.is_datetime64_ns_dtype(snap[col]), col
    canonical = [c for c in SNAPSHOT_COLUMNS if c in snap.columns]
    assert list(snap.columns[: len(canonical)]) == canonical
    assert set(snap.columns) == set(TEXTBOOK_COLUMNS)


def test_loader_saves_and_reloads(tmp_path):
    ds = load_textbook(write(quirky_table(), tmp_path / "air_data.csv"))
    ds.save(tmp_path / "processed")
    back = load_processed(tmp_path / "processed")
    assert back.flights is None and back.info["source"] == "textbook"
    assert back.info["has_flight_log"] is False
    pd.testing.assert_frame_equal(back.snapshot, ds.snapshot)


def test_loader_reads_parquet_too(tmp_path):
    df = quirky_table()
    for col in ("GENDER", "WORK_CITY", "WORK_PROVINCE", "WORK_COUNTRY"):
        df[col] = df[col].astype(object)
    df.to_parquet(tmp_path / "air.parquet", index=False)
    ds = load_textbook(tmp_path / "air.parquet")
    assert ds.info["encoding"] == "parquet" and len(ds.snapshot) == 9


def test_placeholder_rebuilt_with_the_files_own_last_to_end_convention(tmp_path):
    # a file where LAST_TO_END counts both ends (one day more than the date difference)
    df = table(
        member(1, LAST_FLIGHT_DATE="2014/3/1", LAST_TO_END=31),
        member(2, LAST_FLIGHT_DATE="2014/1/31", LAST_TO_END=60),
        member(3, LAST_FLIGHT_DATE="2013/3/31", LAST_TO_END=500),  # disagrees
        member(4, LAST_FLIGHT_DATE=LAST_FLIGHT_PLACEHOLDER, LAST_TO_END=11),
        member(5, LAST_FLIGHT_DATE="", LAST_TO_END=21),
    )
    ds = load_textbook(write(df, tmp_path / "a.csv"))
    s = ds.snapshot.set_index("MEMBER_NO")
    lf = ds.info["quality"]["last_flight_date"]
    assert lf["offset_days"] == -1  # LOAD_TIME - LAST_FLIGHT_DATE - LAST_TO_END
    assert lf["rebuild_rule"] == "LOAD_TIME - (LAST_TO_END - 1) days"
    assert lf["inconsistent_with_last_to_end"] == 1
    assert lf["placeholders_rebuilt"] == 1 and lf["blanks_rebuilt"] == 1
    assert s.loc[4, "LAST_FLIGHT_DATE"] == pd.Timestamp("2014-03-21")  # 10 days before
    assert s.loc[5, "LAST_FLIGHT_DATE"] == pd.Timestamp("2014-03-11")  # 20 days before
    assert s.loc[3, "LAST_FLIGHT_DATE"] == pd.Timestamp("2013-03-31")  # reported, kept


@pytest.mark.parametrize("action", ["nat", "drop"])
def test_implausible_first_flights_blanked_or_dropped(tmp_path, action):
    path = write(quirky_table(), tmp_path / "a.csv")
    ds = load_textbook(path, first_flight=action)
    s = ds.snapshot.set_index("MEMBER_NO")
    assert ds.info["quality"]["first_flight_implausible"]["action"] == action
    if action == "nat":
        assert len(s) == 9
        assert s.loc[[7, 8], "FIRST_FLIGHT_DATE"].isna().all()
        assert s["FIRST_FLIGHT_DATE"].notna().sum() == 7
    else:
        assert sorted(s.index) == [1, 2, 3, 4, 5, 6, 9]


def test_first_flight_option_and_earliest_date_are_checked(tmp_path):
    path = write(quirky_table(), tmp_path / "a.csv")
    with pytest.raises(ValueError, match="first_flight"):
        load_textbook(path, first_flight="fix")
    ds = load_textbook(path, earliest_first_flight="2009-01-01")
    assert ds.info["quality"]["first_flight_implausible"]["before_earliest"] == 2  # 1905, 2008


def test_quality_report_counts_window_and_flight_count_facts(tmp_path):
    df = table(
        member(1, FIRST_FLIGHT_DATE="2010/6/1"),  # before the window (2012-03-31, 2014-03-31]
        member(2, FFP_DATE="2013/1/1", FIRST_FLIGHT_DATE="2012/12/1"),  # before enrolment
        member(3, FFP_DATE="2013/1/1", FIRST_FLIGHT_DATE="2013/2/1", FLIGHT_COUNT=11),
    )
    q = load_textbook(write(df, tmp_path / "a.csv")).info["quality"]
    assert q["first_flight_before_window"] == 1
    assert q["first_flight_before_ffp_date"] == 1
    assert q["flight_count_not_p1y_plus_l1y"] == 1  # 11 != 4 + 6


# --------------------------------------------------------------------------------------
# cleaning rules
# --------------------------------------------------------------------------------------
def cleaning_table() -> pd.DataFrame:
    return table(
        member(1),  # a: kept by every rule
        member(2, SUM_YR_1=None),  # b: null fare
        member(3, SUM_YR_1=0, SUM_YR_2=0, SEG_KM_SUM=0, avg_discount=0),  # c
        member(4, SUM_YR_1=0, SUM_YR_2=0),  # d: no fare but km and discount
        member(5, SEG_KM_SUM=0, avg_discount=0.5),  # e
        member(6, avg_discount=0),  # f
        member(7, AGE=101),  # g
        member(8, AGE=None),  # h: missing age is kept by the book's `~(AGE > 100)`
    )


def test_first_edition_rule(tmp_path):
    ds = load_textbook(write(cleaning_table(), tmp_path / "a.csv"), cleaning="first_edition")
    rep = ds.info["cleaning"]
    assert [s["dropped"] for s in rep["steps"]] == [1, 1]  # b; d
    assert sorted(ds.snapshot["MEMBER_NO"]) == [1, 3, 5, 6, 7, 8]
    assert (rep["rows_in"], rep["rows_out"], rep["dropped"]) == (8, 6, 2)
    assert rep["steps"][-1]["remaining"] == len(ds.snapshot) == ds.info["n_members"]
    assert ds.info["n_members_file"] == 8


def test_second_edition_rule(tmp_path):
    ds = load_textbook(write(cleaning_table(), tmp_path / "a.csv"), cleaning="second_edition")
    rep = ds.info["cleaning"]
    assert [s["dropped"] for s in rep["steps"]] == [1, 2, 1, 1, 1]  # b; c, d; e; f; g
    assert sorted(ds.snapshot["MEMBER_NO"]) == [1, 8]
    assert rep["rows_out"] == 2 and rep["dropped"] == 6
    assert list(ds.snapshot.index) == [0, 1]


def test_clean_textbook_directly_and_none_rule():
    snap, _ = standardise_textbook(cleaning_table())
    kept, rep = clean_textbook(snap, "none")
    assert len(kept) == 8 and rep["steps"] == [] and rep["dropped"] == 0
    kept, rep = clean_textbook(snap, "second_edition")
    assert list(kept.index) == [0, 7]  # the original rows, to trace them
    with pytest.raises(ValueError, match="cleaning rule"):
        clean_textbook(snap, "third_edition")
    # without ages (or fares) the step is skipped and says so
    kept, rep = clean_textbook(snap.drop(columns="AGE"), "second_edition")
    assert sorted(kept["MEMBER_NO"]) == [1, 7, 8]
    assert rep["steps"][-1]["skipped"] and "AGE absent" in rep["steps"][-1]["step"]
    kept, rep = clean_textbook(snap.drop(columns=["SUM_YR_1", "SUM_YR_2"]), "first_edition")
    assert len(kept) == 8 and all(s["skipped"] for s in rep["steps"])
    with pytest.raises(DataValidationError, match="SEG_KM_SUM"):
        clean_textbook(snap.drop(columns="SEG_KM_SUM"), "second_edition")


# --------------------------------------------------------------------------------------
# bad input: a clear error naming file, column, rows and values
# --------------------------------------------------------------------------------------
def _error(tmp_path, df, **kw) -> DataValidationError:
    path = write(df, tmp_path / "bad_air.csv")
    with pytest.raises(DataValidationError) as info:
        load_textbook(path, **kw)
    assert str(path) in str(info.value)
    return info.value


def test_missing_required_columns(tmp_path):
    err = _error(tmp_path, table(member(1)).drop(columns=["SEG_KM_SUM", "LAST_TO_END"]))
    assert "SEG_KM_SUM" in str(err) and "LAST_TO_END" in str(err)
    assert "missing required column" in str(err)


@pytest.mark.parametrize("col", ["FFP_DATE", "FIRST_FLIGHT_DATE", "LOAD_TIME", "LAST_FLIGHT_DATE"])
def test_unparseable_dates(tmp_path, col):
    err = _error(tmp_path, table(member(1), member(2, **{col: "not a date"})))
    assert err.column == col and err.rows == [2] and err.values == ["not a date"]
    assert "cannot be parsed" in str(err) and "'not a date'" in str(err)


@pytest.mark.parametrize(
    "col", ["FLIGHT_COUNT", "SEG_KM_SUM", "SUM_YR_1", "SUM_YR_2", "LAST_TO_END", "L1Y_Flight_Count"]
)
def test_negative_counts_km_and_revenue(tmp_path, col):
    err = _error(tmp_path, table(member(1), member(2), member(3, **{col: -5})))
    assert err.column == col and err.rows == [3] and err.values == [-5.0]
    assert "negative" in str(err)


@pytest.mark.parametrize("value", [-0.1, 2.5])
def test_discount_outside_0_2(tmp_path, value):
    err = _error(tmp_path, table(member(1), member(2, avg_discount=value)))
    assert err.column == "avg_discount" and err.rows == [2] and err.values == [value]


def test_duplicate_member_ids(tmp_path):
    err = _error(tmp_path, table(member(1), member(7), member(3), member(7)))
    assert err.column == "MEMBER_NO" and err.rows == [2, 4] and err.values == [7]
    assert "duplicate" in str(err)


def test_member_ids_too_long_to_keep_are_refused(tmp_path):
    # a 20-digit id would lose digits through float (or wrap in int64): refused by the
    # absurd-value check (beyond 1e12, below 2**53 every id is exact), its row named
    err = _error(tmp_path, table(member(1), member(12345678901234567890)))
    assert err.column == "MEMBER_NO" and err.rows == [2]
    assert "absurd" in str(err) and "12345678901234567890" in str(err)


def test_non_numeric_and_missing_counts(tmp_path):
    err = _error(tmp_path, table(member(1), member(2, FLIGHT_COUNT="ten")))
    assert err.column == "FLIGHT_COUNT" and err.values == ["ten"] and "non-numeric" in str(err)
    err = _error(tmp_path, table(member(1), member(2, SEG_KM_SUM=None)))
    assert err.column == "SEG_KM_SUM" and err.rows == [2] and "missing" in str(err)


def test_more_than_one_load_time(tmp_path):
    err = _error(tmp_path, table(member(1), member(2), member(3, LOAD_TIME="2013/3/31")))
    assert err.column == "LOAD_TIME" and err.rows == [3]
    assert "more than one observation end" in str(err)


def test_empty_and_header_only_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(DataValidationError, match="empty"):
        load_textbook(empty)
    header = tmp_path / "header.csv"
    header.write_text(",".join(TEXTBOOK_COLUMNS) + "\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="no data rows"):
        load_textbook(header)


def test_frames_are_checked_without_a_file():
    with pytest.raises(DataValidationError, match="my table"):
        standardise_textbook(table(member(1), member(1)), source="my table")


# --------------------------------------------------------------------------------------
# the writer: a canonical snapshot -> a textbook-format file, and back
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim_snapshot(sim_tiny) -> pd.DataFrame:
    sim = sim_tiny  # conftest: 600 members, seed 7
    return build_snapshot(sim.flights, sim.members, sim.obs_end)


def hand_snapshot() -> pd.DataFrame:
    """A canonical snapshot built from a hand-made flight log (3 members)."""
    flights = pd.DataFrame(
        {
            "MEMBER_NO": [1, 1, 1, 2, 3],
            "FLIGHT_DATE": pd.to_datetime(
                ["2012-06-01", "2013-06-01", "2014-03-01", "2014-01-10", "2011-05-05"]
            ),
            "SEG_KM": [1000.0, 2000.0, 1500.0, 800.0, 900.0],
            "DISCOUNT": [0.8, 1.0, 0.6, 1.2, 0.5],
            "REVENUE": [700.0, 1500.0, 900.0, 1000.0, 400.0],
        }
    )
    members = pd.DataFrame(
        {
            "MEMBER_NO": [1, 2, 3],
            "FFP_DATE": pd.to_datetime(["2012-05-01", "2013-12-01", "2011-05-01"]),
            "FFP_TIER": [5, 4, 4],
            "GENDER": ["M", "female", "男"],
            "AGE": [35, 50, 61],
            "WORK_CITY": ["上海", "广州", "北京"],
            "WORK_PROVINCE": ["上海", "广东", "北京"],
            "WORK_COUNTRY": ["CN", "CN", "CN"],
        }
    )
    return build_snapshot(flights, members, "2014-03-31")


def test_textbook_frame_fills_the_44_columns_by_its_rules():
    snap = hand_snapshot()
    f = textbook_frame(snap).set_index("MEMBER_NO")
    assert list(f.reset_index().columns) == list(TEXTBOOK_COLUMNS)
    assert list(f["GENDER"]) == ["男", "女", "男"]
    # member 1: three flights in the window, two in the last year, km 4500
    m = f.loc[1]
    assert m["FLIGHT_COUNT"] == 3 and m["P1Y_Flight_Count"] == 1 and m["L1Y_Flight_Count"] == 2
    assert m["SEG_KM_SUM"] == 4500.0
    assert m["WEIGHTED_SEG_KM"] == pytest.approx(1000 * 0.8 + 2000 * 1.0 + 1500 * 0.6)
    assert m["BP_SUM"] == 3700.0
    assert m["P1Y_BP_SUM"] + m["L1Y_BP_SUM"] == m["BP_SUM"]
    assert m["P1Y_BP_SUM"] == round(3700 / 3)
    assert m["EP_SUM_YR_1"] == round(0.25 * m["P1Y_BP_SUM"])  # tier 5 earns elite points
    assert m["EP_SUM"] == m["EP_SUM_YR_1"] + m["EP_SUM_YR_2"] == m["Eli_Add_Point_Sum"]
    assert m["AVG_FLIGHT_COUNT"] == pytest.approx(3 / 8)
    assert m["BEGIN_TO_FIRST"] == 31
    assert m["Ration_L1Y_Flight_Count"] == pytest.approx(2 / 3)
    assert m["Ration_P1Y_BPS"] + m["Ration_L1Y_BPS"] == pytest.approx(1.0)
    assert m["Points_Sum"] == snap.set_index("MEMBER_NO").loc[1, "Points_Sum"]
    assert f.loc[2, "EP_SUM"] == 0  # tier 4: no elite points
    # member 3 flew only before the window: zero km, zero discount (the book's convention)
    m3 = f.loc[3]
    assert m3["FLIGHT_COUNT"] == 0 and m3["SEG_KM_SUM"] == 0 and m3["avg_discount"] == 0
    assert m3["SUM_YR_1"] == 0 and m3["SUM_YR_2"] == 0
    assert m3["Ration_L1Y_Flight_Count"] == 0 and m3["Ration_P1Y_BPS"] == 0


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_round_trip_without_quirks(tmp_path, sim_snapshot, encoding):
    path = write_textbook_csv(sim_snapshot, tmp_path / "air.csv", quirks=False, encoding=encoding)
    assert pd.read_csv(path, nrows=0, encoding=encoding).columns.tolist() == list(TEXTBOOK_COLUMNS)
    ds = load_textbook(path)
    assert ds.info["encoding"] == encoding
    got = ds.snapshot
    want = sim_snapshot.copy()
    want["avg_discount"] = want["avg_discount"].fillna(0.0)  # zero km -> 0 in the file
    cols = [c for c in want.columns if c in got.columns]
    assert {"FLIGHT_COUNT", "SUM_YR_1", "LAST_FLIGHT_DATE", "GENDER", "AGE", "BP_SUM"} <= set(cols)
    pd.testing.assert_frame_equal(
        got[cols].reset_index(drop=True),
        want[cols].reset_index(drop=True),
        check_dtype=False,
        check_exact=False,
        rtol=1e-12,
    )
    q = ds.info["quality"]
    assert q["last_flight_date"]["placeholders_rebuilt"] == 0
    assert q["first_flight_implausible"]["before_earliest"] == 0


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_round_trip_with_quirks(tmp_path, sim_snapshot, encoding):
    path = write_textbook_csv(sim_snapshot, tmp_path / "air.csv", encoding=encoding, seed=3)
    text = pd.read_csv(path, dtype=str, encoding=encoding, keep_default_na=False)
    n = len(sim_snapshot)
    assert len(text) == n and list(text.columns) == list(TEXTBOOK_COLUMNS)
    # each quirk is present in the file itself
    n_placeholder = int((text["LAST_FLIGHT_DATE"] == LAST_FLIGHT_PLACEHOLDER).sum())
    assert n_placeholder >= 1
    assert text["FFP_DATE"].str.fullmatch(r"\d{4}/\d{1,2}/\d{1,2}").all()
    assert text["FFP_DATE"].str.contains(r"/\d/").any()  # unpadded 2006/1/2
    assert text["FFP_DATE"].str.contains(r"/0\d/").any()  # padded 2014/03/31
    for col in (
        "SUM_YR_1",
        "SUM_YR_2",
        "AGE",
        "GENDER",
        "WORK_CITY",
        "WORK_PROVINCE",
        "WORK_COUNTRY",
    ):
        assert (text[col] == "").sum() >= 1, col
    assert set(text["GENDER"]) <= {"男", "女", ""}
    ages = pd.to_numeric(text["AGE"], errors="coerce")
    assert (ages > 100).sum() >= 1
    assert not text["AGE"].str.contains(r"\.").any()  # whole numbers, as in the real file

    ds = load_textbook(path)
    q = ds.info["quality"]
    assert q["last_flight_date"]["placeholders_rebuilt"] == n_placeholder
    assert q["age_over_100"] == int((ages > 100).sum())
    assert q["first_flight_implausible"]["before_earliest"] >= 1
    assert q["first_flight_implausible"]["after_load_time"] >= 1
    assert q["nulls"]["SUM_YR_1"] == int((text["SUM_YR_1"] == "").sum())
    got = ds.snapshot.set_index("MEMBER_NO")
    want = sim_snapshot.set_index("MEMBER_NO")
    # the placeholders are rebuilt to the true last flight dates
    assert (got["LAST_FLIGHT_DATE"] == want["LAST_FLIGHT_DATE"]).all()
    same = ["FFP_DATE", "FLIGHT_COUNT", "SEG_KM_SUM", "LAST_TO_END", "P1Y_Flight_Count"]
    pd.testing.assert_frame_equal(got[same], want[same], check_dtype=False)
    # the cleaning rules run on the quirky file
    cleaned = load_textbook(path, cleaning="second_edition")
    assert cleaned.info["cleaning"]["steps"][0]["dropped"] == int(
        ((text["SUM_YR_1"] == "") | (text["SUM_YR_2"] == "")).sum()
    )
    assert not (cleaned.snapshot["AGE"] > 100).any()


def test_writer_is_deterministic_in_seed(tmp_path, sim_snapshot):
    a = write_textbook_csv(sim_snapshot, tmp_path / "a.csv", seed=5).read_bytes()
    b = write_textbook_csv(sim_snapshot, tmp_path / "b.csv", seed=5).read_bytes()
    c = write_textbook_csv(sim_snapshot, tmp_path / "c.csv", seed=6).read_bytes()
    assert a == b and a != c


def test_writer_options(tmp_path, sim_snapshot):
    p = write_textbook_csv(sim_snapshot, tmp_path / "a.csv", quirks=False, min_flights=2)
    ds = load_textbook(p)
    assert len(ds.snapshot) == int((sim_snapshot["FLIGHT_COUNT"] >= 2).sum())
    assert ds.snapshot["FLIGHT_COUNT"].min() >= 2
    p = write_textbook_csv(
        sim_snapshot, tmp_path / "b.csv", quirk_rates={"null_SUM_YR_1": 0.1, "zero_padded_dates": 0}
    )
    text = pd.read_csv(p, dtype=str, keep_default_na=False)
    assert (text["SUM_YR_1"] == "").sum() == round(0.1 * len(sim_snapshot))
    assert not text["FFP_DATE"].str.contains(r"/0\d").any()
    with pytest.raises(ValueError, match="encoding"):
        write_textbook_csv(sim_snapshot, tmp_path / "c.csv", encoding="latin-1")
    with pytest.raises(ValueError, match="unknown quirk"):
        write_textbook_csv(sim_snapshot, tmp_path / "c.csv", quirk_rates={"typo": 0.1})
    with pytest.raises(DataValidationError, match="LAST_TO_END"):
        write_textbook_csv(sim_snapshot.drop(columns="LAST_TO_END"), tmp_path / "c.csv")
