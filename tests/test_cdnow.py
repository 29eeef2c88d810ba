"""CDNOW read from the files that lifetimes ships, as a transaction ("flight") log."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from crm_research.data.cdnow import (
    CDNOW_END,
    cdnow_dataset,
    cdnow_path,
    load_cdnow_transactions,
    positive_revenue,
)


@pytest.fixture(scope="module")
def sample():
    return load_cdnow_transactions(sample=True)


@pytest.fixture(scope="module")
def master():
    return load_cdnow_transactions(sample=False)


def test_files_are_found_in_the_installed_lifetimes():
    for s in (True, False):
        p = cdnow_path(s)
        assert p.exists() and p.parent.name == "datasets" and p.parent.parent.name == "lifetimes"


def test_columns_and_types(sample, master):
    for df in (sample, master):
        assert list(df.columns) == ["MEMBER_NO", "FLIGHT_DATE", "REVENUE", "N_ITEMS"]
        assert df["MEMBER_NO"].dtype == np.int64
        assert df["N_ITEMS"].dtype == np.int64
        assert df["REVENUE"].dtype == np.float64
        assert pd.api.types.is_datetime64_ns_dtype(df["FLIGHT_DATE"])
        assert (df["N_ITEMS"] >= 1).all()


def test_customer_and_transaction_counts(sample, master):
    # 2,357 customers in the 1/10 sample and 23,570 in the cohort (Hardie, "Notes on the
    # CDNOW Master Data Set", brucehardie.com/notes/026/); the sample file has 6,919
    # transaction records.
    assert sample["MEMBER_NO"].nunique() == 2_357
    assert len(sample) == 6_919
    assert master["MEMBER_NO"].nunique() == 23_570
    # count of records in lifetimes 0.11.3's CDNOW_master.txt (guards the reader: a
    # dropped header or a mis-split line changes it)
    assert len(master) == 69_659
    with open(cdnow_path(False)) as fh:
        assert len(master) == sum(1 for line in fh if line.strip()) - 1  # minus the header


def test_cohort_is_first_quarter_1997_observed_to_end_june_1998(sample, master):
    # Hardie note 026: the cohort made its first-ever purchase in 1997-Q1; purchases up
    # to the end of June 1998.
    for df in (sample, master):
        first = df.groupby("MEMBER_NO")["FLIGHT_DATE"].min()
        assert first.min() >= pd.Timestamp("1997-01-01")
        assert first.max() <= pd.Timestamp("1997-03-31")
        assert df["FLIGHT_DATE"].max() <= pd.Timestamp(CDNOW_END)


def test_sample_records_are_master_records(sample, master):
    ids = sample["MEMBER_NO"].unique()
    sub = master[master["MEMBER_NO"].isin(ids)]
    key = ["MEMBER_NO", "FLIGHT_DATE", "N_ITEMS", "REVENUE"]
    a = sample[key].sort_values(key).reset_index(drop=True)
    b = sub[key].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_zero_dollar_purchases_kept_in_raw_log_and_droppable(sample, master):
    assert int((master["REVENUE"] == 0).sum()) == 80
    assert int((master["REVENUE"] < 0).sum()) == 0
    kept, dropped = positive_revenue(master)
    assert dropped == 80
    assert len(kept) == len(master) - 80
    assert (kept["REVENUE"] > 0).all()
    n_zero_sample = int((sample["REVENUE"] <= 0).sum())
    kept_s, dropped_s = positive_revenue(sample)
    assert dropped_s == n_zero_sample > 0
    assert len(kept_s) == len(sample) - n_zero_sample


def test_matches_the_fader_hardie_lee_calibration_summary(sample):
    """Rebuild FHL (2005)'s calibration summary (weeks 1-39) and compare per customer.

    lifetimes ships FHL's summary as ``cdnow_customers_summary_with_transactions.csv``
    (ID = the sample's ``new_id``; x repeat purchase days, t_x and T in weeks, zbar mean
    repeat spend). Purchases on the same day count once.
    """
    folder = cdnow_path(True).parent
    fhl = pd.read_csv(folder / "cdnow_customers_summary_with_transactions.csv").set_index("ID")
    ids = pd.read_csv(
        cdnow_path(True), sep=r"\s+", header=None, usecols=[0, 1], names=["cid", "nid"]
    ).drop_duplicates()
    to_new = ids.set_index("cid")["nid"]
    end = pd.Timestamp("1997-09-30")
    week = pd.Timedelta(days=7)
    first = sample.groupby("MEMBER_NO")["FLIGHT_DATE"].min()
    days = (
        sample[sample["FLIGHT_DATE"] <= end]
        .groupby(["MEMBER_NO", "FLIGHT_DATE"], as_index=False)["REVENUE"]
        .sum()
    )
    mine = pd.DataFrame(
        {
            "x": days.groupby("MEMBER_NO").size() - 1,
            "t_x": ((days.groupby("MEMBER_NO")["FLIGHT_DATE"].max() - first) / week).round(2),
            "T": ((end - first) / week).round(2),
        }
    )
    mine.index = mine.index.map(to_new)
    mine = mine.sort_index()
    assert len(mine) == len(fhl) == 2_357
    assert (mine["x"] == fhl["x"]).all()
    assert int(mine["x"].sum()) == int(fhl["x"].sum())
    np.testing.assert_allclose(mine["t_x"], fhl["t_x"], atol=1e-9)
    np.testing.assert_allclose(mine["T"], fhl["T"], atol=1e-9)
    repeat = days.merge(first.rename("first"), on="MEMBER_NO")
    repeat = repeat[repeat["FLIGHT_DATE"] > repeat["first"]]
    zbar = repeat.groupby("MEMBER_NO")["REVENUE"].mean()
    zbar.index = zbar.index.map(to_new)
    buyers = fhl[fhl["x"] > 0]
    np.testing.assert_allclose(zbar.reindex(buyers.index), buyers["zbar"], atol=0.0051)


def test_dataset_sample(sample):
    ds = cdnow_dataset(sample=True)
    assert ds.info["source"] == "cdnow"
    assert ds.info["has_ffp_columns"] is False
    assert ds.info["obs_end"] == "1998-06-30"
    assert ds.obs_end == pd.Timestamp("1998-06-30")
    assert ds.info["n_transactions"] == len(sample) == len(ds.flights)
    assert ds.info["n_nonpositive_revenue"] == int((sample["REVENUE"] <= 0).sum())
    assert ds.members is None and ds.truth is None
    assert list(ds.flights.columns) == ["MEMBER_NO", "FLIGHT_DATE", "REVENUE", "N_ITEMS"]
    snap = ds.snapshot
    assert len(snap) == 2_357 and snap["MEMBER_NO"].is_unique
    # the whole CDNOW period (545 days) lies inside the two-year window
    assert int(snap["FLIGHT_COUNT"].sum()) == len(sample)
    np.testing.assert_allclose(
        (snap["SUM_YR_1"] + snap["SUM_YR_2"]).sum(), sample["REVENUE"].sum(), rtol=1e-12
    )
    assert (snap["LOAD_TIME"] == pd.Timestamp("1998-06-30")).all()
    for col in ("SEG_KM_SUM", "avg_discount", "FFP_TIER", "BP_SUM"):
        assert col not in snap.columns
    last = sample.groupby("MEMBER_NO")["FLIGHT_DATE"].max()
    got = snap.set_index("MEMBER_NO")["LAST_FLIGHT_DATE"]
    assert (got == last.reindex(got.index)).all()


def test_dataset_earlier_obs_end_and_positive_only(master):
    ds = cdnow_dataset(sample=False, obs_end="1997-09-30", positive_only=True)
    end = pd.Timestamp("1997-09-30")
    pos = master[master["REVENUE"] > 0]
    assert ds.info["nonpositive_dropped"] == 80
    assert ds.info["n_after_obs_end_dropped"] == int((pos["FLIGHT_DATE"] > end).sum())
    assert len(ds.flights) == int((pos["FLIGHT_DATE"] <= end).sum())
    assert ds.flights["FLIGHT_DATE"].max() <= end
    assert (ds.flights["REVENUE"] > 0).all()
    assert (ds.snapshot["LAST_FLIGHT_DATE"] <= end).all()
    assert (ds.snapshot["LAST_TO_END"] >= 0).all()


def test_dataset_round_trips_through_save(tmp_path):
    from crm_research.data import load_processed

    ds = cdnow_dataset(sample=True)
    ds.save(tmp_path)
    back = load_processed(tmp_path)
    assert back.info["source"] == "cdnow" and back.flights is not None
    pd.testing.assert_frame_equal(back.flights, ds.flights)
    pd.testing.assert_frame_equal(back.snapshot, ds.snapshot)


def test_loading_does_not_import_lifetimes_or_touch_globals():
    code = (
        "import sys, warnings, pandas as pd\n"
        "before = (list(warnings.filters), pd.options.mode.chained_assignment)\n"
        "from crm_research.data.cdnow import load_cdnow_transactions\n"
        "load_cdnow_transactions(sample=True)\n"
        "assert 'lifetimes' not in sys.modules, 'lifetimes was imported'\n"
        "assert (list(warnings.filters), pd.options.mode.chained_assignment) == before\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
