"""One interface for the scans of the flight log, whatever engine runs them.

An engine is loaded with a flight log (and optionally the member, complaints and
no-shows tables), each a pandas DataFrame or a path (a CSV or Parquet file, or a folder
of Parquet parts read in file-name order), then asked for

- :meth:`Engine.validate`: the checks of :func:`~crm_research.data.snapshot.validate_flights`
  and :func:`~crm_research.data.snapshot.validate_members`, with the same messages
  (file, column, the first offending rows and values, and how many there are);
- :meth:`Engine.snapshot`: the member snapshot of
  :func:`~crm_research.data.snapshot.build_snapshot`;
- :meth:`Engine.summary`: the BTYD summary of :func:`~crm_research.clv.flight_summary`
  (calibration and holdout);
- :meth:`Engine.histories`: the distinct calibration histories ``(x, t_x, T)`` with
  their member counts, all that fitting BG/NBD, MBG/NBD or Pareto/NBD needs
  (:func:`~crm_research.clv.compress`);
- :meth:`Engine.forward_label`: the forward churn label of
  :func:`~crm_research.churn.forward_label`.

Per-member results come back as a :class:`Table` that stays in the engine until asked:
``to_pandas()`` for small data, ``write_parquet(path)`` at scale (written by the
engine, never collected to one process). The pandas engine runs today's code and is the
reference the tests compare the others with, row for row.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import schema as S
from ..schema import DataValidationError
from . import sql as Q
from .checks import (  # noqa: F401 - FILE_STRIDE, NS_PER_DAY, counted_error re-exported
    FILE_STRIDE,
    NS_PER_DAY,
    SQLChecks,
    counted_error,
    date_of_day,
    day_of,
)

#: Snapshot columns holding whole numbers, dates and floats (for the pandas dtypes).
INT_COLUMNS = (
    "FLIGHT_COUNT",
    "LAST_TO_END",
    "P1Y_Flight_Count",
    "L1Y_Flight_Count",
    "COMPLAINT_COUNT",
    "NOSHOW_COUNT",
    "frequency",
    "n_monetary",
    "frequency_holdout",
    "flights_in_horizon",
    "churn",
    "weights",
)
DATE_COLUMNS = ("FFP_DATE", "FIRST_FLIGHT_DATE", "LOAD_TIME", "LAST_FLIGHT_DATE", "first_flight")

Source = pd.DataFrame | str | os.PathLike | list


def source_files(src) -> list[Path]:
    """The files of a path: the file itself, or a folder's Parquet/CSV parts by name."""
    if isinstance(src, list | tuple):
        return [Path(p) for p in src]
    p = Path(src)
    if p.is_dir():
        files = sorted(
            q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in (".parquet", ".pq")
        )
        if not files:
            files = sorted(q for q in p.rglob("*.csv") if q.is_file())
        if not files:
            raise DataValidationError("a folder without Parquet or CSV files", source=str(p))
        return files
    if not p.exists():
        raise DataValidationError("file not found", source=str(p))
    return [p]


def source_name(src, default: str) -> str:
    if isinstance(src, pd.DataFrame) or src is None:
        return default
    if isinstance(src, list | tuple):
        return str(Path(src[0]).parent) if src else default
    return str(src)


def check_horizon(obs_date, horizon_months, data_end, source: str) -> tuple:
    """The horizon checks of :func:`crm_research.churn.forward_label` (same messages)."""
    if isinstance(horizon_months, bool) or not isinstance(horizon_months, int | np.integer):
        raise ValueError(f"horizon_months must be a whole number of months, got {horizon_months!r}")
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be at least 1, got {horizon_months}")
    obs_date = pd.Timestamp(obs_date).normalize()
    data_end = pd.Timestamp(data_end).normalize()
    horizon_end = obs_date + pd.DateOffset(months=int(horizon_months))
    if horizon_end > data_end:
        avail = (data_end.year - obs_date.year) * 12 + data_end.month - obs_date.month
        raise DataValidationError(
            f"the horizon of {horizon_months} months after the observation date "
            f"{obs_date.date()} ends on {horizon_end.date()}, after the end of the data "
            f"{data_end.date()} (about {max(avail, 0)} months of data after the "
            "observation date)",
            source=source,
            column=S.FLIGHT_DATE,
            values=[data_end],
            hint="Shorten the horizon or move the observation date earlier",
        )
    return obs_date, horizon_end


