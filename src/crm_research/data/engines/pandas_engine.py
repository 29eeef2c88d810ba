"""The flight-log scans with today's pandas code: the reference of the other engines.

Everything is in memory (about 2 GB for 10 million flights): for small data, and as
the reference the DuckDB and Spark engines are tested against, row for row.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import schema as S
from .base import Engine, Table, batches_to_parquet, source_files


def read_source(src) -> pd.DataFrame:
    """A table from a DataFrame, a CSV/Parquet file or a folder of Parquet parts."""
    if isinstance(src, pd.DataFrame):
        return src
    from ..readers import read_table

    files = source_files(src)
    if len(files) == 1:
        return read_table(files[0])
    return pd.concat([read_table(f) for f in files], ignore_index=True)


def histories_of(summary: pd.DataFrame) -> pd.DataFrame:
    """The distinct ``(frequency, recency, T)`` of a per-member summary with their member
    counts (``weights``) and the summary's ``attrs``: :meth:`PandasEngine.histories`."""
    from ...clv.summary import compress

    rows, _ = compress(summary["frequency"], summary["recency"], summary["T"])
    rows["frequency"] = rows["frequency"].astype("int64")
    rows["weights"] = rows["weights"].astype("int64")
    rows.attrs = dict(summary.attrs)
    return rows


class PandasTable(Table):
    def __init__(self, df: pd.DataFrame, attrs=None):
        self.df = df
        self.attrs = dict(attrs if attrs is not None else df.attrs)

    def to_pandas(self) -> pd.DataFrame:
        out = self.df.copy()
        out.attrs = dict(self.attrs)
        return out

    def write_parquet(self, path) -> Path:
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        self.df.to_parquet(out / "part-00000.parquet")
        return out

    def map_batches(self, fn, path, schema=None, batch_rows: int = 1_000_000) -> Path:
        df = self.df.reset_index() if self.df.index.name else self.df

        def frames():
            for i in range(0, len(df), batch_rows):
                yield df.iloc[i : i + batch_rows]

        return batches_to_parquet(frames(), fn, path)


class PandasEngine(Engine):
    """Scans of the flight log with :mod:`crm_research`'s pandas code."""

    name = "pandas"

    def load(self, flights, members=None, complaints=None, noshows=None, *, source=None):
        self._name_sources(flights, members, complaints, noshows, source)
        self._summaries = {}
        self.flights = read_source(flights)
        self.members = None if members is None else read_source(members)
        self.complaints = None if complaints is None else read_source(complaints)
        self.noshows = None if noshows is None else read_source(noshows)
        return self

    def validate(self, *, obs_end=None, infer_end_days: int | None = None) -> dict:
        from ..snapshot import validate_events, validate_flights, validate_members

        if self.members is not None:
            checked = validate_members(self.members, source=self.sources["members"])
            # the snapshot carries the member attributes as read (the other engines too)
            for c in ("AGE", "FFP_TIER"):
                if c in checked and pd.api.types.is_numeric_dtype(self.members[c]):
                    checked[c] = self.members[c]
            self.members = checked
        self._summaries = {}
        self.flights = validate_flights(
            self.flights, source=self.sources["flights"], obs_end=obs_end, members=self.members
        )
        if obs_end is None and infer_end_days is not None:
            from ..sources import _inferred_end

            obs_end = _inferred_end(self.flights, self.sources["flights"])
        known = (self.members if self.members is not None else self.flights)[S.MEMBER]
        for name, col in (("complaints", S.COMPLAINT_DATE), ("noshows", S.NOSHOW_DATE)):
            t = getattr(self, name)
            if t is not None:
                t = validate_events(t, col, self.sources[name], known_ids=known, obs_end=obs_end)
                setattr(self, name, t)
        d = self.flights[S.FLIGHT_DATE]
        return {
            "n_flights": len(self.flights),
            "first_date": d.min(),
            "last_date": d.max(),
            "obs_end": None if obs_end is None else pd.Timestamp(obs_end),
        }

    def snapshot(self, as_of, *, window_days: int = 730) -> Table:
        from ..snapshot import snapshot_of

        return PandasTable(snapshot_of(self, as_of, window_days=window_days))

    def summary(
        self, *, calibration_end=None, observation_end=None, time_unit="weeks", merge_same_day=False
    ) -> Table:
        from ...clv.summary import flight_summary

        key = (calibration_end, observation_end, time_unit, merge_same_day)
        if key in self._summaries:  # histories() reuses the summary
            return PandasTable(self._summaries[key])
        s = flight_summary(
            self.flights,
            calibration_end=calibration_end,
            observation_end=observation_end,
            time_unit=time_unit,
            merge_same_day=merge_same_day,
            source=self.sources["flights"],
        )
        self._summaries[key] = s
        return PandasTable(s)

    def histories(
        self, *, calibration_end=None, observation_end=None, time_unit="weeks", merge_same_day=False
    ) -> pd.DataFrame:
        s = self.summary(
            calibration_end=calibration_end,
            observation_end=observation_end,
            time_unit=time_unit,
            merge_same_day=merge_same_day,
        ).df
        return histories_of(s)

    def forward_label(self, obs_date, horizon_months, *, data_end, source="flights") -> Table:
        from ...churn import forward_label

        lab = forward_label(
            self.flights, obs_date, horizon_months, data_end=data_end, source=source
        )
        return PandasTable(lab)
