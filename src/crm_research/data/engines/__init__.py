"""Engines that scan the flight log: DuckDB (default), Spark (a cluster) and pandas.

The models need per-member summaries and, to be fitted, only the distinct histories
with their counts; what is heavy is the scan of the flight log. These engines run that
scan where the data is: DuckDB embedded on one machine, out of core on Parquet or CSV;
Spark in local mode or on a cluster; pandas in memory, the reference of the tests.

>>> from crm_research.data.engines import get_engine
>>> with get_engine("duckdb") as eng:                                  # doctest: +SKIP
...     eng.load("data/raw/big/flights", "data/raw/big/members").validate()
...     eng.snapshot("2014-03-31").write_parquet("out/snapshot")
...     hist = eng.histories(calibration_end="2013-03-31")           # small, on the driver

See :mod:`.base` for the interface and :mod:`.sql` for the queries.
"""

from __future__ import annotations

from .base import Engine, Table

ENGINES = ("duckdb", "spark", "pandas")
DEFAULT_ENGINE = "duckdb"


def get_engine(name: str = DEFAULT_ENGINE, *, spark_master: str | None = None, **options) -> Engine:
    """A new engine by name: ``"duckdb"`` (default), ``"spark"`` or ``"pandas"``.

    ``spark_master`` (Spark only) is the master URL, ``local[2]`` by default;
    ``options`` go to the engine (DuckDB: ``memory_limit``, ``threads``,
    ``temp_directory``; Spark: ``conf``).
    """
    key = str(name).lower()
    if key == "duckdb":
        from .duckdb_engine import DuckDBEngine

        return DuckDBEngine(**options)
    if key == "spark":
        from .spark_engine import SparkEngine

        return SparkEngine(master=spark_master, **options)
    if key == "pandas":
        from .pandas_engine import PandasEngine

        return PandasEngine()
    raise ValueError(f"engine must be one of {list(ENGINES)}, got {name!r}")


__all__ = ["DEFAULT_ENGINE", "ENGINES", "Engine", "Table", "get_engine"]
