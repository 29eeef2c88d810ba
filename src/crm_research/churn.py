"""Churn: who is about to leave, why, and who is worth saving.

A frequent-flyer programme has no contract, so churn has to be *defined*. This module
offers three definitions (DOMAIN.md, research question 4):

``textbook``
    From the member table alone, as in the textbook case: among established members
    (``FLIGHT_COUNT`` above a threshold, 6 by default) the ratio of last-year to
    first-year flights ``L1Y_Flight_Count / P1Y_Flight_Count``; below 0.5 churned, 0.5 to
    0.9 at risk, 0.9 and above retained. A concurrent, descriptive label.
``forward``
    From a flight log: features as of an observation date ``obs_date = obs_end - H
    months``, churned = no flight in ``(obs_date, obs_date + H months]``. Features use
    only events on or before ``obs_date`` (:func:`forward_dataset`).
``palive``
    Model-based: the probability of being alive under the run's purchase model (the one
    notebook 02 chose and saved to ``purchase_model.json``: BG/NBD, MBG/NBD or
    Pareto/NBD; Fader, Hardie & Lee 2005); churned = ``P(alive) < 0.5``.

Every model-based score comes from that one purchase model through
:mod:`crm_research.clv`, with its time unit and counting rule (flights, not flight days),
so a member's P(alive) is the same in notebooks 02, 03 and 05 (:func:`p_alive_at`). The
score that answers the forward churn question is the model's probability of no flight in
the horizon (:meth:`crm_research.clv.models._PurchaseModel.prob_no_flight`); ``1 -
P(alive)`` is kept as a baseline, and any score with a ROC AUC below 0.5 is flagged
(:func:`score_checks`).

Around the labels: an interpretable logistic regression (statsmodels, odds ratios with
95% confidence intervals), a gradient-boosting classifier (scikit-learn, class weights
with a prior correction, permutation importance), the evaluation metrics (ROC AUC, PR
AUC, Brier score, calibration, cumulative gains and lift, confusion matrix), Kaplan-Meier
curves of time to last flight (lifelines), and the retention list with a campaign
calculator: expected loss = P(churn) x value if retained (the CLV given alive, so
dropout is not counted twice), and how many members to contact.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy
way: an alternative to the Pareto/NBD model. Marketing Science 24(2), 275-284.
Neslin, S. A., Gupta, S., Kamakura, W., Lu, J. & Mason, C. H. (2006). Defection detection:
measuring and understanding the predictive accuracy of customer churn models. Journal of
Marketing Research 43(2), 204-211 (top-decile lift, the churn-model yardstick).
Elkan, C. (2001). The foundations of cost-sensitive learning. IJCAI 2001, 973-978
(re-weighting classes and correcting the predicted probabilities back).
Kaplan, E. L. & Meier, P. (1958). Nonparametric estimation from incomplete observations.
JASA 53(282), 457-481.
Blattberg, R. C., Kim, B.-D. & Neslin, S. A. (2008). Database Marketing, ch. 24 (churn
management: contact cost, acceptance rate, value of a saved customer).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data import schema as S
from .data.engines.base import check_horizon
from .data.engines.flightlog import is_lazy
from .data.schema import DataValidationError

DEFINITIONS = ("textbook", "forward", "palive")
STATUSES = ("churned", "at_risk", "retained")
WINBACK = "important_winback"
DAYS_PER_MONTH = 365.25 / 12

UPSTREAM_FILES = {
    "purchase_predictions": "purchase_predictions.parquet",  # notebook 02
    "clv": "clv.parquet",  # notebook 03
    "segments": "segments.parquet",  # notebook 04
}

#: What each feature means, for the tables a student reads.
FEATURE_LABELS = {
    "L_MONTHS": "membership length L (months)",
    "LAST_TO_END": "recency R: days since last flight",
    "FLIGHT_COUNT": "frequency F: flights in the 2-year window",
    "SEG_KM_SUM": "mileage M: km flown in the window",
    "avg_discount": "C: average fare discount (1.0 = full fare)",
    "FFP_TIER": "frequent-flyer tier",
    "AGE": "age (years)",
    "AVG_INTERVAL": "mean days between flights",
    "MAX_INTERVAL": "longest gap between flights (days)",
    "TREND": "trend: (last - first year flights) / both years",
    "Points_Sum": "points earned in the window",
    "BP_SUM": "base points in the window (km x discount)",
    "COMPLAINT_COUNT": "complaints in the window",
    "NOSHOW_COUNT": "no-shows in the window",
    "p_alive": "P(alive) (purchase model)",
    "expected_flights": "expected flights next year (purchase model)",
    "p_no_flight": "P(no flight in the horizon) (purchase model)",
}

#: Snapshot columns used as features when present (after the derived ones).
SNAPSHOT_FEATURES = (
    "LAST_TO_END",
    "FLIGHT_COUNT",
    "SEG_KM_SUM",
    "avg_discount",
    "FFP_TIER",
    "AGE",
    "AVG_INTERVAL",
    "MAX_INTERVAL",
    "Points_Sum",
    "BP_SUM",
    "COMPLAINT_COUNT",
    "NOSHOW_COUNT",
)

#: Features that would give the label away (they define it), per definition.
LABEL_INGREDIENTS = {
    "textbook": ("TREND", "P1Y_Flight_Count", "L1Y_Flight_Count"),
    "forward": (),
    "palive": ("p_alive", "expected_flights"),
}

#: Member-table attributes recorded at the end of the data. At an earlier observation
#: date they would carry the future (the tier is set by the last year's mileage, and
#: Points_Sum includes the tier bonus), so forward-looking features leave them out.
TIME_VARYING_MEMBER_ATTRIBUTES = ("FFP_TIER", "Points_Sum")


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
    from .data.snapshot import build_snapshot  # noqa: PLC0415

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
    from . import clv  # noqa: PLC0415

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


# ---------------------------------------------------------------------------------------
# upstream outputs and the data kinds
# ---------------------------------------------------------------------------------------
def load_upstream(
    processed_dir: str | os.PathLike,
) -> tuple[dict[str, pd.DataFrame | None], list[str]]:
    """Read the outputs of notebooks 02-04 where they exist.

    Returns
    -------
    tables : dict
        ``purchase_predictions``, ``clv``, ``segments``: a DataFrame or None;
        ``purchase_model``: the run's purchase model (``purchase_model.json``) or None.
    notes : list of str
        One sentence per table saying whether it was found.

    Raises
    ------
    DataValidationError
        When a file exists but has no ``MEMBER_NO`` column or duplicate ids.
    """
    d = Path(processed_dir)
    tables: dict[str, pd.DataFrame | None] = {}
    notes = []
    for key, name in UPSTREAM_FILES.items():
        p = d / name
        if p.exists():
            df = pd.read_parquet(p)
            _check_member_ids(df, str(p))
            tables[key] = df
            notes.append(f"{name}: found ({len(df):,} members, columns {list(df.columns)})")
        else:
            tables[key] = None
            notes.append(f"{name}: not found (its notebook has not run); a fallback is used")
    from .clv import load_purchase_model  # noqa: PLC0415

    p = d / "purchase_model.json"
    tables["purchase_model"] = load_purchase_model(p) if p.exists() else None
    if tables["purchase_model"] is not None:
        m = tables["purchase_model"]
        notes.append(
            f"purchase_model.json: found ({m.name}, time unit {m.meta_['time_unit']}, counting "
            f"rule {m.meta_['counting_rule']}; {m.verdict_.sentence()})"
        )
    else:
        notes.append(
            "purchase_model.json: not found (notebook 02 has not run); the BG/NBD is fitted here"
        )
    return tables, notes


def available_definitions(ds, upstream: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Which churn definitions the data can support, and why not when they cannot.

    Returns
    -------
    DataFrame
        ``definition, available, reason``.
    """
    snap = ds.snapshot
    upstream = upstream or {}
    has_tb = all(
        c in snap.columns for c in ("FLIGHT_COUNT", "P1Y_Flight_Count", "L1Y_Flight_Count")
    )
    if ds.info.get("has_ffp_columns") is False:
        tb_reason = (
            "the data have no frequent-flyer columns (e.g. CDNOW: a retail purchase log), "
            "so the textbook's established-member rule does not apply"
        )
        has_tb = False
    elif has_tb:
        tb_reason = "member table has FLIGHT_COUNT, P1Y_Flight_Count, L1Y_Flight_Count"
    else:
        tb_reason = "the member table lacks P1Y_Flight_Count / L1Y_Flight_Count"
    fw = ds.flights is not None
    fw_reason = (
        "a flight log is available"
        if fw
        else "no flight log (member table only): nothing is "
        "known about flights after an observation date"
    )
    up_pa = upstream.get("purchase_model") is not None or any(
        upstream.get(k) is not None and "p_alive" in upstream[k].columns
        for k in ("purchase_predictions", "clv")
    )
    pa = fw or up_pa
    pa_reason = (
        "the purchase model on the flight log"
        if fw
        else (
            "P(alive) from the run's purchase model"
            if up_pa
            else "no flight log and no upstream P(alive)"
        )
    )
    return pd.DataFrame(
        {
            "definition": list(DEFINITIONS),
            "available": [has_tb, fw, pa],
            "reason": [tb_reason, fw_reason, pa_reason],
        }
    )


