"""A flight log that stays where it is: a Parquet file or folder, scanned by an engine.

:func:`crm_research.data.load_processed` and :func:`crm_research.data.sources.load_source`
return a :class:`FlightLog` as ``ds.flights`` when the log is Parquet and the engine is
DuckDB or Spark: nothing of the log is read until asked, and what the study asks of it
(its size and dates, the monthly counts, the BTYD summaries, the forward churn labels,
revenue per member) is computed by the engine, which brings back only per-member or
smaller results. The package functions that take ``ds.flights``
(:func:`crm_research.clv.flight_summary`, :func:`crm_research.churn.forward_label`)
dispatch to it.

For code not yet switched, the handle still behaves as the pandas DataFrame for small
logs (``ds.flights["REVENUE"]``, ``ds.flights.groupby(...)``): the log is then read
once (:meth:`FlightLog.to_pandas`), which is refused above ``max_pandas_rows`` with a
message naming the method to use instead.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .. import schema as S
from .checks import date_of_day, day_of


class LazyLogFallback(UserWarning):
    """Code treated a lazy :class:`FlightLog` as a DataFrame: the log was read into pandas."""


#: Above this many flights :meth:`FlightLog.to_pandas` refuses (about 2 GB per 10 million).
MAX_PANDAS_ROWS = 20_000_000


def is_lazy(flights) -> bool:
    """Whether ``flights`` is a :class:`FlightLog` (the package functions then dispatch)."""
    return isinstance(flights, FlightLog)


def revenue_by_member(flights) -> pd.Series:
    """Total revenue per member of a log, a DataFrame or a :class:`FlightLog` (the engine
    sums it): ``flights.groupby("MEMBER_NO")["REVENUE"].sum()``."""
    if is_lazy(flights):
        return flights.revenue_by_member()
    return flights.groupby(S.MEMBER)[S.REVENUE].sum()


class FlightLog:
    """A lazy flight log: a Parquet path and the engine that scans it.

    Parameters
    ----------
    path : path
        A Parquet file or a folder of Parquet parts.
    engine : {"duckdb", "spark"}
        The engine that scans it (:func:`crm_research.data.engines.get_engine`).
    spark_master : str, optional
        Spark's master URL.
    source : str, optional
        The name error messages give the log (default: the path).
    eng : Engine, optional
        An engine already loaded with this log (reused, not closed by the handle).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        engine: str = "duckdb",
        *,
        spark_master: str | None = None,
        source: str | None = None,
        eng=None,
        max_pandas_rows: int = MAX_PANDAS_ROWS,
    ):
        self.path = Path(path)
        self.engine_name = str(engine)
        self.spark_master = spark_master
        self.source = source or str(self.path)
        self.max_pandas_rows = int(max_pandas_rows)
        self._eng = eng
        self._frame: pd.DataFrame | None = None
        self._days: pd.DataFrame | None = None

    def __repr__(self) -> str:
        return f"FlightLog({str(self.path)!r}, engine={self.engine_name!r})"

    # --- the engine ------------------------------------------------------------------------
    @property
    def engine(self):
        """The engine, loaded with the log (made on first use)."""
        if self._eng is None:
            from . import get_engine

            self._eng = get_engine(self.engine_name, spark_master=self.spark_master)
            self._eng.load(self.path, source=self.source)
        return self._eng

    # --- size and dates --------------------------------------------------------------------
    @property
    def n_rows(self) -> int:
        return int(self.engine.stats()["n"])

    def __len__(self) -> int:
        return self.n_rows

    @property
    def columns(self) -> pd.Index:
        return pd.Index([c for c in self.engine.columns["flights"] if c != "_ord"])

    def date_range(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last flight day."""
        st = self.engine.stats()
        return date_of_day(st["first_day"]), date_of_day(st["last_day"])

    def daily_counts(self) -> pd.Series:
        """Flights per day (a few thousand rows), indexed by date."""
        if self._days is None:
            h = self.engine._collect(
                "SELECT day, CAST(COUNT(*) AS BIGINT) AS n FROM flights_t GROUP BY day"
            ).sort_values("day")
            self._days = h
        h = self._days
        idx = pd.DatetimeIndex([date_of_day(d) for d in h["day"]], name=S.FLIGHT_DATE)
        return pd.Series(h["n"].to_numpy(np.int64), index=idx, name="flights")

    def monthly_counts(self) -> pd.Series:
        """Flights per calendar month, every month from the first to the last (zeros kept):
        ``flights.set_index("FLIGHT_DATE").resample("MS").size()``."""
        return self.daily_counts().resample("MS").sum()

    # --- per-member results ----------------------------------------------------------------
    def revenue_by_member(self) -> pd.Series:
        """Total revenue per member (``flights.groupby("MEMBER_NO")["REVENUE"].sum()``)."""
        df = self.engine._collect(
            "SELECT MEMBER_NO, COALESCE(SUM(REVENUE), 0.0) AS REVENUE FROM flights_t "
            "GROUP BY MEMBER_NO ORDER BY MEMBER_NO"
        )
        from .base import as_pandas_types

        return as_pandas_types(df, index=S.MEMBER)["REVENUE"]

    def member_ids(self) -> np.ndarray:
        """The distinct member numbers, sorted (one row a member, not a flight)."""
        df = self.engine._collect("SELECT DISTINCT MEMBER_NO FROM flights_t ORDER BY MEMBER_NO")
        return df[S.MEMBER].to_numpy()

    def flights_of(self, members) -> pd.DataFrame:
        """The flights of the given members only (a sample), as a pandas DataFrame in the
        log's order: the engine filters, so the whole log never reaches pandas."""
        ids = pd.Index(members).unique()
        if len(ids) == 0:
            values = "NULL"  # no member: no row
        elif pd.api.types.is_numeric_dtype(ids):
            values = ", ".join(str(int(v)) for v in ids)
        else:
            values = ", ".join("'" + str(v).replace("'", "''") + "'" for v in ids)
        df = self.engine._collect(
            f"SELECT * FROM ({self._select()}) AS f WHERE MEMBER_NO IN ({values})"
        )
        from ..snapshot import validate_flights

        return validate_flights(df.reset_index(drop=True), source=self.source)

    def summary(
        self, calibration_end=None, observation_end=None, time_unit="weeks", merge_same_day=False
    ) -> pd.DataFrame:
        """:func:`crm_research.clv.flight_summary` of the log, computed by the engine."""
        return self.engine.summary(
            calibration_end=calibration_end,
            observation_end=observation_end,
            time_unit=time_unit,
            merge_same_day=merge_same_day,
        ).to_pandas()

    def histories(self, **kwargs) -> pd.DataFrame:
        """The distinct calibration histories with their counts (for fitting)."""
        return self.engine.histories(**kwargs)

    def forward_label(self, obs_date, horizon_months, *, data_end, source="flights"):
        """:func:`crm_research.churn.forward_label`, computed by the engine."""
        lab = self.engine.forward_label(obs_date, horizon_months, data_end=data_end, source=source)
        return lab.to_pandas()

    def snapshot(
        self, as_of, members=None, *, complaints=None, noshows=None, window_days: int = 730
    ) -> pd.DataFrame:
        """The member snapshot at ``as_of`` (:func:`crm_research.churn.snapshot_as_of`):
        flights on or before it, with the member and event tables (DataFrames or paths)
        where given; only events in the window count, as in the pandas snapshot."""
        if members is None and complaints is None and noshows is None:
            return self.engine.snapshot(as_of, window_days=window_days).to_pandas()
        from . import get_engine

        with get_engine(self.engine_name, spark_master=self.spark_master) as eng:
            eng.load(self.path, members, complaints, noshows, source=self.source)
            # the same log: its statistics and ranges of member ids (a scan and the
            # quantiles, 1.6 s at 1M members) are this handle's, computed once for all dates
            eng._stats, eng._parts = self.engine.stats(), self.engine.member_parts()
            return eng.snapshot(as_of, window_days=window_days).to_pandas()

    def cumulative_tracking(
        self, model, summary: pd.DataFrame, *, period_days=7, merge_same_day=False, start=None
    ) -> pd.DataFrame:
        """:func:`crm_research.clv.validation.cumulative_tracking` with the repeat flights
        per period counted by the engine.

        The pandas function runs on no flights (its expected curve and periods need the
        summary only; its actual counts are then minus each period's first flights) and
        the engine's counts of the summary members' flights per period are added.
        """
        from ...clv.validation import cumulative_tracking

        none = pd.DataFrame(
            {S.MEMBER: summary.index[:0], S.FLIGHT_DATE: pd.Series([], dtype="datetime64[ns]")}
        )
        out = cumulative_tracking(
            model,
            summary,
            none,
            period_days=period_days,
            merge_same_day=merge_same_day,
            start=start,
        )
        first = summary["first_flight"]
        day0 = pd.Timestamp(first.min()) if start is None else pd.Timestamp(start)
        obs_d = day_of(summary.attrs["observation_end"])
        n_periods, d0 = len(out), day_of(day0)
        eng = self.engine
        ids = eng.register_ids(summary.index)
        rows = "SELECT DISTINCT MEMBER_NO, day" if merge_same_day else "SELECT MEMBER_NO, day"
        counts = eng._collect(
            f"SELECT LEAST(CAST(FLOOR((day - {d0}) / {int(period_days)}) AS BIGINT), "
            f"{n_periods - 1}) AS p, CAST(COUNT(*) AS BIGINT) AS n FROM ("
            f"{rows} FROM flights_t WHERE day <= {obs_d} "
            f"AND MEMBER_NO IN (SELECT MEMBER_NO FROM {ids})) f GROUP BY 1"
        )
        add = np.zeros(n_periods)
        np.add.at(add, counts["p"].to_numpy(np.int64), counts["n"].to_numpy(float))
        out["actual"] = out["actual"] + add
        out["actual_cum"] = np.cumsum(out["actual"].to_numpy())
        return out

    # --- the rows --------------------------------------------------------------------------
    def _select(self) -> str:
        kinds = self.engine.columns["flights"]
        cols = []
        for c in kinds:
            if c == "_ord":
                continue
            if c == S.FLIGHT_DATE:
                if kinds[c] in ("date", "timestamp"):
                    cols.append(f"CAST(raw_{c} AS TIMESTAMP) AS {c}")
                else:
                    cols.append(f"CAST({self.engine._date_from_day('day')} AS TIMESTAMP) AS {c}")
            else:
                cols.append(c)
        return f"SELECT {', '.join(cols)} FROM flights_t ORDER BY _ord"

    def to_pandas(self) -> pd.DataFrame:
        """The whole log as the validated pandas DataFrame (small logs only), cached."""
        if self._frame is None:
            n = self.n_rows
            if n > self.max_pandas_rows:
                raise MemoryError(
                    f"{self.source}: {n:,} flights are too many for pandas (limit "
                    f"{self.max_pandas_rows:,}); use the FlightLog's methods (summary, "
                    "forward_label, monthly_counts, revenue_by_member), which run in the "
                    f"{self.engine_name} engine"
                )
            from ..snapshot import validate_flights
            from .pandas_engine import read_source

            # the pandas path itself: read and checked as `load_source(engine="pandas")`
            df = validate_flights(read_source(self.path), source=self.source)
            self._frame = df
        return self._frame

    def write_parquet(self, path: str | os.PathLike) -> Path:
        """Write the log to Parquet without pandas: a copy of a single checked Parquet
        file (types as stored), else written by the engine (one file or a folder)."""
        import shutil

        out = Path(path)
        if self.path.is_file():
            shutil.copyfile(self.path, out)
            return out
        tmp = out.with_suffix(".parts")
        shutil.rmtree(tmp, ignore_errors=True)
        self.engine._table(self._select()).write_parquet(tmp)
        parts = sorted(tmp.glob("*.parquet"))
        if len(parts) == 1:
            parts[0].replace(out)
            shutil.rmtree(tmp)  # Spark's _SUCCESS and checksum files
            return out
        if out.exists():
            out.unlink()
        tmp.rename(out)  # a folder of parts, read as one table
        return out

    # --- code not yet switched: the DataFrame, for small logs -------------------------------
    def _as_frame(self, what: str) -> pd.DataFrame:
        if self._frame is None:  # said once per handle: a fallback is never silent
            warnings.warn(
                f"{self.source}: {what} reads the whole flight log into pandas "
                f"({self.n_rows:,} flights; refused above {self.max_pandas_rows:,}); the "
                "FlightLog's methods run in the engine",
                LazyLogFallback,
                stacklevel=3,
            )
        return self.to_pandas()

    def __getitem__(self, key):
        return self._as_frame(f"flights[{key!r}]")[key]

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._as_frame(f"flights.{name}"), name)
