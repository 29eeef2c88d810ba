"""The flight-log scans in Spark: local mode on one machine, or a cluster.

The same SQL as DuckDB (:mod:`.sql`) runs as Spark SQL on temporary views. The session
is the usual ``SparkSession``: ``master`` is ``local[N]`` on one machine or the
cluster's URL (``spark://host:7077``, ``yarn``, ``k8s://...``), and every other setting
comes from ``spark-defaults.conf`` / ``spark-submit`` as usual. Spark needs Java 17 or
newer (Debian: ``openjdk-17-jre-headless``).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd

from .base import FILE_STRIDE, SQLEngine, Table, as_pandas_types, source_files
from .frames import arrow_table

DATE_FORMATS = ("yyyy-M-d", "yyyy/M/d", "yyyy-M-d H:m:s", "yyyy/M/d H:m:s")

#: Settings for one machine: few shuffle partitions (small data, 2 cores), no web UI,
#: dates in UTC, Arrow for pandas, and Parquet nanosecond timestamps (pandas' default)
#: read as numbers instead of failing.
LOCAL_CONF = {
    "spark.sql.shuffle.partitions": "4",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.legacy.parquet.nanosAsLong": "true",
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
}


def java_available() -> bool:
    return shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))


def spark_session(master: str | None = None, conf: dict | None = None):
    """The active SparkSession, or a new one (``master`` default ``local[2]``)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    if not java_available():
        raise RuntimeError(
            "Spark needs Java 17 or newer: install it (Debian/Ubuntu: "
            "apt-get install openjdk-17-jre-headless) or use --engine duckdb"
        )
    # the Python workers (mapInPandas) run this interpreter, which has crm_research; on a
    # cluster, the executors need the same environment (e.g. spark.archives)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    b = SparkSession.builder.appName("crm-research").master(master or "local[2]")
    for k, v in {**LOCAL_CONF, **(conf or {})}.items():
        b = b.config(k, v)
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkTable(Table):
    def __init__(self, engine: SparkEngine, sql: str, attrs=None, index=None):
        self.engine, self.sql, self.attrs, self.index = engine, sql, dict(attrs or {}), index

    @property
    def frame(self):
        return self.engine.spark.sql(self.sql)

    def to_pandas(self) -> pd.DataFrame:
        df = as_pandas_types(self.frame.toPandas(), self.index)
        df.attrs = dict(self.attrs)
        return df

    def write_parquet(self, path) -> Path:
        self.frame.write.mode("overwrite").parquet(str(path))
        return Path(path)

    def map_batches(self, fn, path, schema: str | None = None, batch_rows: int = 1_000_000):
        """``fn`` on each batch of each partition (``mapInPandas``), written by the executors."""

        def run(batches):
            for b in batches:
                yield fn(as_pandas_types(b))

        out = self.frame.mapInPandas(run, schema)
        out.write.mode("overwrite").parquet(str(path))
        return Path(path)