def resolve_definition(definition: str, available: pd.DataFrame) -> tuple[str, str]:
    """The definition to model: ``definition`` if the data support it, else a fallback.

    ``"auto"`` picks forward when there is a flight log, else textbook, else palive.

    Returns
    -------
    (definition, note)
    """
    ok = dict(zip(available["definition"], available["available"], strict=True))
    why = dict(zip(available["definition"], available["reason"], strict=True))
    if definition not in (*DEFINITIONS, "auto"):
        raise ValueError(f"definition must be one of {DEFINITIONS} or 'auto', got {definition!r}")
    order = ("forward", "textbook", "palive")
    if definition != "auto" and ok[definition]:
        return definition, f"using the {definition!r} definition as requested"
    for d in order:
        if ok[d]:
            note = (
                f"'auto': using {d!r}"
                if definition == "auto"
                else f"{definition!r} is not possible here ({why[definition]}); using {d!r} instead"
            )
            return d, note
    raise DataValidationError(
        "no churn definition is possible: " + "; ".join(f"{d}: {why[d]}" for d in order),
        source="dataset",
    )


# ---------------------------------------------------------------------------------------
# features
# ---------------------------------------------------------------------------------------
def churn_features(
    snapshot: pd.DataFrame,
    *,
    extra: pd.DataFrame | None = None,
    exclude: tuple[str, ...] | list[str] = (),
    source: str = "snapshot",
) -> pd.DataFrame:
    """Numeric churn features from a member snapshot, indexed by ``MEMBER_NO``.

    LRFMC (``L_MONTHS`` = months from enrolment to ``LOAD_TIME``, ``LAST_TO_END``,
    ``FLIGHT_COUNT``, ``SEG_KM_SUM``, ``avg_discount``), tier, age, the intervals
    between flights, ``TREND = (L1Y - P1Y) / (L1Y + P1Y)`` (0 when both are 0), points,
    complaints and no-shows, each where the snapshot has it; plus the columns of
    ``extra`` (e.g. ``p_alive``, ``expected_flights``) joined on ``MEMBER_NO``.
    Columns that are missing for every member are dropped. Values stay missing where the
    snapshot has them missing (see :class:`FeatureImputer`).
    """
    _check_member_ids(snapshot, source)
    X = pd.DataFrame(index=pd.Index(snapshot[S.MEMBER].to_numpy(), name=S.MEMBER))
    if "LOAD_TIME" in snapshot.columns and S.FFP_DATE in snapshot.columns:
        load = pd.to_datetime(snapshot["LOAD_TIME"]).to_numpy()
        ffp = pd.to_datetime(snapshot[S.FFP_DATE]).to_numpy()
        X["L_MONTHS"] = (load - ffp) / np.timedelta64(1, "D") / DAYS_PER_MONTH
    for c in SNAPSHOT_FEATURES:
        if c in snapshot.columns:
            X[c] = S.numeric(snapshot, c, source, allow_missing=True).to_numpy()
    if "P1Y_Flight_Count" in snapshot.columns and "L1Y_Flight_Count" in snapshot.columns:
        p1 = S.numeric(snapshot, "P1Y_Flight_Count", source, allow_missing=True).to_numpy()
        l1 = S.numeric(snapshot, "L1Y_Flight_Count", source, allow_missing=True).to_numpy()
        tot = p1 + l1
        with np.errstate(invalid="ignore", divide="ignore"):
            X["TREND"] = np.where(tot > 0, (l1 - p1) / tot, 0.0)
        X.loc[np.isnan(tot), "TREND"] = np.nan
    if extra is not None:
        _check_member_ids(extra, "extra features")
        e = extra.set_index(S.MEMBER)
        for c in e.columns:
            X[c] = pd.to_numeric(e[c], errors="coerce").reindex(X.index).to_numpy(float)
    X = X.drop(columns=[c for c in exclude if c in X.columns])
    X = X.loc[:, X.notna().any()]
    return X.astype(float)


@dataclass
class FeatureImputer:
    """Median imputation fitted on the training members, with a report.

    ``strategy="median"`` fills a missing value with the training median of its column;
    ``strategy="drop"`` drops the members with any missing value. ``report_`` says how
    many values (and members) were imputed or dropped per column.
    """

    strategy: str = "median"
    medians_: pd.Series | None = None
    report_: pd.DataFrame | None = None

    def fit(self, X: pd.DataFrame) -> FeatureImputer:
        if self.strategy not in ("median", "drop"):
            raise ValueError(f"strategy must be 'median' or 'drop', got {self.strategy!r}")
        self.medians_ = X.median()
        return self

    def transform(self, X: pd.DataFrame, name: str = "features") -> pd.DataFrame:
        if self.medians_ is None:
            raise RuntimeError("call fit() first")
        miss = X.isna()
        rep = pd.DataFrame(
            {
                "table": name,
                "feature": X.columns,
                "n_missing": miss.sum().to_numpy(),
                "share_missing": miss.mean().to_numpy(),
                "fill_value": self.medians_.reindex(X.columns).to_numpy()
                if self.strategy == "median"
                else np.nan,
            }
        )
        rep = rep[rep["n_missing"] > 0].reset_index(drop=True)
        rep["action"] = (
            "imputed with the training median" if self.strategy == "median" else "member dropped"
        )
        self.report_ = (
            rep if self.report_ is None else pd.concat([self.report_, rep], ignore_index=True)
        )
        if self.strategy == "drop":
            return X.loc[~miss.any(axis=1)]
        return X.fillna(self.medians_)


# ---------------------------------------------------------------------------------------
# the modelling data for one definition
# ---------------------------------------------------------------------------------------
@dataclass
class ChurnData:
    """Everything the models need for one churn definition.

    Attributes
    ----------
    definition : str
    X_train, X_test : DataFrame
        Imputed features of the training and the held-out members (index ``MEMBER_NO``).
    y_train, y_test : Series
        The label (1 = churned).
    baseline_test : Series or None
        ``1 - P(alive)`` of the held-out members (the model-based baseline score).
    X_now : DataFrame
        Imputed features of the members to score today (at ``obs_end``) for the retention
        list, built exactly like the training features.
    baseline_now : Series or None
    label_train, label_test : DataFrame
        The label tables (with the columns of the label definition).
    dates : dict
        ``features`` (observation date of the test features), ``train_features``,
        ``label_end``, ``now``.
    split : str
        ``"time"`` (train at an earlier date, test at the observation date, disjoint
        members) or ``"stratified"`` (one date, held-out members stratified by label).
    notes : list of str
        What was done and why (printed by the notebook).
    imputation : DataFrame
        The imputer's report.
    feature_sources : dict
        Where P(alive) came from at each date.
    no_flight_test, no_flight_now : Series or None
        The purchase model's probability of no flight in the horizon
        (:meth:`~crm_research.clv.models._PurchaseModel.prob_no_flight`) for the held-out
        members and for today's members: the model-based score that answers the churn
        question (``1 - P(alive)`` is 0 for every member without a repeat flight under
        the BG/NBD).
    """

    definition: str
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series
    baseline_test: pd.Series | None
    X_now: pd.DataFrame
    baseline_now: pd.Series | None
    label_train: pd.DataFrame
    label_test: pd.DataFrame
    dates: dict
    split: str
    notes: list[str] = field(default_factory=list)
    imputation: pd.DataFrame | None = None
    feature_sources: dict = field(default_factory=dict)
    no_flight_test: pd.Series | None = None
    no_flight_now: pd.Series | None = None

    def counts(self) -> pd.DataFrame:
        """Members and churners in the training and held-out parts."""
        rows = []
        for part, y in (("train", self.y_train), ("test (held out)", self.y_test)):
            rows.append(
                {
                    "part": part,
                    "members": len(y),
                    "churned": int(y.sum()),
                    "churn_rate": float(y.mean()),
                }
            )
        return pd.DataFrame(rows)


