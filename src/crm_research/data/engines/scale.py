"""Fit on the driver, score in batches: the purchase models on a log of any size.

The likelihood of BG/NBD, MBG/NBD and Pareto/NBD depends on a member only through
``(x, t_x, T)``, so the fit needs only the distinct histories with their counts
(:meth:`Engine.histories`: a few hundred thousand rows for ten million members, since
``x`` and the day-resolution times repeat). That table is collected to the driver and
fitted there; the per-member scores are computed where the members are, batch by batch
(Arrow record batches with DuckDB, ``mapInPandas`` on the executors with Spark), and
written straight to Parquet. :func:`.scoring.score_members` does the same from the
run's model file and the summaries in Parquet, with the customer lifetime value.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

SCORE_SCHEMA = "MEMBER_NO long, p_alive double, expected_flights double"


def fit_on_histories(histories: pd.DataFrame, model: str = "bgnbd", **kwargs):
    """Fit a purchase model (``clv.MODELS`` key) on distinct histories with ``weights``."""
    from ... import clv

    m = clv.MODELS[model](**kwargs)
    return m.fit(
        histories[["frequency", "recency", "T"]],
        weights=histories["weights"].to_numpy(),
        source="distinct histories",
    )


def scorer(model, horizon: float):
    """A function of a batch of summaries -> ``MEMBER_NO, p_alive, expected_flights``
    (E[X(horizon)] in the model's time unit): :func:`.scoring.predictor`'s purchase
    scores, the one scorer of the package."""
    from .scoring import predictor

    # days_per_unit is used for discounting only, which horizon_units does not do
    return predictor(model, days_per_unit=7.0, horizon_units=horizon)


def score_to_parquet(
    engine,
    model,
    out,
    *,
    horizon: float = 52.0,
    batch_rows: int = 1_000_000,
    calibration_end=None,
    observation_end=None,
    time_unit: str = "weeks",
    merge_same_day: bool = False,
) -> Path:
    """Score every member of the engine's log with ``model``, written to ``out`` (Parquet).

    ``horizon`` is in ``time_unit`` (expected flights in the next ``horizon``).
    """
    table = engine.summary(
        calibration_end=calibration_end,
        observation_end=observation_end,
        time_unit=time_unit,
        merge_same_day=merge_same_day,
    )
    return table.map_batches(scorer(model, horizon), out, SCORE_SCHEMA, batch_rows=batch_rows)
