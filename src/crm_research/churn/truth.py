"""Scoring churn definitions against the simulator's truth, side by side."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..data import schema as S
from ..data.schema import DataValidationError
from .dataset import dataset_forward_label, dataset_snapshot_at, horizon_weeks_of, p_alive_at
from .evaluation import roc_auc
from .features import churn_features
from .labels import observation_date, palive_label, textbook_label
from .upstream import available_definitions


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
    label: pd.DataFrame,
    truth: pd.DataFrame,
    date,
    *,
    definition: str,
    score_col: str | None = None,
    dead: pd.Series | None = None,
) -> dict:
    """How well a churn label (and its score, if any) matches the true state at ``date``.

    Returns a dict: ``definition, date, members, label_churn_rate, true_dead_rate,
    agreement`` (share where label == truly dead), ``precision`` (share of labelled
    churners truly dead), ``recall`` (share of the truly dead labelled churned) and
    ``roc_auc`` of ``score_col`` against the truth when given. ``dead`` is
    :func:`truth_dead_at` of ``truth`` at ``date`` indexed by member, when the caller
    already has it (scoring several definitions).
    """
    t = truth_dead_at(truth, date).set_index(S.MEMBER)["dead"] if dead is None else dead
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
        fw = dataset_forward_label(ds, date, horizon_months, cache=cache)
        m = m.merge(
            fw[[S.MEMBER, "churn"]].rename(columns={"churn": "forward_churn"}),
            on=S.MEMBER,
            how="left",
        )
    else:
        notes.append(f"forward-looking label impossible: {why['forward']}")
    dead = None
    if ds.truth is not None:
        td = truth_dead_at(ds.truth, date)
        dead = td.set_index(S.MEMBER)["dead"]
        m = m.merge(td.rename(columns={"dead": "truth_dead"}), on=S.MEMBER, how="left")
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
            t = score_against_truth(
                lab_df, ds.truth, date, definition=d, score_col=score, dead=dead
            )
            for k in ("true_dead_rate", "agreement", "precision", "recall", "roc_auc"):
                row[f"truth_{k}"] = t[k]
        rows.append(row)
    return m, pd.DataFrame(rows), notes


__all__ = ["compare_definitions", "score_against_truth", "truth_dead_at"]