def p_alive_at(
    ds,
    as_of,
    upstream: Mapping[str, Any] | None = None,
    *,
    horizon_weeks: float = 52.0,
    no_flight_weeks: float | None = None,
    cache: dict | None = None,
) -> tuple[pd.DataFrame | None, str, dict | None]:
    """P(alive), expected flights and P(no flight) at ``as_of`` from the run's purchase model.

    The purchase model is the one notebook 02 chose (``upstream["purchase_model"]``, read
    from ``purchase_model.json``; else the BG/NBD), with its time unit and counting rule
    (flights, not flight days, for an airline log), all through :mod:`crm_research.clv`:

    - at the dataset's ``obs_end`` the saved model itself scores the members, so P(alive)
      is the same as in notebooks 02 and 03;
    - at an earlier date (the forward definition) the same model is refitted on the
      flights on or before ``as_of`` with the fit ladder
      (:func:`crm_research.clv.fit_ladder`), since the saved fit saw the future; its
      verdict is returned and kept in ``cache["model_checks"]``.

    Without a model file and without a flight log, P(alive) comes from notebook 02's or
    03's tables where they exist.

    Returns
    -------
    table : DataFrame or None
        ``MEMBER_NO, p_alive, expected_flights`` (+ ``p_no_flight``); None when impossible.
    note : str
    verdict : dict or None
        ``FitVerdict.to_dict()`` of the fit used (None for upstream tables).

    A ``cache`` dict (shared by the calls of one notebook) keeps each fit, so the same
    date is never fitted twice.
    """
    from . import clv  # noqa: PLC0415

    upstream = upstream or {}
    as_of = pd.Timestamp(as_of).normalize()
    spec = palive_spec(upstream.get("purchase_model"))
    nf_weeks = horizon_weeks if no_flight_weeks is None else no_flight_weeks
    key = ("palive", spec["key"], as_of)
    model = spec["model"]
    if as_of == ds.obs_end and model is None:
        for tkey, exp_col, nb in (
            ("purchase_predictions", "expected_flights_next_year", "02"),
            ("clv", None, "03"),  # its expected_flights cover the CLV horizon, not a year
        ):
            t = upstream.get(tkey)
            if t is not None and "p_alive" in t.columns:
                out = pd.DataFrame(
                    {S.MEMBER: t[S.MEMBER].to_numpy(), "p_alive": t["p_alive"].to_numpy(float)}
                )
                if exp_col is not None and exp_col in t.columns:
                    out["expected_flights"] = t[exp_col].to_numpy(float)
                return (
                    out,
                    f"P(alive) at {as_of.date()} from notebook {nb} ({UPSTREAM_FILES[tkey]})",
                    None,
                )
    if cache is not None and key in cache:
        model, summ, where = cache[key]
    elif as_of == ds.obs_end and model is not None:
        summ = clv.purchase_summary(
            ds, time_unit=spec["time_unit"], counting_rule=spec["counting_rule"]
        )
        where = "the run's purchase model (purchase_model.json, notebook 02)"
    elif ds.flights is None:
        return None, "no flight log and no purchase model: P(alive) is not available", None
    else:
        summ = clv.purchase_summary(
            ds,
            time_unit=spec["time_unit"],
            counting_rule=spec["counting_rule"],
            observation_end=as_of,
        )
        model = clv.fit_ladder(
            spec["key"],
            summ,
            penalizer=spec["penalizer"],
            source=f"flights up to {as_of.date()}",
            context=f"notebook 05: {spec['name']} refitted on the flights up to {as_of.date()}",
        )
        where = f"{spec['name']} refitted on the flights up to that date"
        if cache is not None:
            cache.setdefault("model_checks", []).append(model.verdict_.to_dict())
    if cache is not None:
        cache[key] = (model, summ, where)
    verdict = model.verdict_
    table = purchase_scores(
        model, summ, horizon_days=7.0 * horizon_weeks, no_flight_days=7.0 * nf_weeks
    )
    p = {k: float(v) for k, v in model.params_.items()}
    rule = spec["counting_rule"] or clv.counting_rule_for(ds)
    note = (
        f"P(alive) at {as_of.date()} from {where} ("
        + ", ".join(f"{k}={v:.3g}" for k, v in p.items())
        + f"; time unit {spec['time_unit']}, counting rule: {rule}; verdict: {verdict.status})"
    )
    return table[[S.MEMBER, "p_alive", "expected_flights", "p_no_flight"]], note, verdict.to_dict()


def horizon_weeks_of(horizon_months: int) -> float:
    """A horizon in calendar months expressed in weeks (the BG/NBD time unit)."""
    return float(horizon_months) * DAYS_PER_MONTH / 7.0


def _as_features(pa: pd.DataFrame | None) -> pd.DataFrame | None:
    """The P(alive) columns used as features (not the no-flight probability, a score)."""
    if pa is None:
        return None
    return pa[[c for c in (S.MEMBER, "p_alive", "expected_flights") if c in pa.columns]]


def dataset_snapshot_at(ds, date, *, cache: dict | None = None) -> pd.DataFrame:
    """The dataset's member snapshot at ``date`` (:func:`snapshot_as_of`; cached)."""
    date = pd.Timestamp(date).normalize()
    if ds.flights is None:
        if date != ds.obs_end:
            raise DataValidationError(
                f"a snapshot at {date.date()} needs a flight log; this dataset has only the "
                f"member table at {ds.obs_end.date()}",
                source="dataset",
            )
        return ds.snapshot
    key = ("snapshot", date)
    if cache is not None and key in cache:
        return cache[key]
    snap = snapshot_as_of(
        ds.flights, ds.members, date, complaints=ds.complaints, noshows=ds.noshows
    )
    if cache is not None:
        cache[key] = snap
    return snap


def forward_dataset(
    ds,
    obs_date,
    horizon_months: int,
    *,
    with_p_alive: bool = True,
    cache: dict | None = None,
    upstream: Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None, str]:
    """Features and forward label at ``obs_date`` from the dataset's flight log.

    Features come from :func:`snapshot_as_of` (events up to ``obs_date`` only) without
    the member-table attributes recorded at the end of the data
    (:data:`TIME_VARYING_MEMBER_ATTRIBUTES`); P(alive) from the run's purchase model
    (``upstream["purchase_model"]``) refitted on the same truncated log
    (:func:`p_alive_at`).

    Returns
    -------
    X : DataFrame (not imputed), label : DataFrame, p_alive : DataFrame or None, note : str
    """
    if ds.flights is None:
        raise DataValidationError(
            "the forward-looking label needs a flight log; this dataset has a member table only",
            source="dataset",
        )
    label = forward_label(ds.flights, obs_date, horizon_months, data_end=ds.obs_end)
    snap = dataset_snapshot_at(ds, obs_date, cache=cache)
    pa, note = None, "P(alive) not used"
    if with_p_alive:
        pa, note, _ = p_alive_at(
            ds,
            obs_date,
            upstream,
            no_flight_weeks=horizon_weeks_of(horizon_months),
            cache=cache,
        )
    X = churn_features(
        snap,
        extra=_as_features(pa),
        exclude=TIME_VARYING_MEMBER_ATTRIBUTES + LABEL_INGREDIENTS["forward"],
    )
    X = X.reindex(label[S.MEMBER].to_numpy())
    return X, label, pa, note


