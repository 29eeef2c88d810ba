"""Per-member inputs of the purchase and spend models: (x, t_x, T), mean revenue, holdout.

The BG/NBD, Pareto/NBD and MBG/NBD models need, per member, ``x`` (repeat flights
after the first), ``t_x`` (time of the last flight since the first) and ``T`` (time
since the first flight), all measured at a calibration end. The Gamma-Gamma model needs
the mean revenue of the repeat flights (Fader, Hardie & Lee 2005b).

Why not ``lifetimes.utils.summary_data_from_transaction_data``: it collapses every
transaction in the same period (day, week) into one, so two flights on one day count as
one. An airline flight log routinely has several flights on one day (connections,
returns), and each is a flight. :func:`flight_summary` counts flights, with
``merge_same_day=True`` for the CDNOW recipe of Fader, Hardie & Lee (2005a), which
counts purchase days.

Time is kept in whole days underneath (the flight log has day resolution) and reported
in the unit the caller asks for (``TIME_UNITS``). What the day resolution does: a flight
on day ``d`` is taken to happen at the start of that day, so ``t_x`` is exact up to the
rounding of both ends (unbiased) while ``T`` (from the start of the first-flight day to
the start of the calibration-end day, the convention of Fader and Hardie's CDNOW data)
is on average about one day shorter than the true exposure. One day against exposures of
weeks to years changes the estimates by much less than their standard errors; counting
distinct days or weeks instead of flights (what lifetimes' summary does) biases the
purchase rate down, which :func:`crm_research.clv.discretisation_effect` shows.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005a). "Counting your customers" the easy
way: an alternative to the Pareto/NBD model. Marketing Science 24(2), 275-284.
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005b). RFM and CLV: using iso-value
curves for customer base analysis. Journal of Marketing Research 42(4), 415-430.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data import schema as S
from ..data.engines.flightlog import is_lazy
from ..data.schema import DataValidationError

#: Days per reporting time unit.
TIME_UNITS = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12.0}

#: The textbook's two-year observation window (days), as in ``data.snapshot``.
WINDOW_DAYS = 730

_NS_PER_DAY = 86_400_000_000_000


def days_per_unit(time_unit: str) -> float:
    """Days in one ``time_unit`` ("days", "weeks" or "months" = 365.25/12 days)."""
    try:
        return TIME_UNITS[time_unit]
    except KeyError:
        raise ValueError(
            f"time_unit must be one of {sorted(TIME_UNITS)}, got {time_unit!r}"
        ) from None


def _day_numbers(dates: pd.Series) -> np.ndarray:
    """Whole days since the epoch (int64) of a datetime Series."""
    return dates.to_numpy().astype("datetime64[D]").astype(np.int64)


def _day(ts: pd.Timestamp) -> int:
    return int(pd.Timestamp(ts).normalize().value // _NS_PER_DAY)


def summary_bounds(
    first_day_data: int,
    last_day_data: int,
    calibration_end,
    observation_end,
    time_unit: str,
    source: str,
) -> tuple[int, int, float]:
    """The observation and calibration end (days since the epoch) and the unit in days.

    Shared by :func:`flight_summary` and the flight-log engines
    (:mod:`crm_research.data.engines`), so every engine refuses the same windows with the
    same messages.

    Raises
    ------
    DataValidationError
        An observation end before the first flight, a calibration end outside the data, a
        holdout shorter than one ``time_unit``.
    """
    unit_days = days_per_unit(time_unit)
    obs_d = last_day_data if observation_end is None else _day(observation_end)
    cal_d = obs_d if calibration_end is None else _day(calibration_end)
    as_date = lambda d: pd.Timestamp(d * _NS_PER_DAY).date()  # noqa: E731
    if obs_d < first_day_data:
        raise DataValidationError(
            f"the observation end {as_date(obs_d)} is before the first flight {as_date(first_day_data)}",
            source=source,
            column=S.FLIGHT_DATE,
        )
    if not first_day_data <= cal_d <= obs_d:
        raise DataValidationError(
            f"the calibration end {as_date(cal_d)} lies outside the data "
            f"({as_date(first_day_data)} to {as_date(obs_d)})",
            source=source,
            column=S.FLIGHT_DATE,
            hint="Choose a calibration end between the first flight and the observation end",
        )
    holdout_days = obs_d - cal_d
    if 0 < holdout_days < unit_days:
        raise DataValidationError(
            f"the holdout ({holdout_days} days after {as_date(cal_d)}) is shorter than one "
            f"{time_unit[:-1]}",
            source=source,
            column=S.FLIGHT_DATE,
            hint="Use a longer holdout or calibration_end = observation end (no holdout)",
        )
    return obs_d, cal_d, unit_days


def flight_summary(
    flights: pd.DataFrame,
    *,
    calibration_end=None,
    observation_end=None,
    time_unit: str = "weeks",
    merge_same_day: bool = False,
    source: str = "flight log",
) -> pd.DataFrame:
    """Per-member ``frequency, recency, T``, mean repeat revenue and holdout flights.

    Parameters
    ----------
    flights : DataFrame
        ``MEMBER_NO``, ``FLIGHT_DATE`` and optionally ``REVENUE`` (one row per flight).
    calibration_end : date-like, optional
        Last day of the calibration period (flights on that day are in it). Default:
        ``observation_end`` (no holdout).
    observation_end : date-like, optional
        Last day of the data; flights after it are ignored. Default: the last flight.
    time_unit : {"weeks", "days", "months"}
        Unit of ``recency``, ``T`` and ``duration_holdout``.
    merge_same_day : bool
        Count flights (False, the default) or distinct flight days (True: the CDNOW
        recipe of Fader, Hardie & Lee 2005a, whose purchases on one day form one
        transaction; revenue of a day is summed).
    source : str
        Name of the input, used in error messages.

    Returns
    -------
    DataFrame
        Indexed by ``MEMBER_NO``: ``frequency`` (x, repeat flights in the calibration
        period), ``recency`` (t_x), ``T``, ``monetary_value`` (mean revenue of the repeat
        flights with a positive revenue, NaN without any), ``n_monetary`` (how many
        flights that mean is over), ``first_flight`` (date); with a holdout also
        ``frequency_holdout``, ``revenue_holdout`` and ``duration_holdout``.
        ``attrs`` records the time unit, the dates and what was excluded
        (``n_members_late``: first flight after the calibration end;
        ``n_revenue_nonpositive`` / ``n_revenue_missing``: flights whose revenue was left
        out of the means).

    Raises
    ------
    DataValidationError
        Missing columns, unparseable dates, a calibration end outside the data, a
        holdout shorter than one ``time_unit``, no member with a first flight by the
        calibration end.
    """
    if is_lazy(flights):  # a Parquet log, scanned by its engine (data.engines.flightlog)
        return flights.summary(calibration_end, observation_end, time_unit, merge_same_day)
    unit_days = days_per_unit(time_unit)
    S.require_nonempty(flights, source)
    S.require_columns(flights, S.FLIGHT_REQUIRED, source)
    if flights[S.MEMBER].isna().any():
        miss = flights[S.MEMBER].isna()
        raise DataValidationError(
            "missing member ids", source=source, column=S.MEMBER, rows=S.row_labels(flights, miss)
        )
    dates = flights[S.FLIGHT_DATE]
    if not pd.api.types.is_datetime64_any_dtype(dates) or dates.isna().any():
        dates = S.parse_dates(flights, S.FLIGHT_DATE, source)
    day = _day_numbers(dates)
    member = flights[S.MEMBER].to_numpy()
    has_rev = S.REVENUE in flights.columns
    rev = S.numeric(flights, S.REVENUE, source, allow_missing=True).to_numpy() if has_rev else None

    obs_d, cal_d, unit_days = summary_bounds(
        int(day.min()), int(day.max()), calibration_end, observation_end, time_unit, source
    )
    holdout_days = obs_d - cal_d
    as_date = lambda d: pd.Timestamp(d * _NS_PER_DAY).date()  # noqa: E731

    keep = day <= obs_d
    day, member = day[keep], member[keep]
    if rev is not None:
        rev = rev[keep]
    ids, code = np.unique(member, return_inverse=True)
    n_all = len(ids)
    n_same_day = 0
    if merge_same_day:
        key = pd.MultiIndex.from_arrays([code, day])
        dup = key.duplicated()
        n_same_day = int(dup.sum())
        if n_same_day:
            frame = pd.DataFrame({"c": code, "d": day})
            if rev is not None:
                frame["r"] = rev
            g = frame.groupby(["c", "d"], sort=False)
            merged = g.size().rename("n").to_frame()
            if rev is not None:
                merged["r"] = g["r"].sum(min_count=1)
            code = merged.index.get_level_values(0).to_numpy()
            day = merged.index.get_level_values(1).to_numpy()
            rev = merged["r"].to_numpy() if rev is not None else None

    order = np.lexsort((day, code))  # stable: same-day flights keep their log order
    code, day = code[order], day[order]
    if rev is not None:
        rev = rev[order]
    starts = np.r_[0, np.flatnonzero(np.diff(code)) + 1]
    first = day[starts]
    is_first = np.zeros(len(code), dtype=bool)
    is_first[starts] = True

    late_member = first > cal_d
    n_late = int(late_member.sum())
    if n_late == n_all:
        raise DataValidationError(
            f"no member has a first flight on or before the calibration end {as_date(cal_d)}",
            source=source,
            column=S.FLIGHT_DATE,
        )
    in_cal = day <= cal_d
    n_cal = np.bincount(code[in_cal], minlength=n_all)
    last_cal = np.full(n_all, np.iinfo(np.int64).min)
    np.maximum.at(last_cal, code[in_cal], day[in_cal])

    out = pd.DataFrame(
        {
            "frequency": n_cal - 1,
            "recency": (last_cal - first) / unit_days,
            "T": (cal_d - first) / unit_days,
        },
        index=pd.Index(ids, name=S.MEMBER),
    )
    attrs = {
        "time_unit": time_unit,
        "days_per_unit": unit_days,
        "calibration_end": str(as_date(cal_d)),
        "observation_end": str(as_date(obs_d)),
        "merge_same_day": bool(merge_same_day),
        "n_same_day_merged": n_same_day,
        "n_members_late": n_late,
        "n_revenue_nonpositive": 0,
        "n_revenue_missing": 0,
    }
    if rev is not None:
        rep = in_cal & ~is_first
        missing = np.isnan(rev)
        nonpos = ~missing & (rev <= 0)
        ok = rep & ~missing & ~nonpos
        n_ok = np.bincount(code[ok], minlength=n_all)
        s_ok = np.bincount(code[ok], weights=rev[ok], minlength=n_all)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["monetary_value"] = np.where(n_ok > 0, s_ok / np.maximum(n_ok, 1), np.nan)
        out["n_monetary"] = n_ok
        attrs["n_revenue_nonpositive"] = int(nonpos.sum())
        attrs["n_revenue_missing"] = int(missing.sum())
        attrs["n_revenue_nonpositive_repeat"] = int((nonpos & rep).sum())
    out["first_flight"] = pd.to_datetime(first * _NS_PER_DAY)
    if holdout_days > 0:
        hold = ~in_cal
        out["frequency_holdout"] = np.bincount(code[hold], minlength=n_all)
        if rev is not None:
            r = np.where(np.isnan(rev), 0.0, rev)
            out["revenue_holdout"] = np.bincount(code[hold], weights=r[hold], minlength=n_all)
        out["duration_holdout"] = holdout_days / unit_days
    out = out.loc[~late_member].copy()
    out.attrs = attrs
    return out


def summary_from_snapshot(
    snapshot: pd.DataFrame,
    *,
    time_unit: str = "weeks",
    window_days: int = WINDOW_DAYS,
    source: str = "member snapshot",
) -> pd.DataFrame:
    """Approximate (x, t_x, T) and mean revenue from the textbook member table.

    The textbook table (DOMAIN.md) has aggregates only: ``FLIGHT_COUNT`` counts flights
    in the two-year window ``(LOAD_TIME - 730 d, LOAD_TIME]``, ``FIRST_FLIGHT_DATE`` is
    the first flight ever, ``LAST_FLIGHT_DATE`` the last, ``AVG_INTERVAL`` the mean gap in
    days between consecutive flights in the window. Consistently with that window:

    - first flight inside the window: every flight is counted, and
      ``x = FLIGHT_COUNT - 1``, ``t_x = LAST - FIRST``, ``T = LOAD_TIME - FIRST`` (exact);
    - first flight before the window (left-truncated history): the clock restarts at the
      first flight in the window, whose date is exact because the gaps add up,
      ``first_in_window = LAST - AVG_INTERVAL * (FLIGHT_COUNT - 1)``; then
      ``x = FLIGHT_COUNT - 1``, ``t_x = LAST - first_in_window``,
      ``T = LOAD_TIME - first_in_window``. This is the approximation: it treats that
      flight as a first purchase and forgets the earlier history, and members who had
      already lapsed before the window never appear;
    - no flight in the window: excluded (counted in ``attrs["n_no_window_flight"]``);
    - FIRST_FLIGHT_DATE after LAST_FLIGHT_DATE (an implausible first flight, as in the real
      file): treated as left-truncated (``attrs["n_first_flight_after_last"]``);
    - LAST_FLIGHT_DATE after LOAD_TIME: excluded (``attrs["n_last_flight_after_load"]``).

    The textbook file also keeps only members with ``FLIGHT_COUNT >= 2``, so nobody has
    ``x = 0``: the models then see a population selected for repeat flying, which biases
    the dropout parameters towards staying (shown on simulated data in notebook 02).

    ``monetary_value`` is ``(SUM_YR_1 + SUM_YR_2) / FLIGHT_COUNT``, the mean revenue of
    all flights in the window (the first included: the table cannot separate it), with
    ``n_monetary = x``; members without positive revenue get NaN.

    Returns
    -------
    DataFrame
        Indexed by ``MEMBER_NO``: ``frequency``, ``recency``, ``T``, ``monetary_value``,
        ``n_monetary``, ``first_flight``, ``left_truncated``; no holdout columns.
    """
    unit_days = days_per_unit(time_unit)
    need = ("MEMBER_NO", "LOAD_TIME", "FLIGHT_COUNT", "FIRST_FLIGHT_DATE", "LAST_FLIGHT_DATE")
    S.require_nonempty(snapshot, source)
    S.require_columns(snapshot, need, source)
    n = S.numeric(snapshot, "FLIGHT_COUNT", source).to_numpy()
    S.check_range(pd.Series(n), source, "FLIGHT_COUNT", low=0, what="that are negative")
    load = S.parse_dates(snapshot, "LOAD_TIME", source)
    first = S.parse_dates(snapshot, "FIRST_FLIGHT_DATE", source)
    last = S.parse_dates(snapshot, "LAST_FLIGHT_DATE", source)
    load_d, first_d, last_d = _day_numbers(load), _day_numbers(first), _day_numbers(last)
    # The real textbook file has implausible first-flight dates (the loader flags them):
    # a first flight after the last one is treated as unknown (the window-based
    # reconstruction below is used), a last flight after LOAD_TIME excludes the member.
    # Both are counted in ``attrs``, never silently.
    first_after_last = last_d < first_d
    last_after_load = last_d > load_d
    win_start = load_d - window_days
    truncated = (first_d <= win_start) | first_after_last
    if truncated.any() and (n[truncated] >= 2).any():
        S.require_columns(snapshot, ("AVG_INTERVAL",), source)
        gap = S.numeric(snapshot, "AVG_INTERVAL", source, allow_missing=True).to_numpy()
        need_gap = truncated & (n >= 2)
        if np.isnan(gap[need_gap]).any():
            miss = need_gap & np.isnan(gap)
            raise DataValidationError(
                "AVG_INTERVAL missing for members with two or more flights in the window",
                source=source,
                column="AVG_INTERVAL",
                rows=S.row_labels(snapshot, miss),
            )
    else:
        gap = np.zeros(len(snapshot))
    span = np.where(n >= 2, np.nan_to_num(gap) * (n - 1), 0.0)
    start_d = np.where(truncated, last_d - np.round(span), first_d).astype(float)
    start_d = np.maximum(start_d, np.where(truncated, win_start + 1, first_d))
    keep = (n >= 1) & ~last_after_load
    out = pd.DataFrame(
        {
            "frequency": (n - 1).astype(np.int64),
            "recency": (last_d - start_d) / unit_days,
            "T": (load_d - start_d) / unit_days,
        },
        index=pd.Index(snapshot["MEMBER_NO"].to_numpy(), name=S.MEMBER),
    )
    if {"SUM_YR_1", "SUM_YR_2"} <= set(snapshot.columns):
        tot = (
            S.numeric(snapshot, "SUM_YR_1", source, allow_missing=True).fillna(0).to_numpy()
            + S.numeric(snapshot, "SUM_YR_2", source, allow_missing=True).fillna(0).to_numpy()
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where((tot > 0) & (n > 0), tot / np.maximum(n, 1), np.nan)
        out["monetary_value"] = m
        out["n_monetary"] = np.where(np.isnan(m), 0, np.maximum(n - 1, 0)).astype(np.int64)
    out["first_flight"] = pd.to_datetime(start_d.astype(np.int64) * _NS_PER_DAY)
    out["left_truncated"] = truncated
    out = out.loc[keep].copy()
    out.attrs = {
        "time_unit": time_unit,
        "days_per_unit": unit_days,
        "calibration_end": str(pd.Timestamp(load.max()).date()),
        "observation_end": str(pd.Timestamp(load.max()).date()),
        "approximation": "snapshot",
        "n_no_window_flight": int((n < 1).sum()),
        "n_first_flight_after_last": int((first_after_last & keep).sum()),
        "n_last_flight_after_load": int(last_after_load.sum()),
        "n_left_truncated": int((truncated & keep).sum()),
        "n_members_late": 0,
    }
    return out


def _ranks(col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of ``col`` and each element's position among them.

    Whole numbers in a short range (flight counts) by a table of the values present
    (linear time), anything else by ``np.unique`` (a sort).
    """
    if col.dtype.kind in "iu" and len(col):
        lo, hi = int(col.min()), int(col.max())
        if hi - lo <= 4 * len(col):
            present = np.bincount(col - lo, minlength=hi - lo + 1) > 0
            rank = np.cumsum(present) - 1
            return np.flatnonzero(present) + lo, rank[col - lo]
    # anything else: a hash factorisation and a sort of the distinct values only (fewer
    # than the members: day-resolution times), faster than sorting the column
    codes, uniques = pd.factorize(col, sort=False)
    uniques = np.asarray(uniques)
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[order] = np.arange(len(uniques))
    return uniques[order], rank[codes]