def summary_bounds(
    stats: dict, calibration_end, observation_end, time_unit: str, source: str
) -> tuple[int, int, float]:
    """The date checks of :func:`crm_research.clv.flight_summary` (same messages)."""
    from ...clv.summary import summary_bounds as _bounds

    first_day_data, last_day_data = int(stats["first_day"]), int(stats["last_day"])
    return _bounds(
        first_day_data, last_day_data, calibration_end, observation_end, time_unit, source
    )


def snapshot_order(has_km, has_disc, has_rev, member_cols, complaints, noshows) -> list[str]:
    """The snapshot's column order, as :func:`build_snapshot` makes it."""
    out = ["MEMBER_NO", "FIRST_FLIGHT_DATE", "LOAD_TIME", "FLIGHT_COUNT"]
    if has_rev:
        out += ["SUM_YR_1", "SUM_YR_2"]
    if has_km:
        out.append("SEG_KM_SUM")
    if (has_km and has_disc) or has_disc:
        out.append("avg_discount")
    if has_km and has_disc:
        out.append("BP_SUM")
    out += ["LAST_FLIGHT_DATE", "LAST_TO_END", "AVG_INTERVAL", "MAX_INTERVAL"]
    out += ["P1Y_Flight_Count", "L1Y_Flight_Count"]
    if complaints:
        out.append("COMPLAINT_COUNT")
    if noshows:
        out.append("NOSHOW_COUNT")
    if member_cols is not None:
        out += [c for c in member_cols if c != S.MEMBER]
    else:
        out.append("FFP_DATE")
    if "BP_SUM" in out:
        out.append("Points_Sum")
    cols = [c for c in S.SNAPSHOT_COLUMNS if c in out]
    return cols + [c for c in out if c not in cols]


def as_pandas_types(df: pd.DataFrame, index: str | None = None) -> pd.DataFrame:
    """Engine output with the reference's pandas dtypes (int64, float64, datetime64[ns])."""
    for c in df.columns:
        if c in DATE_COLUMNS:
            df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
        elif c in INT_COLUMNS and df[c].notna().all():
            df[c] = df[c].astype(np.int64)
        elif pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_integer_dtype(df[c]):
            df[c] = df[c].astype(float)
        elif c == S.MEMBER and pd.api.types.is_integer_dtype(df[c]):
            df[c] = df[c].astype(np.int64)
    if index:
        df = df.set_index(index)
    return df


class Table(ABC):
    """A per-member result kept in its engine until written or collected."""

    attrs: dict[str, Any]

    @abstractmethod
    def to_pandas(self) -> pd.DataFrame:
        """Collect to one pandas DataFrame (small data only)."""

    @abstractmethod
    def write_parquet(self, path: str | os.PathLike) -> Path:
        """Write as Parquet (a folder of part files) without collecting to the driver."""

    @abstractmethod
    def map_batches(
        self, fn: Callable[[pd.DataFrame], pd.DataFrame], path, schema: dict[str, str]
    ) -> Path:
        """Apply ``fn`` to batches of rows and write its output as Parquet."""