def build_churn_data(
    ds,
    definition: str,
    *,
    upstream: Mapping[str, Any] | None = None,
    horizon_months: int = 12,
    min_flights: int = 6,
    churn_below: float = 0.5,
    retain_from: float = 0.9,
    palive_threshold: float = 0.5,
    split: str = "auto",
    test_size: float = 0.3,
    impute: str = "median",
    seed: int = 42,
    cache: dict | None = None,
) -> ChurnData:
    """Labels, features, split and baseline for one churn definition.

    ``forward``: test features at ``obs_date = obs_end - H``, labels from the next H
    months. With ``split="time"`` (the default when the log reaches back far enough) the
    model is trained one horizon earlier (features at ``obs_date - H``, labels up to
    ``obs_date``) on a disjoint random half of the members and tested on the others at
    ``obs_date``: a true out-of-time, out-of-sample test. ``X_now`` are the features at
    ``obs_end`` for the retention list.

    ``textbook`` and ``palive``: features and label from the snapshot at ``obs_end``,
    held-out members drawn stratified by label.

    Missing feature values are imputed with the training medians (or the members
    dropped, ``impute="drop"``); the counts are in ``imputation``.
    """
    upstream = upstream or {}
    notes: list[str] = []
    rng_seed = int(seed)
    no_flight = no_flight_now = None
    obs_end = ds.obs_end
    sources: dict = {}
    if definition == "forward":
        t1 = observation_date(obs_end, horizon_months)
        t0 = observation_date(t1, horizon_months)
        X1, lab1, pa1, note1 = forward_dataset(
            ds, t1, horizon_months, cache=cache, upstream=upstream
        )
        sources["p_alive (test features)"] = note1
        want_time = split in ("auto", "time")
        use_time = False
        if want_time:
            first = ds.flights[S.FLIGHT_DATE].min()
            if t0 > first:
                X0, lab0, _, note0 = forward_dataset(
                    ds, t0, horizon_months, cache=cache, upstream=upstream
                )
                sources["p_alive (train features)"] = note0
                use_time = lab0["churn"].nunique() == 2 and len(lab0) >= 50
            if not use_time and split == "time":
                raise DataValidationError(
                    f"a time-based split needs flights before {t0.date()} (two horizons "
                    "before the end of the data) with churners and non-churners",
                    source="flights",
                    column=S.FLIGHT_DATE,
                    hint="Use split='stratified' or a shorter horizon",
                )
        check_two_classes(lab1["churn"], "forward", source=f"forward label at {t1.date()}")
        if use_time:
            rng = np.random.default_rng(rng_seed)
            ids = np.union1d(lab0[S.MEMBER].to_numpy(), lab1[S.MEMBER].to_numpy())
            test_ids = ids[rng.random(len(ids)) < test_size]
            tr = ~lab0[S.MEMBER].isin(test_ids).to_numpy()
            te = lab1[S.MEMBER].isin(test_ids).to_numpy()
            Xtr, ltr = X0.loc[tr], lab0.loc[tr]
            Xte, lte = X1.loc[te], lab1.loc[te]
            notes.append(
                f"time-based split: trained on features at {t0.date()} with churn in the "
                f"{horizon_months} months to {t1.date()} ({len(ltr):,} members), tested on "
                f"other members ({len(lte):,}) with features at {t1.date()} and churn up to "
                f"{(t1 + pd.DateOffset(months=horizon_months)).date()}"
            )
            split_used = "time"
            train_date = t0
        else:
            Xtr, Xte, ltr, lte = _stratified(X1, lab1, test_size, rng_seed)
            notes.append(
                f"stratified split at one observation date {t1.date()}: "
                f"{len(ltr):,} training and {len(lte):,} held-out members"
            )
            split_used = "stratified"
            train_date = t1
        check_two_classes(ltr["churn"], "forward", source="forward label (training part)")
        base_test = None
        if pa1 is not None:
            pa1_s = pa1.set_index(S.MEMBER)
            base_test = 1.0 - pa1_s["p_alive"].reindex(lte[S.MEMBER].to_numpy())
            if "p_no_flight" in pa1_s.columns:
                no_flight = pa1_s["p_no_flight"].reindex(lte[S.MEMBER].to_numpy())
        # features of today's members, for the retention list: the run's purchase model
        # (the one refitted above at the earlier dates, with the same time unit and
        # counting rule), so the classifier sees the same kind of input
        pa_now, note_now, _ = p_alive_at(
            ds, obs_end, upstream, no_flight_weeks=horizon_weeks_of(horizon_months), cache=cache
        )
        sources["p_alive (today)"] = note_now
        X_now = churn_features(
            ds.snapshot, extra=_as_features(pa_now), exclude=TIME_VARYING_MEMBER_ATTRIBUTES
        )
        base_now = (
            1.0 - pa_now.set_index(S.MEMBER)["p_alive"].reindex(X_now.index)
            if pa_now is not None
            else None
        )
        if pa_now is not None and "p_no_flight" in pa_now.columns:
            no_flight_now = pa_now.set_index(S.MEMBER)["p_no_flight"].reindex(X_now.index)
        dates = {
            "features": t1,
            "train_features": train_date,
            "label_end": t1 + pd.DateOffset(months=horizon_months),
            "now": obs_end,
        }
        notes.append(
            "features leave out FFP_TIER and Points_Sum: the member table records the tier "
            "at the end of the data, which would leak the future into earlier features"
        )
    elif definition in ("textbook", "palive"):
        pa_now, note_now, _ = p_alive_at(
            ds, obs_end, upstream, no_flight_weeks=horizon_weeks_of(horizon_months), cache=cache
        )
        sources["p_alive"] = note_now
        if definition == "textbook":
            lab = textbook_label(
                ds.snapshot,
                min_flights=min_flights,
                churn_below=churn_below,
                retain_from=retain_from,
            )
            notes.append(
                f"textbook label at {obs_end.date()}: {len(lab):,} established members "
                f"(more than {min_flights} flights); features leave out P1Y/L1Y and TREND, "
                "which define the label"
            )
        else:
            if pa_now is None:
                raise DataValidationError(
                    "the 'palive' definition needs P(alive): no flight log and no upstream "
                    "purchase_predictions.parquet / clv.parquet",
                    source="dataset",
                )
            lab = palive_label(pa_now, palive_threshold)
            notes.append(
                f"model-based label at {obs_end.date()}: churned when P(alive) < "
                f"{palive_threshold}; features leave out p_alive and expected_flights, which "
                "define the label"
            )
        check_two_classes(lab["churn"], definition, source=f"{definition} label")
        X = churn_features(
            ds.snapshot, extra=_as_features(pa_now), exclude=LABEL_INGREDIENTS[definition]
        ).reindex(lab[S.MEMBER].to_numpy())
        Xtr, Xte, ltr, lte = _stratified(X, lab, test_size, rng_seed)
        notes.append(
            f"stratified split at {obs_end.date()}: {len(ltr):,} training and {len(lte):,} "
            "held-out members"
        )
        split_used = "stratified"
        check_two_classes(ltr["churn"], definition, source=f"{definition} label (training part)")
        base_test = base_now = None
        if pa_now is not None:
            pa_s = pa_now.set_index(S.MEMBER)["p_alive"]
            base_test = 1.0 - pa_s.reindex(lte[S.MEMBER].to_numpy())
            base_now = 1.0 - pa_s.reindex(X.index)
            if "p_no_flight" in pa_now.columns:
                nf_s = pa_now.set_index(S.MEMBER)["p_no_flight"]
                no_flight = nf_s.reindex(lte[S.MEMBER].to_numpy())
                no_flight_now = nf_s.reindex(X.index)
        X_now = X
        dates = {
            "features": obs_end,
            "train_features": obs_end,
            "label_end": obs_end,
            "now": obs_end,
        }
    else:
        raise ValueError(f"definition must be one of {DEFINITIONS}, got {definition!r}")

    # members whose features are missing altogether (not in the snapshot)
    absent = Xtr.isna().all(axis=1)
    if absent.any():
        notes.append(f"{int(absent.sum())} training members have no features and are dropped")
        Xtr, ltr = Xtr.loc[~absent.to_numpy()], ltr.loc[~absent.to_numpy()]
    X_now = X_now[[c for c in Xtr.columns if c in X_now.columns]]
    Xte = Xte[Xtr.columns]
    imp = FeatureImputer(impute).fit(Xtr)
    Xtr_i = imp.transform(Xtr, "train")
    Xte_i = imp.transform(Xte, "test")
    missing_now = [c for c in Xtr.columns if c not in X_now.columns]
    for c in missing_now:
        X_now[c] = np.nan
    X_now_i = imp.transform(X_now[Xtr.columns], "now")
    ytr = ltr.set_index(S.MEMBER)["churn"].reindex(Xtr_i.index)
    yte = lte.set_index(S.MEMBER)["churn"].reindex(Xte_i.index)
    if base_test is not None:
        base_test = pd.Series(np.asarray(base_test, float), index=lte[S.MEMBER].to_numpy()).reindex(
            Xte_i.index
        )
        n_nan = int(base_test.isna().sum())
        if n_nan:
            notes.append(f"{n_nan} held-out members have no P(alive); baseline set to 0.5 for them")
            base_test = base_test.fillna(0.5)
    if no_flight is not None:
        no_flight = pd.Series(np.asarray(no_flight, float), index=lte[S.MEMBER].to_numpy()).reindex(
            Xte_i.index
        )
        no_flight = no_flight.fillna(no_flight.median())
    if base_now is not None:
        base_now = pd.Series(np.asarray(base_now, float), index=X_now.index).reindex(X_now_i.index)
    if no_flight_now is not None:
        no_flight_now = pd.Series(np.asarray(no_flight_now, float), index=X_now.index).reindex(
            X_now_i.index
        )
    n_imp = imp.report_["n_missing"].sum() if len(imp.report_) else 0
    notes.append(
        f"missing feature values: {int(n_imp):,} "
        + ("imputed with training medians" if impute == "median" else "-> members dropped")
        + " (details in the imputation table)"
    )
    return ChurnData(
        definition=definition,
        X_train=Xtr_i,
        X_test=Xte_i,
        y_train=ytr.astype(np.int64),
        y_test=yte.astype(np.int64),
        baseline_test=base_test,
        X_now=X_now_i,
        baseline_now=base_now,
        label_train=ltr.reset_index(drop=True),
        label_test=lte.reset_index(drop=True),
        dates=dates,
        split=split_used,
        notes=notes,
        imputation=imp.report_,
        feature_sources=sources,
        no_flight_test=no_flight,
        no_flight_now=no_flight_now,
    )


def _stratified(X, lab, test_size, seed):
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    if not 0 < test_size < 1:
        raise ValueError(f"test_size must lie in (0, 1), got {test_size}")
    idx = np.arange(len(lab))
    y = lab["churn"].to_numpy()
    if np.bincount(y, minlength=2).min() < 2:
        raise DataValidationError(
            "a stratified split needs at least 2 members of each class",
            source="churn label",
            column="churn",
            values=[f"churned: {int(y.sum())}", f"not churned: {int(len(y) - y.sum())}"],
        )
    tr, te = train_test_split(idx, test_size=test_size, stratify=y, random_state=seed)
    tr, te = np.sort(tr), np.sort(te)
    return X.iloc[tr], X.iloc[te], lab.iloc[tr], lab.iloc[te]


# ---------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------
class ChurnLogit:
    """Logistic regression for researchers: odds ratios per standard deviation.

    A thin wrapper over ``statsmodels.api.Logit``. Features are standardised (mean 0,
    SD 1 on the training members) so each odds ratio reads "one standard deviation more
    of this feature multiplies the odds of churn by ...". Constant features, and features
    correlated above ``max_corr`` with an earlier one, are left out (``dropped_``) so the
    coefficients stay identified. The model is fitted without class weights: under class
    imbalance the slopes (odds ratios) are unaffected and only the intercept reflects the
    churn rate, so predicted probabilities stay calibrated.
    """

    def __init__(self, max_corr: float = 0.95, maxiter: int = 200):
        self.max_corr = max_corr
        self.maxiter = maxiter

    def fit(self, X: pd.DataFrame, y) -> ChurnLogit:
        import statsmodels.api as sm  # noqa: PLC0415

        y = np.asarray(y, float)
        check_two_classes(y, "logit", source="training label")
        self.dropped_ = {}
        sd = X.std()
        keep = []
        for c in X.columns:
            if not np.isfinite(sd[c]) or sd[c] == 0:
                self.dropped_[c] = "constant"
                continue
            if keep:
                r = X[keep].corrwith(X[c]).abs()
                if (r > self.max_corr).any():
                    self.dropped_[c] = f"correlated {r.max():.2f} with {r.idxmax()}"
                    continue
            keep.append(c)
        if not keep:
            raise ValueError("no usable feature for the logistic regression (all constant)")
        self.features_ = keep
        self.mean_ = X[keep].mean()
        self.sd_ = X[keep].std()
        Z = sm.add_constant((X[keep] - self.mean_) / self.sd_, has_constant="add")
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            try:
                res = sm.Logit(y, Z).fit(disp=0, method="newton", maxiter=self.maxiter)
            except np.linalg.LinAlgError as exc:
                raise ValueError(
                    f"the logistic regression is singular ({exc}); features {keep}"
                ) from None
        self.warnings_ = sorted({str(x.message).splitlines()[0] for x in w})
        self.result_ = res
        self.converged_ = bool(res.mle_retvals.get("converged", True))
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """P(churn) for each row of ``X``."""
        import statsmodels.api as sm  # noqa: PLC0415

        Z = sm.add_constant((X[self.features_] - self.mean_) / self.sd_, has_constant="add")
        return np.asarray(self.result_.predict(Z), float)

    def odds_ratios(self) -> pd.DataFrame:
        """The odds-ratio table: one row per feature, sorted by distance from 1.

        Columns: ``feature, meaning, one_sd`` (the size of one standard deviation in the
        feature's unit), ``odds_ratio, ci_low, ci_high`` (95%), ``p_value`` and
        ``reading`` (a sentence).
        """
        res = self.result_
        ci = np.exp(res.conf_int(0.05))
        rows = []
        for c in self.features_:
            orr = float(np.exp(res.params[c]))
            lo, hi = float(ci.loc[c, 0]), float(ci.loc[c, 1])
            sig = "significant" if res.pvalues[c] < 0.05 else "not significant"
            direction = "raises" if orr > 1 else "lowers"
            rows.append(
                {
                    "feature": c,
                    "meaning": FEATURE_LABELS.get(c, c),
                    "one_sd": float(self.sd_[c]),
                    "odds_ratio": orr,
                    "ci_low": lo,
                    "ci_high": hi,
                    "p_value": float(res.pvalues[c]),
                    "reading": f"{c}: +1 SD ({self.sd_[c]:.3g}) {direction} the odds of churn "
                    f"x{orr:.2f} (95% CI {lo:.2f}-{hi:.2f}; {sig} at 5%)",
                }
            )
        out = pd.DataFrame(rows)
        order = np.argsort(-np.abs(np.log(out["odds_ratio"].to_numpy())))
        return out.iloc[order].reset_index(drop=True)