class SparkEngine(SQLEngine):
    """Scans of the flight log with Spark SQL (local mode or a cluster).

    Parameters
    ----------
    master : str, optional
        Spark master URL (default: the active session, else ``local[2]``).
    conf : dict, optional
        Extra Spark settings.
    """

    name = "spark"
    dialect = "spark"

    def __init__(self, *, master=None, conf=None, spark=None):
        super().__init__()
        self.spark = spark or spark_session(master, conf)
        self._tmp = None
        self._cached: list[str] = []

    def close(self) -> None:
        for name in self._cached:
            self.spark.sql(f"UNCACHE TABLE IF EXISTS {name}")
        self._cached = []
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _frame_to_parquet(self, name: str, df: pd.DataFrame) -> Path:
        """A pandas input as a Parquet file for Spark (dates as DATE, times in microseconds)."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="crm-research-spark-"))
        tbl = arrow_table(df)
        for i, field in enumerate(tbl.schema):
            if pa.types.is_timestamp(field.type):
                col = tbl.column(i)
                if field.type.tz is not None:
                    col = pc.local_timestamp(col)
                day = pc.cast(pc.floor_temporal(col, unit="day"), pa.timestamp(field.type.unit))
                all_days = pc.all(pc.or_kleene(pc.equal(col, day), pc.is_null(col))).as_py()
                new = (
                    pc.cast(col, pa.date32(), safe=False)
                    if all_days is not False
                    else pc.cast(col, pa.timestamp("us"), safe=False)
                )
                tbl = tbl.set_column(i, field.name, new)
        path = self._tmp / f"{name}.parquet"
        pq.write_table(tbl, path)
        return path

    def _register_raw(self, name, src):
        from pyspark.sql import functions as F

        if isinstance(src, pd.DataFrame):
            files = [self._frame_to_parquet(name, src)]
        else:
            files = source_files(src)
        paths = [str(f.resolve()) for f in files]
        if all(f.suffix.lower() in (".parquet", ".pq") for f in files):
            raw = self.spark.read.parquet(*paths)
            # file number = position of the file in name order, looked up in a map of the
            # paths: an expression, so a query that does not use _ord (most) reads neither
            # the path nor the row index
            fidx = F.create_map(*[F.lit(x) for i, p in enumerate(paths) for x in (p, i)])
            local = F.expr("url_decode(regexp_replace(_metadata.file_path, '^file:/+', '/'))")
            raw = raw.select(
                "*",
                (
                    F.element_at(fidx, local).cast("long") * F.lit(FILE_STRIDE)
                    + F.col("_metadata.row_index")
                ).alias("_ord"),
            )
        else:
            from pyspark.sql import Window

            raw = self.spark.read.csv(paths, header=True, inferSchema=True)
            raw = raw.withColumn("_mono", F.monotonically_increasing_id())
            raw = raw.withColumn(
                "_ord", F.row_number().over(Window.orderBy("_mono")).cast("long") - 1
            ).drop("_mono")
        raw.createOrReplaceTempView(f"{name}_raw")
        kinds = {}
        for f in raw.schema.fields:
            t = f.dataType.typeName()
            if f.name == "_ord":
                kinds[f.name] = "ord"
            elif t == "date":
                kinds[f.name] = "date"
            elif t.startswith("timestamp"):
                kinds[f.name] = "timestamp"
            elif t == "string":
                kinds[f.name] = "string"
            elif t in ("long", "integer", "short", "byte", "double", "float", "decimal"):
                kinds[f.name] = "number"
            else:
                kinds[f.name] = "other"
        return kinds

    def _day_expr(self, col, kind):
        if kind in ("date", "timestamp"):
            return f"CAST(datediff(CAST({col} AS DATE), DATE '1970-01-01') AS BIGINT)"
        if kind == "number":  # Parquet nanosecond timestamps, read as numbers
            return f"CAST(FLOOR({col} / 86400000000000) AS BIGINT)"
        text = f"regexp_replace(trim(CAST({col} AS STRING)), '\\\\s+', ' ')"
        parsed = ", ".join(f"try_to_timestamp({text}, '{f}')" for f in DATE_FORMATS)
        return f"CAST(datediff(CAST(coalesce({parsed}) AS DATE), DATE '1970-01-01') AS BIGINT)"

    def register_ids(self, ids) -> str:
        """Member ids as a view ``ids_t`` (a filter for the scans); returns its name."""
        df = pd.DataFrame({"MEMBER_NO": pd.Index(ids).to_numpy()})
        self.spark.read.parquet(
            str(self._frame_to_parquet("ids", df).resolve())
        ).createOrReplaceTempView("ids_t")
        return "ids_t"

    def register_parquet(self, name: str, path) -> str:
        """A Parquet file or folder of parts as the view ``name`` (read where it lies)."""
        files = [str(f.resolve()) for f in source_files(path)]
        self.spark.read.parquet(*files).createOrReplaceTempView(name)
        return name

    def _view(self, name, sql):
        self.spark.sql(sql).createOrReplaceTempView(name)

    def _collect(self, sql):
        return self.spark.sql(sql).toPandas()

    def _materialize(self, name, sql):
        (sql,) = [sql] if isinstance(sql, str) else sql  # Spark scans as a whole
        self.spark.sql(f"CACHE TABLE {name} AS {sql}")
        self._cached.append(name)

    def _table(self, sql, attrs=None, index=None):
        (sql,) = [sql] if isinstance(sql, str) else sql  # one part (member_parts)
        return SparkTable(self, sql, attrs, index)
