"""Notebook 02's per-member predictions, scored by the run's engine and summarised there.

:func:`score_predictions` writes ``purchase_predictions.parquet``, one row per member:
the run's engine writes the all-data and the calibration summaries
(:func:`~crm_research.data.engines.scoring.write_summaries`: DuckDB and Spark straight
to Parquet; pandas and the member table from the summaries notebook 02 holds),
:func:`~crm_research.data.engines.scoring.score_members` scores them batch by batch
from the two model files (``purchase_model.json``: P(alive) and the expected flights in
the next year; ``purchase_model_calibration.json``: the same for the holdout, from the
calibration fit), and the engine joins the two by member into the one file (members who
first flew after the calibration end have no holdout columns, NULL). The rows and
columns are those :func:`crm_research.clv.study02.member_predictions` builds in memory
(the reference of the tests). :class:`PredictionTable` then computes what notebook 02
shows of it (the ``describe`` table, mean P(alive), the share below one half, the
expected flights next year, the simulated truth's comparison) by queries over that
Parquet in the same engine (:class:`~crm_research.data.engines.valuetable.ValueTable`'s
queries), so no table of every member is built in one process for it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .. import schema as S
from .base import parts_to_file, source_files
from .valuetable import ValueTable, _dsum, _finite, value_table

#: The columns of ``purchase_predictions.parquet`` after ``MEMBER_NO``, in order; the
#: last three only where there is a holdout.
COLUMNS = ("frequency", "recency", "T", "p_alive", "expected_flights_next_year")
HOLDOUT_COLUMNS = ("p_alive_calibration", "expected_flights_holdout", "flights_holdout")


def _join_sql(holdout: bool) -> str:
    """The two scored tables (``pred_full_t``, ``pred_cal_t``) joined by member."""
    sel = [f"f.{S.MEMBER}", "f.frequency", "f.recency", "f.T", "f.p_alive",
           "f.expected_flights AS expected_flights_next_year"]  # fmt: skip
    if not holdout:
        return f"SELECT {', '.join(sel)} FROM pred_full_t f ORDER BY f.{S.MEMBER}"
    sel += ["c.p_alive AS p_alive_calibration", "c.expected_flights AS expected_flights_holdout",
            "c.frequency_holdout AS flights_holdout"]  # fmt: skip
    return (
        f"SELECT {', '.join(sel)} FROM pred_full_t f LEFT JOIN pred_cal_t c "
        f"ON f.{S.MEMBER} = c.{S.MEMBER} ORDER BY f.{S.MEMBER}"
    )


def _read_parts(folder) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(f) for f in source_files(folder)], ignore_index=True)


def score_predictions(
    ds,
    out,
    *,
    model_file,
    calibration_model_file=None,
    summaries: tuple[pd.DataFrame, pd.DataFrame | None] | None = None,
    engine: str | None = None,
    **options,
) -> Path:
    """Score every member of ``ds`` into ``out`` (``purchase_predictions.parquet``).

    Parameters
    ----------
    ds : Dataset
        The run's data; a lazy flight log is summarised by its engine.
    out : path
        The file written (replaced).
    model_file : path
        ``purchase_model.json``: ``p_alive`` at the observation end and
        ``expected_flights_next_year``, E[X(one year) | x, t_x, T] in the model's time unit,
        of every member of the all-data summary.
    calibration_model_file : path, optional
        ``purchase_model_calibration.json`` (a holdout exists): ``p_alive_calibration``
        and ``expected_flights_holdout`` (over the holdout, from the calibration fit) of
        the members who flew by its ``calibration_end``, and ``flights_holdout``.
    summaries : (DataFrame, DataFrame or None), optional
        The all-data and calibration summaries in memory (notebook 02's ``full`` and
        ``calib``), used where the log is not lazy instead of summarising it again.
    engine : {"duckdb", "spark", "pandas"}, optional
        Default: the lazy log's engine, else pandas (in-memory data).
    options
        :func:`~crm_research.data.engines.scoring.score_members`' (e.g. ``batch_rows``).

    Returns
    -------
    Path
        ``out``.
    """
    from ...clv.modelfile import load_purchase_model
    from ...clv.summary import days_per_unit
    from . import get_engine
    from .flightlog import is_lazy
    from .scoring import score_members, write_summaries

    meta = load_purchase_model(model_file).meta_
    unit = days_per_unit(meta["time_unit"])
    full, calib = summaries or (None, None)
    lazy = is_lazy(ds.flights)
    engine = engine or (ds.flights.engine_name if lazy else "pandas")
    if engine == "spark":
        options.setdefault("spark_master", getattr(ds.flights, "spark_master", None))
    kw = {"time_unit": meta["time_unit"], "counting_rule": meta["counting_rule"]}
    out = Path(out)
    tmp = Path(tempfile.mkdtemp(prefix=".predictions-", dir=out.parent))
    try:
        # the run's model on all data: one year ahead (Setup.year: 365.25 days in units)
        write_summaries(ds, tmp / "full", summary=full, **kw)
        parts = {"full": score_members(tmp / "full", model_file, tmp / "full_scores",
                                       engine=engine, horizon_units=365.25 / unit,
                                       keep_inputs=("frequency", "recency", "T"),
                                       **options)}  # fmt: skip
        if calibration_model_file is not None:
            cal_end = pd.Timestamp(
                load_purchase_model(calibration_model_file).meta_["calibration_end"]
            )
            # the holdout's length in units, as the summaries' duration_holdout
            holdout = (ds.obs_end.normalize() - cal_end.normalize()).days / unit
            write_summaries(ds, tmp / "calib", summary=calib, calibration_end=cal_end, **kw)
            parts["calib"] = score_members(tmp / "calib", calibration_model_file,
                                           tmp / "calib_scores", engine=engine,
                                           horizon_units=holdout,
                                           keep_inputs=("frequency_holdout",),
                                           **options)  # fmt: skip
        if engine == "pandas":  # the reference: the summary's order, as in memory
            f = _read_parts(parts["full"]).rename(
                columns={"expected_flights": "expected_flights_next_year"}
            )
            f = f[[S.MEMBER, *COLUMNS]]
            if "calib" in parts:
                c = _read_parts(parts["calib"]).rename(
                    columns=dict(zip(("p_alive", "expected_flights", "frequency_holdout"),
                                     HOLDOUT_COLUMNS, strict=True))
                )  # fmt: skip
                f = f.merge(c, on=S.MEMBER, how="left", validate="one_to_one")
            (tmp / "joined").mkdir()
            f.to_parquet(tmp / "joined" / "part-0.parquet", index=False)
        else:
            spark_master = options.get("spark_master")
            with get_engine(engine, spark_master=spark_master) as eng:
                eng.register_parquet("pred_full_t", parts["full"])
                if "calib" in parts:
                    eng.register_parquet("pred_cal_t", parts["calib"])
                eng._table(_join_sql("calib" in parts)).write_parquet(tmp / "joined")
        if out.is_dir():
            shutil.rmtree(out)
        return parts_to_file(tmp / "joined", out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class PredictionTable(ValueTable):
    """``purchase_predictions.parquet`` (``MEMBER_NO`` and :data:`COLUMNS`, with a
    holdout :data:`HOLDOUT_COLUMNS`), summarised by its engine: :meth:`describe` (of
    every column, as ``DataFrame.describe().T``), :meth:`stats` and
    :meth:`truth_comparison`. The ``pandas`` engine and :meth:`from_frame` compute the
    same in pandas (the reference of the tests)."""

    @property
    def value_columns(self) -> tuple[str, ...]:
        """Every numeric column but the member number (what ``describe`` shows)."""
        if self.engine_name == "pandas":
            return tuple(self.frame.select_dtypes("number").columns)
        import pyarrow.parquet as pq

        names = pq.read_schema(source_files(self.path)[0]).names
        return tuple(c for c in names if c != S.MEMBER)

    def stats(self) -> dict:
        """``n``, ``mean_p_alive``, ``share_p_alive_below_half`` (of every member),
        ``expected_flights_next_year`` (the total) and ``mean_expected_flights_next_year``;
        means and totals over the finite values (exact decimal sums in the engines)."""
        if self._stats is None:
            if self.engine_name == "pandas":
                p, nxt = self.frame["p_alive"], self.frame["expected_flights_next_year"]
                out = {"n": len(p), "mean_p_alive": float(p.mean()),
                       "share_p_alive_below_half": float((p < 0.5).mean()),
                       "expected_flights_next_year": float(nxt.sum()),
                       "mean_expected_flights_next_year": float(nxt.mean())}  # fmt: skip
            else:
                p = f"CASE WHEN {_finite('p_alive')} THEN p_alive END"
                e = "expected_flights_next_year"
                e = f"CASE WHEN {_finite(e)} THEN {e} END"
                r = self._sql(
                    f"SELECT CAST(COUNT(*) AS BIGINT) AS n, {_dsum(p)} / COUNT({p}) AS mp, "
                    "CAST(SUM(CASE WHEN p_alive < 0.5 THEN 1 ELSE 0 END) AS DOUBLE) "
                    f"/ COUNT(*) AS below, {_dsum(e)} AS total, {_dsum(e)} / COUNT({e}) AS me "
                    "FROM values_t"
                ).iloc[0]
                out = {"n": int(r["n"]), "mean_p_alive": float(r["mp"]),
                       "share_p_alive_below_half": float(r["below"]),
                       "expected_flights_next_year": float(r["total"]),
                       "mean_expected_flights_next_year": float(r["me"])}  # fmt: skip
            self._stats = out
        return dict(self._stats)

    def truth_comparison(self, truth: pd.DataFrame) -> tuple[float, dict]:
        """The simulated truth against P(alive): the share of the members alive, and the
        mean P(alive) of the dead and of the alive members (``{False: .., True: ..}``,
        rounded to 3 digits), over the members the truth knows."""
        t = truth[[S.MEMBER, "alive"]]
        if self.engine_name == "pandas":
            alive = t.set_index(S.MEMBER)["alive"].reindex(self.frame.index)
            by = self.frame.groupby(alive)["p_alive"].mean().round(3).to_dict()
            return float(alive.mean()), by
        tmp = Path(tempfile.mkdtemp(prefix=".truth-", dir=self.path.parent))
        try:  # the truth (simulations only) handed to the engine as Parquet
            t.dropna().to_parquet(tmp / "truth.parquet", index=False)
            self.eng.register_parquet("truth_t", tmp / "truth.parquet")
            p = f"CASE WHEN {_finite('v.p_alive')} THEN v.p_alive END"
            df = self._sql(
                f"SELECT t.alive AS alive, CAST(COUNT(*) AS BIGINT) AS n, "
                f"{_dsum(p)} / COUNT({p}) AS mp FROM values_t v JOIN truth_t t "
                f"ON v.{S.MEMBER} = t.{S.MEMBER} GROUP BY t.alive ORDER BY t.alive"
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        n = df["n"].to_numpy(np.int64)
        keys = df["alive"].astype(bool).to_numpy()
        share = float((n * keys).sum() / n.sum())
        return share, {bool(k): float(np.round(m, 3)) for k, m in zip(keys, df["mp"], strict=True)}


def prediction_table(path, ds, engine: str | None = None) -> PredictionTable:
    """The :class:`PredictionTable` of ``path`` in the run's engine (the lazy log's)."""
    return value_table(path, ds, engine, cls=PredictionTable)


__all__ = ["COLUMNS", "HOLDOUT_COLUMNS", "PredictionTable", "prediction_table",
           "score_predictions"]  # fmt: skip