class ChurnGBM:
    """Gradient-boosting churn classifier with deliberate class weighting.

    A thin wrapper over ``sklearn.ensemble.HistGradientBoostingClassifier``. The classes
    are weighted ``"balanced"`` (each class carries half the total weight), so the trees
    pay as much attention to the minority class as to the majority. Weighting shifts the
    predicted odds by the weight ratio; :meth:`predict_proba` undoes that shift (Elkan
    2001: multiply the odds by ``w0 / w1``), so its probabilities are again on the scale
    of the true churn rate and can be used in ``P(churn) x CLV``. The ranking (ROC AUC,
    lift) is unchanged by the correction.
    """

    def __init__(
        self,
        class_weight: str | None = "balanced",
        correct_prior: bool = True,
        max_iter: int = 200,
        learning_rate: float = 0.08,
        max_leaf_nodes: int = 31,
        seed: int = 42,
        n_threads: int | None = 1,
    ):
        self.class_weight = class_weight
        self.n_threads = n_threads
        self.correct_prior = correct_prior
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.seed = seed

    def fit(self, X: pd.DataFrame, y) -> ChurnGBM:
        from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: PLC0415

        y = np.asarray(y, np.int64)
        check_two_classes(y, "gradient boosting", source="training label")
        self.features_ = list(X.columns)
        n1 = int(y.sum())
        n0 = len(y) - n1
        if self.class_weight == "balanced":
            self.weights_ = (len(y) / (2 * n0), len(y) / (2 * n1))
        elif self.class_weight is None:
            self.weights_ = (1.0, 1.0)
        else:
            raise ValueError(f"class_weight must be 'balanced' or None, got {self.class_weight!r}")
        model = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            class_weight=self.class_weight,
            early_stopping=True,
            validation_fraction=0.15,
            n_iter_no_change=15,
            random_state=self.seed,
        )
        with self._threads():
            self.model_ = model.fit(X, y)
        return self

    def _threads(self):
        """Limit OpenMP threads (``n_threads``; None = library default).

        On a busy machine OpenMP threads that outnumber free cores slow boosting down
        many times over; one thread is close to the fastest on two cores.
        """
        from threadpoolctl import threadpool_limits  # noqa: PLC0415

        return threadpool_limits(limits=self.n_threads, user_api="openmp")

    def predict_proba_weighted(self, X: pd.DataFrame) -> np.ndarray:
        """P(churn) on the re-weighted scale (as the trees see it)."""
        with self._threads():
            return self.model_.predict_proba(X[self.features_])[:, 1]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """P(churn), corrected back to the true class balance when ``correct_prior``."""
        p = np.clip(self.predict_proba_weighted(X), 1e-12, 1 - 1e-12)
        if not self.correct_prior:
            return p
        w0, w1 = self.weights_
        odds = p / (1 - p) * (w0 / w1)
        return odds / (1 + odds)

    def permutation_importance(
        self,
        X: pd.DataFrame,
        y,
        n_repeats: int = 5,
        scoring: str = "roc_auc",
        max_members: int = 5000,
    ) -> pd.DataFrame:
        """Drop in held-out ``scoring`` when one feature is shuffled (sklearn).

        Each repeat uses a random subsample of at most ``max_members`` members (sklearn's
        ``max_samples``), which keeps it fast on large programmes.

        Returns ``feature, meaning, importance_mean, importance_std``, largest first.
        """
        from sklearn.inspection import permutation_importance  # noqa: PLC0415

        with self._threads():
            r = permutation_importance(
                self.model_,
                X[self.features_],
                np.asarray(y),
                scoring=scoring,
                n_repeats=n_repeats,
                random_state=self.seed,
                max_samples=min(1.0, max_members / max(len(X), 1)),
            )
        out = pd.DataFrame(
            {
                "feature": self.features_,
                "meaning": [FEATURE_LABELS.get(c, c) for c in self.features_],
                "importance_mean": r.importances_mean,
                "importance_std": r.importances_std,
            }
        )
        return out.sort_values("importance_mean", ascending=False).reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# evaluation metrics (tested against scikit-learn's)
