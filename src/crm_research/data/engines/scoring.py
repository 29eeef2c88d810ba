"""Score every member from the run's model file, batch by batch, straight to Parquet.

The fit needs only the distinct histories (:meth:`Engine.histories`, collected to the
driver); scoring needs every member but each member alone. :func:`score_members` reads
the per-member summaries written by an engine (:meth:`Table.write_parquet` of
:meth:`Engine.summary`), applies the fitted purchase model of a model file
(:func:`crm_research.clv.load_purchase_model`) and, with a fitted spend model, the
customer lifetime value of :func:`crm_research.clv.customer_lifetime_value`, and writes
the predictions as Parquet, one batch at a time:

- ``duckdb``: Arrow record batches of a scan of the Parquet files (the process holds
  one batch);
- ``spark``: ``mapInPandas`` on the executors, which write their own part files
  (nothing is collected to the driver);
- ``pandas``: the reference, Arrow batches read with pyarrow in this process.

The rows are those of :func:`~crm_research.clv.customer_lifetime_value` on the whole
table in memory (tested), since each member's prediction depends on its own history only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .base import as_pandas_types, batches_to_parquet, source_files

#: Output columns with a spend model (without one: the first four).
PREDICTION_COLUMNS = (
    "MEMBER_NO",
    "p_alive",
    "expected_flights",
    "discounted_flights",
    "expected_revenue_per_flight",
    "clv",
)
#: The inputs kept beside the predictions with ``keep_inputs`` (those in the summaries).
INPUT_COLUMNS = ("frequency", "recency", "T", "monetary_value")
BATCH_ROWS = 200_000
#: The columns of an in-memory summary written for scoring (those it has).
SUMMARY_COLUMNS = ("frequency", "recency", "T", "n_monetary", "monetary_value",
                   "frequency_holdout")  # fmt: skip


def write_summaries(
    ds, folder, *, time_unit: str, counting_rule: str, calibration_end=None, summary=None
) -> Path:
    """The members' summaries to score, as Parquet parts in ``folder``.

    Written by the run's engine when the log is lazy (DuckDB, Spark:
    :meth:`Engine.summary` straight to Parquet, never collected); else from the summary
    in memory (``summary``, or :func:`~crm_research.clv.purchase_summary` of ``ds``: the
    pandas engine and the member-table approximation). Either way with the purchase
    model's time unit and counting rule, up to ``ds.obs_end``; with ``calibration_end``
    the calibration summary (members who flew by then, with the holdout columns).
    """
    from ...clv.modelfile import purchase_summary
    from .flightlog import is_lazy

    folder = Path(folder)
    if is_lazy(ds.flights) and counting_rule != "member table":
        return ds.flights.engine.summary(
            calibration_end=calibration_end,
            observation_end=ds.obs_end,
            time_unit=time_unit,
            merge_same_day=counting_rule == "distinct days",
        ).write_parquet(folder)
    if summary is None:
        summary = purchase_summary(
            ds, time_unit=time_unit, counting_rule=counting_rule, calibration_end=calibration_end
        )
    keep = [c for c in SUMMARY_COLUMNS if c in summary.columns]
    folder.mkdir(parents=True, exist_ok=True)
    summary[keep].reset_index().to_parquet(folder / "part-0.parquet", index=False)
    return folder


def _output_columns(with_spend: bool, horizon_units) -> tuple[str, ...]:
    """The predictions' columns: CLV's, its purchase half, or P(alive) and E[X(t)]."""
    if horizon_units is not None:
        return PREDICTION_COLUMNS[:3]
    return PREDICTION_COLUMNS if with_spend else PREDICTION_COLUMNS[:4]


def _kept(keep_inputs) -> tuple[str, ...]:
    """The summaries' columns kept beside the predictions (True: :data:`INPUT_COLUMNS`)."""
    if keep_inputs is True:
        return INPUT_COLUMNS
    return tuple(keep_inputs or ())


