"""Fixtures: a canonical snapshot written back in the textbook's format and quirks.

:func:`write_textbook_csv` writes a member snapshot (e.g. from the simulator) as the
textbook's ``air_data.csv`` (Zhang Liangjun et al., ch. 7), with the real file's quirks
(date spellings, nulls, the ``2014/2/29`` placeholder, GB18030), so tests and the
end-to-end study can make a textbook-format file by code. The reader and the cleaning
rules are in :mod:`crm_research.data.textbook`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .. import io as _io
from . import schema as S
from .textbook import (
    DATE_COLUMNS,
    INTEGER_COLUMNS,
    LAST_FLIGHT_PLACEHOLDER,
    TEXTBOOK_COLUMNS,
    TEXTBOOK_REQUIRED,
)

#: Share of rows with each quirk in the real file (counts / 62,988), used by
#: :func:`write_textbook_csv`. Null counts as printed by the book's data exploration;
#: 421 LAST_FLIGHT_DATE placeholders. Ages above 100 and implausible first flights are
#: rare: the writer injects at least one of each.
QUIRK_RATES = {
    "null_SUM_YR_1": 551 / 62_988,
    "null_SUM_YR_2": 138 / 62_988,
    "null_AGE": 420 / 62_988,
    "null_GENDER": 3 / 62_988,
    "null_WORK_CITY": 2_269 / 62_988,
    "null_WORK_PROVINCE": 3_248 / 62_988,
    "null_WORK_COUNTRY": 26 / 62_988,
    "last_flight_placeholder": 421 / 62_988,
    "age_over_100": 1 / 10_000,
    "first_flight_too_early": 1 / 20_000,
    "first_flight_after_load_time": 1 / 20_000,
    "zero_padded_dates": 0.05,
}
#: The columns the writer leaves empty in some rows (the ``null_<column>`` rates above).
NULL_COLUMNS = tuple(k.removeprefix("null_") for k in QUIRK_RATES if k.startswith("null_"))

_GENDER_TO_CHINESE = {
    "m": "男",
    "male": "男",
    "man": "男",
    "男": "男",
    "f": "女",
    "female": "女",
    "woman": "女",
    "女": "女",
}


# --------------------------------------------------------------------------------------
# writing a textbook-format file from a canonical snapshot
# --------------------------------------------------------------------------------------
#: The textbook's required columns but the discount, which the writer derives.
WRITER_REQUIRED = tuple(c for c in TEXTBOOK_REQUIRED if c != "avg_discount")
QUARTERS_IN_WINDOW = 8
ELITE_SHARE = 0.25  # elite points per basic point for tiers 5 and 6 (writer's rule)
POINTS_PER_AWARD = 25_000  # writer's rule for EXCHANGE_COUNT when it is absent


def textbook_frame(snapshot: pd.DataFrame) -> pd.DataFrame:
    """The 44 textbook columns computed from a canonical snapshot (no quirks, typed).

    Columns the snapshot has are copied. The others follow these rules (ours, chosen to
    be simple and consistent, not the carrier's; the real file's point columns come from
    its loyalty ledger, which no flight log has):

    ====================================  ==================================================
    avg_discount                          0 where the member flew no km in the window
                                          (the book's convention, see its first rule)
    SUM_YR_1, SUM_YR_2                    missing -> 0 (no flight in that year)
    BP_SUM                                snapshot's, else round(SEG_KM_SUM x avg_discount)
    P1Y_BP_SUM, L1Y_BP_SUM                BP_SUM split in proportion to P1Y/L1Y flights
    EP_SUM_YR_1, EP_SUM_YR_2              round(0.25 x P1Y/L1Y_BP_SUM) for tiers 5-6, else 0
    ADD_POINTS_SUM_YR_1/2, ADD_Point_SUM  0 (no partner or card earning in a flight log)
    EP_SUM                                EP_SUM_YR_1 + EP_SUM_YR_2
    Eli_Add_Point_Sum                     EP_SUM + ADD_Point_SUM
    L1Y_ELi_Add_Points                    EP_SUM_YR_2 + ADD_POINTS_SUM_YR_2
    Points_Sum                            snapshot's, else BP_SUM + Eli_Add_Point_Sum
    L1Y_Points_Sum                        L1Y_BP_SUM + L1Y_ELi_Add_Points
    EXCHANGE_COUNT                        snapshot's, else Points_Sum // 25,000
    Point_NotFlight                       EXCHANGE_COUNT (non-flight point events)
    WEIGHTED_SEG_KM                       SEG_KM_SUM x avg_discount
    AVG_FLIGHT_COUNT, AVG_BP_SUM          FLIGHT_COUNT / 8, BP_SUM / 8 (per quarter)
    BEGIN_TO_FIRST                        days from FFP_DATE to FIRST_FLIGHT_DATE
    Ration_P1Y/L1Y_Flight_Count           P1Y/L1Y flights / FLIGHT_COUNT (0 if none)
    Ration_P1Y/L1Y_BPS                    P1Y/L1Y_BP_SUM / BP_SUM (0 if none)
    P1Y/L1Y_Flight_Count                  snapshot's; one missing: FLIGHT_COUNT minus the
                                          other; both: all flights in L1Y
    GENDER                                male/female codes -> 男/女; Chinese kept
    FFP_TIER, AGE, WORK_*, AVG_INTERVAL,  snapshot's, else empty
    MAX_INTERVAL
    ====================================  ==================================================
    """
    S.require_columns(snapshot, WRITER_REQUIRED, "snapshot")
    s = snapshot.reset_index(drop=True)
    out = pd.DataFrame(index=s.index)

    def col(name, default=np.nan):
        if name in s.columns:
            return s[name]
        return pd.Series(default, index=s.index)

    def num(name, default=np.nan):
        return pd.to_numeric(col(name, default), errors="coerce").astype(float)

    def ratio(a, b):
        with np.errstate(invalid="ignore", divide="ignore"):
            return pd.Series(np.where(b > 0, a / np.where(b > 0, b, 1.0), 0.0), index=s.index)

    fc = num("FLIGHT_COUNT")
    km = num("SEG_KM_SUM").fillna(0.0)
    disc = num("avg_discount").fillna(0.0)
    p1y = num("P1Y_Flight_Count")
    l1y = num("L1Y_Flight_Count")
    l1y = l1y.fillna(fc - p1y.fillna(0.0))  # neither given: all flights in the last year
    p1y = p1y.fillna(fc - l1y)
    tier = num("FFP_TIER")
    bp = num("BP_SUM")
    bp = bp.where(bp.notna(), np.round(km * disc))
    p1y_bp = np.round(bp * ratio(p1y, fc))
    l1y_bp = bp - p1y_bp
    elite = (tier >= 5).astype(float)
    ep1 = np.round(ELITE_SHARE * p1y_bp) * elite
    ep2 = np.round(ELITE_SHARE * l1y_bp) * elite
    add1 = pd.Series(0.0, index=s.index)
    add2 = pd.Series(0.0, index=s.index)
    ep = ep1 + ep2
    add = add1 + add2
    eli = ep + add
    points = num("Points_Sum")
    points = points.where(points.notna(), bp + eli)
    exch = num("EXCHANGE_COUNT")
    exch = exch.where(exch.notna(), np.floor(points / POINTS_PER_AWARD))

    gender = col("GENDER", None)
    gmap = gender.astype("string").str.strip().str.lower().map(_GENDER_TO_CHINESE)
    gender = gmap.where(gmap.notna(), gender.astype(object))

    values = {
        "MEMBER_NO": s["MEMBER_NO"].astype(np.int64),
        "FFP_DATE": pd.to_datetime(s["FFP_DATE"]),
        "FIRST_FLIGHT_DATE": pd.to_datetime(s["FIRST_FLIGHT_DATE"]),
        "GENDER": gender.astype(object).where(gender.notna(), None),
        "FFP_TIER": tier,
        "WORK_CITY": col("WORK_CITY", None),
        "WORK_PROVINCE": col("WORK_PROVINCE", None),
        "WORK_COUNTRY": col("WORK_COUNTRY", None),
        "AGE": num("AGE"),
        "LOAD_TIME": pd.to_datetime(s["LOAD_TIME"]),
        "FLIGHT_COUNT": fc,
        "BP_SUM": bp,
        "EP_SUM_YR_1": ep1,
        "EP_SUM_YR_2": ep2,
        "SUM_YR_1": num("SUM_YR_1").fillna(0.0),
        "SUM_YR_2": num("SUM_YR_2").fillna(0.0),
        "SEG_KM_SUM": km,
        "WEIGHTED_SEG_KM": km * disc,
        "LAST_FLIGHT_DATE": pd.to_datetime(s["LAST_FLIGHT_DATE"]),
        "AVG_FLIGHT_COUNT": fc / QUARTERS_IN_WINDOW,
        "AVG_BP_SUM": bp / QUARTERS_IN_WINDOW,
        "BEGIN_TO_FIRST": (
            pd.to_datetime(s["FIRST_FLIGHT_DATE"]) - pd.to_datetime(s["FFP_DATE"])
        ).dt.days.astype(float),
        "LAST_TO_END": num("LAST_TO_END"),
        "AVG_INTERVAL": num("AVG_INTERVAL"),
        "MAX_INTERVAL": num("MAX_INTERVAL"),
        "ADD_POINTS_SUM_YR_1": add1,
        "ADD_POINTS_SUM_YR_2": add2,
        "EXCHANGE_COUNT": exch,
        "avg_discount": disc,
        "P1Y_Flight_Count": p1y,
        "L1Y_Flight_Count": l1y,
        "P1Y_BP_SUM": p1y_bp,
        "L1Y_BP_SUM": l1y_bp,
        "EP_SUM": ep,
        "ADD_Point_SUM": add,
        "Eli_Add_Point_Sum": eli,
        "L1Y_ELi_Add_Points": ep2 + add2,
        "Points_Sum": points,
        "L1Y_Points_Sum": l1y_bp + ep2 + add2,
        "Ration_L1Y_Flight_Count": ratio(l1y, fc),
        "Ration_P1Y_Flight_Count": ratio(p1y, fc),
        "Ration_P1Y_BPS": ratio(p1y_bp, bp),
        "Ration_L1Y_BPS": ratio(l1y_bp, bp),
        "Point_NotFlight": exch,
    }
    for name in TEXTBOOK_COLUMNS:
        out[name] = values[name]
    for name in INTEGER_COLUMNS:
        v = out[name]
        if v.notna().any() and (v.dropna() == np.round(v.dropna())).all():
            out[name] = v.astype("Int64")
    return out


def write_textbook_csv(
    snapshot: pd.DataFrame,
    path: str | os.PathLike,
    *,
    quirks: bool = True,
    encoding: str = "utf-8",
    seed: int = 0,
    min_flights: int = 0,
    quirk_rates: Mapping[str, float] | None = None,
) -> Path:
    """Write a canonical snapshot as a textbook-format ``air_data.csv``.

    Parameters
    ----------
    snapshot : DataFrame
        A canonical member snapshot (``schema.SNAPSHOT_COLUMNS``), e.g. from
        :func:`crm_research.data.snapshot.build_snapshot` or the simulator.
    path : path-like
        Target CSV file, written atomically.
    quirks : bool
        Reproduce the real file's quirks (see :data:`QUIRK_RATES`), each on at least one
        row: dates as ``2006/11/2`` with some ``2014/03/31``, the ``LAST_FLIGHT_DATE``
        placeholder ``2014/2/29  0:00:00``, nulls in ``SUM_YR_1``, ``SUM_YR_2``, ``AGE``,
        ``GENDER`` and the city columns, ages above 100 and first flights before 1990 or
        after ``LOAD_TIME``. Without quirks, dates are ISO and no value is altered.
    encoding : {"utf-8", "gb18030"}
    seed : int
        Chooses the rows that get a quirk.
    min_flights : int
        Keep only members with at least this many flights in the window (the real file
        holds members with ``FLIGHT_COUNT >= 2``); 0 keeps everyone.
    quirk_rates : mapping, optional
        Overrides of :data:`QUIRK_RATES`.

    Returns
    -------
    Path
        The file written; see :func:`textbook_frame` for how the 44 columns are filled.
    """
    if encoding.lower().replace("_", "-") not in ("utf-8", "utf8", "gb18030"):
        raise ValueError(f"encoding must be 'utf-8' or 'gb18030', not {encoding!r}")
    frame = textbook_frame(snapshot)
    if min_flights > 0:
        frame = frame.loc[frame["FLIGHT_COUNT"] >= min_flights].reset_index(drop=True)
    if len(frame) == 0:
        raise ValueError("no members left to write (check min_flights)")
    rates = dict(QUIRK_RATES)
    if quirk_rates:
        unknown = set(quirk_rates) - set(QUIRK_RATES)
        if unknown:
            raise ValueError(f"unknown quirk(s) {sorted(unknown)}; known: {sorted(QUIRK_RATES)}")
        rates.update(quirk_rates)
    text = _format_textbook(frame, quirks=quirks, rates=rates, seed=seed)
    return _io._atomic(path, lambda tmp: text.to_csv(tmp, index=False, encoding=encoding))


def _format_textbook(frame: pd.DataFrame, *, quirks: bool, rates: dict, seed: int) -> pd.DataFrame:
    out = frame.copy()
    n = len(out)
    dates = {c: out[c] for c in DATE_COLUMNS}
    if not quirks:
        for c, d in dates.items():
            out[c] = d.dt.strftime("%Y-%m-%d")
        return out

    rng = np.random.default_rng(seed)

    def count(key: str) -> int:
        r = rates[key]
        return 0 if r <= 0 else min(n, max(1, int(round(r * n))))

    # disjoint rows for the quirks that change values
    order = rng.permutation(n)
    blocks = {}
    start = 0
    for key in (
        "last_flight_placeholder",
        "age_over_100",
        "first_flight_too_early",
        "first_flight_after_load_time",
    ):
        k = min(count(key), n - start)
        blocks[key] = order[start : start + k]
        start += k
    load = dates["LOAD_TIME"]
    ff = dates["FIRST_FLIGHT_DATE"].copy()
    rows = blocks["first_flight_too_early"]
    ff.iloc[rows] = pd.Timestamp("1950-01-01") + pd.to_timedelta(
        rng.integers(0, 14_600, len(rows)), unit="D"
    )
    rows = blocks["first_flight_after_load_time"]
    ff.iloc[rows] = load.iloc[rows] + pd.to_timedelta(rng.integers(1, 366, len(rows)), unit="D")
    dates["FIRST_FLIGHT_DATE"] = ff
    age = out["AGE"].astype("Float64")
    rows = blocks["age_over_100"]
    age.iloc[rows] = rng.integers(101, 111, len(rows)).astype(float)

    padded = rng.random(n) < rates["zero_padded_dates"]
    for c, d in dates.items():
        out[c] = np.where(padded, d.dt.strftime("%Y/%m/%d"), _unpadded(d))
    last = out["LAST_FLIGHT_DATE"].to_numpy(object)
    last[blocks["last_flight_placeholder"]] = LAST_FLIGHT_PLACEHOLDER
    out["LAST_FLIGHT_DATE"] = last

    for c in NULL_COLUMNS:
        if c == "AGE":  # keep the ages above 100 visible
            pool = np.setdiff1d(np.arange(n), blocks["age_over_100"])
            rows = rng.choice(pool, size=min(count("null_AGE"), len(pool)), replace=False)
            age.iloc[rows] = pd.NA
            continue
        rows = rng.choice(n, size=count(f"null_{c}"), replace=False)
        out[c] = out[c].astype(object)
        out.iloc[rows, out.columns.get_loc(c)] = None
    out["AGE"] = age.round().astype("Int64")
    return out


def _unpadded(d: pd.Series) -> np.ndarray:
    """``2006/11/2`` style (no zero padding), vectorised."""
    y = d.dt.year.astype("Int64").astype("string")
    m = d.dt.month.astype("Int64").astype("string")
    day = d.dt.day.astype("Int64").astype("string")
    return (y + "/" + m + "/" + day).astype(object).to_numpy()


__all__ = ["NULL_COLUMNS", "QUIRK_RATES", "textbook_frame", "write_textbook_csv"]