# ---------------------------------------------------------------------------------------
def _yp(y, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    p = np.asarray(p, float)
    if y.shape != p.shape or y.ndim != 1:
        raise ValueError(
            f"labels and scores must be 1-D of equal length, got {y.shape} and {p.shape}"
        )
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0/1")
    if np.isnan(p).any():
        raise ValueError(f"{int(np.isnan(p).sum())} scores are missing (NaN)")
    return y.astype(np.int64), p


def roc_auc(y, score) -> float:
    """ROC AUC as the Mann-Whitney probability that a churner outranks a non-churner.

    Ties count one half (average ranks), which equals the trapezoidal area under the
    ROC curve (Hanley & McNeil 1982).
    """
    from scipy.stats import rankdata  # noqa: PLC0415

    y, s = _yp(y, score)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        raise ValueError("ROC AUC needs both classes")
    ranks = rankdata(s)
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def pr_auc(y, score) -> float:
    """Area under the precision-recall curve as average precision.

    ``AP = sum_k (R_k - R_{k-1}) P_k`` over the distinct score thresholds, highest first
    (the step-wise area, no interpolation).
    """
    y, s = _yp(y, score)
    if y.sum() == 0:
        raise ValueError("PR AUC needs at least one churner")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(y)[last]
    fps = last + 1 - tps
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def brier_score(y, p) -> float:
    """Mean squared difference between the predicted probability and the 0/1 outcome."""
    y, p = _yp(y, p)
    return float(np.mean((p - y) ** 2))


def calibration_table(y, p, n_bins: int = 10, strategy: str = "quantile") -> pd.DataFrame:
    """Observed churn rate against mean predicted probability, by bin.

    ``strategy="uniform"``: equal-width bins on [0, 1]; ``"quantile"``: equal-count bins.
    Empty bins are left out.

    Returns
    -------
    DataFrame
        ``bin, n, mean_predicted, observed_rate``.
    """
    y, p = _yp(y, p)
    if strategy == "quantile":
        edges = np.percentile(p, np.linspace(0, 100, n_bins + 1))
    elif strategy == "uniform":
        if p.min() < 0 or p.max() > 1:
            raise ValueError("uniform calibration bins need probabilities in [0, 1]")
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        raise ValueError(f"strategy must be 'quantile' or 'uniform', got {strategy!r}")
    ids = np.searchsorted(edges[1:-1], p)
    n = np.bincount(ids, minlength=n_bins)
    sp = np.bincount(ids, weights=p, minlength=n_bins)
    sy = np.bincount(ids, weights=y, minlength=n_bins)
    nz = n > 0
    return pd.DataFrame(
        {
            "bin": np.arange(len(n))[nz],
            "n": n[nz],
            "mean_predicted": sp[nz] / n[nz],
            "observed_rate": sy[nz] / n[nz],
        }
    )


def gains_table(y, score, n_bins: int = 10) -> pd.DataFrame:
    """Cumulative gains and lift: members ranked by score, cut into ``n_bins`` groups.

    Members are sorted by decreasing score (ties keep their input order) and split into
    ``n_bins`` groups as equal as possible (the first groups one larger when the count
    does not divide).

    Returns
    -------
    DataFrame
        ``group`` (1 = highest scores), ``n, churners, churn_rate, lift`` (churn rate in
        the group / overall rate), ``cum_share_members, cum_share_churners`` (the gains
        curve) and ``cum_lift``.
    """
    y, s = _yp(y, score)
    if y.sum() == 0:
        raise ValueError("gains need at least one churner")
    if not 1 <= n_bins <= len(y):
        raise ValueError(f"n_bins must lie in [1, {len(y)}], got {n_bins}")
    order = np.argsort(-s, kind="mergesort")
    parts = np.array_split(y[order], n_bins)
    n = np.array([len(g) for g in parts])
    c = np.array([g.sum() for g in parts])
    base = y.mean()
    cn, cc = np.cumsum(n), np.cumsum(c)
    return pd.DataFrame(
        {
            "group": np.arange(1, n_bins + 1),
            "n": n,
            "churners": c,
            "churn_rate": c / n,
            "lift": c / n / base,
            "cum_share_members": cn / len(y),
            "cum_share_churners": cc / y.sum(),
            "cum_lift": cc / cn / base,
        }
    )


def top_decile_lift(y, score) -> float:
    """Churn rate among the 10% highest scores divided by the overall churn rate.

    The top decile is the first of ten groups of :func:`gains_table` (with fewer than ten
    members, the single highest score).
    """
    return float(gains_table(y, score, min(10, len(np.asarray(y))))["lift"].iloc[0])


def confusion_at(y, p, threshold: float = 0.5) -> pd.DataFrame:
    """Confusion matrix at a threshold (churn predicted when ``p >= threshold``).

    Rows: actual (not churned, churned); columns: predicted (not churned, churned), the
    layout of ``sklearn.metrics.confusion_matrix``.
    """
    y, p = _yp(y, p)
    pred = (p >= threshold).astype(np.int64)
    m = np.bincount(2 * y + pred, minlength=4).reshape(2, 2)
    return pd.DataFrame(
        m,
        index=pd.Index(["not churned", "churned"], name="actual"),
        columns=pd.Index(["not churned", "churned"], name="predicted"),
    )


def evaluate_scores(y, scores: Mapping[str, Any], threshold: float = 0.5) -> pd.DataFrame:
    """Every metric for every score on the same members.

    Returns
    -------
    DataFrame
        One row per score: ``model, n, churn_rate, roc_auc, pr_auc, brier,
        top_decile_lift, precision, recall, accuracy`` (the last three at ``threshold``).
    """
    y = np.asarray(y)
    rows = []
    for name, s in scores.items():
        s = np.asarray(s, float)
        cm = confusion_at(y, s, threshold).to_numpy()
        tn, fp, fn, tp = cm.ravel()
        rows.append(
            {
                "model": name,
                "n": len(y),
                "churn_rate": float(y.mean()),
                "roc_auc": roc_auc(y, s),
                "pr_auc": pr_auc(y, s),
                "brier": brier_score(y, s),
                "top_decile_lift": top_decile_lift(y, s),
                "threshold": threshold,
                "precision": float(tp / (tp + fp)) if tp + fp else float("nan"),
                "recall": float(tp / (tp + fn)) if tp + fn else float("nan"),
                "accuracy": float((tp + tn) / len(y)),
            }
        )
    return pd.DataFrame(rows)


def score_checks(evaluation: pd.DataFrame, *, context: str = "notebook 05") -> list[dict]:
    """A check per score whose ROC AUC is below 0.5: worse than a coin, never shown silently.

    An AUC below 0.5 means the score ranks churners *below* non-churners. The classic
    case is ``1 - P(alive)`` of the BG/NBD against a forward label: the BG/NBD gives
    P(alive) = 1 to every member without a repeat flight (dropout can only happen after a
    repeat purchase), so one-time flyers, the likeliest to leave, get the lowest score.

    Returns
    -------
    list of dict
        ``FitVerdict.to_dict()`` entries (status ``failed``: not usable as a churn score)
        with ``check = "score"``, for the run's model checks.
    """
    from .clv.verdict import FitVerdict  # noqa: PLC0415

    out = []
    for _, r in evaluation.iterrows():
        auc = float(r["roc_auc"])
        if np.isfinite(auc) and auc < 0.5:
            v = FitVerdict(
                f"churn score: {r['model']}",
                "failed",
                detail=f"ROC AUC {auc:.2f} on the held-out members is below 0.5: it ranks "
                "churners below non-churners (worse than a coin); do not use it as a churn score",
                context=context,
            )
            out.append({**v.to_dict(), "check": "score"})
    return out


def classifier_verdicts(logit, gbm=None, *, context: str = "notebook 05") -> list[dict]:
    """Verdicts of the churn classifiers (statsmodels' convergence flag; boosting's stop)."""
    from .clv.verdict import FitVerdict  # noqa: PLC0415

    out = [
        FitVerdict(
            "logistic regression",
            "converged" if logit.converged_ else "failed",
            detail=""
            if logit.converged_
            else "statsmodels reports no convergence: "
            + "; ".join(str(w) for w in logit.warnings_),
            context=context,
        ).to_dict()
    ]
    if gbm is not None:
        out.append(
            FitVerdict(
                "gradient boosting",
                "converged",
                detail=f"{gbm.model_.n_iter_} boosting iterations (early stopping)",
                context=context,
            ).to_dict()
        )
    return out


# ---------------------------------------------------------------------------------------
# the simulator's truth
# ---------------------------------------------------------------------------------------
def truth_dead_at(truth: pd.DataFrame, date) -> pd.DataFrame:
    """From the simulator's truth: was each member dead (dropped out) at ``date``?

    A member is dead at ``date`` when the true dropout (``death_date``) happened on or
    before it. Returns ``MEMBER_NO, dead``.
    """
    S.require_columns(truth, (S.MEMBER, "death_date"), "truth")
    dd = pd.to_datetime(truth["death_date"])
    dead = dd.notna() & (dd <= pd.Timestamp(date))
    return pd.DataFrame(
        {S.MEMBER: truth[S.MEMBER].to_numpy(), "dead": dead.to_numpy().astype(np.int64)}
    )


def score_against_truth(
    label: pd.DataFrame, truth: pd.DataFrame, date, *, definition: str, score_col: str | None = None
) -> dict:
    """How well a churn label (and its score, if any) matches the true state at ``date``.

    Returns a dict: ``definition, date, members, label_churn_rate, true_dead_rate,
    agreement`` (share where label == truly dead), ``precision`` (share of labelled
    churners truly dead), ``recall`` (share of the truly dead labelled churned) and
    ``roc_auc`` of ``score_col`` against the truth when given.
    """
    t = truth_dead_at(truth, date).set_index(S.MEMBER)["dead"]
    m = label.set_index(S.MEMBER)
    dead = t.reindex(m.index)
    ok = dead.notna().to_numpy()
    lab = m["churn"].to_numpy()[ok]
    d = dead.to_numpy()[ok].astype(np.int64)
    tp = int(((lab == 1) & (d == 1)).sum())
    out = {
        "definition": definition,
        "date": str(pd.Timestamp(date).date()),
        "members": int(ok.sum()),
        "label_churn_rate": float(lab.mean()),
        "true_dead_rate": float(d.mean()),
        "agreement": float((lab == d).mean()),
        "precision": float(tp / lab.sum()) if lab.sum() else float("nan"),
        "recall": float(tp / d.sum()) if d.sum() else float("nan"),
        "roc_auc": float("nan"),
    }
    if score_col is not None and 0 < d.sum() < len(d):
        s = m[score_col].to_numpy(float)[ok]
        good = ~np.isnan(s)
        if good.all() or (good.any() and 0 < d[good].sum() < good.sum()):
            out["roc_auc"] = roc_auc(d[good], s[good])
    return out


def compare_definitions(
    ds,
    *,
    horizon_months: int = 12,
    min_flights: int = 6,
    churn_below: float = 0.5,
    retain_from: float = 0.9,
    palive_threshold: float = 0.5,
    upstream: Mapping[str, Any] | None = None,
    cache: dict | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The three definitions side by side on the same members at the same date.

    With a flight log the comparison date is the observation date ``obs_end - H``: the
    textbook label and P(alive) are computed from what was known then (the snapshot and a
    BG/NBD fit on the log up to that date), and the forward label says what happened in
    the H months after it. Without a flight log the date is ``obs_end`` and only the
    textbook label (and an upstream P(alive)) can be compared. On simulated data each
    definition is also scored against the truth (dead or alive at the date).

    Returns
    -------
    members : DataFrame
        One row per member: ``textbook_status, textbook_churn, textbook_score`` (minus
        the two-year trend, a continuous version of the ratio), ``p_alive, palive_churn,
        palive_score`` (1 - P(alive)), ``forward_churn``, ``truth_dead`` where available.
    summary : DataFrame
        One row per definition: ``definition, date, members, churn_rate``, agreement
        with the forward outcome, and (simulated data) the truth scores of
        :func:`score_against_truth`.
    notes : list of str
        What could not be computed and why.
    """
    notes: list[str] = []
    has_log = ds.flights is not None
    date = observation_date(ds.obs_end, horizon_months) if has_log else ds.obs_end
    snap = dataset_snapshot_at(ds, date, cache=cache)
    m = pd.DataFrame({S.MEMBER: snap[S.MEMBER].to_numpy()})
    avail = available_definitions(ds, upstream)
    ok = dict(zip(avail["definition"], avail["available"], strict=True))
    why = dict(zip(avail["definition"], avail["reason"], strict=True))
    if ok["textbook"]:
        try:
            tb = textbook_label(
                snap, min_flights=min_flights, churn_below=churn_below, retain_from=retain_from
            )
        except DataValidationError as exc:
            notes.append(f"textbook label not computed at {date.date()}: {exc}")
        else:
            feats = churn_features(snap)
            tb = tb.assign(textbook_score=-feats["TREND"].reindex(tb[S.MEMBER]).to_numpy())
            tb = tb.rename(columns={"status": "textbook_status", "churn": "textbook_churn"})
            m = m.merge(
                tb[[S.MEMBER, "textbook_status", "textbook_churn", "textbook_score"]],
                on=S.MEMBER,
                how="left",
            )
    else:
        notes.append(f"textbook label impossible: {why['textbook']}")
    pa, note, _ = p_alive_at(
        ds,
        date,
        upstream,
        no_flight_weeks=horizon_weeks_of(horizon_months) if has_log else None,
        cache=cache,
    )
    notes.append(note)
    if pa is not None:
        pl = palive_label(pa[[S.MEMBER, "p_alive"]], palive_threshold)
        pl = pl.rename(columns={"churn": "palive_churn"})
        pl["palive_score"] = 1.0 - pl["p_alive"]
        m = m.merge(pl, on=S.MEMBER, how="left")
    if has_log:
        fw = forward_label(ds.flights, date, horizon_months, data_end=ds.obs_end)
        m = m.merge(
            fw[[S.MEMBER, "churn"]].rename(columns={"churn": "forward_churn"}),
            on=S.MEMBER,
            how="left",
        )
    else:
        notes.append(f"forward-looking label impossible: {why['forward']}")
    if ds.truth is not None:
        td = truth_dead_at(ds.truth, date).rename(columns={"dead": "truth_dead"})
        m = m.merge(td, on=S.MEMBER, how="left")
    rows = []
    for d, lab, score in (
        ("textbook", "textbook_churn", "textbook_score"),
        ("palive", "palive_churn", "palive_score"),
        ("forward", "forward_churn", None),
    ):
        if lab not in m.columns:
            continue
        part = m[m[lab].notna()]
        row = {
            "definition": d,
            "date": str(date.date()),
            "members": len(part),
            "churn_rate": float(part[lab].mean()),
        }
        if "forward_churn" in m.columns and d != "forward":
            fwd = part["forward_churn"].to_numpy()
            lb = part[lab].to_numpy()
            row["share_of_churned_without_flight_next_H"] = (
                float(fwd[lb == 1].mean()) if (lb == 1).any() else float("nan")
            )
            row["share_of_retained_without_flight_next_H"] = (
                float(fwd[lb == 0].mean()) if (lb == 0).any() else float("nan")
            )
        if "truth_dead" in m.columns:
            lab_df = part[[S.MEMBER, lab] + ([score] if score else [])].rename(
                columns={lab: "churn"}
            )
            t = score_against_truth(lab_df, ds.truth, date, definition=d, score_col=score)
            for k in ("true_dead_rate", "agreement", "precision", "recall", "roc_auc"):
                row[f"truth_{k}"] = t[k]
        rows.append(row)
    return m, pd.DataFrame(rows), notes


# ---------------------------------------------------------------------------------------
# survival: Kaplan-Meier of time to last flight
# ---------------------------------------------------------------------------------------
def survival_data(
    snapshot: pd.DataFrame, inactive_days: int = 365, source: str = "snapshot"
) -> pd.DataFrame:
    """Durations for a Kaplan-Meier analysis of time to the last flight.

    A member counts as lapsed (event observed) when the last flight is more than
    ``inactive_days`` before the observation end; the duration is then first flight ->
    last flight. Otherwise the member is censored at the observation end (duration first
    flight -> ``LOAD_TIME``). Members without flight dates, or with a last flight before
    the first (a quirk of the textbook file), are left out and counted in
    ``attrs["dropped"]``.

    Returns
    -------
    DataFrame
        ``MEMBER_NO, duration_months, event``.
    """
    cols = ("MEMBER_NO", "FIRST_FLIGHT_DATE", "LAST_FLIGHT_DATE", "LOAD_TIME")
    S.require_columns(snapshot, cols, source)
    first = pd.to_datetime(snapshot["FIRST_FLIGHT_DATE"])
    last = pd.to_datetime(snapshot["LAST_FLIGHT_DATE"])
    load = pd.to_datetime(snapshot["LOAD_TIME"])
    ok = (first.notna() & last.notna() & load.notna()).to_numpy()
    gap = (load - last).dt.days
    event = (gap > inactive_days).to_numpy()
    end = np.where(event, last, load)
    dur = (pd.to_datetime(end) - first).dt.days.to_numpy(float) / DAYS_PER_MONTH
    out = pd.DataFrame(
        {
            S.MEMBER: snapshot[S.MEMBER].to_numpy(),
            "duration_months": dur,
            "event": event.astype(np.int64),
        }
    )
    bad = ok & (out["duration_months"] < 0).to_numpy()
    res = out.loc[ok & ~bad].reset_index(drop=True)
    res.attrs["dropped"] = {
        "missing flight dates": int((~ok).sum()),
        "last flight before first flight": int(bad.sum()),
    }
    res.attrs["dropped_members"] = out.loc[bad, S.MEMBER].tolist()[:10]
    if len(res) == 0:
        raise DataValidationError(
            "no member has usable first and last flight dates",
            source=source,
            column=["FIRST_FLIGHT_DATE", "LAST_FLIGHT_DATE"],
        )
    return res


def kaplan_meier_by_group(
    surv: pd.DataFrame,
    groups: pd.DataFrame | None = None,
    *,
    group_col: str = "segment",
    min_members: int = 20,
    at_months: tuple[float, ...] = (12.0, 24.0, 60.0),
):
    """Kaplan-Meier survival curves of time to last flight, one per group (lifelines).

    Parameters
    ----------
    surv : DataFrame
        From :func:`survival_data`.
    groups : DataFrame, optional
        ``MEMBER_NO`` and ``group_col``; without it one curve for all members. Groups
        smaller than ``min_members`` are left out.

    Returns
    -------
    fitters : dict
        Group -> fitted ``lifelines.KaplanMeierFitter``.
    summary : DataFrame
        ``group, members, lapsed, median_months`` and the survival share at each of
        ``at_months``.
    logrank_p : float
        p-value of the multivariate log-rank test that all curves are equal (NaN with
        one group).
    """
    from lifelines import KaplanMeierFitter  # noqa: PLC0415
    from lifelines.statistics import multivariate_logrank_test  # noqa: PLC0415

    d = surv.copy()
    if groups is not None:
        S.require_columns(groups, (S.MEMBER, group_col), "groups")
        d = d.merge(groups[[S.MEMBER, group_col]], on=S.MEMBER, how="inner")
        d["group"] = d[group_col].astype(str)
    else:
        d["group"] = "all members"
    sizes = d["group"].value_counts()
    keep = sizes[sizes >= min_members].index
    d = d[d["group"].isin(keep)]
    if len(d) == 0:
        raise DataValidationError(
            f"no group has {min_members} or more members for a Kaplan-Meier curve", source="groups"
        )
    fitters, rows = {}, []
    for g, part in d.groupby("group", sort=True):
        kmf = KaplanMeierFitter(label=str(g)).fit(part["duration_months"], part["event"])
        fitters[g] = kmf
        row = {
            "group": g,
            "members": len(part),
            "lapsed": int(part["event"].sum()),
            "median_months": float(kmf.median_survival_time_),
        }
        for m in at_months:
            row[f"surviving_{m:g}m"] = float(kmf.predict(m))
        rows.append(row)
    p = float("nan")
    if len(fitters) > 1:
        p = float(multivariate_logrank_test(d["duration_months"], d["group"], d["event"]).p_value)
    return fitters, pd.DataFrame(rows), p


# ---------------------------------------------------------------------------------------
# who is worth saving
# ---------------------------------------------------------------------------------------
def proxy_clv(snapshot: pd.DataFrame, years: float = 3.0, source: str = "snapshot") -> pd.DataFrame:
    """A stated proxy for CLV when notebook 03 has not run: last-year revenue x years.

    ``SUM_YR_2`` (revenue in the last year of the window) times ``years``, undiscounted
    and in revenue (the campaign calculator applies the margin).

    Returns ``MEMBER_NO, clv``.
    """
    S.require_columns(snapshot, (S.MEMBER, "SUM_YR_2"), source)
    if years <= 0:
        raise ValueError(f"years must be positive, got {years}")
    rev = S.numeric(snapshot, "SUM_YR_2", source, allow_missing=True).fillna(0.0)
    return pd.DataFrame({S.MEMBER: snapshot[S.MEMBER].to_numpy(), "clv": rev.to_numpy() * years})


def value_if_retained(clv: pd.DataFrame, source: str = "CLV table") -> pd.DataFrame:
    """The value a member brings if retained: CLV given alive, from the same purchase model.

    Notebook 03's CLV is an expectation over being alive: with the factorisation of the
    conditional expectation of the BG/NBD, MBG/NBD and Pareto/NBD,
    ``E[X(t) | x, t_x, T] = P(alive | x, t_x, T) E[X(t) | alive, x, T]`` (Fader, Hardie &
    Lee 2005a, eq. 10; Schmittlein, Morrison & Colombo 1987), so

    ``CLV_i = P(alive)_i x V_i``, with ``V_i = margin x spend_i x sum_k E[flights in month
    k | alive] / (1 + d)^k``,

    the discounted expected residual value of a member who is still active (Fader, Hardie
    & Lee 2005b; the "DERL" of Fader & Hardie). ``V_i = CLV_i / P(alive)_i`` is computed
    from the table's own columns, so it uses the same model as the CLV.

    Parameters
    ----------
    clv : DataFrame
        ``MEMBER_NO, clv`` and ``p_alive`` (notebook 03's ``clv.parquet``), or
        ``MEMBER_NO, clv`` only for a CLV that is not weighted by P(alive) (the revenue
        proxy): then ``V = clv``.

    Returns
    -------
    DataFrame
        ``MEMBER_NO, clv, value_if_retained``; ``attrs["basis"]`` says which rule applied,
        ``attrs["n_p_alive_zero"]`` counts members with P(alive) = 0 (their CLV is 0 and so
        is their value if retained, as far as the model can tell).
    """
    S.require_columns(clv, (S.MEMBER, "clv"), source)
    out = clv[[S.MEMBER, "clv"]].copy()
    c = out["clv"].astype(float).to_numpy()
    if "p_alive" in clv.columns:
        pa = S.numeric(clv, "p_alive", source, allow_missing=True).to_numpy(float)
        zero = ~(pa > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.where(zero, 0.0, c / np.where(zero, 1.0, pa))
        out["value_if_retained"] = v
        out.attrs["basis"] = "CLV / P(alive): the CLV given alive, from the same purchase model"
        out.attrs["n_p_alive_zero"] = int(zero.sum())
    else:
        out["value_if_retained"] = c
        out.attrs["basis"] = "the CLV itself (it is not weighted by P(alive))"
        out.attrs["n_p_alive_zero"] = 0
    return out


def retention_list(
    p_churn: pd.Series,
    clv: pd.DataFrame,
    segments: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The ranked retention list: expected loss = P(churn) x value if retained.

    ``expected_loss_i = P(churn)_i x V_i`` with ``V_i`` the value member *i* brings if
    retained, the CLV given alive (:func:`value_if_retained`). Not ``P(churn) x CLV``:
    the CLV is already weighted by P(alive), so that product counts dropout twice and
    pushes the members most likely to leave down the list. The value at stake in a
    retention decision is the value of the customer if retained (Blattberg, Kim & Neslin
    2008, ch. 24; Neslin et al. 2006).

    Parameters
    ----------
    p_churn : Series
        P(churn) indexed by ``MEMBER_NO``.
    clv : DataFrame
        ``MEMBER_NO, clv`` with ``p_alive`` (notebook 03) or ``value_if_retained``;
        members without a CLV get 0 and are counted in ``attrs``.
    segments : DataFrame, optional
        ``MEMBER_NO, segment``.

    Returns
    -------
    DataFrame
        ``rank, MEMBER_NO, segment, p_churn, clv, value_if_retained, expected_loss``,
        highest loss first; ``attrs["value_basis"]`` says how the value was obtained.
    """
    S.require_columns(clv, (S.MEMBER, "clv"), "CLV table")
    p = pd.Series(np.asarray(p_churn, float), index=pd.Index(p_churn.index, name=S.MEMBER))
    if p.isna().any():
        raise DataValidationError(
            "missing P(churn)", source="P(churn)", values=p.index[p.isna()].tolist()
        )
    if ((p < 0) | (p > 1)).any():
        bad = p[(p < 0) | (p > 1)]
        raise DataValidationError("P(churn) outside [0, 1]", source="P(churn)", values=bad.tolist())
    vt = clv if "value_if_retained" in clv.columns else value_if_retained(clv)
    basis = vt.attrs.get("basis", "given")
    vt = vt.set_index(S.MEMBER)
    c = vt["clv"].astype(float).reindex(p.index)
    v = vt["value_if_retained"].astype(float).reindex(p.index)
    n_no_clv = int(c.isna().sum())
    out = pd.DataFrame(
        {
            S.MEMBER: p.index.to_numpy(),
            "p_churn": p.to_numpy(),
            "clv": c.fillna(0.0).to_numpy(),
            "value_if_retained": v.fillna(0.0).to_numpy(),
        }
    )
    if segments is not None:
        S.require_columns(segments, (S.MEMBER, "segment"), "segments")
        out["segment"] = (
            out[S.MEMBER]
            .map(segments.set_index(S.MEMBER)["segment"])
            .fillna("unassigned")
            .astype(str)
        )
    else:
        out["segment"] = "all members"
    out["expected_loss"] = out["p_churn"] * out["value_if_retained"]
    out = out.sort_values(["expected_loss", S.MEMBER], ascending=[False, True], kind="mergesort")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    cols = ["rank", S.MEMBER, "segment", "p_churn", "clv", "value_if_retained", "expected_loss"]
    out = out[cols].reset_index(drop=True)
    out.attrs["members_without_clv"] = n_no_clv
    out.attrs["value_basis"] = basis
    return out


@dataclass
class CampaignResult:
    """Outcome of :func:`campaign`.

    Attributes
    ----------
    table : DataFrame
        The retention list with ``expected_benefit, expected_net, cum_net, contact``.
    summary : dict
        ``n_contact, cost, expected_saved_value, expected_return, roi`` and the inputs.
    """

    table: pd.DataFrame
    summary: dict


def campaign(
    ranked: pd.DataFrame,
    *,
    contact_cost: float,
    acceptance_rate: float,
    margin: float,
    n_contact: int | None = None,
) -> CampaignResult:
    """Campaign calculator: whom to contact and what it is expected to return.

    Contacting member *i* costs ``contact_cost``; with probability ``acceptance_rate``
    the member accepts the offer and stays, which saves the profit that would have been
    lost, ``margin x expected_loss_i`` (Blattberg, Kim & Neslin 2008, ch. 24). ``margin``
    turns a revenue-based CLV into profit; pass ``margin=1`` when the CLV is already a
    profit figure (notebook 03 applies its margin). So

    ``expected_benefit_i = acceptance_rate x margin x P(churn_i) x CLV_i``,
    ``expected_net_i = expected_benefit_i - contact_cost``.

    Along the ranked list the net falls; the expected return is largest when every
    member with a positive net is contacted, which is the default ``n_contact``; pass a
    number to evaluate a fixed budget instead.

    Returns
    -------
    CampaignResult
    """
    for name, v, lo, hi in (
        ("contact_cost", contact_cost, 0, None),
        ("acceptance_rate", acceptance_rate, 0, 1),
        ("margin", margin, 0, 1),
    ):
        if not np.isfinite(v) or v < lo or (hi is not None and v > hi):
            raise ValueError(
                f"{name} must lie in [{lo}, {hi if hi is not None else 'inf'}], got {v}"
            )
    S.require_columns(ranked, ("expected_loss",), "retention list")
    t = ranked.sort_values("expected_loss", ascending=False, kind="mergesort").reset_index(
        drop=True
    )
    t["expected_benefit"] = acceptance_rate * margin * t["expected_loss"]
    t["expected_net"] = t["expected_benefit"] - contact_cost
    t["cum_net"] = t["expected_net"].cumsum()
    if n_contact is None:
        n = int((t["expected_net"] > 0).sum())
        how = "every member with a positive expected net return"
    else:
        if not 0 <= int(n_contact) <= len(t):
            raise ValueError(f"n_contact must lie in [0, {len(t)}], got {n_contact}")
        n = int(n_contact)
        how = "fixed number"
    t["contact"] = np.arange(len(t)) < n
    cost = n * contact_cost
    saved = float(t.loc[t["contact"], "expected_benefit"].sum())
    summary = {
        "n_members": len(t),
        "n_contact": n,
        "share_contacted": n / len(t) if len(t) else float("nan"),
        "rule": how,
        "contact_cost": contact_cost,
        "acceptance_rate": acceptance_rate,
        "margin": margin,
        "cost": float(cost),
        "expected_saved_value": saved,
        "expected_return": saved - cost,
        "roi": (saved - cost) / cost if cost > 0 else float("nan"),
        "expected_loss_contacted": float(t.loc[t["contact"], "expected_loss"].sum()),
        "expected_loss_total": float(t["expected_loss"].sum()),
    }
    return CampaignResult(table=t, summary=summary)


def campaign_by_segment(result: CampaignResult) -> pd.DataFrame:
    """The campaign split by segment, win-back class flagged.

    Returns
    -------
    DataFrame
        ``segment, members, contacted, mean_p_churn, expected_loss, cost,
        expected_saved_value, expected_return, winback``; largest expected loss first.
    """
    t = result.table
    c = result.summary["contact_cost"]
    g = t.groupby("segment", sort=False)
    out = pd.DataFrame(
        {
            "members": g.size(),
            "contacted": g["contact"].sum().astype(np.int64),
            "mean_p_churn": g["p_churn"].mean() if "p_churn" in t.columns else np.nan,
            "expected_loss": g["expected_loss"].sum(),
        }
    )
    out["cost"] = out["contacted"] * c
    out["expected_saved_value"] = (
        t[t["contact"]]
        .groupby("segment")["expected_benefit"]
        .sum()
        .reindex(out.index, fill_value=0.0)
    )
    out["expected_return"] = out["expected_saved_value"] - out["cost"]
    out = out.rename_axis("segment").reset_index()
    out["winback"] = out["segment"] == WINBACK
    return out.sort_values("expected_loss", ascending=False).reset_index(drop=True)


__all__ = [
    "DEFINITIONS",
    "FEATURE_LABELS",
    "LABEL_INGREDIENTS",
    "TIME_VARYING_MEMBER_ATTRIBUTES",
    "WINBACK",
    "DEFAULT_PURCHASE_MODEL",
    "CampaignResult",
    "ChurnData",
    "ChurnGBM",
    "ChurnLogit",
    "FeatureImputer",
    "available_definitions",
    "brier_score",
    "build_churn_data",
    "calibration_table",
    "campaign",
    "campaign_by_segment",
    "check_two_classes",
    "classifier_verdicts",
    "score_checks",
    "churn_features",
    "compare_definitions",
    "dataset_snapshot_at",
    "confusion_at",
    "evaluate_scores",
    "palive_spec",
    "forward_dataset",
    "forward_label",
    "gains_table",
    "horizon_weeks_of",
    "kaplan_meier_by_group",
    "load_upstream",
    "observation_date",
    "p_alive_at",
    "palive_label",
    "pr_auc",
    "proxy_clv",
    "purchase_scores",
    "value_if_retained",
    "resolve_definition",
    "retention_list",
    "roc_auc",
    "score_against_truth",
    "snapshot_as_of",
    "survival_data",
    "textbook_label",
    "top_decile_lift",
    "truncate_events",
    "truth_dead_at",
]
