"""The flight-log scans in DuckDB: embedded, no server, out of core on Parquet and CSV.

DuckDB reads the files itself (only the columns a query needs, in parallel, spilling to
a temporary folder past ``memory_limit``), runs the SQL of :mod:`.sql` and hands back
small results as pandas, large ones as Parquet files or Arrow record batches.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .base import FILE_STRIDE, SQLEngine, Table, as_pandas_types, batches_to_parquet, source_files
from .frames import arrow_table

DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S"]


def _kind(duck_type: str) -> str:
    t = duck_type.upper()
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t.startswith("VARCHAR"):
        return "string"
    if any(k in t for k in ("INT", "DOUBLE", "FLOAT", "DECIMAL", "REAL")):
        return "number"
    return "other"


class DuckTable(Table):
    def __init__(self, engine: DuckDBEngine, sql: str, attrs=None, index=None):
        self.engine, self.sql, self.attrs, self.index = engine, sql, dict(attrs or {}), index

    def to_pandas(self) -> pd.DataFrame:
        df = as_pandas_types(self.engine.con.sql(self.sql).df(), self.index)
        df.attrs = dict(self.attrs)
        return df

    def write_parquet(self, path) -> Path:
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        target = str(out / "part-00000.parquet").replace("'", "''")
        self.engine.con.execute(f"COPY ({self.sql}) TO '{target}' (FORMAT parquet)")
        return out

    def map_batches(self, fn, path, schema=None, batch_rows: int = 1_000_000) -> Path:
        reader = self.engine.con.sql(self.sql).to_arrow_reader(batch_rows)

        def frames():
            for b in reader:
                yield as_pandas_types(b.to_pandas())

        return batches_to_parquet(frames(), fn, path)


class DuckDBEngine(SQLEngine):
    """Scans of the flight log with DuckDB.

    Parameters
    ----------
    memory_limit : str, optional
        DuckDB's ``memory_limit`` (e.g. ``"3GB"``); past it, joins, aggregates and
        sorts spill to ``temp_directory``.
    threads : int, optional
        Worker threads (default: DuckDB's, one per core).
    temp_directory : path, optional
        Where spilled data goes.
    """

    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, *, memory_limit=None, threads=None, temp_directory=None):
        import duckdb

        super().__init__()
        config = {}
        if memory_limit:
            config["memory_limit"] = str(memory_limit)
        if threads:
            config["threads"] = int(threads)
        if temp_directory:
            config["temp_directory"] = str(temp_directory)
        self.con = duckdb.connect(config=config)
        self._frames = {}

    def close(self) -> None:
        self.con.close()

    def _register_raw(self, name, src):
        if isinstance(src, pd.DataFrame):
            tbl = arrow_table(src)
            import pyarrow as pa

            tbl = tbl.append_column("_ord", pa.array(np.arange(len(src), dtype=np.int64)))
            self._frames[name] = tbl  # keep a reference while the view exists
            self.con.register(f"{name}_src", tbl)
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name}_raw AS SELECT * FROM {name}_src")
        else:
            files = source_files(src)
            lst = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
            if all(f.suffix.lower() in (".parquet", ".pq") for f in files):
                body = (
                    f"SELECT * EXCLUDE (file_row_number), "
                    f"CAST(file_index AS BIGINT) * {FILE_STRIDE} + file_row_number AS _ord "
                    f"FROM read_parquet({lst}, file_row_number = true)"
                )
            else:
                # CSV: rows numbered in file order (DuckDB keeps the insertion order of a
                # scan); Parquet is faster at scale (`data synth --format parquet`)
                body = (
                    f"SELECT *, CAST(row_number() OVER () - 1 AS BIGINT) AS _ord "
                    f"FROM read_csv({lst}, header = true)"
                )
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name}_raw AS {body}")
        desc = self.con.sql(f"DESCRIBE SELECT * FROM {name}_raw").df()
        return {
            c: ("ord" if c == "_ord" else _kind(t))
            for c, t in zip(desc["column_name"], desc["column_type"], strict=True)
        }

    def _day_expr(self, col, kind):
        if kind in ("date", "timestamp"):
            return f"CAST(date_diff('day', DATE '1970-01-01', CAST({col} AS DATE)) AS BIGINT)"
        fmts = "[" + ", ".join(f"'{f}'" for f in DATE_FORMATS) + "]"
        text = f"regexp_replace(trim(CAST({col} AS VARCHAR)), '\\s+', ' ', 'g')"
        return (
            "CAST(date_diff('day', DATE '1970-01-01', "
            f"CAST(try_strptime({text}, {fmts}) AS DATE)) AS BIGINT)"
        )

    def register_ids(self, ids) -> str:
        """Member ids as a view ``ids_t`` (a filter for the scans); returns its name."""
        import pyarrow as pa

        self._frames["ids"] = pa.table({"MEMBER_NO": pa.array(pd.Index(ids).to_numpy())})
        self.con.register("ids_t", self._frames["ids"])
        return "ids_t"

    def _view(self, name, sql):
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")

    def _collect(self, sql):
        return self.con.sql(sql).df()

    def _materialize(self, name, sql):
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def _table(self, sql, attrs=None, index=None):
        return DuckTable(self, sql, attrs, index)
