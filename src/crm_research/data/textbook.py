"""The textbook's airline member table (``air_data.csv``): loader and cleaning rules.

Many courses teach airline customer-value analysis on one table of 62,988 members of
a Chinese carrier with 44 columns and an observation window ending 2014-03-31 (Zhang
Liangjun et al., *Python数据分析与挖掘实战* [Python data analysis and mining in
practice], China Machine Press, 1st ed. 2016 and 2nd ed. 2019, chapter 7 "航空公司客户
价值分析"). Students own the file; the study does not ship it. This module

* reads the file as it comes (:func:`load_textbook`, :func:`standardise_textbook`):
  dates written ``2006/11/2`` or ``2014/03/31``, the impossible placeholder
  ``2014/2/29  0:00:00`` in ``LAST_FLIGHT_DATE`` (421 members of the real file), which
  is rebuilt from ``LOAD_TIME`` and ``LAST_TO_END``, UTF-8 or GB18030 encoding, nulls in
  ``SUM_YR_1``, ``SUM_YR_2``, ``AGE``, ``GENDER`` and the city columns, ages above 100
  and first-flight dates outside the plausible range (flagged and counted);
* offers the book's two cleaning rules (:func:`clean_textbook`) and reports how many
  rows each step drops;
* the writer of textbook-format files (a fixture for tests and the end-to-end study)
  lives in :mod:`crm_research.data.fixtures` (:func:`write_textbook_csv`).

A caution for modelling: ``FLIGHT_COUNT`` counts only the flights in the two-year
window that ends at ``LOAD_TIME``, while ``FIRST_FLIGHT_DATE`` is the member's first
flight ever. For members whose first flight predates the window, ``FLIGHT_COUNT - 1``
is not the number of repeat flights since the first one (the ``x`` of BG/NBD; Fader,
Hardie & Lee 2005); :func:`load_textbook` reports how many members that concerns.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import schema as S
from .readers import read_table
from .schema import DataValidationError

if TYPE_CHECKING:
    from . import Dataset

#: The 44 columns of the textbook's ``air_data.csv``, in the file's order.
#: The snapshot keeps the book's names and order, so the file starts with the snapshot's
#: first 12 columns (``MEMBER_NO`` .. ``BP_SUM``).
TEXTBOOK_COLUMNS = (
    *S.SNAPSHOT_COLUMNS[: S.SNAPSHOT_COLUMNS.index("BP_SUM") + 1],
    "EP_SUM_YR_1",
    "EP_SUM_YR_2",
    "SUM_YR_1",
    "SUM_YR_2",
    "SEG_KM_SUM",
    "WEIGHTED_SEG_KM",
    "LAST_FLIGHT_DATE",
    "AVG_FLIGHT_COUNT",
    "AVG_BP_SUM",
    "BEGIN_TO_FIRST",
    "LAST_TO_END",
    "AVG_INTERVAL",
    "MAX_INTERVAL",
    "ADD_POINTS_SUM_YR_1",
    "ADD_POINTS_SUM_YR_2",
    "EXCHANGE_COUNT",
    "avg_discount",
    "P1Y_Flight_Count",
    "L1Y_Flight_Count",
    "P1Y_BP_SUM",
    "L1Y_BP_SUM",
    "EP_SUM",
    "ADD_Point_SUM",
    "Eli_Add_Point_Sum",
    "L1Y_ELi_Add_Points",
    "Points_Sum",
    "L1Y_Points_Sum",
    "Ration_L1Y_Flight_Count",
    "Ration_P1Y_Flight_Count",
    "Ration_P1Y_BPS",
    "Ration_L1Y_BPS",
    "Point_NotFlight",
)

#: Columns the study needs; the others are read when present.
TEXTBOOK_REQUIRED = (
    "MEMBER_NO",
    "FFP_DATE",
    "FIRST_FLIGHT_DATE",
    "LOAD_TIME",
    "FLIGHT_COUNT",
    "SEG_KM_SUM",
    "LAST_FLIGHT_DATE",
    "LAST_TO_END",
    "avg_discount",
    "SUM_YR_1",
    "SUM_YR_2",
)
DATE_COLUMNS = ("FFP_DATE", "FIRST_FLIGHT_DATE", "LOAD_TIME", "LAST_FLIGHT_DATE")
TEXT_COLUMNS = ("GENDER", "WORK_CITY", "WORK_PROVINCE", "WORK_COUNTRY")
#: Numeric columns that must not be missing (ids are checked separately).
NOT_NULL_NUMERIC = ("FLIGHT_COUNT", "SEG_KM_SUM", "LAST_TO_END", "avg_discount")
#: Counts, distances, revenue and day spans: negative values are errors. Point columns
#: are left out on purpose (point adjustments can be negative in a loyalty ledger).
NONNEGATIVE = (
    "FLIGHT_COUNT",
    "P1Y_Flight_Count",
    "L1Y_Flight_Count",
    "EXCHANGE_COUNT",
    "SEG_KM_SUM",
    "WEIGHTED_SEG_KM",
    "SUM_YR_1",
    "SUM_YR_2",
    "LAST_TO_END",
    "AVG_INTERVAL",
    "MAX_INTERVAL",
    "AGE",
)
#: Columns written as whole numbers; read back as int64 when they have no gaps.
INTEGER_COLUMNS = (
    "FFP_TIER",
    "AGE",
    "FLIGHT_COUNT",
    "LAST_TO_END",
    "MAX_INTERVAL",
    "EXCHANGE_COUNT",
    "P1Y_Flight_Count",
    "L1Y_Flight_Count",
    "BEGIN_TO_FIRST",
    "Point_NotFlight",
)
DISCOUNT_RANGE = (0.0, 2.0)
#: First flights before this date are implausible for this programme (flagged).
EARLIEST_FIRST_FLIGHT = "1990-01-01"
#: The placeholder the real file carries in LAST_FLIGHT_DATE (not a calendar date).
LAST_FLIGHT_PLACEHOLDER = "2014/2/29  0:00:00"
# a value shaped like a date (Y/M/D, optional time) that is not a real calendar date
_DATE_SHAPE = r"\d{4}[/-]\d{1,2}[/-]\d{1,2}(\s+\d{1,2}:\d{1,2}(:\d{1,2})?)?"
WINDOW_DAYS = 730

CLEANING_RULES = ("none", "first_edition", "second_edition")
_BOOK = "Zhang Liangjun et al., Python数据分析与挖掘实战, ch. 7"


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------
def load_textbook(
    path: str | os.PathLike,
    cleaning: str = "none",
    *,
    first_flight: str = "keep",
    earliest_first_flight: str = EARLIEST_FIRST_FLIGHT,
) -> Dataset:
    """Load the textbook's member table as a :class:`~crm_research.data.Dataset`.

    Parameters
    ----------
    path : path-like
        ``air_data.csv`` (UTF-8 or GB18030) or a Parquet file with the same columns.
    cleaning : {"none", "first_edition", "second_edition"}
        The book's cleaning rule to apply (see :func:`clean_textbook`).
    first_flight : {"keep", "nat", "drop"}
        What to do with implausible ``FIRST_FLIGHT_DATE`` values (before
        ``earliest_first_flight`` or after ``LOAD_TIME``): keep them, blank them (NaT) or
        drop the members. They are counted in ``info["quality"]`` either way.
    earliest_first_flight : date-like
        First flights before this date count as implausible.

    Returns
    -------
    Dataset
        ``snapshot`` only (the textbook has aggregates, no flight log), with the
        canonical columns of ``schema.SNAPSHOT_COLUMNS`` first and the book's other
        columns after them. ``info`` holds ``source="textbook"``, ``obs_end`` (from
        ``LOAD_TIME``), ``has_ffp_columns=True``, ``file``, ``encoding``, ``quality``
        (what was found and fixed) and ``cleaning`` (rows dropped per rule step).

    Raises
    ------
    DataValidationError
        Naming the file, column, rows and values: an empty or unreadable file, missing
        required columns, unparseable dates, non-numeric or negative counts, distances
        or revenue, ``avg_discount`` outside [0, 2], duplicate ``MEMBER_NO`` or more
        than one ``LOAD_TIME``.
    """
    from . import Dataset  # noqa: PLC0415 (lazy: data/__init__ may import this module)

    p = Path(path)
    raw = read_table(p)
    snapshot, quality = standardise_textbook(
        raw,
        source=str(p),
        first_flight=first_flight,
        earliest_first_flight=earliest_first_flight,
    )
    quality["encoding"] = _csv_encoding(p)
    cleaned, report = clean_textbook(snapshot, cleaning)
    cleaned = cleaned.reset_index(drop=True)
    obs_end = pd.Timestamp(quality.pop("load_time"))
    info = {
        "source": "textbook",
        "obs_end": obs_end.date().isoformat(),
        "has_ffp_columns": True,
        "has_flight_log": False,
        "file": str(p),
        "encoding": quality["encoding"],
        "n_members_file": int(len(raw)),
        "n_members": int(len(cleaned)),
        "quality": quality,
        "cleaning": report,
        "notes": [
            "FLIGHT_COUNT, SEG_KM_SUM, avg_discount, SUM_YR_1/2 cover the two-year window "
            "ending at LOAD_TIME; FIRST_FLIGHT_DATE is the first flight ever.",
            "No flight log: models needing individual flight dates cannot run on this input.",
        ],
    }
    return Dataset(snapshot=cleaned, info=info)


def standardise_textbook(
    raw: pd.DataFrame,
    source: str = "textbook table",
    *,
    first_flight: str = "keep",
    earliest_first_flight: str = EARLIEST_FIRST_FLIGHT,
) -> tuple[pd.DataFrame, dict]:
    """Check and type a raw textbook table (strings as read from the CSV).

    Dates are parsed (``2006/11/2``, ``2014/03/31``, ``2014/3/31  0:00:00`` or ISO) and
    numbers checked. In ``LAST_FLIGHT_DATE``, placeholders (values shaped like a date
    that are no calendar date, such as ``2014/2/29  0:00:00``) and blanks are rebuilt as
    ``LOAD_TIME - (LAST_TO_END + offset)`` days, where ``offset`` is the most common
    value of ``LOAD_TIME - LAST_FLIGHT_DATE - LAST_TO_END`` among the valid rows (0 if
    the file follows ``LAST_TO_END = LOAD_TIME - LAST_FLIGHT_DATE`` exactly); other
    unparseable values are errors. Implausible values are counted, not refused: ages
    above 100, first flights before ``earliest_first_flight`` or after ``LOAD_TIME``,
    first flights before enrolment or after the last flight, enrolment after
    ``LOAD_TIME``, ``FLIGHT_COUNT != P1Y_Flight_Count + L1Y_Flight_Count``.

    Parameters
    ----------
    raw : DataFrame
        The table as read (e.g. by :func:`crm_research.data.read_table`).
    source : str
        Name of the file or table, used in error messages.
    first_flight, earliest_first_flight
        See :func:`load_textbook`.

    Returns
    -------
    snapshot : DataFrame
        Typed table: canonical columns first, then the book's other columns.
    quality : dict
        Counts of what was found and fixed (JSON-ready), plus ``load_time``.
    """
    if first_flight not in ("keep", "nat", "drop"):
        raise ValueError(f"first_flight must be 'keep', 'nat' or 'drop', not {first_flight!r}")
    S.require_nonempty(raw, source)
    raw = raw.rename(columns=lambda c: str(c).strip()).reset_index(drop=True)
    S.require_columns(raw, TEXTBOOK_REQUIRED, source)
    if raw.columns.duplicated().any():
        dup = raw.columns[raw.columns.duplicated()].tolist()
        raise DataValidationError("duplicate column names", source=source, column=dup)

    out = pd.DataFrame(index=raw.index)
    quality: dict = {"n_rows": int(len(raw))}

    # --- ids ------------------------------------------------------------------------------
    ids = S.numeric(raw, S.MEMBER, source)
    frac = ids != np.round(ids)
    if frac.any():
        S.refuse_rows(
            "member ids must be whole numbers",
            raw,
            frac,
            raw.loc[frac, S.MEMBER].tolist(),
            source=source,
            column=S.MEMBER,
        )
    out[S.MEMBER] = ids.astype(np.int64)
    S.check_unique(out[S.MEMBER], source, S.MEMBER)

    # --- numbers --------------------------------------------------------------------------
    skip = {S.MEMBER, *DATE_COLUMNS, *TEXT_COLUMNS}
    for col in raw.columns:
        if col in skip:
            continue
        if col not in TEXTBOOK_COLUMNS and not _looks_numeric(raw[col]):
            out[col] = raw[col]  # an extra text column the study does not use
            continue
        values = S.numeric(raw, col, source, allow_missing=col not in NOT_NULL_NUMERIC)
        if col in NONNEGATIVE:
            S.check_range(values, source, col, low=0, what="that are negative")
        out[col] = values
    S.check_range(
        out["avg_discount"], source, "avg_discount", low=DISCOUNT_RANGE[0], high=DISCOUNT_RANGE[1]
    )
    for col in INTEGER_COLUMNS:
        if col in out.columns and out[col].notna().all():
            whole = out[col] == np.round(out[col])
            if whole.all():
                out[col] = out[col].astype(np.int64)

    # --- text -----------------------------------------------------------------------------
    for col in TEXT_COLUMNS:
        if col in raw.columns:
            text = raw[col].astype("string").str.strip()
            text = text.mask(text == "")
            # infer_objects: pandas 3's default text dtype (``str``), as Parquet gives back
            out[col] = text.astype(object).where(text.notna(), None).infer_objects()

    # --- dates ----------------------------------------------------------------------------
    for col in ("FFP_DATE", "FIRST_FLIGHT_DATE", "LOAD_TIME"):
        out[col] = S.parse_dates(raw, col, source)
    load_times = out["LOAD_TIME"]
    load_time = load_times.mode().iloc[0]
    other = load_times != load_time
    if other.any():
        raise DataValidationError(
            f"more than one observation end; most rows have {load_time.date()}",
            source=source,
            column="LOAD_TIME",
            rows=S.row_labels(raw, other),
            values=load_times[other].tolist(),
            hint="The study needs one observation end for all members",
        )
    quality["load_time"] = load_time.date().isoformat()
    out["LAST_FLIGHT_DATE"], quality["last_flight_date"] = _last_flight_dates(
        raw, out, load_time, source
    )

    # --- plausibility (counted, not errors) -----------------------------------------------
    quality["nulls"] = {c: int(out[c].isna().sum()) for c in out.columns if out[c].isna().any()}
    if "AGE" in out.columns:
        quality["age_over_100"] = int((out["AGE"] > 100).sum())
    early = pd.Timestamp(earliest_first_flight)
    ff = out["FIRST_FLIGHT_DATE"]
    too_early = ff < early
    too_late = ff > load_time
    bad_ff = too_early | too_late
    quality["first_flight_implausible"] = {
        "earliest_plausible": early.date().isoformat(),
        "before_earliest": int(too_early.sum()),
        "after_load_time": int(too_late.sum()),
        "members": out.loc[bad_ff, S.MEMBER].head(20).tolist(),
        "action": first_flight,
    }
    ffp = out["FFP_DATE"]
    quality["ffp_date_after_load_time"] = int((ffp > load_time).sum())
    quality["first_flight_before_ffp_date"] = int((ff < ffp).sum())
    quality["first_flight_after_last_flight"] = int((ff > out["LAST_FLIGHT_DATE"]).sum())
    window_start = load_time - pd.Timedelta(days=WINDOW_DAYS)
    quality["first_flight_before_window"] = int((ff <= window_start).sum())
    if {"P1Y_Flight_Count", "L1Y_Flight_Count"} <= set(out.columns):
        split = out["P1Y_Flight_Count"] + out["L1Y_Flight_Count"]
        quality["flight_count_not_p1y_plus_l1y"] = int((split != out["FLIGHT_COUNT"]).sum())

    if first_flight == "nat":
        out.loc[bad_ff, "FIRST_FLIGHT_DATE"] = pd.NaT
    elif first_flight == "drop":
        out = out.loc[~bad_ff].reset_index(drop=True)
    quality["n_rows_out"] = int(len(out))

    cols = [c for c in S.SNAPSHOT_COLUMNS if c in out.columns]
    cols += [c for c in TEXTBOOK_COLUMNS if c in out.columns and c not in cols]
    cols += [c for c in out.columns if c not in cols]
    return out[cols], quality


def _looks_numeric(values: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(values):
        return True
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    return len(text) > 0 and pd.to_numeric(text, errors="coerce").notna().all()


def _last_flight_dates(
    raw: pd.DataFrame, out: pd.DataFrame, load_time: pd.Timestamp, source: str
) -> tuple[pd.Series, dict]:
    """Parse LAST_FLIGHT_DATE; rebuild placeholders and blanks from LAST_TO_END."""
    col = "LAST_FLIGHT_DATE"
    values = raw[col]
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = pd.to_datetime(values).astype("datetime64[ns]")
        text = pd.Series(pd.NA, index=values.index, dtype="string")
        blank = parsed.isna()
        placeholder = pd.Series(False, index=values.index)
    else:
        text = values.astype("string").str.strip()
        blank = text.isna() | (text == "")
        parsed = pd.to_datetime(text.mask(blank), errors="coerce", format="mixed")
        bad = parsed.isna() & ~blank
        placeholder = bad & text.str.fullmatch(_DATE_SHAPE).fillna(False).astype(bool)
        garbage = bad & ~placeholder
        if garbage.any():
            raise DataValidationError(
                "dates that cannot be parsed",
                source=source,
                column=col,
                rows=S.row_labels(raw, garbage),
                values=values[garbage].tolist(),
                hint="Write dates as YYYY-MM-DD or YYYY/M/D",
            )
        parsed = parsed.astype("datetime64[ns]")
    rebuild = (placeholder | blank).to_numpy()
    days = out["LAST_TO_END"].to_numpy(float)
    valid = ~rebuild
    delta = (load_time - parsed[valid]).dt.days.to_numpy(float) - days[valid]
    offset = int(pd.Series(delta).mode().iloc[0]) if valid.any() else 0
    fixed = parsed.copy()
    if rebuild.any():
        rebuilt = load_time - pd.to_timedelta(days[rebuild] + offset, unit="D")
        fixed[rebuild] = rebuilt.to_numpy()
    report = {
        "placeholders_rebuilt": int(placeholder.sum()),
        "placeholder_values": sorted(text[placeholder].unique().tolist()),
        "blanks_rebuilt": int(blank.sum()),
        "rebuild_rule": f"LOAD_TIME - (LAST_TO_END {'-' if offset < 0 else '+'} {abs(offset)}) days",
        "offset_days": offset,
        "inconsistent_with_last_to_end": int((delta != offset).sum()),
        "after_load_time": int((fixed > load_time).sum()),
    }
    return fixed, report


def _csv_encoding(p: Path) -> str:
    """Which of UTF-8 / GB18030 decodes the file (``parquet`` for Parquet files)."""
    with open(p, "rb") as fh:
        data = fh.read()
    if data[:4] == b"PAR1":
        return "parquet"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


# --------------------------------------------------------------------------------------
# cleaning
# --------------------------------------------------------------------------------------
def clean_textbook(df: pd.DataFrame, rule: str = "none") -> tuple[pd.DataFrame, dict]:
    """Apply one of the book's cleaning rules and report the rows each step drops.

    Rules of Zhang Liangjun et al. (chapter 7), applied step by step:

    ``first_edition`` (1st ed., 2016)
        1. keep rows with both ``SUM_YR_1`` and ``SUM_YR_2`` non-null;
        2. keep rows where ``SUM_YR_1 != 0`` or ``SUM_YR_2 != 0`` or
           (``SEG_KM_SUM == 0`` and ``avg_discount == 0``).
    ``second_edition`` (2nd ed., 2019)
        1. both yearly fares non-null;
        2. at least one yearly fare non-zero;
        3. ``SEG_KM_SUM > 0``;
        4. ``avg_discount != 0``;
        5. not ``AGE > 100``. As in the book's code (``~(AGE > 100)``), members with a
           missing age are kept.

    A step whose fare or age columns are absent (a snapshot built from a flight log
    without revenue, or without a member table) is skipped and marked ``skipped``.
    ``none``
        No rows dropped.

    Parameters
    ----------
    df : DataFrame
        A typed textbook snapshot (:func:`standardise_textbook` output).
    rule : {"none", "first_edition", "second_edition"}

    Returns
    -------
    cleaned : DataFrame
        The kept rows, original index preserved (to trace them).
    report : dict
        ``rule``, ``rows_in``, ``rows_out``, ``dropped`` and ``steps``: a list of
        ``{"step", "dropped", "remaining", "skipped"}``.
    """
    if rule not in CLEANING_RULES:
        raise ValueError(f"cleaning rule must be one of {CLEANING_RULES}, not {rule!r}")
    if rule != "none":
        S.require_columns(df, ["SEG_KM_SUM", "avg_discount"], "textbook snapshot")
    cols = ("SUM_YR_1", "SUM_YR_2", "SEG_KM_SUM", "avg_discount", "AGE")
    num = {c: pd.to_numeric(df[c], errors="coerce") for c in cols if c in df.columns}
    fares = ("SUM_YR_1", "SUM_YR_2")
    both_fares = (
        "SUM_YR_1 and SUM_YR_2 both non-null",
        fares,
        lambda v: v["SUM_YR_1"].notna() & v["SUM_YR_2"].notna(),
    )
    if rule == "first_edition":
        steps = [
            both_fares,
            (
                "SUM_YR_1 != 0 or SUM_YR_2 != 0 or (SEG_KM_SUM == 0 and avg_discount == 0)",
                fares,
                lambda v: (
                    (v["SUM_YR_1"] != 0)
                    | (v["SUM_YR_2"] != 0)
                    | ((v["SEG_KM_SUM"] == 0) & (v["avg_discount"] == 0))
                ),
            ),
        ]
    elif rule == "second_edition":
        steps = [
            both_fares,
            (
                "SUM_YR_1 != 0 or SUM_YR_2 != 0",
                fares,
                lambda v: (v["SUM_YR_1"] != 0) | (v["SUM_YR_2"] != 0),
            ),
            ("SEG_KM_SUM > 0", (), lambda v: v["SEG_KM_SUM"] > 0),
            ("avg_discount != 0", (), lambda v: v["avg_discount"] != 0),
            ("AGE <= 100 (missing AGE kept)", ("AGE",), lambda v: ~(v["AGE"] > 100)),
        ]
    else:
        steps = []
    keep = pd.Series(True, index=df.index)
    report_steps = []
    for name, needs, rule_mask in steps:
        absent = [c for c in needs if c not in num]
        if absent:  # e.g. a flight log without revenue or a member table without ages
            report_steps.append(
                {
                    "step": f"{name} (skipped: {', '.join(absent)} absent)",
                    "dropped": 0,
                    "remaining": int(keep.sum()),
                    "skipped": True,
                }
            )
            continue
        new = keep & rule_mask(num).fillna(False).astype(bool)
        report_steps.append(
            {
                "step": name,
                "dropped": int(keep.sum() - new.sum()),
                "remaining": int(new.sum()),
                "skipped": False,
            }
        )
        keep = new
    report = {
        "rule": rule,
        "reference": _BOOK if rule != "none" else None,
        "rows_in": int(len(df)),
        "rows_out": int(keep.sum()),
        "dropped": int(len(df) - keep.sum()),
        "steps": report_steps,
    }
    return df.loc[keep], report


__all__ = [
    "CLEANING_RULES",
    "TEXTBOOK_COLUMNS",
    "TEXTBOOK_REQUIRED",
    "clean_textbook",
    "load_textbook",
    "standardise_textbook",
]