def _stable_order(*codes: np.ndarray) -> np.ndarray:
    """The permutation sorting rows by ``codes[0]``, then ``codes[1]``, ... (stable).

    Least significant key first, each pass a stable sort: on codes below 2**16 numpy
    sorts by radix (linear time; measured 0.04 s for a million rows against 0.2 s for
    one sort of a combined int64 key).
    """
    n = len(codes[0])
    order = np.arange(n)
    small = all(len(c) == 0 or c.max() < 2**16 for c in codes)
    for c in reversed(codes):
        key = c.astype(np.uint16) if small else c
        order = order[np.argsort(key[order], kind="stable")]
    return order


@dataclass
class Compressed:
    """Distinct ``(frequency, recency, T)`` rows and how they map back (:func:`compress_codes`).

    Attributes
    ----------
    rows : DataFrame
        ``frequency, recency, T, weights``, sorted by frequency, then recency, then T.
    inverse : ndarray
        For each input member, the position of its row in ``rows``.
    ux, ix, utx, itx, uT, iT : ndarray
        The sorted distinct values of each column and, for each row of ``rows``, the
        position of its value among them (the likelihoods take per-value terms once).
    """

    rows: pd.DataFrame
    inverse: np.ndarray
    ux: np.ndarray
    ix: np.ndarray
    utx: np.ndarray
    itx: np.ndarray
    uT: np.ndarray
    iT: np.ndarray

    def subset(self, keep: np.ndarray) -> Compressed:
        """Only the rows where ``keep`` (a boolean mask; ``inverse`` then no longer applies)."""
        rows = self.rows.loc[keep].reset_index(drop=True)
        return Compressed(
            rows, np.empty(0, np.int64), self.ux, self.ix[keep], self.utx, self.itx[keep],
            self.uT, self.iT[keep],
        )  # fmt: skip


