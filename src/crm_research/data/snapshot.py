"""Flight log -> member snapshot, and the checks of a flight-log input.

The snapshot has one row per member and the textbook's column names (DOMAIN.md), at an
observation end ``as_of`` with the textbook's two-year window ``(as_of - 730 d, as_of]``:

==================  ===========================================================
FFP_DATE            enrolment date (member table; first flight if there is none)
FIRST_FLIGHT_DATE   the member's first flight ever (not only in the window)
LOAD_TIME           the observation end ``as_of``
FLIGHT_COUNT        flights in the window
SEG_KM_SUM          km flown in the window
avg_discount        km-weighted mean fare discount coefficient in the window
SUM_YR_1, SUM_YR_2  revenue in the first and in the last year of the window
P1Y_Flight_Count    flights in the first year of the window
L1Y_Flight_Count    flights in the last year of the window
LAST_FLIGHT_DATE    last flight on or before ``as_of``
LAST_TO_END         days from the last flight to ``as_of``
AVG_INTERVAL        mean days between consecutive flights in the window (NaN if < 2)
MAX_INTERVAL        longest gap in days between consecutive flights in the window
BP_SUM              base points in the window: sum of km x discount
Points_Sum          BP_SUM plus a tier bonus (25% per tier above 4)
COMPLAINT_COUNT     complaints in the window (if a complaints table is given)
NOSHOW_COUNT        no-shows in the window (if a no-shows table is given)
==================  ===========================================================

Only events on or before ``as_of`` are used, so a snapshot at an earlier date carries no
information from after it (the churn stage relies on this). Member attributes from the
member table (tier, age, city) are taken as given.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import schema as S
from .schema import DataValidationError

WINDOW_DAYS = 730
YEAR_DAYS = 365


def validate_flights(
    flights: pd.DataFrame,
    source: str = "flight log",
    *,
    obs_end: pd.Timestamp | None = None,
    members: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Check a flight log and return it with parsed types.

    Raises :class:`DataValidationError` (naming ``source``, the column and the offending
    rows and values) on: no rows, missing columns, unparseable dates, negative distance
    or revenue, a discount outside [0, 2], flights after ``obs_end``, and, when
    ``members`` is given, flights by unknown members or before their enrolment.
    """
    S.require_nonempty(flights, source)
    S.require_columns(flights, S.FLIGHT_REQUIRED, source)
    out = flights.copy()
    out[S.FLIGHT_DATE] = S.parse_dates(out, S.FLIGHT_DATE, source, plausible=True)
    for col in (S.SEG_KM, S.REVENUE):
        if col in out.columns:
            out[col] = S.numeric(out, col, source)
            S.check_range(out[col], source, col, low=0, what="that are negative")
    if S.SEG_KM in out.columns:
        S.check_range(
            out[S.SEG_KM],
            source,
            S.SEG_KM,
            high=MAX_SEGMENT_KM,
            what=f"longer than any flight (> {MAX_SEGMENT_KM:,} km)",
        )
    if S.DISCOUNT in out.columns:
        out[S.DISCOUNT] = S.numeric(out, S.DISCOUNT, source)
        S.check_range(out[S.DISCOUNT], source, S.DISCOUNT, low=0, high=2)
    _check_ids(out, source)
    if obs_end is not None:
        late = out[S.FLIGHT_DATE] > pd.Timestamp(obs_end)
        if late.any():
            raise DataValidationError(
                f"flights after the observation date {pd.Timestamp(obs_end).date()}",
                source=source,
                column=S.FLIGHT_DATE,
                rows=S.row_labels(out, late),
                values=out.loc[late, S.FLIGHT_DATE].tolist(),
                hint="Set the observation date later or remove those flights",
            )
    if members is not None:
        ffp = members.set_index(S.MEMBER)[S.FFP_DATE]
        known = out[S.MEMBER].isin(ffp.index)
        _refuse_unknown(out, known, "flights by members missing from the member table", source)
        enrol = out[S.MEMBER].map(ffp)
        early = out[S.FLIGHT_DATE] < enrol
        if early.any():
            S.refuse_rows(
                "flights before the member's enrolment date (FFP_DATE)",
                out,
                early,
                source=source,
                column=S.FLIGHT_DATE,
                values=[
                    f"member {m}: flight {d.date()} < enrolment {e.date()}"
                    for m, d, e in zip(
                        out.loc[early, S.MEMBER],
                        out.loc[early, S.FLIGHT_DATE],
                        enrol[early],
                        strict=True,
                    )
                ],
            )
    return out


def validate_members(members: pd.DataFrame, source: str = "member table") -> pd.DataFrame:
    """Check a member table (ids unique, enrolment dates parseable, ages and tiers >= 0)."""
    S.require_nonempty(members, source)
    S.require_columns(members, S.MEMBER_REQUIRED, source)
    out = members.copy()
    _check_ids(out, source)
    S.check_unique(out[S.MEMBER], source, S.MEMBER)
    out[S.FFP_DATE] = S.parse_dates(out, S.FFP_DATE, source, plausible=True)
    for col, high in (("AGE", 120), ("FFP_TIER", 10)):
        if col in out.columns:
            out[col] = S.numeric(out, col, source, allow_missing=True)
            S.check_range(out[col], source, col, low=0, high=high)
    return out