class Engine(ABC):
    """Runs the scans of one flight log (see the module docstring)."""

    name = "engine"

    @abstractmethod
    def load(
        self,
        flights: Source,
        members: Source | None = None,
        complaints: Source | None = None,
        noshows: Source | None = None,
        *,
        source: str | None = None,
    ) -> Engine:
        """Register the tables; returns ``self``."""

    @abstractmethod
    def validate(self, *, obs_end=None, infer_end_days: int | None = None) -> dict:
        """Check the log and the other tables (see :meth:`.checks.SQLChecks.validate`)."""

    @abstractmethod
    def snapshot(self, as_of, *, window_days: int = 730) -> Table: ...

    @abstractmethod
    def summary(
        self,
        *,
        calibration_end=None,
        observation_end=None,
        time_unit: str = "weeks",
        merge_same_day: bool = False,
    ) -> Table:
        """The per-member BTYD summaries (:func:`crm_research.clv.flight_summary`)."""

    @abstractmethod
    def histories(self, **periods) -> pd.DataFrame:
        """The distinct calibration histories with their counts; ``periods`` are the
        keywords of :meth:`summary`."""

    @abstractmethod
    def forward_label(self, obs_date, horizon_months: int, *, data_end) -> Table: ...

    def close(self) -> None:  # noqa: B027 - optional
        """Release the engine's resources."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _name_sources(self, flights, members, complaints, noshows, source) -> None:
        """The names that error messages give each input table (one rule for every engine)."""
        self.sources = {
            "flights": source or source_name(flights, "flight log"),
            "members": source_name(members, "member table"),
            "complaints": source_name(complaints, "complaints"),
            "noshows": source_name(noshows, "noshows"),
        }


class SQLEngine(SQLChecks, Engine):
    """The scans as SQL (:mod:`.sql`); subclasses register tables and run queries."""

    dialect = ""
    _n_tables = 0  # names of materialized tables, unique in the process

    def __init__(self):
        self.sources: dict[str, str] = {}
        self.columns: dict[str, dict[str, str]] = {}  # table -> column -> kind
        self._offsets: dict[str, dict[int, int]] = {}
        self._stats: dict | None = None
        self._summaries: dict[tuple, str] = {}
        self._pending: list[tuple] = []
        self._parts: list[str] | None = None

    # --- what an engine provides ---------------------------------------------------------
    @abstractmethod
    def _register_raw(self, name: str, src) -> dict[str, str]:
        """Register ``src`` as view ``{name}_raw`` with an ``_ord`` column; column kinds."""

    @abstractmethod
    def _day_expr(self, col: str, kind: str) -> str:
        """SQL for the day number of a column of that kind (NULL when not a date)."""

    @abstractmethod
    def _view(self, name: str, sql: str) -> None: ...

    @abstractmethod
    def _collect(self, sql: str) -> pd.DataFrame: ...

    @abstractmethod
    def _materialize(self, name: str, sql: str | list[str]) -> None:
        """A table ``name`` of the query's rows (a list: the rows of each, appended)."""

    @abstractmethod
    def _table(
        self, sql: str | list[str], attrs: dict | None = None, index: str | None = None
    ) -> Table:
        """A :class:`Table` of the query (a list: its parts, in order)."""

    def _member_bounds(self, k: int) -> list[str]:
        """``k - 1`` increasing values of ``MEMBER_NO`` (SQL literals) cutting the log into
        ``k`` ranges of about equal rows; empty: one part (the log scanned as a whole)."""
        return []

    def member_parts(self) -> list[str]:
        """Conditions on ``MEMBER_NO`` splitting the per-member scans into ranges.

        Each per-member scan (snapshot, summary, forward label) runs once per range and
        the results are appended in order: every member is in one range, so the rows
        are the same as one scan's, and a range small enough for memory keeps the
        engine from spilling its aggregates and sorts to disk (DuckDB: the time per row
        at 100 million flights grew 1.2-1.6 x over 10 million without this). Engines
        that partition on their own (Spark) scan as a whole: ``["TRUE"]``.
        """
        if self._parts is None:
            bounds = self._member_bounds(self._n_parts())
            parts = []
            for i in range(len(bounds) + 1):
                cond = []
                if i > 0:
                    cond.append(f"MEMBER_NO >= {bounds[i - 1]}")
                if i < len(bounds):
                    cond.append(f"MEMBER_NO < {bounds[i]}")
                elif bounds:  # missing ids (if not refused) sort last, as in one scan
                    cond = [f"({cond[0]} OR MEMBER_NO IS NULL)"]
                parts.append(" AND ".join(cond) or "TRUE")
            self._parts = parts
        return self._parts

    def _n_parts(self) -> int:
        return 1

    # --- loading ---------------------------------------------------------------------------
    def load(self, flights, members=None, complaints=None, noshows=None, *, source=None):
        self._name_sources(flights, members, complaints, noshows, source)
        self._offsets, self._stats, self._summaries = {}, None, {}
        self.columns, self._parts = {}, None
        for name, src, date_col in (
            ("flights", flights, S.FLIGHT_DATE),
            ("members", members, S.FFP_DATE),
            ("complaints", complaints, S.COMPLAINT_DATE),
            ("noshows", noshows, S.NOSHOW_DATE),
        ):
            if src is None:
                continue
            kinds = self._register_raw(name, src)
            self.columns[name] = kinds
            self._typed_view(name, kinds, date_col)
        return self

    def _typed_view(self, name: str, kinds: dict[str, str], date_col: str) -> None:
        cols = [f"{c} AS {c}" for c in kinds if c not in (date_col, "_ord")]
        if date_col in kinds:
            day = self._day_expr(date_col, kinds[date_col])
            cols.append(f"{day} AS {'ffp_day' if name == 'members' else 'day'}")
            cols.append(f"{date_col} AS raw_{date_col}")
        numeric = {
            "flights": (S.SEG_KM, S.DISCOUNT, S.REVENUE),
            "members": ("AGE", "FFP_TIER"),
        }.get(name, ())
        for c in numeric:
            if c in kinds:
                cast = "TRY_CAST" if kinds[c] == "string" else "CAST"
                # NaN is a missing value, as in pandas
                num = f"{cast}({c} AS DOUBLE)"
                num = f"NULLIF({num}, CAST('NaN' AS DOUBLE))"  # NaN = NaN in both dialects
                cols.append(f"{num} AS num_{c}")
                cols.append(f"{c} AS raw_{c}")
                if name == "flights":  # the scans compute with the numbers
                    cols.remove(f"{c} AS {c}")
                    cols.append(f"{num} AS {c}")
        cols.append("_ord")
        self._view(f"{name}_t", f"SELECT {', '.join(cols)} FROM {name}_raw")

    def _date_from_day(self, expr: str) -> str:
        return Q.date_of(self.dialect, expr)

    def _has(self, table: str, col: str) -> bool:
        return col in self.columns.get(table, {})

    def stats(self) -> dict:
        """Rows, first and last day of the flight log (one scan, cached)."""
        if self._stats is None:
            row = self._collect(Q.log_stats_sql()).iloc[0]
            self._stats = {k: (None if pd.isna(v) else int(v)) for k, v in row.items()}
        return self._stats

    # --- the scans -----------------------------------------------------------------------
    def snapshot(self, as_of, *, window_days: int = 730) -> Table:
        from ..snapshot import YEAR_DAYS

        as_of = pd.Timestamp(as_of).normalize()
        end_d = day_of(as_of)
        first = self.stats()["first_day"]
        if first is None or first > end_d:
            raise DataValidationError(
                f"no flights on or before {as_of.date()}", source="flight log"
            )
        has_km, has_disc, has_rev = (
            self._has("flights", c) for c in (S.SEG_KM, S.DISCOUNT, S.REVENUE)
        )
        member_cols = None
        if "members" in self.columns:
            member_cols = [c for c in self.columns["members"] if c != "_ord"]
        complaints = "complaints" in self.columns
        noshows = "noshows" in self.columns
        order = snapshot_order(has_km, has_disc, has_rev, member_cols, complaints, noshows)
        attrs_ = [c for c in member_cols if c != S.MEMBER] if member_cols is not None else None
        flags = {"has_km": has_km, "has_disc": has_disc, "has_rev": has_rev,
                 "complaints": complaints, "noshows": noshows}  # fmt: skip
        return self._table(
            self._per_range(Q.snapshot_sql, self.dialect, end_d=end_d, window_days=window_days,
                            year_days=YEAR_DAYS, member_attrs=attrs_, order=order, **flags)
        )  # fmt: skip

    def _per_range(self, build, *args, **kwargs) -> list[str]:
        """``build(*args, **kwargs, where=...)``: one query per range of member ids
        (:meth:`member_parts`), the SQL builders of :mod:`.sql` called the one way."""
        return [build(*args, **kwargs, where=where) for where in self.member_parts()]

    def _summary_parts(
        self, calibration_end=None, observation_end=None, time_unit="weeks", merge_same_day=False
    ):
        """The checks and per-member aggregates shared by :meth:`summary` and
        :meth:`histories` (the one place their keywords are declared for SQL engines)."""
        src = self.sources["flights"]
        kinds = self.columns["flights"]
        missing = [c for c in S.FLIGHT_REQUIRED if c not in kinds]
        if missing:
            raise DataValidationError(
                f"missing required column(s) {missing}; found {[c for c in kinds if c != '_ord']}",
                source=src,
                column=missing,
            )
        st = self.stats()  # one scan, kept: rows, first and last day, missing ids
        if st["n"] == 0:
            raise DataValidationError("the table has no rows", source=src)
        if st["n_null_member"]:
            self._raise_if("flights", "MEMBER_NO IS NULL", "missing member ids", column=S.MEMBER)
        obs_d, cal_d, unit_days = summary_bounds(
            self.stats(), calibration_end, observation_end, time_unit, src
        )
        has_rev = self._has("flights", S.REVENUE)
        # the per-member aggregates are computed once per load and set of dates, kept in
        # the engine (a temporary table), and read by the summary and the histories
        key = (obs_d, cal_d, bool(merge_same_day))
        name = self._summaries.get(key)
        if name is None:
            SQLEngine._n_tables += 1
            name = f"summ_{SQLEngine._n_tables}"
            self._materialize(
                name,
                self._per_range(Q.summary_members_sql, self.dialect, obs_d=obs_d, cal_d=cal_d,
                                merge_same_day=merge_same_day, has_rev=has_rev),
            )  # fmt: skip
            self._summaries[key] = name
        tot = self._collect(Q.summary_totals_sql(name, cal_d)).iloc[0]
        if int(tot["n_late"]) == int(tot["n_all"]):
            raise DataValidationError(
                f"no member has a first flight on or before the calibration end "
                f"{date_of_day(cal_d).date()}",
                source=src,
                column=S.FLIGHT_DATE,
            )
        attrs = {
            "time_unit": time_unit,
            "days_per_unit": unit_days,
            "calibration_end": str(date_of_day(cal_d).date()),
            "observation_end": str(date_of_day(obs_d).date()),
            "merge_same_day": bool(merge_same_day),
            "n_same_day_merged": int(tot["n_rows"]) - int(tot["n_tx"]) if merge_same_day else 0,
            "n_members_late": int(tot["n_late"]),
            "n_revenue_nonpositive": 0,
            "n_revenue_missing": 0,
        }
        if has_rev:
            attrs["n_revenue_nonpositive"] = int(tot["n_nonpos"])
            attrs["n_revenue_missing"] = int(tot["n_missing"])
            attrs["n_revenue_nonpositive_repeat"] = int(tot["n_nonpos_rep"])
        return name, obs_d, cal_d, unit_days, has_rev, attrs

    def summary(self, **periods) -> Table:
        name, obs_d, cal_d, unit_days, has_rev, attrs = self._summary_parts(**periods)
        sqls = self._per_range(Q.summary_sql, self.dialect, name, cal_d=cal_d, unit_days=unit_days,
                               holdout_days=obs_d - cal_d, has_rev=has_rev)  # fmt: skip
        return self._table(sqls, attrs=attrs, index=S.MEMBER)

    def histories(self, **periods) -> pd.DataFrame:
        name, _, cal_d, unit_days, _, attrs = self._summary_parts(**periods)
        h = self._collect(Q.histories_sql(name, cal_d))
        out = pd.DataFrame(
            {
                "frequency": h["frequency"].to_numpy(np.int64),
                "recency": h["recency_d"].to_numpy(np.int64) / unit_days,
                "T": h["T_d"].to_numpy(np.int64) / unit_days,
                "weights": h["weights"].to_numpy(np.int64),
            }
        )
        out.attrs = attrs
        return out

    def sample_summary(self, positions, **periods) -> Table:
        """:meth:`summary` of the members at ``positions`` (0-based, in ``MEMBER_NO``
        order, of :func:`sample_positions`) among the all-data members: the positions
        are registered as a one-column table and joined, never an IN list of literals."""
        name, obs_d, cal_d, unit_days, has_rev, attrs = self._summary_parts(**periods)
        pos = self.register_ids(np.asarray(positions, dtype=np.int64))  # column MEMBER_NO
        SQLEngine._n_tables += 1
        sample = f"sample_{SQLEngine._n_tables}"
        self._materialize(
            sample,
            f"SELECT MEMBER_NO FROM (SELECT MEMBER_NO, ROW_NUMBER() OVER (ORDER BY MEMBER_NO) "
            f"- 1 AS pos FROM {name}) s WHERE pos IN (SELECT MEMBER_NO FROM {pos})",
        )
        sql = Q.summary_sql(self.dialect, name, cal_d=cal_d, unit_days=unit_days,
                            holdout_days=obs_d - cal_d, has_rev=has_rev,
                            where=f"MEMBER_NO IN (SELECT MEMBER_NO FROM {sample})")  # fmt: skip
        return self._table(sql, attrs=attrs, index=S.MEMBER)

    def forward_label(self, obs_date, horizon_months, *, data_end, source="flights") -> Table:
        obs_date, horizon_end = check_horizon(obs_date, horizon_months, data_end, source)
        obs_d = day_of(obs_date)
        first = self.stats()["first_day"]
        if first is None or first > obs_d:
            raise DataValidationError(
                f"no member has a flight on or before the observation date {obs_date.date()}",
                source=source,
                column=S.FLIGHT_DATE,
                hint="Move the observation date later or shorten the horizon",
            )
        sqls = []
        for where in self.member_parts():
            inner = Q.forward_label_sql(obs_d, day_of(horizon_end), where)
            sqls.append(
                "SELECT MEMBER_NO, flights_in_horizon, "
                "CAST(CASE WHEN flights_in_horizon = 0 THEN 1 ELSE 0 END AS BIGINT) AS churn "
                f"FROM ({inner}) q ORDER BY MEMBER_NO"
            )
        return self._table(sqls)


