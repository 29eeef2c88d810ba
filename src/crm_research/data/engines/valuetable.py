"""Notebook 03's per-member value table, scored in batches and summarised where it lies.

:func:`score_value_table` writes the members' summaries with the engine (DuckDB and
Spark: :meth:`Engine.summary` straight to Parquet; pandas and the member-table
approximation: the summary already in memory) and scores them from the run's model file
with :func:`~crm_research.data.engines.scoring.score_members`, batch by batch, into
Parquet parts joined into ``clv.parquet`` a part at a time (the run publishes files).
:class:`ValueTable` then computes what notebook 03 shows (customer equity, mean and
median, the ``describe`` table, the top members, Gini, top share, the Lorenz curve at
most ``LORENZ_POINTS`` points, the histogram of the figure, the concentration of past
revenue) by SQL over that Parquet in the run's engine,
so no table of every member is built in one process. The ``pandas`` engine computes the
same with the pandas functions of :mod:`crm_research.exploration` (the reference of the
tests).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .. import schema as S
from .base import parts_to_file, source_files

#: The value columns of the table (``describe``, ``top``), in order.
VALUE_COLUMNS = ("p_alive", "expected_flights", "discounted_flights",
                 "expected_revenue_per_flight", "clv")  # fmt: skip
#: At most this many points of a Lorenz curve go back to the process (for the figure).
LORENZ_POINTS = 2_000
#: Bins of the CLV histogram (log scale, as :func:`crm_research.plots.clv.plot_clv_distribution`).
HIST_BINS = 50
_QUANTILE = {"duckdb": "quantile_cont({x}, {q})", "spark": "percentile({x}, {q})"}


def _finite(x: str) -> str:
    """SQL: ``x`` is a finite number (NULL, NaN and infinities are not)."""
    return f"({x} IS NOT NULL AND NOT isnan({x}) AND ABS({x}) < CAST('Infinity' AS DOUBLE))"


def _dsum(x: str) -> str:
    """SQL: the sum of ``x`` in exact decimal arithmetic, as a DOUBLE. A float SUM depends
    on the order the threads or partitions add the rows, so two runs of one seed could
    differ in the last digit; a decimal sum does not (each value rounded to 1e-12)."""
    return f"CAST(SUM(CAST({x} AS DECIMAL(38, 12))) AS DOUBLE)"


def _double(v: float) -> str:
    """A float as an exact SQL literal (the same double in DuckDB and Spark)."""
    return f"CAST('{float(v)!r}' AS DOUBLE)"


def lorenz_ranks(n: int, points: int = LORENZ_POINTS) -> np.ndarray:
    """The ranks (1..n) kept of a Lorenz curve: the first rank reaching each of ``points``
    equal steps of the member share (every rank when ``n <= points``)."""
    r = np.arange(1, n + 1)
    return r[(r * points) // n > ((r - 1) * points) // n]


def hist_edges(v_min: float, v_max: float, bins: int = HIST_BINS) -> np.ndarray:
    """Log-spaced bin edges of the CLV histogram (positive finite values)."""
    return np.logspace(np.log10(max(v_min, 1e-3)), np.log10(v_max), bins)


class ValueTable:
    """The scored members' Parquet (``MEMBER_NO`` and :data:`VALUE_COLUMNS` at least).

    Parameters
    ----------
    path : path
        A Parquet file or folder of parts.
    engine : {"duckdb", "spark", "pandas"}
        Who computes the aggregates.
    eng : Engine, optional
        An engine to use (e.g. the flight log's, for :meth:`past_revenue`); else one is
        made (closed by :meth:`close`).
    """

    #: The columns :meth:`describe` summarises.
    value_columns = VALUE_COLUMNS

    def __init__(self, path, engine: str = "duckdb", *, eng=None, spark_master=None):
        self.path, self.engine_name = Path(path), str(engine)
        self._own = eng is None and self.engine_name != "pandas"
        self.eng, self._frame, self._stats = eng, None, None
        if self.engine_name == "pandas":
            return
        if self.eng is None:
            from . import get_engine

            self.eng = get_engine(self.engine_name, spark_master=spark_master)
        self.eng.register_parquet("values_t", self.path)

    @classmethod
    def from_frame(cls, values: pd.DataFrame) -> ValueTable:
        """The pandas reference over a table already in memory (indexed by member)."""
        out = cls.__new__(cls)
        out.path, out.engine_name, out._own, out.eng = None, "pandas", False, None
        out._frame, out._stats = values, None
        return out

    @classmethod
    def of(cls, values) -> ValueTable:
        """``values`` itself, or :meth:`from_frame` of a DataFrame."""
        return values if isinstance(values, ValueTable) else cls.from_frame(values)

    def close(self) -> None:
        if self._own and self.eng is not None:
            self.eng.close()

    def __repr__(self) -> str:
        return f"ValueTable({str(self.path)!r}, engine={self.engine_name!r})"

    # --- the pandas reference ------------------------------------------------------------
    @property
    def frame(self) -> pd.DataFrame:
        """The whole table in pandas (the pandas engine; small data only)."""
        if self._frame is None:
            self._frame = pd.read_parquet(self.path).sort_values(S.MEMBER).set_index(S.MEMBER)
        return self._frame

    def _sql(self, sql: str) -> pd.DataFrame:
        return self.eng._collect(sql)

    # --- one scan: size, equity, means and medians ---------------------------------------
    def stats(self) -> dict:
        """``n``, ``n_nonfinite`` (members without a finite CLV), ``equity`` (the sum of
        the finite CLVs), ``mean_clv``, ``median_clv``, ``mean_p_alive``."""
        if self._stats is None:
            if self.engine_name == "pandas":
                v, clv = self.frame, self.frame["clv"]
                out = {"n": len(v), "n_nonfinite": int((~np.isfinite(clv.to_numpy())).sum()),
                       "equity": float(clv.sum()), "mean_clv": float(clv.mean()),
                       "median_clv": float(clv.median()),
                       "mean_p_alive": float(v["p_alive"].mean())}  # fmt: skip
            else:
                q = _QUANTILE[self.eng.dialect]
                c = f"CASE WHEN {_finite('clv')} THEN clv END"
                p = f"CASE WHEN {_finite('p_alive')} THEN p_alive END"
                r = self._sql(
                    f"SELECT CAST(COUNT(*) AS BIGINT) AS n, "
                    f"CAST(SUM(CASE WHEN {_finite('clv')} THEN 0 ELSE 1 END) AS BIGINT) AS nf, "
                    f"{_dsum(c)} AS equity, {_dsum(c)} / COUNT({c}) AS mean_clv, "
                    f"{q.format(x=c, q=0.5)} AS median_clv, "
                    f"{_dsum(p)} / COUNT({p}) AS mean_p_alive "
                    "FROM values_t"
                ).iloc[0]
                out = {"n": int(r["n"]), "n_nonfinite": int(r["nf"])}
                out.update({k: float(r[k]) for k in ("equity", "mean_clv", "median_clv",
                                                     "mean_p_alive")})  # fmt: skip
            self._stats = out
        return dict(self._stats)

    def describe(self) -> pd.DataFrame:
        """``values.describe().T`` of the value columns (NaN left out, as pandas does)."""
        if self.engine_name == "pandas":
            return self.frame[list(self.value_columns)].describe().T
        q = _QUANTILE[self.eng.dialect]
        # the three quartiles in one aggregate (one copy of the column's values, not three)
        qs = "[0.25, 0.5, 0.75]" if self.eng.dialect == "duckdb" else "array(0.25, 0.5, 0.75)"
        sel = []
        for i, col in enumerate(self.value_columns):
            x = f"CASE WHEN isnan({col}) THEN NULL ELSE {col} END"
            sel += [f"CAST(COUNT({x}) AS DOUBLE) AS c{i}_count", f"AVG({x}) AS c{i}_mean",
                    f"STDDEV_SAMP({x}) AS c{i}_std", f"MIN({x}) AS c{i}_min",
                    f"{q.format(x=x, q=qs)} AS c{i}_q", f"MAX({x}) AS c{i}_max"]  # fmt: skip
        r = self._sql(f"SELECT {', '.join(sel)} FROM values_t").iloc[0]
        stats = ["count", "mean", "std", "min", "25%", "50%", "75%", "max"]
        rows = {col: [*(float(r[f"c{i}_{k}"]) for k in ("count", "mean", "std", "min")),
                      *(float(v) for v in r[f"c{i}_q"]), float(r[f"c{i}_max"])]
                for i, col in enumerate(self.value_columns)}  # fmt: skip
        return pd.DataFrame.from_dict(rows, orient="index", columns=stats)

    def top(self, k: int = 10) -> pd.DataFrame:
        """The ``k`` members of highest CLV (``values.nlargest(k, "clv")``; ties by
        member number)."""
        cols = [S.MEMBER, *VALUE_COLUMNS]
        if self.engine_name == "pandas":
            return self.frame.nlargest(k, "clv")[list(VALUE_COLUMNS)]
        df = self._sql(
            f"SELECT {', '.join(cols)} FROM values_t WHERE {_finite('clv')} "
            f"ORDER BY clv DESC, {S.MEMBER} LIMIT {int(k)}"
        )
        return df.set_index(S.MEMBER)

    # --- concentration -------------------------------------------------------------------
    def _values_sql(self, expr: str = "clv", source: str = "values_t") -> str:
        return f"SELECT {expr} AS v FROM {source}"

    def concentration(self, top_share: float = 0.2, *, of: str | None = None) -> dict:
        """:func:`crm_research.clv.concentration` of the finite CLVs (or of the values of
        the query ``of``, a column ``v``), with the Lorenz curve at most
        :data:`LORENZ_POINTS` points as ``curve``."""
        from ...clv.value import concentration, lorenz_curve

        if self.engine_name == "pandas":
            v = self.frame["clv"] if of is None else of
            out = concentration(v, top_share=top_share)
            arr = np.asarray(v, dtype=float)
            arr = arr[np.isfinite(arr)]
            curve = lorenz_curve(arr)
            keep = np.r_[0, lorenz_ranks(len(arr))]
            out["curve"] = curve.iloc[keep].reset_index(drop=True)
            return out
        if not 0 < top_share < 1:
            raise ValueError(f"q must be between 0 and 1, got {top_share}")
        src = self._values_sql() if of is None else of
        ranked = (
            f"SELECT v, ROW_NUMBER() OVER (ORDER BY v) AS rn, SUM(v) OVER (ORDER BY v ROWS "
            f"BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum FROM ({src}) s "
            f"WHERE {_finite('v')}"
        )
        tot = (
            f"SELECT CAST(COUNT(*) AS BIGINT) AS n, {_dsum('v')} AS total, "
            f"CAST(GREATEST(1, CEIL({_double(top_share)} * COUNT(*))) AS BIGINT) AS k "
            f"FROM ({src}) s WHERE {_finite('v')}"
        )
        r = self._sql(
            f"SELECT t.n, t.total, {_dsum('(2 * r.rn - t.n - 1) * r.v')} / (t.n * t.total) "
            f"AS gini, {_dsum('CASE WHEN r.rn > t.n - t.k THEN r.v ELSE 0 END')} / t.total AS top "
            f"FROM ({ranked}) r CROSS JOIN ({tot}) t GROUP BY t.n, t.total"
        )
        if r.empty or not float(r["total"].iloc[0]) > 0:
            raise ValueError("concentration needs at least one positive value")
        r = r.iloc[0]
        n, m = int(r["n"]), LORENZ_POINTS
        pts = self._sql(
            f"SELECT r.rn, r.cum FROM ({ranked}) r WHERE "
            f"FLOOR(r.rn * {m} / {n}) > FLOOR((r.rn - 1) * {m} / {n}) ORDER BY r.rn"
        )
        curve = pd.DataFrame(
            {
                "member_share": np.r_[0.0, pts["rn"].to_numpy(float) / n],
                "value_share": np.r_[0.0, pts["cum"].to_numpy(float) / float(r["total"])],
            }
        )
        return {"gini": float(r["gini"]), "top_share": top_share,
                "top_value_share": float(r["top"]), "n": n, "total": float(r["total"]),
                "curve": curve}  # fmt: skip

    def past_revenue(self, flights, top_share: float = 0.2) -> dict | None:
        """:meth:`concentration` of each scored member's past revenue (negative totals
        as 0, members without a flight 0); None when the log has no ``REVENUE``."""
        if flights is None or S.REVENUE not in flights.columns:
            return None
        if self.engine_name == "pandas":
            from .flightlog import revenue_by_member

            past = revenue_by_member(flights).reindex(self.frame.index).fillna(0)
            return self.concentration(top_share, of=past.clip(lower=0))
        rev = (
            f"SELECT v.{S.MEMBER}, GREATEST(COALESCE(r.REVENUE, 0.0), 0.0) AS v FROM values_t v "
            f"LEFT JOIN (SELECT {S.MEMBER}, SUM(REVENUE) AS REVENUE FROM flights_t "
            f"GROUP BY {S.MEMBER}) r ON v.{S.MEMBER} = r.{S.MEMBER}"
        )
        return self.concentration(top_share, of=rev)

    def histogram(self, bins: int = HIST_BINS) -> tuple[np.ndarray, np.ndarray] | None:
        """Counts and edges of the positive finite CLVs in ``bins`` log-spaced edges
        (``np.histogram`` of :func:`hist_edges`); None without a positive value."""
        if self.engine_name == "pandas":
            v = self.frame["clv"].to_numpy(float)
            v = v[np.isfinite(v) & (v > 0)]
            if v.size == 0:
                return None
            edges = hist_edges(v.min(), v.max(), bins)
            return np.histogram(v, bins=edges)[0], edges
        pos = f"{_finite('clv')} AND clv > 0"
        r = self._sql(f"SELECT MIN(clv) AS lo, MAX(clv) AS hi FROM values_t WHERE {pos}").iloc[0]
        if pd.isna(r["lo"]):
            return None
        edges = hist_edges(float(r["lo"]), float(r["hi"]), bins)
        # np.histogram: [e_i, e_{i+1}) and the last bin closed; values outside left out
        case = " ".join(f"WHEN clv < {_double(e)} THEN {i - 1}" for i, e in enumerate(edges))
        last = len(edges) - 2
        df = self._sql(
            f"SELECT b, CAST(COUNT(*) AS BIGINT) AS n FROM (SELECT CASE {case} "
            f"WHEN clv <= {_double(edges[-1])} THEN {last} ELSE -2 END AS b FROM values_t "
            f"WHERE {pos}) h WHERE b >= 0 GROUP BY b"
        )
        counts = np.zeros(len(edges) - 1, dtype=np.int64)
        counts[df["b"].to_numpy(np.int64)] = df["n"].to_numpy(np.int64)
        return counts, edges

    def columns(self, cols) -> pd.DataFrame:
        """Some columns of every member, by member number (small tables only: the
        simulation's truth comparison, the bootstrap's segment totals)."""
        if self.engine_name == "pandas":
            return self.frame[list(cols)]
        files = [str(f) for f in source_files(self.path)]
        df = pd.read_parquet(files[0] if len(files) == 1 else self.path, columns=[S.MEMBER, *cols])
        return df.sort_values(S.MEMBER).set_index(S.MEMBER)


def score_value_table(ds, purchase, spend, out, *, model_file, engine=None, **settings) -> Path:
    """Score every member of ``ds`` into ``out`` (``clv.parquet``): parts written batch by
    batch, then joined into the one file the run publishes, one part at a time.

    The summaries come from the run's engine when the log is lazy (DuckDB, Spark:
    written to Parquet by the engine, never collected), else from
    :func:`~crm_research.clv.purchase_summary` in memory (pandas, the member table);
    either way with the purchase model's time unit and counting rule. The rows are
    :func:`~crm_research.clv.customer_lifetime_value` joined with the inputs
    ``frequency, recency, T`` (and ``monetary_value``), as notebook 03 wrote them before.
    """
    from .flightlog import is_lazy
    from .scoring import score_members, write_summaries

    meta = purchase.meta_
    lazy = is_lazy(ds.flights)
    engine = engine or (ds.flights.engine_name if lazy else "pandas")
    out = Path(out)
    tmp = Path(tempfile.mkdtemp(prefix=".summaries-", dir=out.parent))
    try:
        write_summaries(ds, tmp / "summaries", time_unit=meta["time_unit"],
                        counting_rule=meta["counting_rule"])  # fmt: skip
        if out.is_dir():
            shutil.rmtree(out)
        opts = (
            {"spark_master": getattr(ds.flights, "spark_master", None)} if engine == "spark" else {}
        )
        parts = score_members(tmp / "summaries", model_file, tmp / "scores", spend=spend,
                              engine=engine, keep_inputs=True, **opts, **settings)  # fmt: skip
        return parts_to_file(parts, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def value_table(path, ds, engine: str | None = None, *, cls=ValueTable) -> ValueTable:
    """The :class:`ValueTable` (or ``cls``) of ``path`` in the run's engine (the flight
    log's when lazy, so that past revenue joins the log where it lies)."""
    from .flightlog import is_lazy

    if is_lazy(ds.flights):
        return cls(path, ds.flights.engine_name, eng=ds.flights.engine)
    return cls(path, engine or "pandas")


__all__ = ["ValueTable", "hist_edges", "lorenz_ranks", "score_value_table", "value_table"]
