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
from collections.abc import Callable
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


def predictor(
    purchase,
    spend=None,
    *,
    days_per_unit: float,
    horizon_months: int = 36,
    discount_rate_annual: float = 0.1,
    margin: float = 0.1,
    keep_inputs: bool = False,
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """A function of a batch of summaries (``MEMBER_NO`` a column) -> its predictions.

    With ``spend`` (a fitted :class:`~crm_research.clv.GammaGamma` or
    :class:`~crm_research.clv.LogSpendRegression`) the columns of
    :func:`~crm_research.clv.customer_lifetime_value`; without, its purchase columns
    (``p_alive``, ``expected_flights``, ``discounted_flights``) by the same code. With
    ``keep_inputs`` the :data:`INPUT_COLUMNS` of the batch follow (notebook 03's
    ``clv.parquet``).
    """
    from ...clv.value import customer_lifetime_value

    if spend is None:  # the purchase half of customer_lifetime_value: a fixed spend of 1

        class _Unit:
            population_mean = 1.0

        spend_model = _Unit()
    else:
        spend_model = spend

    def predict(batch: pd.DataFrame) -> pd.DataFrame:
        s = batch.set_index("MEMBER_NO")
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
        cols = PREDICTION_COLUMNS if spend is not None else PREDICTION_COLUMNS[:4]
        out = out[list(cols)]
        if keep_inputs:
            inputs = [c for c in INPUT_COLUMNS if c in batch.columns]
            out = pd.concat([out, batch[inputs].reset_index(drop=True)], axis=1)
        return out

    return predict


def _spark_schema(with_spend: bool, inputs: dict | None = None, member: str = "long") -> str:
    """The output's Spark schema: the predictions (``MEMBER_NO`` of Spark type
    ``member``), then ``inputs`` (name -> Spark type)."""
    cols = PREDICTION_COLUMNS if with_spend else PREDICTION_COLUMNS[:4]
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
    keep_inputs: bool = False,
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
    keep_inputs : bool
        Keep the summaries' :data:`INPUT_COLUMNS` beside the predictions.
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
            inputs = {c: kinds[c] for c in INPUT_COLUMNS if c in kinds} if keep_inputs else None
            member = "long" if kinds["MEMBER_NO"] in ("int", "bigint", "smallint") else "string"
            schema = _spark_schema(spend is not None, inputs, member)
        return table.map_batches(fn, out, schema, batch_rows=batch_rows)
