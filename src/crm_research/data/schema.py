"""Canonical column names and the input checks of the data layer.

All later stages read one member snapshot whose columns carry the textbook's names
(``MEMBER_NO``, ``FFP_DATE``, ``FLIGHT_COUNT``, ``SEG_KM_SUM``, ``avg_discount``...).
The checks here follow pymc-marketing's ``_validate_cols``: explicit errors that say
what is wrong, in which file and column, and which rows or values offend.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Sequence
from typing import NoReturn

import numpy as np
import pandas as pd

# --- flight log: one row per flown segment -------------------------------------------
MEMBER = "MEMBER_NO"
FLIGHT_DATE = "FLIGHT_DATE"
SEG_KM = "SEG_KM"
DISCOUNT = "DISCOUNT"
REVENUE = "REVENUE"
CABIN = "CABIN"
FLIGHT_REQUIRED = (MEMBER, FLIGHT_DATE)
FLIGHT_OPTIONAL = (SEG_KM, DISCOUNT, REVENUE, CABIN)

# --- member table -----------------------------------------------------------------------
FFP_DATE = "FFP_DATE"
MEMBER_REQUIRED = (MEMBER, FFP_DATE)
MEMBER_OPTIONAL = ("FFP_TIER", "GENDER", "AGE", "WORK_CITY", "WORK_PROVINCE", "WORK_COUNTRY")

# --- event tables -----------------------------------------------------------------------
COMPLAINT_DATE = "COMPLAINT_DATE"
NOSHOW_DATE = "NOSHOW_DATE"

# --- the canonical member snapshot (textbook names, DOMAIN.md) ----------------------------
SNAPSHOT_COLUMNS = (
    "MEMBER_NO",
    "FFP_DATE",
    "FIRST_FLIGHT_DATE",
    "GENDER",
    "FFP_TIER",
    "WORK_CITY",
    "WORK_PROVINCE",
    "WORK_COUNTRY",
    "AGE",
    "LOAD_TIME",
    "FLIGHT_COUNT",
    "BP_SUM",
    "SUM_YR_1",
    "SUM_YR_2",
    "SEG_KM_SUM",
    "LAST_FLIGHT_DATE",
    "LAST_TO_END",
    "AVG_INTERVAL",
    "MAX_INTERVAL",
    "avg_discount",
    "P1Y_Flight_Count",
    "L1Y_Flight_Count",
    "Points_Sum",
    "EXCHANGE_COUNT",
    "COMPLAINT_COUNT",
    "NOSHOW_COUNT",
)
SNAPSHOT_REQUIRED = ("MEMBER_NO", "LOAD_TIME", "FLIGHT_COUNT", "LAST_TO_END")

MAX_LISTED = 10
RELATIVE_DATE_WORDS = ("now", "today", "tomorrow", "yesterday")


class DataValidationError(ValueError):
    """Bad input: says which file, which column and which rows or values offend."""

    def __init__(
        self,
        problem: str,
        *,
        source: str | None = None,
        column: str | Sequence[str] | None = None,
        rows: Iterable | None = None,
        values: Iterable | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.source = source
        self.column = column
        self.rows = list(rows) if rows is not None else None
        self.values = list(values) if values is not None else None
        parts = []
        if source:
            parts.append(f"{source}")
        if column is not None:
            cols = [column] if isinstance(column, str) else list(column)
            parts.append("column " + ", ".join(repr(c) for c in cols))
        head = ": ".join(parts)
        msg = f"{head}: {problem}" if head else problem
        if self.rows:
            n = len(self.rows)
            shown = ", ".join(str(r) for r in self.rows[:MAX_LISTED])
            more = f" (first {MAX_LISTED} of {n})" if n > MAX_LISTED else ""
            msg += f"; rows{more}: {shown}"
        if self.values:
            n = len(self.values)
            shown = ", ".join(repr(_plain(v)) for v in self.values[:MAX_LISTED])
            more = f" (first {MAX_LISTED} of {n})" if n > MAX_LISTED else ""
            msg += f"; values{more}: {shown}"
        if hint:
            msg += f". {hint}"
        super().__init__(msg)


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return str(v.date()) if v == v.normalize() else str(v)
    return v


def row_labels(df: pd.DataFrame, mask) -> list:
    """Human row numbers (1-based data rows, as in a spreadsheet below the header)."""
    idx = np.flatnonzero(np.asarray(mask))
    return [int(i) + 1 for i in idx]


def refuse_rows(
    problem: str, df: pd.DataFrame, mask, values=None, *, source, column, hint=None
) -> NoReturn:
    """Raise a :class:`DataValidationError` naming the rows of ``df`` where ``mask`` holds
    (1-based, see :func:`row_labels`) and the offending ``values``."""
    raise DataValidationError(
        problem,
        source=source,
        column=column,
        rows=row_labels(df, mask),
        values=values,
        hint=hint,
    )


def _refuse_entries(
    problem: str, df: pd.DataFrame, column: str, mask, source, hint=None
) -> NoReturn:
    """:func:`refuse_rows` with the offending entries of ``df[column]`` as the values."""
    mask = np.asarray(mask)
    refuse_rows(
        problem, df, mask, df[column][mask].tolist(), source=source, column=column, hint=hint
    )


def require_columns(df: pd.DataFrame, required: Sequence[str], source: str) -> None:
    """Raise if any of ``required`` is missing from ``df``."""
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataValidationError(
            f"missing required column(s) {missing}; found {list(df.columns)}",
            source=source,
            column=missing,
        )


def require_nonempty(df: pd.DataFrame, source: str) -> None:
    if len(df) == 0:
        raise DataValidationError("the table has no rows", source=source)


# options of the current read (set by the loaders from the run's parameters)
_READ_OPTIONS: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "read_options", default=None
)


@contextlib.contextmanager
def read_options(**options):
    """Options for the readers and :func:`parse_dates` inside the block (``date_format``,
    ``encoding``); ``None`` values are ignored."""
    given = {k: v for k, v in options.items() if v}
    token = _READ_OPTIONS.set({**(_READ_OPTIONS.get() or {}), **given})
    try:
        yield
    finally:
        _READ_OPTIONS.reset(token)


def read_option(name: str):
    return (_READ_OPTIONS.get() or {}).get(name)


# day and month first (05.03.2013, 5/3/2013, 05-03-13): which is the day cannot be told
AMBIGUOUS_DATE = r"^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}(?:[ T].*)?$"
# a time-zone offset after a time of day: 2013-01-05T10:00:00+08:00, ...Z
TZ_SUFFIX = r"(?<=\d)(?:Z|[+-]\d{2}:?\d{2})$"
EARLIEST_DATE = pd.Timestamp("1950-01-01")


def parse_dates(
    df: pd.DataFrame,
    column: str,
    source: str,
    *,
    required: bool = True,
    plausible: bool = False,
    date_format: str | None = None,
) -> pd.Series:
    """Parse ``df[column]`` as dates; unparseable entries raise with their rows and values.

    Accepts ISO dates, ``2006/11/2``, ``2014/03/31`` and ``2014/3/31  0:00:00``. Dates
    that start with the day or the month (``05.03.2013``) are refused as ambiguous unless
    ``date_format`` (or the run's ``date_format`` parameter) says how to read them. A
    time-zone offset after a time of day is dropped: the date as written (the local date
    of the flight) is kept. Empty cells are allowed only when ``required`` is False; with
    ``plausible``, dates before 1950 or after today are refused.
    """
    raw = df[column]
    date_format = date_format or read_option("date_format")
    if pd.api.types.is_datetime64_any_dtype(raw):
        out = pd.to_datetime(raw)
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_localize(None)
    else:
        text = raw.astype("string").str.strip()
        if date_format:
            out = pd.to_datetime(text, errors="coerce", format=date_format)
        else:
            ambiguous = text.str.match(AMBIGUOUS_DATE).fillna(False).astype(bool)
            if ambiguous.any():
                _refuse_entries(
                    "dates whose day/month order is ambiguous (05.03.2013 is 5 March or 3 May)",
                    df,
                    column,
                    ambiguous,
                    source,
                    "Give the parameter date_format (e.g. '%d.%m.%Y' or '%m/%d/%Y') or "
                    "write dates as YYYY-MM-DD",
                )
            local = text.str.replace(TZ_SUFFIX, "", regex=True)
            try:
                out = pd.to_datetime(local, errors="coerce", format="mixed")
            except (ValueError, TypeError, OverflowError):
                out = pd.Series(
                    [_one_date(v) for v in local], index=raw.index, dtype="datetime64[ns]"
                )
        # dateutil reads "now"/"today" as the current time: reject, results must not
        # depend on the day the study runs
        relative = text.str.lower().isin(RELATIVE_DATE_WORDS).fillna(False).astype(bool)
        out = out.mask(relative)
        bad = out.isna() & text.notna() & (text != "")
        if bad.any():
            _refuse_entries(
                "dates that cannot be parsed"
                + (f" with date_format {date_format!r}" if date_format else ""),
                df,
                column,
                bad,
                source,
                "Write dates as YYYY-MM-DD or YYYY/M/D",
            )
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_localize(None)
    if required and out.isna().any():
        miss = out.isna()
        raise DataValidationError(
            "missing dates", source=source, column=column, rows=row_labels(df, miss)
        )
    out = out.astype("datetime64[ns]")
    if plausible:
        today = pd.Timestamp.today().normalize() + pd.Timedelta(days=1)
        odd = ((out < EARLIEST_DATE) | (out >= today)).fillna(False).to_numpy()
        if odd.any():
            _refuse_entries(
                f"implausible dates (before {EARLIEST_DATE.date()} or in the future)",
                df,
                column,
                odd,
                source,
            )
    return out


def _one_date(v) -> pd.Timestamp:
    try:
        t = pd.Timestamp(v)
    except (ValueError, TypeError, OverflowError):
        return pd.NaT
    if t is pd.NaT:
        return t
    return t.tz_localize(None) if t.tzinfo is not None else t


ABSURD = 1e12  # no count, distance, revenue or age of this study comes near it


def numeric(
    df: pd.DataFrame,
    column: str,
    source: str,
    *,
    allow_missing: bool = False,
    absurd: float | None = ABSURD,
) -> pd.Series:
    """``df[column]`` as float; non-numeric entries raise with their rows and values.

    Infinite values and values beyond ``absurd`` in magnitude (``1e300``) are refused
    too, naming their rows.
    """
    raw = df[column]
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        out = raw.astype(float)
    else:
        out = pd.to_numeric(raw, errors="coerce").astype(float)
        bad = out.isna() & raw.notna() & (raw.astype("string").str.strip() != "")
        if bad.any():
            _refuse_entries("non-numeric values", df, column, bad, source)
    if absurd is not None:
        odd = (~np.isfinite(out) & out.notna()) | (out.abs() > absurd)
        if odd.any():
            _refuse_entries(
                f"infinite or absurd values (beyond {absurd:g})", df, column, odd.to_numpy(), source
            )
    if not allow_missing and out.isna().any():
        raise DataValidationError(
            "missing values", source=source, column=column, rows=row_labels(df, out.isna())
        )
    return out


def check_range(
    values: pd.Series,
    source: str,
    column: str,
    *,
    low: float | None = None,
    high: float | None = None,
    what: str | None = None,
) -> None:
    """Raise if any non-missing value lies outside ``[low, high]``."""
    bad = pd.Series(False, index=values.index)
    if low is not None:
        bad |= values < low
    if high is not None:
        bad |= values > high
    if bad.any():
        rng = (
            what
            or f"outside [{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        )
        raise DataValidationError(
            f"values {rng}",
            source=source,
            column=column,
            rows=row_labels(values.to_frame(), bad.to_numpy()),
            values=values[bad].tolist(),
        )


def check_unique(values: pd.Series, source: str, column: str) -> None:
    dup = values.duplicated(keep=False)
    if dup.any():
        raise DataValidationError(
            "duplicate ids",
            source=source,
            column=column,
            rows=row_labels(values.to_frame(), dup.to_numpy()),
            values=pd.unique(values[dup]).tolist(),
        )