def predictor(
    purchase,
    spend=None,
    *,
    days_per_unit: float,
    horizon_months: int = 36,
    discount_rate_annual: float = 0.1,
    margin: float = 0.1,
    keep_inputs: bool | Sequence[str] = False,
    horizon_units: float | None = None,
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """A function of a batch of summaries (``MEMBER_NO`` a column) -> its predictions.

    With ``spend`` (a fitted :class:`~crm_research.clv.GammaGamma` or
    :class:`~crm_research.clv.LogSpendRegression`) the columns of
    :func:`~crm_research.clv.customer_lifetime_value`; without, its purchase columns
    (``p_alive``, ``expected_flights``, ``discounted_flights``) by the same code. With
    ``horizon_units`` (no spend model) ``p_alive`` and ``expected_flights`` over that many
    time units of the model, E[X(t) | x, t_x, T] (notebook 02's one year and holdout; no
    discounting). ``keep_inputs``: True keeps the :data:`INPUT_COLUMNS` of the batch after
    the predictions (notebook 03's ``clv.parquet``), a list of names those columns.
    """
    from ...clv.value import customer_lifetime_value

    if horizon_units is not None and spend is not None:
        raise ValueError("horizon_units scores the purchase model alone: pass no spend model")
    cols, keep = _output_columns(spend is not None, horizon_units), _kept(keep_inputs)
    if spend is None:  # the purchase half of customer_lifetime_value: a fixed spend of 1

        class _Unit:
            population_mean = 1.0

        spend_model = _Unit()
    else:
        spend_model = spend

    def predict(batch: pd.DataFrame) -> pd.DataFrame:
        s = batch.set_index("MEMBER_NO")
        if horizon_units is not None:  # the calls of study02.member_predictions
            x, tx, T = (s[c].to_numpy() for c in ("frequency", "recency", "T"))
            out = pd.DataFrame(
                {
                    "p_alive": purchase.p_alive(x, tx, T),
                    "expected_flights": purchase.expected_flights(horizon_units, x, tx, T),
                },
                index=s.index,
            )
        else:
            if spend is None:
                s = s.drop(columns=["monetary_value"], errors="ignore")
            s.attrs["days_per_unit"] = float(days_per_unit)
            out = customer_lifetime_value(
                purchase,
                spend_model,
                s,
                horizon_months=horizon_months,
                discount_rate_annual=discount_rate_annual,
                margin=margin,
            )
        out = out.reset_index()
        if pd.api.types.is_integer_dtype(out["MEMBER_NO"]):  # else the ids as they are
            out["MEMBER_NO"] = out["MEMBER_NO"].to_numpy(np.int64)
        out = out[list(cols)]
        if keep:
            inputs = [c for c in keep if c in batch.columns]
            out = pd.concat([out, batch[inputs].reset_index(drop=True)], axis=1)
        return out

    return predict


def _spark_schema(cols, inputs: dict | None = None, member: str = "long") -> str:
    """The output's Spark schema: the predictions ``cols`` (``MEMBER_NO`` of Spark type
    ``member``), then ``inputs`` (name -> Spark type)."""
    out = [f"{c} {member if c == 'MEMBER_NO' else 'double'}" for c in cols]
    return ", ".join(out + [f"{c} {t}" for c, t in (inputs or {}).items()])


def score_members(
    summaries: str | os.PathLike,
    model_file: str | os.PathLike,
    out: str | os.PathLike,
    *,
    spend=None,
    engine: str = "duckdb",
    spark_master: str | None = None,
    batch_rows: int = BATCH_ROWS,
    horizon_months: int = 36,
    discount_rate_annual: float = 0.1,
    margin: float = 0.1,
    keep_inputs: bool | Sequence[str] = False,
    horizon_units: float | None = None,
    **options,
) -> Path:
    """Per-member predictions (and CLV with ``spend``) written to ``out`` in batches.

    Parameters
    ----------
    summaries : path
        A Parquet file or folder of parts with ``MEMBER_NO, frequency, recency, T`` (and
        ``n_monetary, monetary_value`` for a spend model) in the model file's time unit:
        :meth:`Engine.summary` written with ``write_parquet``.
    model_file : path
        The purchase-model file (``purchase_model.json``, or its folder) notebook 02
        writes (:func:`crm_research.clv.save_purchase_model`).
    out : path
        The folder of Parquet parts written (replaced).
    spend : fitted spend model, optional
        :class:`~crm_research.clv.GammaGamma` or :class:`~crm_research.clv.LogSpendRegression`.
    engine : {"duckdb", "spark", "pandas"}
        Who reads the batches and writes the parts (see the module docstring).
    batch_rows : int
        Members per batch (the memory of a batch, whatever the number of members).
    keep_inputs : bool or list of str
        Keep the summaries' :data:`INPUT_COLUMNS` (True) or these columns beside the
        predictions.
    horizon_units : float, optional
        Score ``p_alive`` and the expected flights over this many time units of the model
        only (no spend model; see :func:`predictor`).
    options
        Engine options (DuckDB: ``memory_limit``, ``threads``; Spark: ``conf``).

    Returns
    -------
    Path
        ``out``.
    """
    from ...clv.modelfile import load_purchase_model
    from ...clv.summary import days_per_unit

    purchase = load_purchase_model(model_file)
    fn = predictor(
        purchase,
        spend,
        days_per_unit=days_per_unit(purchase.meta_["time_unit"]),
        horizon_months=horizon_months,
        discount_rate_annual=discount_rate_annual,
        margin=margin,
        keep_inputs=keep_inputs,
        horizon_units=horizon_units,
    )
    files = source_files(summaries)
    out = Path(out)
    if engine == "pandas":
        import pyarrow.parquet as pq

        def frames():
            for f in files:
                for b in pq.ParquetFile(f).iter_batches(batch_size=batch_rows):
                    yield as_pandas_types(b.to_pandas())

        return batches_to_parquet(frames(), fn, out)
    from . import get_engine

    with get_engine(engine, spark_master=spark_master, **options) as eng:
        if engine not in ("duckdb", "spark"):
            raise ValueError(f"engine must be one of duckdb, spark, pandas, got {engine!r}")
        eng.register_parquet("summaries_t", summaries)
        table = eng._table("SELECT * FROM summaries_t")
        schema = None
        if engine == "spark":  # the member ids' and the inputs' types as stored
            kinds = {
                f.name: f.dataType.simpleString() for f in eng.spark.table("summaries_t").schema
            }
            inputs = {c: kinds[c] for c in _kept(keep_inputs) if c in kinds}
            member = "long" if kinds["MEMBER_NO"] in ("int", "bigint", "smallint") else "string"
            schema = _spark_schema(
                _output_columns(spend is not None, horizon_units), inputs, member
            )
        return table.map_batches(fn, out, schema, batch_rows=batch_rows)
