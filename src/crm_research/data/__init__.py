"""The data layer: readers, schema checks, the simulator, flight log -> member snapshot.

A :class:`Dataset` bundles what the study reads from ``data/processed/``: the
canonical member snapshot, and where the input has them, the flight log, member
table, complaints, no-shows and (simulated data only) the ground truth.
"""

from __future__ import annotations

import os
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
    flights : DataFrame or None
        Flight log (MEMBER_NO, FLIGHT_DATE, SEG_KM, DISCOUNT, REVENUE, ...); None for
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
            if df is not None:
                _io.write_parquet(df, d / f"{name}.parquet")
                present.append(name)
            else:
                (d / f"{name}.parquet").unlink(missing_ok=True)
        info = dict(self.info)
        info["tables"] = present
        info["has_flight_log"] = self.flights is not None
        _io.write_json(info, d / ARTIFACTS["dataset"])
        return d


def load_processed(processed_dir: str | os.PathLike) -> Dataset:
    """Read the :class:`Dataset` that notebook 01 wrote to ``processed_dir``."""
    d = Path(processed_dir)
    meta = d / ARTIFACTS["dataset"]
    if not meta.exists():
        raise FileNotFoundError(
            f"{meta} not found: run notebook 01 (crm-research run --only 01) first"
        )
    info = _io.read_json(meta)
    tables = {
        name: pd.read_parquet(d / f"{name}.parquet")
        for name in TABLES
        if name in info.get("tables", []) and (d / f"{name}.parquet").exists()
    }
    if "snapshot" not in tables:
        raise FileNotFoundError(f"{d / 'snapshot.parquet'} not found: rerun notebook 01")
    return Dataset(info=info, **tables)


__all__ = ["Dataset", "DataValidationError", "load_processed", "read_table"]
