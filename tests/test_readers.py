"""read_table and the schema checks: clear errors that name file, column, rows, values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_research.data import schema as S
from crm_research.data.readers import read_table
from crm_research.data.schema import DataValidationError


# --------------------------------------------------------------------------------------
# read_table
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_utf8_bom_and_gb18030(tmp_path, encoding):
    df = pd.DataFrame({"MEMBER_NO": [1, 2], "GENDER": ["男", "女"], "WORK_CITY": ["北京", "广州"]})
    path = tmp_path / "a.csv"
    df.to_csv(path, index=False, encoding=encoding)
    got = read_table(path)
    assert list(got.columns) == ["MEMBER_NO", "GENDER", "WORK_CITY"]  # no BOM in the name
    pd.testing.assert_frame_equal(got, df)


def test_tsv_and_parquet(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    df.to_csv(tmp_path / "a.tsv", index=False, sep="\t")
    pd.testing.assert_frame_equal(read_table(tmp_path / "a.tsv"), df)
    df.to_parquet(tmp_path / "a.parquet", index=False)
    pd.testing.assert_frame_equal(read_table(tmp_path / "a.parquet"), df)
    # Parquet content behind a .csv name is recognised by its magic bytes
    df.to_parquet(tmp_path / "really_parquet.csv", index=False)
    pd.testing.assert_frame_equal(read_table(tmp_path / "really_parquet.csv"), df)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "the file is empty"),
        ("newline.csv", b"\n", "no header or rows"),
        ("header.csv", b"a,b\n", "no data rows"),
        ("ragged.csv", b"a,b\n1,2\n3,4,5\n", "not a well-formed CSV file"),
        ("binary.csv", b"PK\x03\x04\x00\x00\x01\x02", "binary file"),
        ("latin1.csv", b"a,b\n\xe9,1\n", "cannot decode the file as UTF-8 or GB18030"),
        ("broken.parquet", b"not parquet at all", "not a readable Parquet file"),
        ("table.xlsx", b"a,b\n1,2\n", "unsupported file type '.xlsx'"),
        ("noext", b"a,b\n1,2\n", "unsupported file type"),
    ],
)
def test_bad_files_are_named(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataValidationError) as info:
        read_table(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)
    assert info.value.source == str(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DataValidationError, match="file not found"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(DataValidationError, match="folder"):
        read_table(tmp_path)


def test_error_is_a_value_error():
    assert issubclass(DataValidationError, ValueError)


# --------------------------------------------------------------------------------------
# DataValidationError's message
# --------------------------------------------------------------------------------------
def test_message_names_source_column_rows_values_and_hint():
    err = DataValidationError(
        "values that are negative",
        source="flights.csv",
        column="REVENUE",
        rows=[3, 7],
        values=[np.float64(-1.5), pd.Timestamp("2014-03-31")],
        hint="Fix them",
    )
    assert str(err) == (
        "flights.csv: column 'REVENUE': values that are negative; rows: 3, 7; "
        "values: -1.5, '2014-03-31'. Fix them"
    )
    assert err.rows == [3, 7] and err.column == "REVENUE" and err.source == "flights.csv"


def test_message_lists_at_most_ten_and_says_how_many():
    err = DataValidationError(
        "bad", source="f", column=["A", "B"], rows=range(1, 26), values=range(25)
    )
    msg = str(err)
    assert "column 'A', 'B'" in msg
    assert "rows (first 10 of 25): 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;" in msg
    assert "values (first 10 of 25): 0, 1" in msg
    assert "11" not in msg.split("rows")[1].split(";")[0]
    assert len(err.rows) == 25  # the full list stays on the exception
    assert str(DataValidationError("plain problem")) == "plain problem"


# --------------------------------------------------------------------------------------
# the helpers
# --------------------------------------------------------------------------------------
def test_row_labels_are_one_based_positions_whatever_the_index():
    df = pd.DataFrame({"a": [1, 2, 3]}, index=[10, 20, 30])
    assert S.row_labels(df, df["a"] == 2) == [2]


def test_require_columns_and_nonempty():
    df = pd.DataFrame({"MEMBER_NO": [1]})
    S.require_columns(df, ["MEMBER_NO"], "t")
    with pytest.raises(DataValidationError) as info:
        S.require_columns(df, ["MEMBER_NO", "FFP_DATE", "AGE"], "members.csv")
    msg = str(info.value)
    assert "members.csv" in msg and "['FFP_DATE', 'AGE']" in msg and "found ['MEMBER_NO']" in msg
    with pytest.raises(DataValidationError, match="no rows"):
        S.require_nonempty(df.iloc[:0], "t")


def test_parse_dates_accepts_the_textbook_formats():
    df = pd.DataFrame(
        {"d": ["2006/11/2", "2014/03/31", "2014/3/31  0:00:00", "2014-03-05", " 2013/1/9 ", ""]}
    )
    got = S.parse_dates(df, "d", "t", required=False)
    want = pd.to_datetime(
        ["2006-11-02", "2014-03-31", "2014-03-31", "2014-03-05", "2013-01-09", None]
    ).as_unit("ns")  # pandas 3 infers microseconds from strings; ours are nanoseconds
    pd.testing.assert_series_equal(got, pd.Series(want, name="d"), check_freq=False)
    assert got.dtype == "datetime64[ns]"


def test_parse_dates_errors():
    df = pd.DataFrame({"d": ["2014/3/1", "2014/2/29  0:00:00", "", "soon", "2014/13/1"]})
    with pytest.raises(DataValidationError) as info:
        S.parse_dates(df, "d", "in.csv", required=False)
    err = info.value
    assert err.rows == [2, 4, 5] and err.values == ["2014/2/29  0:00:00", "soon", "2014/13/1"]
    assert err.column == "d" and "cannot be parsed" in str(err)
    ok = pd.DataFrame({"d": ["2014/3/1", None]})
    with pytest.raises(DataValidationError, match="missing dates") as info:
        S.parse_dates(ok, "d", "in.csv")
    assert info.value.rows == [2]


@pytest.mark.parametrize("word", ["now", "today", "Today"])
def test_parse_dates_rejects_relative_words(word):
    # dateutil reads these as the current time; accepting them would make results depend
    # on the day the study runs
    df = pd.DataFrame({"d": ["2014/3/1", word]})
    with pytest.raises(DataValidationError) as info:
        S.parse_dates(df, "d", "t")
    assert info.value.values == [word]


def test_parse_dates_drops_time_zones_and_keeps_datetimes():
    tz = pd.DataFrame({"d": pd.to_datetime(["2014-03-01 10:00"]).tz_localize("Asia/Shanghai")})
    got = S.parse_dates(tz, "d", "t")
    assert got.dt.tz is None and got.iloc[0] == pd.Timestamp("2014-03-01 10:00")


def test_numeric():
    df = pd.DataFrame({"a": ["1", "2.5", " 3 ", None], "b": [1, 2, 3, 4]})
    got = S.numeric(df, "a", "t", allow_missing=True)
    assert got.tolist()[:3] == [1.0, 2.5, 3.0] and np.isnan(got.iloc[3])
    assert S.numeric(df, "b", "t").dtype == float
    with pytest.raises(DataValidationError, match="missing values") as info:
        S.numeric(df, "a", "t")
    assert info.value.rows == [4]
    bad = pd.DataFrame({"a": ["1", "x", "2", "1,5"]})
    with pytest.raises(DataValidationError, match="non-numeric") as info:
        S.numeric(bad, "a", "t.csv")
    assert info.value.rows == [2, 4] and info.value.values == ["x", "1,5"]


def test_check_range():
    s = pd.Series([0.5, -1.0, 2.5, np.nan], name="avg_discount")
    with pytest.raises(DataValidationError) as info:
        S.check_range(s, "t.csv", "avg_discount", low=0, high=2)
    err = info.value
    assert err.rows == [2, 3] and err.values == [-1.0, 2.5]
    assert "outside [0, 2]" in str(err)
    with pytest.raises(DataValidationError, match="that are negative") as info:
        S.check_range(s, "t.csv", "x", low=0, what="that are negative")
    assert info.value.rows == [2]
    S.check_range(pd.Series([0.0, 2.0, np.nan]), "t", "x", low=0, high=2)  # bounds included


def test_check_unique():
    s = pd.Series([5, 6, 5, 7, 6])
    with pytest.raises(DataValidationError, match="duplicate ids") as info:
        S.check_unique(s, "m.csv", "MEMBER_NO")
    assert info.value.rows == [1, 2, 3, 5] and info.value.values == [5, 6]
    S.check_unique(pd.Series([1, 2, 3]), "m.csv", "MEMBER_NO")
