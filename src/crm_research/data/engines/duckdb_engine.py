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

#: Flight rows per range of members of the per-member scans (see ``part_rows``).
PART_ROWS = 5_000_000

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
    """A query's rows; a list of queries: their rows in order (one per range of members)."""

    def __init__(self, engine: DuckDBEngine, sql: str | list[str], attrs=None, index=None):
        self.parts = [sql] if isinstance(sql, str) else list(sql)
        self.engine, self.attrs, self.index = engine, dict(attrs or {}), index

    @property
    def sql(self) -> str:
        """One query of all the rows (the parts in order; each part is in member order)."""
        if len(self.parts) == 1:
            return self.parts[0]
        union = " UNION ALL ".join(
            f"SELECT {i} AS _part, * FROM ({q})" for i, q in enumerate(self.parts)
        )
        return f"SELECT * EXCLUDE (_part) FROM ({union}) ORDER BY _part, MEMBER_NO"

    def to_pandas(self) -> pd.DataFrame:
        con = self.engine.con
        if len(self.parts) == 1:
            raw = con.sql(self.parts[0]).df()
        else:  # the parts joined as Arrow, converted once (types as of one query)
            import pyarrow as pa

            whole = pa.concat_tables([con.sql(q).fetch_arrow_table() for q in self.parts])
            raw = con.from_arrow(whole).df()
        df = as_pandas_types(raw, self.index)
        df.attrs = dict(self.attrs)
        return df

    def write_parquet(self, path) -> Path:
        """One Parquet part per range of members, in order (``part-00000.parquet``, ...)."""
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        for i, q in enumerate(self.parts):
            target = str(out / f"part-{i:05d}.parquet").replace("'", "''")
            self.engine.con.execute(f"COPY ({q}) TO '{target}' (FORMAT parquet)")
        return out

    def map_batches(self, fn, path, schema=None, batch_rows: int = 1_000_000) -> Path:
        con = self.engine.con

        def frames():
            for q in self.parts:
                for b in con.sql(q).to_arrow_reader(batch_rows):
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
    part_rows : int, optional
        Flight rows per range of members (default 5,000,000): a larger log is scanned
        per member (snapshot, summary, forward label) one range of ``MEMBER_NO`` at a
        time (:meth:`~.base.SQLEngine.member_parts`), so that each range's aggregates
        and sorts fit in memory; 0 scans the log as a whole. Measured
        (``benchmarks/bench_scale.py``): the snapshot of 100 million rows in one scan
        took 152 s, spilling past ``memory_limit`` 3GB (its aggregates alone 70 s, 17 x
        the time at 10 million), in 8 ranges 80 s.
    """

    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, *, memory_limit=None, threads=None, temp_directory=None, part_rows=None):
        import duckdb

        super().__init__()
        self.part_rows = PART_ROWS if part_rows is None else int(part_rows)
        config = {}
        if memory_limit:
            config["memory_limit"] = str(memory_limit)
        if threads:
            config["threads"] = int(threads)
        if temp_directory:
            config["temp_directory"] = str(temp_directory)
        self.con = duckdb.connect(config=config)
        try:  # no bars in the run's log (in Jupyter, DuckDB refuses without ipywidgets)
            self.con.execute("SET enable_progress_bar = false")
        except duckdb.Error:
            pass
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

    def register_parquet(self, name: str, path) -> str:
        """A Parquet file or folder of parts as the view ``name`` (read where it lies)."""
        lst = ", ".join("'" + str(f).replace("'", "''") + "'" for f in source_files(path))
        self._view(name, f"SELECT * FROM read_parquet([{lst}])")
        return name

    def _view(self, name, sql):
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")

    def _collect(self, sql):
        return self.con.sql(sql).df()

    def _materialize(self, name, sql):
        parts = [sql] if isinstance(sql, str) else sql
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {parts[0]}")
        for q in parts[1:]:
            self.con.execute(f"INSERT INTO {name} {q}")

    def _n_parts(self) -> int:
        n = self.stats()["n"] or 0
        return max(1, -(-n // self.part_rows)) if self.part_rows > 0 else 1

    def _member_bounds(self, k):
        """Approximate quantiles of ``MEMBER_NO`` over the flights (a 1% sample of a large
        log): ranges of about equal rows. Whole-number ids only (text ids: one scan)."""
        if k <= 1 or self.columns["flights"].get("MEMBER_NO") != "number":
            return []
        typ = self.con.sql("SELECT MEMBER_NO FROM flights_t LIMIT 0").types[0]
        if str(typ).upper() not in (
            "BIGINT",
            "INTEGER",
            "SMALLINT",
            "TINYINT",
            "HUGEINT",
            "UBIGINT",
            "UINTEGER",
        ):
            return []
        src = "flights_t"
        if (self.stats()["n"] or 0) > 20_000_000:  # Parquet vectors sampled: under a second
            src = "(SELECT MEMBER_NO FROM flights_t USING SAMPLE 1 PERCENT (system))"
        qs = [i / k for i in range(1, k)]
        got = self.con.execute(f"SELECT approx_quantile(MEMBER_NO, {qs}) FROM {src}").fetchall()[0][
            0
        ]
        return [str(int(b)) for b in sorted(set(v for v in got or [] if v is not None))]

    def _table(self, sql, attrs=None, index=None):
        return DuckTable(self, sql, attrs, index)
