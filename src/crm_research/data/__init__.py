"""The data layer: readers, schema checks, the simulator, flight log -> member snapshot.

A :class:`Dataset` bundles what the study reads from ``data/processed/``: the
canonical member snapshot, and where the input has them, the flight log, member
table, complaints, no-shows and (simulated data only) the ground truth.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import io as _io
from ..config import ARTIFACTS
from .readers import read_table
from .schema import DataValidationError

TABLES = ("snapshot", "flights", "members", "complaints", "noshows", "truth")


@dataclass
class Dataset:
    """Tables of one study input.

    Attributes
    ----------
    snapshot : DataFrame
        One row per member, canonical (textbook) column names.
    flights : DataFrame, FlightLog or None
        Flight log (a lazy :class:`~crm_research.data.engines.flightlog.FlightLog` for a
        Parquet log scanned by DuckDB or Spark) (MEMBER_NO, FLIGHT_DATE, SEG_KM, DISCOUNT, REVENUE, ...); None for
        the textbook member table, which has aggregates only.
    members, complaints, noshows, truth : DataFrame or None
    info : dict
        ``source`` ("synthetic", "cdnow", "textbook", "flightlog"), ``obs_end``
        (observation end, ISO date), ``has_flight_log``, ``has_ffp_columns`` and notes.
    """

    snapshot: pd.DataFrame
    flights: pd.DataFrame | None = None
    members: pd.DataFrame | None = None
    complaints: pd.DataFrame | None = None
    noshows: pd.DataFrame | None = None
    truth: pd.DataFrame | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def obs_end(self) -> pd.Timestamp:
        return pd.Timestamp(self.info["obs_end"])

    @property
    def has_flight_log(self) -> bool:
        return self.flights is not None

    @property
    def has_truth(self) -> bool:
        return self.truth is not None

    def save(self, processed_dir: str | os.PathLike) -> Path:
        """Write every table present as Parquet, plus ``dataset.json``, atomically."""
        d = Path(processed_dir)
        d.mkdir(parents=True, exist_ok=True)
        present = []
        for name in TABLES:
            df = getattr(self, name)
            if df is not None and not isinstance(df, pd.DataFrame):
                # a lazy flight log: written by its engine, never read into pandas
                tmp = d / f".{name}.parquet.partial"
                _remove(tmp)
                df.write_parquet(tmp)
                _remove(d / f"{name}.parquet")
                tmp.rename(d / f"{name}.parquet")
                present.append(name)
            elif df is not None:
                _remove(d / f"{name}.parquet")  # a folder of parts from an earlier run
                _io.write_parquet(df, d / f"{name}.parquet")
                present.append(name)
            else:
                _remove(d / f"{name}.parquet")
        info = dict(self.info)
        info["tables"] = present
        info["has_flight_log"] = self.flights is not None
        _io.write_json(info, d / ARTIFACTS["dataset"])
        return d


def _remove(p: Path) -> None:
    if p.is_dir():
        shutil.rmtree(p)
    else:
        p.unlink(missing_ok=True)


def load_processed(processed_dir: str | os.PathLike, *, engine: str | None = None) -> Dataset:
    """Read the :class:`Dataset` that notebook 01 wrote to ``processed_dir``.

    The flight log stays on disk: with the DuckDB or Spark engine (``engine``, default
    the one notebook 01 used), ``ds.flights`` is a lazy
    :class:`~crm_research.data.engines.flightlog.FlightLog` that the package functions
    hand to the engine; with ``"pandas"`` it is a DataFrame, as before.
    """
    d = Path(processed_dir)
    meta = d / ARTIFACTS["dataset"]
    if not meta.exists():
        raise FileNotFoundError(
            f"{meta} not found: run notebook 01 (crm-research run --only 01) first"
        )
    info = _io.read_json(meta)
    engine = engine or info.get("engine") or "pandas"
    tables = {}
    for name in TABLES:
        p = d / f"{name}.parquet"
        if name not in info.get("tables", []) or not p.exists():
            continue
        if name == "flights" and engine != "pandas":
            from .engines.flightlog import FlightLog

            tables[name] = FlightLog(p, engine, spark_master=info.get("spark_master"))
        else:
            tables[name] = pd.read_parquet(p)
    if "snapshot" not in tables:
        raise FileNotFoundError(f"{d / 'snapshot.parquet'} not found: rerun notebook 01")
    return Dataset(info=info, **tables)


__all__ = ["Dataset", "DataValidationError", "load_processed", "read_table"]
