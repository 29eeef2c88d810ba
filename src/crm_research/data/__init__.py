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


class OnDisk:
    """A table not yet read: the Parquet file (or folder of parts) that holds it.

    Given to :class:`Dataset` in place of a DataFrame (:func:`load_processed` does), it is
    read with :func:`pandas.read_parquet` on the first access of the attribute and cached.
    """

    __slots__ = ("path",)

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"OnDisk({str(self.path)!r})"

    def schema_names(self) -> list[str]:
        """The column names in the Parquet schema (the footer is read, not the data)."""
        import pyarrow.dataset as pads

        return list(pads.dataset(self.path, format="parquet").schema.names)


class _Table:
    """A table of :class:`Dataset`: a DataFrame, a lazy flight log, None, or an
    :class:`OnDisk` read on first access (the frame then replaces it)."""

    def __set_name__(self, owner, name: str) -> None:
        self.name, self.slot = name, "_" + name

    def __get__(self, obj, owner=None):
        if obj is None:
            if self.name == "snapshot":  # the one table without a default
                raise AttributeError(self.name)
            return None  # the dataclass field's default
        value = obj.__dict__.get(self.slot)
        if isinstance(value, OnDisk):
            value = pd.read_parquet(value.path)
            obj.__dict__[self.slot] = value
        return value

    def __set__(self, obj, value) -> None:
        obj.__dict__[self.slot] = value


@dataclass(repr=False)
class Dataset:
    """Tables of one study input.

    A table read by :func:`load_processed` stays on disk until its attribute is first
    used (``ds.truth``: read whole, then kept); :meth:`has_table` tells whether it is
    there and :meth:`read` reads some of its columns, neither reading the table.

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

    Each table may also be given as an :class:`OnDisk` (its Parquet path), read on first
    access.
    """

    snapshot: pd.DataFrame = _Table()
    flights: pd.DataFrame | None = _Table()
    members: pd.DataFrame | None = _Table()
    complaints: pd.DataFrame | None = _Table()
    noshows: pd.DataFrame | None = _Table()
    truth: pd.DataFrame | None = _Table()
    info: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        state = {n: type(self.__dict__.get("_" + n)).__name__ for n in TABLES}
        shown = ", ".join(f"{n}={s}" for n, s in state.items() if s != "NoneType")
        return f"Dataset({shown}, source={self.info.get('source')!r})"

    def _stored(self, name: str):
        if name not in TABLES:
            raise ValueError(f"table {name!r} unknown; allowed: {', '.join(TABLES)}")
        return self.__dict__.get("_" + name)

    @property
    def obs_end(self) -> pd.Timestamp:
        return pd.Timestamp(self.info["obs_end"])

    def has_table(self, name: str) -> bool:
        """Whether table ``name`` (one of :data:`TABLES`) is present; nothing is read."""
        return self._stored(name) is not None

    def is_read(self, name: str) -> bool:
        """Whether table ``name`` is in memory (False while it is still on disk)."""
        return not isinstance(self._stored(name), OnDisk)

    @property
    def has_flight_log(self) -> bool:
        return self.has_table("flights")

    @property
    def has_truth(self) -> bool:
        return self.has_table("truth")

    def table_columns(self, name: str) -> list[str] | None:
        """The column names of table ``name`` (None when absent), from the Parquet schema
        while it is on disk: nothing is read."""
        t = self._stored(name)
        if t is None:
            return None
        if isinstance(t, OnDisk):
            return t.schema_names()
        if isinstance(t, pd.DataFrame):
            return list(t.columns)
        return OnDisk(t.path).schema_names()  # a lazy flight log: its Parquet

    def read(self, name: str, columns: list[str]) -> pd.DataFrame | None:
        """The given columns of table ``name`` (None when the table is absent).

        On disk, only those columns are read from the Parquet file and nothing is kept
        (a second call reads again; ``ds.<name>`` reads and keeps the whole table); in
        memory, they are taken from the frame. A lazy flight log gives its Parquet columns.

        Raises
        ------
        KeyError
            A column the table does not have (the message names the file and the columns
            it has).
        """
        t = self._stored(name)
        if t is None:
            return None
        columns = list(columns)
        have = self.table_columns(name)
        missing = [c for c in columns if c not in have]
        if missing:
            where = t.path if not isinstance(t, pd.DataFrame) else f"table {name!r}"
            raise KeyError(
                f"{where}: no column {', '.join(map(repr, missing))}; it has {', '.join(have)}"
            )
        if isinstance(t, pd.DataFrame):
            return t[columns]
        return pd.read_parquet(t.path, columns=columns)

    def save(self, processed_dir: str | os.PathLike) -> Path:
        """Write every table present as Parquet, plus ``dataset.json``, atomically.

        A table still on disk is copied file to file (kept as it is when it is already
        the one in ``processed_dir``), not read.
        """
        d = Path(processed_dir)
        d.mkdir(parents=True, exist_ok=True)
        present = []
        for name in TABLES:
            df = self._stored(name)
            target = d / f"{name}.parquet"
            if isinstance(df, OnDisk):
                if df.path.resolve() != target.resolve():
                    _copy_into(df.path, target)
                present.append(name)
            elif df is not None and not isinstance(df, pd.DataFrame):
                # a lazy flight log: written by its engine, never read into pandas
                tmp = d / f".{name}.parquet.partial"
                _remove(tmp)
                df.write_parquet(tmp)
                _remove(target)
                tmp.rename(target)
                present.append(name)
            elif df is not None:
                _remove(target)  # a folder of parts from an earlier run
                _io.write_parquet(df, target)
                present.append(name)
            else:
                _remove(target)
        info = dict(self.info)
        info["tables"] = present
        info["has_flight_log"] = self.has_flight_log
        _io.write_json(info, d / ARTIFACTS["dataset"])
        return d


def _remove(p: Path) -> None:
    if p.is_dir():
        shutil.rmtree(p)
    else:
        p.unlink(missing_ok=True)


def _copy_into(src: Path, target: Path) -> None:
    """Copy a Parquet file or folder of parts to ``target``, moved into place when complete."""
    tmp = target.with_name(f".{target.name}.partial")
    _remove(tmp)
    if src.is_dir():
        shutil.copytree(src, tmp)
    else:
        shutil.copyfile(src, tmp)
    _remove(target)
    tmp.rename(target)


def load_processed(processed_dir: str | os.PathLike, *, engine: str | None = None) -> Dataset:
    """Read the :class:`Dataset` that notebook 01 wrote to ``processed_dir``.

    Nothing is read here but ``dataset.json``: each table present is read from its Parquet
    file on the first use of its attribute (``ds.members``) and kept; ``ds.has_table``
    and ``ds.read(name, columns)`` (some columns, not kept) do not read it whole.

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
            tables[name] = OnDisk(p)
    if "snapshot" not in tables:
        raise FileNotFoundError(f"{d / 'snapshot.parquet'} not found: rerun notebook 01")
    return Dataset(info=info, **tables)


__all__ = ["Dataset", "DataValidationError", "OnDisk", "load_processed", "read_table"]