MAX_SEGMENT_KM = 25_000  # the longest scheduled flight is about 15,300 km


def _refuse_unknown(out: pd.DataFrame, known, problem: str, source: str) -> None:
    """Raise naming the rows of ``out`` whose member is not ``known`` and those members."""
    if not known.all():
        S.refuse_rows(
            problem,
            out,
            ~known,
            pd.unique(out.loc[~known, S.MEMBER]).tolist(),
            source=source,
            column=S.MEMBER,
        )


def _check_ids(df: pd.DataFrame, source: str) -> None:
    """Member ids present and not blank (they are kept as read: text for CSV input)."""
    ids = df[S.MEMBER]
    blank = ids.isna() | (ids.astype("string").str.strip() == "").fillna(True)
    if blank.any():
        raise DataValidationError(
            "missing member ids", source=source, column=S.MEMBER, rows=S.row_labels(df, blank)
        )


def validate_events(
    events: pd.DataFrame,
    date_col: str,
    source: str,
    *,
    known_ids: pd.Series | None = None,
    obs_end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Check a complaints or no-shows table (member id and a parseable date).

    With ``known_ids``, events of members that do not exist are refused with their rows;
    with ``obs_end``, events after it are refused.
    """
    S.require_columns(events, (S.MEMBER, date_col), source)
    out = events.copy()
    if len(out):
        _check_ids(out, source)
        out[date_col] = S.parse_dates(out, date_col, source, plausible=True)
    else:
        out[date_col] = pd.to_datetime(out[date_col])
    if known_ids is not None and len(out):
        known = out[S.MEMBER].isin(pd.Index(known_ids))
        _refuse_unknown(
            out,
            known,
            "events of members that are not in the member table or the flight log",
            source,
        )
    if obs_end is not None and len(out):
        late = out[date_col] > pd.Timestamp(obs_end)
        if late.any():
            raise DataValidationError(
                f"events after the observation end {pd.Timestamp(obs_end).date()}",
                source=source,
                column=date_col,
                rows=S.row_labels(out, late),
                values=out.loc[late, date_col].tolist(),
            )
    return out


def build_snapshot(
    flights: pd.DataFrame,
    members: pd.DataFrame | None,
    as_of: str | pd.Timestamp,
    *,
    complaints: pd.DataFrame | None = None,
    noshows: pd.DataFrame | None = None,
    window_days: int = WINDOW_DAYS,
) -> pd.DataFrame:
    """Build the canonical member snapshot at ``as_of`` from a flight log.

    Parameters
    ----------
    flights : DataFrame
        ``MEMBER_NO``, ``FLIGHT_DATE`` and optionally ``SEG_KM``, ``DISCOUNT``, ``REVENUE``.
        Flights after ``as_of`` are ignored.
    members : DataFrame or None
        ``MEMBER_NO``, ``FFP_DATE`` and optional attributes; without it ``FFP_DATE`` is
        the first flight.
    as_of : date-like
        Observation end (``LOAD_TIME``).
    complaints, noshows : DataFrame, optional
        Event tables (``COMPLAINT_DATE`` / ``NOSHOW_DATE``), counted in the window.
    window_days : int
        Length of the observation window (the textbook's two years: 730 days).

    Returns
    -------
    DataFrame
        One row per member with at least one flight on or before ``as_of``, sorted by
        ``MEMBER_NO``; columns in the order of ``schema.SNAPSHOT_COLUMNS`` where present.
    """
    as_of = pd.Timestamp(as_of).normalize().as_unit("ns")
    win_start = as_of - pd.Timedelta(days=window_days)  # window is (win_start, as_of]

    keep = (flights[S.FLIGHT_DATE] <= as_of).to_numpy()
    f = flights if keep.all() else flights.loc[keep]
    if len(f) == 0:
        raise DataValidationError(f"no flights on or before {as_of.date()}", source="flight log")
    member = f[S.MEMBER].to_numpy()
    day = f[S.FLIGHT_DATE].to_numpy().astype("datetime64[D]").astype(np.int64)
    end_d = np.int64(as_of.value // 86_400_000_000_000)
    ws_d, mid_d = end_d - window_days, end_d - YEAR_DAYS  # last year is (mid_d, end_d]

    if member.dtype.kind in "iu" and _is_sorted(member, day):
        # logs usually come sorted by member and date (the simulator's do): then each
        # member is a run of equal ids, numbered in one pass, and nothing is reordered
        new = np.r_[True, member[1:] != member[:-1]]
        ids = member[new]
        codes_s, day_s = np.cumsum(new) - 1, day
        order = None
    else:
        ids, codes = np.unique(member, return_inverse=True)
        order = np.lexsort((day, codes))
        codes_s, day_s = codes[order], day[order]
    nm = len(ids)

    def column(name):
        """A flight column as floats, in (member, date) order."""
        x = f[name].to_numpy(float)
        return x if order is None else x[order]

    # codes_s is sorted: first/last flights are at group boundaries
    starts = np.r_[0, np.flatnonzero(np.diff(codes_s)) + 1]
    ends = np.r_[starts[1:], len(codes_s)] - 1
    first = day_s[starts]
    last = day_s[ends]

    in_win = day_s > ws_d
    in_ly = day_s > mid_d
    in_py = in_win & ~in_ly

    def count(mask):
        return np.bincount(codes_s[mask], minlength=nm)

    def total(values, mask):
        # float even when nothing is selected (np.bincount then returns integers)
        return np.bincount(codes_s[mask], weights=values[mask], minlength=nm).astype(float)

    out = pd.DataFrame({S.MEMBER: ids})
    out["FIRST_FLIGHT_DATE"] = _d(first)
    out["LOAD_TIME"] = np.full(nm, as_of.to_datetime64().astype("datetime64[ns]"))
    fc = count(in_win)
    out["FLIGHT_COUNT"] = fc.astype(np.int64)

    has_km = S.SEG_KM in f.columns
    has_disc = S.DISCOUNT in f.columns
    has_rev = S.REVENUE in f.columns
    km_s = column(S.SEG_KM) if has_km else None
    disc_s = column(S.DISCOUNT) if has_disc else None
    if has_rev:
        rev_s = column(S.REVENUE)
        out["SUM_YR_1"] = total(rev_s, in_py)
        out["SUM_YR_2"] = total(rev_s, in_ly)
    if has_km:
        km_w = total(km_s, in_win)
        out["SEG_KM_SUM"] = km_w
    if has_km and has_disc:
        kd = total(km_s * disc_s, in_win)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["avg_discount"] = np.where(km_w > 0, kd / km_w, np.nan)
        out["BP_SUM"] = np.round(kd)
    elif has_disc:
        with np.errstate(invalid="ignore", divide="ignore"):
            out["avg_discount"] = np.where(fc > 0, total(disc_s, in_win) / fc, np.nan)

    out["LAST_FLIGHT_DATE"] = _d(last)
    out["LAST_TO_END"] = (end_d - last).astype(np.int64)

    # intervals between consecutive flights within the window
    same = np.r_[False, codes_s[1:] == codes_s[:-1]] & in_win & np.r_[False, in_win[:-1]]
    gaps = np.diff(day_s, prepend=day_s[0]).astype(float)
    n_gaps = count(same)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["AVG_INTERVAL"] = np.where(n_gaps > 0, total(gaps, same) / n_gaps, np.nan)
    masked = np.where(same, gaps, -1.0)
    mx = np.maximum.reduceat(masked, starts)
    out["MAX_INTERVAL"] = np.where(n_gaps > 0, mx, np.nan)
    out["P1Y_Flight_Count"] = count(in_py).astype(np.int64)
    out["L1Y_Flight_Count"] = count(in_ly).astype(np.int64)

    for events, col, name in (
        (complaints, S.COMPLAINT_DATE, "COMPLAINT_COUNT"),
        (noshows, S.NOSHOW_DATE, "NOSHOW_COUNT"),
    ):
        if events is not None:
            d = events[col]
            e = events.loc[(d > win_start) & (d <= as_of), S.MEMBER]
            out[name] = out[S.MEMBER].map(e.value_counts()).fillna(0).astype(np.int64)

    if members is not None:
        attrs = [c for c in members.columns if c != S.MEMBER]
        out = out.merge(members[[S.MEMBER, *attrs]], on=S.MEMBER, how="left")
        if pd.api.types.is_datetime64_any_dtype(out[S.FFP_DATE]):
            # pandas 3 parses date strings to microseconds; the snapshot's dates are ns
            out[S.FFP_DATE] = out[S.FFP_DATE].astype("datetime64[ns]")
    else:
        out[S.FFP_DATE] = out["FIRST_FLIGHT_DATE"]
    if "BP_SUM" in out.columns:
        tier = out["FFP_TIER"].fillna(4) if "FFP_TIER" in out.columns else 4
        out["Points_Sum"] = np.round(out["BP_SUM"] * (1.0 + 0.25 * (np.asarray(tier) - 4)))

    cols = [c for c in S.SNAPSHOT_COLUMNS if c in out.columns]
    cols += [c for c in out.columns if c not in cols]
    return out[cols].reset_index(drop=True)


def snapshot_of(tables, as_of, *, window_days: int = WINDOW_DAYS) -> pd.DataFrame:
    """:func:`build_snapshot` of an object holding ``flights``, ``members``, ``complaints``
    and ``noshows`` (a simulated programme, the pandas engine)."""
    return build_snapshot(
        tables.flights,
        tables.members,
        as_of,
        complaints=tables.complaints,
        noshows=tables.noshows,
        window_days=window_days,
    )


def _is_sorted(member: np.ndarray, day: np.ndarray) -> bool:
    """Whether the flights are sorted by member id, then by day."""
    nxt, prev = member[1:], member[:-1]  # compared, not subtracted: safe for unsigned ids
    return bool(((nxt > prev) | ((nxt == prev) & (day[1:] >= day[:-1]))).all())


def _d(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[ns]")
