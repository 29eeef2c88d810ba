"""The three churn labels: textbook ratio, forward-looking (no flight in H months), P(alive)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import schema as S
from ..data.engines.base import check_horizon
from ..data.engines.flightlog import is_lazy
from ..data.schema import DataValidationError
from ..vocabulary import CLASSES

DEFINITIONS = ("textbook", "forward", "palive")
STATUSES = ("churned", "at_risk", "retained")
#: The class whose members the textbook's churn analysis studies (one vocabulary).
WINBACK = CLASSES["important_winback"].key


# ---------------------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------------------
def check_two_classes(y: pd.Series | np.ndarray, definition: str, source: str = "churn label"):
    """Raise if a label leaves one class only (no churners, or nobody retained).

    Raises
    ------
    DataValidationError
        Naming the definition, the class that is present and how many members it has.
    """
    y = np.asarray(y)
    n = len(y)
    n_churn = int(np.sum(y == 1))
    if n == 0:
        raise DataValidationError(f"the {definition!r} churn label has no members", source=source)
    if n_churn in (0, n):
        only = "churned" if n_churn == n else "not churned"
        raise DataValidationError(
            f"the {definition!r} churn definition leaves one class only: all {n} members "
            f"are {only}; a classifier cannot be trained or evaluated",
            source=source,
            column="churn",
            hint="Change the thresholds or the horizon, or use more data",
        )


def _check_member_ids(df: pd.DataFrame, source: str) -> None:
    S.require_columns(df, (S.MEMBER,), source)
    S.check_unique(df[S.MEMBER], source, S.MEMBER)


# ---------------------------------------------------------------------------------------
# definition 1: the textbook label
# ---------------------------------------------------------------------------------------
def textbook_label(
    snapshot: pd.DataFrame,
    *,
    min_flights: int = 6,
    churn_below: float = 0.5,
    retain_from: float = 0.9,
    min_members: int = 30,
    source: str = "snapshot",
) -> pd.DataFrame:
    """The textbook churn label from the member table alone.

    Among established members (``FLIGHT_COUNT > min_flights``), the ratio
    ``L1Y_Flight_Count / P1Y_Flight_Count`` of flights in the last year of the two-year
    window to flights in the first year: below ``churn_below`` churned, from
    ``churn_below`` to below ``retain_from`` at risk, ``retain_from`` and above retained.

    Members with no flight in the first year are handled explicitly, never through an
    infinite or missing ratio: with flights in the last year they are *retained* (they
    are growing; rule ``"no first-year flights"``), with none in either year they are
    *churned* (rule ``"no flights in either year"``; this only happens when
    ``FLIGHT_COUNT`` disagrees with the two yearly counts). Their ``ratio`` is left
    missing and never used to classify them.

    Parameters
    ----------
    snapshot : DataFrame
        ``MEMBER_NO, FLIGHT_COUNT, P1Y_Flight_Count, L1Y_Flight_Count``.
    min_flights : int
        Established = more than this many flights in the window (the textbook uses 6).
    churn_below, retain_from : float
        Ratio thresholds (0.5 and 0.9 in the textbook).
    min_members : int
        Fewest established members the label needs.
    source : str
        Name of the table in error messages.

    Returns
    -------
    DataFrame
        One row per established member: ``MEMBER_NO, P1Y_Flight_Count, L1Y_Flight_Count,
        ratio, rule, status`` (churned / at_risk / retained) and ``churn`` (1 = churned,
        0 = at risk or retained).

    Raises
    ------
    DataValidationError
        Missing columns, negative counts, thresholds out of order, or fewer than
        ``min_members`` established members.
    """
    cols = ("MEMBER_NO", "FLIGHT_COUNT", "P1Y_Flight_Count", "L1Y_Flight_Count")
    S.require_columns(snapshot, cols, source)
    if not 0 < churn_below < retain_from:
        raise ValueError(
            f"thresholds must satisfy 0 < churn_below < retain_from, got "
            f"churn_below={churn_below}, retain_from={retain_from}"
        )
    if min_flights < 0:
        raise ValueError(f"min_flights must be >= 0, got {min_flights}")
    counts = {}
    for c in cols[1:]:
        counts[c] = S.numeric(snapshot, c, source)
        S.check_range(counts[c], source, c, low=0, what="that are negative")
    est = (counts["FLIGHT_COUNT"] > min_flights).to_numpy()
    n_est = int(est.sum())
    if n_est < min_members:
        raise DataValidationError(
            f"only {n_est} established members (FLIGHT_COUNT > {min_flights}) of "
            f"{len(snapshot)}; the textbook label needs at least {min_members}",
            source=source,
            column="FLIGHT_COUNT",
            hint="Lower min_flights or use a larger member table",
        )
    p1 = counts["P1Y_Flight_Count"].to_numpy()[est]
    l1 = counts["L1Y_Flight_Count"].to_numpy()[est]
    out = pd.DataFrame(
        {
            S.MEMBER: snapshot[S.MEMBER].to_numpy()[est],
            "P1Y_Flight_Count": p1.astype(np.int64),
            "L1Y_Flight_Count": l1.astype(np.int64),
        }
    )
    has_p1 = p1 > 0
    ratio = np.full(n_est, np.nan)
    ratio[has_p1] = l1[has_p1] / p1[has_p1]
    status = np.where(
        ratio < churn_below, "churned", np.where(ratio < retain_from, "at_risk", "retained")
    ).astype(object)
    rule = np.full(n_est, "ratio", dtype=object)
    growing = ~has_p1 & (l1 > 0)
    none = ~has_p1 & (l1 == 0)
    status[growing] = "retained"
    rule[growing] = "no first-year flights"
    status[none] = "churned"
    rule[none] = "no flights in either year"
    out["ratio"] = ratio
    out["rule"] = rule
    out["status"] = pd.Categorical(status, categories=list(STATUSES))
    out["churn"] = (status == "churned").astype(np.int64)
    return out


# ---------------------------------------------------------------------------------------
# definition 2: forward-looking label from a flight log
# ---------------------------------------------------------------------------------------
def observation_date(obs_end: str | pd.Timestamp, horizon_months: int) -> pd.Timestamp:
    """The observation date ``obs_end - horizon_months`` (calendar months)."""
    _check_horizon(horizon_months)
    return pd.Timestamp(obs_end).normalize() - pd.DateOffset(months=int(horizon_months))


def _check_horizon(horizon_months) -> None:
    if isinstance(horizon_months, bool) or not isinstance(horizon_months, int | np.integer):
        raise ValueError(f"horizon_months must be a whole number of months, got {horizon_months!r}")
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be at least 1, got {horizon_months}")


def forward_label(
    flights: pd.DataFrame,
    obs_date: str | pd.Timestamp,
    horizon_months: int,
    *,
    data_end: str | pd.Timestamp,
    source: str = "flights",
) -> pd.DataFrame:
    """Forward-looking churn label: no flight within ``horizon_months`` after ``obs_date``.

    The members labelled are those with at least one flight on or before ``obs_date``
    (customers at the observation date); ``churn = 1`` when they have no flight in
    ``(obs_date, obs_date + horizon_months]``.

    Parameters
    ----------
    flights : DataFrame
        ``MEMBER_NO, FLIGHT_DATE``.
    obs_date : date-like
        The observation date.
    horizon_months : int
        The horizon H in calendar months.
    data_end : date-like
        Last date the flight log covers (the dataset's ``obs_end``); the horizon must end
        on or before it, or members would be called churned for lack of data.

    Returns
    -------
    DataFrame
        ``MEMBER_NO, flights_in_horizon, churn``, sorted by member.

    Raises
    ------
    DataValidationError
        When the horizon runs past ``data_end`` or nobody flew before ``obs_date``.
    """
    _check_horizon(horizon_months)
    if is_lazy(flights):  # a Parquet log, scanned by its engine (data.engines.flightlog)
        return flights.forward_label(obs_date, horizon_months, data_end=data_end, source=source)
    S.require_columns(flights, S.FLIGHT_REQUIRED, source)
    obs_date, horizon_end = check_horizon(obs_date, horizon_months, data_end, source)
    d = flights[S.FLIGHT_DATE]
    before = flights.loc[d <= obs_date, S.MEMBER]
    members = np.unique(before.to_numpy())
    if len(members) == 0:
        raise DataValidationError(
            f"no member has a flight on or before the observation date {obs_date.date()}",
            source=source,
            column=S.FLIGHT_DATE,
            hint="Move the observation date later or shorten the horizon",
        )
    after = flights.loc[(d > obs_date) & (d <= horizon_end), S.MEMBER]
    n_after = after.value_counts().reindex(members, fill_value=0).to_numpy()
    return pd.DataFrame(
        {
            S.MEMBER: members,
            "flights_in_horizon": n_after.astype(np.int64),
            "churn": (n_after == 0).astype(np.int64),
        }
    )


def truncate_events(df: pd.DataFrame | None, date_col: str, obs_date) -> pd.DataFrame | None:
    """Rows of an event table dated on or before ``obs_date`` (None stays None)."""
    if df is None:
        return None
    return df.loc[df[date_col] <= pd.Timestamp(obs_date)]


def snapshot_as_of(
    flights: pd.DataFrame,
    members: pd.DataFrame | None,
    obs_date,
    *,
    complaints: pd.DataFrame | None = None,
    noshows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The member snapshot at ``obs_date`` from events on or before it only.

    Every event table is cut at ``obs_date`` before the lead's snapshot builder
    (:func:`crm_research.data.snapshot.build_snapshot`) sees it, so nothing after the
    observation date can reach the features (tested).
    """
    from ..data.snapshot import build_snapshot  # noqa: PLC0415

    obs_date = pd.Timestamp(obs_date).normalize()
    if is_lazy(flights):  # a Parquet log: the engine's snapshot (data.engines.flightlog)
        return flights.snapshot(obs_date, members, complaints=complaints, noshows=noshows)
    return build_snapshot(
        truncate_events(flights, S.FLIGHT_DATE, obs_date),
        members,
        obs_date,
        complaints=truncate_events(complaints, S.COMPLAINT_DATE, obs_date),
        noshows=truncate_events(noshows, S.NOSHOW_DATE, obs_date),
    )


# ---------------------------------------------------------------------------------------
# definition 3: P(alive) of the run's purchase model
# ---------------------------------------------------------------------------------------
#: The purchase model used when notebook 02 has not written ``purchase_model.json``.
DEFAULT_PURCHASE_MODEL = "bgnbd"


def purchase_scores(
    model,
    summary: pd.DataFrame,
    *,
    horizon_days: float = 365.25,
    no_flight_days: float | None = None,
) -> pd.DataFrame:
    """P(alive), expected flights and P(no flight) of every member from a purchase model.

    Parameters
    ----------
    model : fitted ``clv.BGNBD``, ``clv.MBGNBD`` or ``clv.ParetoNBD``
    summary : DataFrame
        :func:`crm_research.clv.purchase_summary` output (its ``attrs`` give the unit).
    horizon_days : float
        Horizon of ``expected_flights`` (days).
    no_flight_days : float, optional
        Horizon of ``p_no_flight`` (default ``horizon_days``): the model's probability of
        no flight in that time (:meth:`~crm_research.clv.models._PurchaseModel.prob_no_flight`),
        the model-based answer to the forward churn question.

    Returns
    -------
    DataFrame
        ``MEMBER_NO, frequency, recency, T, p_alive, expected_flights, p_no_flight``.
    """
    dpu = float(summary.attrs.get("days_per_unit", 7.0))
    x, tx, tt = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    nf = horizon_days if no_flight_days is None else no_flight_days
    table = summary[["frequency", "recency", "T"]].copy()
    table["p_alive"] = np.clip(model.p_alive(x, tx, tt), 0.0, 1.0)
    table["expected_flights"] = model.expected_flights(horizon_days / dpu, x, tx, tt)
    table["p_no_flight"] = np.clip(model.prob_no_flight(nf / dpu, x, tx, tt), 0.0, 1.0)
    return table.rename_axis(S.MEMBER).reset_index()


def palive_spec(model=None) -> dict:
    """Which purchase model churn uses: the run's (``purchase_model.json``) or the default.

    Returns ``key, name, time_unit, counting_rule, penalizer, model`` (the loaded model
    or None).
    """
    from .. import clv  # noqa: PLC0415

    if model is not None:
        meta = getattr(model, "meta_", {}) or {}
        return {
            "key": clv.model_key(model),
            "name": model.name,
            "time_unit": meta.get("time_unit", "weeks"),
            "counting_rule": meta.get("counting_rule"),
            "penalizer": float(model.penalizer),
            "model": model,
        }
    return {
        "key": DEFAULT_PURCHASE_MODEL,
        "name": clv.MODELS[DEFAULT_PURCHASE_MODEL].name,
        "time_unit": "weeks",
        "counting_rule": None,
        "penalizer": 0.0,
        "model": None,
    }


def palive_label(p_alive: pd.DataFrame, threshold: float = 0.5) -> pd.DataFrame:
    """Model-based label: churned when ``p_alive < threshold``.

    Parameters
    ----------
    p_alive : DataFrame
        ``MEMBER_NO, p_alive``.

    Returns
    -------
    DataFrame
        ``MEMBER_NO, p_alive, churn``.
    """
    S.require_columns(p_alive, (S.MEMBER, "p_alive"), "P(alive) table")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
    p = S.numeric(p_alive, "p_alive", "P(alive) table")
    S.check_range(p, "P(alive) table", "p_alive", low=0, high=1)
    return pd.DataFrame(
        {
            S.MEMBER: p_alive[S.MEMBER].to_numpy(),
            "p_alive": p.to_numpy(),
            "churn": (p.to_numpy() < threshold).astype(np.int64),
        }
    )


__all__ = [
    "DEFAULT_PURCHASE_MODEL",
    "DEFINITIONS",
    "STATUSES",
    "WINBACK",
    "check_two_classes",
    "forward_label",
    "observation_date",
    "palive_label",
    "palive_spec",
    "purchase_scores",
    "snapshot_as_of",
    "textbook_label",
    "truncate_events",
]