def sample_positions(n_all: int, n: int, seed: int) -> np.ndarray:
    """``n`` of ``n_all`` positions (0-based, sorted), drawn without replacement from
    ``numpy.random.default_rng(seed)``: the seeded sample of members every engine takes
    (positions in ``MEMBER_NO`` order, so the members are the same under each)."""
    pick = np.random.default_rng(seed).choice(int(n_all), size=int(n), replace=False)
    return np.sort(pick).astype(np.int64)


def batches_to_parquet(
    batches: Iterator[pd.DataFrame], fn: Callable[[pd.DataFrame], pd.DataFrame], path
) -> Path:
    """Apply ``fn`` to each batch and write each result as one Parquet part file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("part-*.parquet"):
        old.unlink()
    for i, b in enumerate(batches):
        res = fn(b)
        pq.write_table(
            pa.Table.from_pandas(res, preserve_index=False), out / f"part-{i:05d}.parquet"
        )
    return out


def parts_to_file(folder, path) -> Path:
    """The Parquet parts of ``folder`` (in name order) as one Parquet file ``path``, one
    part in memory at a time (a study's table stays one file; the run publishes files)."""
    import pyarrow.parquet as pq

    out = Path(path)
    tmp = out.with_name(f".{out.name}.tmp")
    writer = None
    try:
        for f in source_files(folder):
            t = pq.read_table(f)
            if writer is None:
                writer = pq.ParquetWriter(tmp, t.schema)
            writer.write_table(t)
    finally:
        if writer is not None:
            writer.close()
    os.replace(tmp, out)
    return out