def compress_codes(frequency, recency, T) -> Compressed:
    """:func:`compress` with the distinct values of each column (for the likelihoods).

    Each column is coded by its distinct values (:func:`_ranks`), the rows sorted by the
    three codes (:func:`_stable_order`) and runs of equal codes collapsed: the same rows,
    in the same order, as a pandas ``groupby`` on the three columns (tested).
    """
    x = np.asarray(frequency)
    tx = np.asarray(recency, dtype=float)
    tt = np.asarray(T, dtype=float)
    n = len(x)
    ux, cx = _ranks(x)
    utx, ctx = _ranks(tx)
    uT, cT = _ranks(tt)
    order = _stable_order(cx, ctx, cT)
    # one key per member, equal for equal (x, t_x, T) (overflow impossible below 2**21
    # distinct values per column; beyond, the three codes are compared one by one)
    if len(ux) * len(utx) * len(uT) < 2**62:
        key = cx * len(utx)
        key += ctx
        key *= len(uT)
        key += cT
        sk = key[order]
        new = np.empty(n, dtype=bool)
        new[:1] = True
        np.not_equal(sk[1:], sk[:-1], out=new[1:])
    else:
        sx, stx, sT = cx[order], ctx[order], cT[order]
        new = np.ones(n, dtype=bool)
        new[1:] = (sx[1:] != sx[:-1]) | (stx[1:] != stx[:-1]) | (sT[1:] != sT[:-1])
    group = np.cumsum(new) - 1
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = group
    first = order[new]  # the first member (in input order: the sort is stable) of each row
    weights = np.bincount(inverse, minlength=len(first))
    rows = pd.DataFrame(
        {"frequency": x[first], "recency": tx[first], "T": tt[first], "weights": weights}
    )
    return Compressed(rows, inverse, ux, cx[first], utx, ctx[first], uT, cT[first])


def compress(frequency, recency, T) -> tuple[pd.DataFrame, np.ndarray]:
    """Unique ``(frequency, recency, T)`` rows with their counts (``weights``).

    Fader and Hardie fit on the condensed data: the likelihood of a member depends on
    ``(x, t_x, T)`` only, so members with the same triple contribute the same term and
    one row with a weight is exact.

    Returns
    -------
    rows : DataFrame
        ``frequency, recency, T, weights``, sorted by frequency, then recency, then T.
    inverse : ndarray
        For each input member, the position of its row in ``rows``.
    """
    c = compress_codes(frequency, recency, T)
    return c.rows, c.inverse
