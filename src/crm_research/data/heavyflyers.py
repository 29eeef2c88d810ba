"""A textbook-like member table made by code: heavy flyers who do not visibly drop out.

The real textbook rows (``air_data.csv``, DOMAIN.md) differ from the study's default
simulation in ways that break naive modelling, and the study must hold on them:

* every member has at least two flights in the two-year window (``FLIGHT_COUNT >= 2``),
  with right-skewed counts (median about 7) up to about 200;
* revenue per flight falls as members fly more (frequent flyers take shorter routes
  and cheaper fares: Spearman about -0.7 among heavy flyers), against the Gamma-Gamma
  model's independence assumption;
* selected like that, the members show no dropout: on real rows the Pareto/NBD runs to
  ``beta`` = 2e5 (``s`` = 85) and the BG/NBD ``b`` to 9e7, i.e. the dropout parameters
  run to a bound of the parameter space;
* a few ``LAST_FLIGHT_DATE`` cells hold the placeholder ``2014/2/29  0:00:00``.

:func:`heavy_flyer_snapshot` makes such a table in the canonical snapshot format
(members fly as Poisson processes with Gamma-distributed rates and a small, common
dropout rate;
mean revenue per flight falls with the rate as a power law with noise), and
:func:`write_heavy_flyer_csv` writes it as a textbook-format file with
:func:`~crm_research.data.fixtures.write_textbook_csv`. It is a fixture for tests and
end-to-end runs, not a model of the carrier: the rules are ours and simple.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import DEFAULT_OBS_END
from .fixtures import write_textbook_csv

_CITIES = (("广州", "广东"), ("北京", "北京"), ("上海", "上海"), ("深圳", "广东"), ("成都", "四川"))


def heavy_flyer_snapshot(
    n_members: int = 2_000,
    *,
    seed: int = 0,
    obs_end: str = DEFAULT_OBS_END,
    rate_shape: float = 0.8,
    rate_mean_per_week: float = 0.1,
    spend_elasticity: float = -0.4,
    dropout_per_week: float = 0.0002,
) -> pd.DataFrame:
    """A canonical member snapshot of heavy flyers (every member >= 2 flights in the window).

    Parameters
    ----------
    n_members : int
        Members in the table (all with at least two flights in the two-year window).
    seed : int
        Seed of every random draw.
    obs_end : date-like
        ``LOAD_TIME`` (the window is the 730 days up to it).
    rate_shape, rate_mean_per_week : float
        Flight rates ~ Gamma(shape, mean): right-skewed counts, a few members near 200.
    spend_elasticity : float
        Mean revenue per flight ~ ``rate ** spend_elasticity`` (times log-normal noise):
        negative means frequent flyers pay less per flight.
    dropout_per_week : float
        One small dropout rate for everyone (exponential lifetimes from the first
        flight): too little and too homogeneous for the models to identify, as in the
        real rows.

    Returns
    -------
    DataFrame
        The columns of :data:`crm_research.data.schema.SNAPSHOT_COLUMNS` that the
        textbook writer needs, one row per member, ``FLIGHT_COUNT >= 2``.
    """
    if n_members < 10:
        raise ValueError(f"n_members must be >= 10, got {n_members}")
    rng = np.random.default_rng(seed)
    load = pd.Timestamp(obs_end).normalize()
    load_d = int(load.value // 86_400_000_000_000)
    win_start = load_d - 730
    n = int(n_members * 2.5) + 50  # candidates; those with < 2 window flights are dropped
    # enrolment 2004 - mid 2013, more members in recent years
    enrol_lo = int(pd.Timestamp("2004-01-01").value // 86_400_000_000_000)
    span = load_d - 270 - enrol_lo
    ffp = enrol_lo + (span * rng.beta(2.0, 1.2, n)).astype(np.int64)
    first = ffp + rng.exponential(30.0, n).astype(np.int64)
    rate = rng.gamma(rate_shape, rate_mean_per_week / rate_shape, n) / 7.0  # per day
    death = first + rng.exponential(7.0 / max(dropout_per_week, 1e-12), n)
    start = np.maximum(first, win_start + 1)
    end = np.minimum(load_d + 1, death).astype(np.int64)
    expo = np.maximum(end - start, 0)
    count = rng.poisson(rate * expo)
    keep = np.flatnonzero(count >= 2)[:n_members]
    if len(keep) < n_members:
        raise ValueError("too few members with two flights; raise rate_mean_per_week")
    ffp, first, rate, start, expo, count = (v[keep] for v in (ffp, first, rate, start, expo, count))
    # flight days: uniform order statistics in [start, load]
    who = np.repeat(np.arange(n_members), count)
    day = start[who] + np.floor(rng.random(len(who)) * expo[who]).astype(np.int64)
    order = np.lexsort((day, who))
    who, day = who[order], day[order]
    bounds = np.r_[0, np.cumsum(count)]
    first_w = day[bounds[:-1]]
    last = day[bounds[1:] - 1]
    gaps = np.diff(day)
    same = who[1:] == who[:-1]
    max_gap = np.zeros(n_members)
    np.maximum.at(max_gap, who[1:][same], gaps[same])
    year1 = day <= win_start + 365
    p1y = np.bincount(who, weights=year1, minlength=n_members)
    # spend per flight falls with frequency (elasticity), Gamma noise around the mean
    mean_rev = 1100.0 * (rate * 7.0 / rate_mean_per_week) ** spend_elasticity
    mean_rev *= rng.lognormal(0.0, 0.25, n_members)
    rev = mean_rev[who] * rng.gamma(6.0, 1.0 / 6.0, len(who))
    disc = np.clip(0.95 - 0.12 * np.log1p(rate * 7.0 * 52), 0.3, 1.2) * rng.uniform(
        0.85, 1.15, n_members
    )
    km = rev / disc[who]
    sum1 = np.bincount(who, weights=rev * year1, minlength=n_members)
    sum2 = np.bincount(who, weights=rev * ~year1, minlength=n_members)
    km_sum = np.bincount(who, weights=km, minlength=n_members)
    km_last = np.bincount(who, weights=km * ~year1, minlength=n_members)
    tier = np.where(km_last > 45_000, 6, np.where(km_last > 22_000, 5, 4))
    city = rng.integers(0, len(_CITIES), n_members)

    def dates(d):
        return pd.to_datetime(np.asarray(d, dtype=np.int64) * 86_400_000_000_000)

    return pd.DataFrame(
        {
            "MEMBER_NO": np.arange(1, n_members + 1, dtype=np.int64) + 50_000,
            "FFP_DATE": dates(ffp),
            "FIRST_FLIGHT_DATE": dates(first),
            "GENDER": np.where(rng.random(n_members) < 0.76, "male", "female"),
            "FFP_TIER": tier,
            "WORK_CITY": [_CITIES[i][0] for i in city],
            "WORK_PROVINCE": [_CITIES[i][1] for i in city],
            "WORK_COUNTRY": "CN",
            "AGE": np.clip(np.round(rng.normal(42, 9, n_members)), 18, 90),
            "LOAD_TIME": load,
            "FLIGHT_COUNT": count,
            "SUM_YR_1": np.round(sum1, 0),
            "SUM_YR_2": np.round(sum2, 0),
            "SEG_KM_SUM": np.round(km_sum).astype(np.int64),
            "LAST_FLIGHT_DATE": dates(last),
            "LAST_TO_END": (load_d - last).astype(np.int64),
            "AVG_INTERVAL": (last - first_w) / (count - 1),
            "MAX_INTERVAL": max_gap,
            "avg_discount": np.round(disc, 4),
            "P1Y_Flight_Count": p1y.astype(np.int64),
            "L1Y_Flight_Count": (count - p1y).astype(np.int64),
        }
    )


def write_heavy_flyer_csv(
    path: str | os.PathLike,
    n_members: int = 2_000,
    *,
    seed: int = 0,
    placeholder_share: float = 0.01,
    encoding: str = "utf-8",
) -> Path:
    """Write :func:`heavy_flyer_snapshot` as a textbook-format CSV (with the file's quirks).

    ``placeholder_share`` of the rows get the ``LAST_FLIGHT_DATE`` placeholder
    ``2014/2/29  0:00:00`` (the loader rebuilds the date from ``LAST_TO_END``).
    """
    snap = heavy_flyer_snapshot(n_members, seed=seed)
    return write_textbook_csv(
        snap,
        path,
        quirks=True,
        encoding=encoding,
        seed=seed,
        min_flights=2,
        quirk_rates={"last_flight_placeholder": placeholder_share},
    )


__all__ = ["heavy_flyer_snapshot", "write_heavy_flyer_csv"]
