"""Flight log -> member snapshot against hand-computed cases, and flight-log checks."""

import numpy as np
import pandas as pd
import pytest

from crm_research.data.schema import DataValidationError
from crm_research.data.snapshot import build_snapshot, validate_flights, validate_members

OBS = pd.Timestamp("2014-03-31")


def test_hand_computed_snapshot(log):
    f, m, c = log
    s = build_snapshot(f, m, OBS, complaints=c).set_index("MEMBER_NO")
    one = s.loc[1]
    assert one["FLIGHT_COUNT"] == 3
    assert one["SEG_KM_SUM"] == 4000
    assert one["avg_discount"] == pytest.approx((2000 * 1.0 + 1000 * 0.5 + 1000 * 0.7) / 4000)
    assert one["SUM_YR_1"] == 2000 and one["SUM_YR_2"] == 1000
    assert one["P1Y_Flight_Count"] == 1 and one["L1Y_Flight_Count"] == 2
    assert one["FIRST_FLIGHT_DATE"] == pd.Timestamp("2011-06-01")
    assert one["LAST_FLIGHT_DATE"] == pd.Timestamp("2013-06-11")
    assert one["LAST_TO_END"] == (OBS - pd.Timestamp("2013-06-11")).days == 293
    gaps = [(pd.Timestamp("2013-06-01") - pd.Timestamp("2012-05-01")).days, 10]
    assert one["AVG_INTERVAL"] == pytest.approx(np.mean(gaps))
    assert one["MAX_INTERVAL"] == max(gaps)
    assert one["BP_SUM"] == 3200
    assert one["Points_Sum"] == 4000  # tier 5: 25% bonus
    assert one["COMPLAINT_COUNT"] == 1  # the 2011 complaint is before the window
    assert one["LOAD_TIME"] == OBS and one["FFP_TIER"] == 5

    two = s.loc[2]
    assert two["FLIGHT_COUNT"] == 1 and two["LAST_TO_END"] == 0
    assert np.isnan(two["AVG_INTERVAL"]) and np.isnan(two["MAX_INTERVAL"])
    assert two["COMPLAINT_COUNT"] == 1

    three = s.loc[3]
    assert three["FLIGHT_COUNT"] == 0 and np.isnan(three["avg_discount"])
    assert (
        three["SUM_YR_1"] == 0 and three["LAST_TO_END"] == (OBS - pd.Timestamp("2010-01-01")).days
    )


def test_snapshot_uses_nothing_after_as_of(log):
    f, m, c = log
    as_of = pd.Timestamp("2013-06-05")
    full = build_snapshot(f, m, as_of, complaints=c)
    cut = build_snapshot(
        f[f["FLIGHT_DATE"] <= as_of], m, as_of, complaints=c[c["COMPLAINT_DATE"] <= as_of]
    )
    pd.testing.assert_frame_equal(full, cut)
    assert 2 not in set(full["MEMBER_NO"])  # member 2 had not flown yet


def test_snapshot_without_member_table_uses_first_flight_as_enrolment(log):
    f, _, _ = log
    s = build_snapshot(f[["MEMBER_NO", "FLIGHT_DATE", "REVENUE"]], None, OBS)
    assert (s["FFP_DATE"] == s["FIRST_FLIGHT_DATE"]).all()
    assert "SEG_KM_SUM" not in s and "avg_discount" not in s
    assert s.set_index("MEMBER_NO").loc[1, "SUM_YR_2"] == 1000


@pytest.mark.parametrize(
    "column, value, match",
    [
        ("SEG_KM", -5, "negative"),
        ("REVENUE", -1.0, "negative"),
        ("DISCOUNT", 2.5, r"outside \[0, 2\]"),
        ("FLIGHT_DATE", "2013-13-45", "cannot be parsed"),
    ],
)
def test_bad_flight_values_name_column_and_rows(log, column, value, match):
    f, _, _ = log
    f = f.astype({"FLIGHT_DATE": object})
    f.loc[2, column] = value
    with pytest.raises(DataValidationError, match=match) as e:
        validate_flights(f, source="flights.csv")
    msg = str(e.value)
    assert "flights.csv" in msg and repr(column) in msg and "rows: 3" in msg


def test_flights_after_observation_and_before_enrolment(log):
    f, m, _ = log
    with pytest.raises(DataValidationError, match="after the observation date") as e:
        validate_flights(f, source="flights.csv", obs_end="2014-01-01")
    assert "rows: 5" in str(e.value)
    m2 = m.copy()
    m2.loc[0, "FFP_DATE"] = pd.Timestamp("2012-01-01")
    with pytest.raises(DataValidationError, match="before the member's enrolment") as e:
        validate_flights(f, source="flights.csv", members=m2)
    assert "member 1: flight 2011-06-01" in str(e.value)


def test_missing_columns_duplicates_and_empty(log):
    f, m, _ = log
    with pytest.raises(
        DataValidationError, match=r"missing required column\(s\) \['FLIGHT_DATE'\]"
    ):
        validate_flights(f.drop(columns="FLIGHT_DATE"), source="flights.csv")
    with pytest.raises(DataValidationError, match="duplicate ids") as e:
        validate_members(pd.concat([m, m.iloc[[0]]]), source="members.csv")
    assert "members.csv" in str(e.value) and "values: 1" in str(e.value)
    with pytest.raises(DataValidationError, match="no rows"):
        validate_flights(f.iloc[0:0], source="flights.csv")


def test_row_order_does_not_matter(log):
    f, m, c = log
    shuffled = f.sample(frac=1.0, random_state=0)
    pd.testing.assert_frame_equal(build_snapshot(f, m, OBS), build_snapshot(shuffled, m, OBS))


def test_all_dates_are_nanosecond_datetimes(log):
    f, m, _ = log
    s = build_snapshot(f, m, "2014-03-31")
    for col in ("LOAD_TIME", "FIRST_FLIGHT_DATE", "LAST_FLIGHT_DATE", "FFP_DATE"):
        assert s[col].dtype == "datetime64[ns]", col
