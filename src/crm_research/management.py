"""The management report's tables (notebook 06): classes, churn risk and actions.

Reads what notebooks 01-05 wrote to ``data/processed/`` and combines it per member:
the LRFMC class (notebook 04), the lifetime value (notebook 03) and the churn
probability (notebook 05). Where a result is missing, the report says so and the
table is built from what is there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .config import ARTIFACTS
from .data import Dataset, load_processed
from .data.schema import MEMBER

RISK_BANDS = ("low", "medium", "high")
#: Segment keys of notebook 04 in the order a manager reads them, with DOMAIN.md's names.
CLASS_ORDER = (
    "important_retain",
    "important_develop",
    "important_winback",
    "general",
    "low_value",
    "unassigned",
    "not_segmented",
)
CLASS_LABELS = {
    "important_retain": "Important - retain",
    "important_develop": "Important - develop",
    "important_winback": "Important - win back",
    "general": "General",
    "low_value": "Low value",
    "unassigned": "Unassigned",
    "not_segmented": "Not segmented",
    "all members": "All members",
}
CLASS_ACTIONS = {
    "important_retain": "Priority resources, one-to-one marketing; keep their high spend",
    "important_develop": "Tier-upgrade nudges, first award redemption, co-branded cards",
    "important_winback": "Contact list ranked by churn risk; win back before they are lost",
    "general": "Standard service, nudge upward",
    "low_value": "Minimal spend",
    "unassigned": "No class fits; review the profile",
    "not_segmented": "Left out of the segmentation (e.g. no flight in the window): low-cost win-back",
    "all members": "No segmentation available",
}


@dataclass
class StudyResults:
    """What the earlier notebooks left in ``processed_dir`` (None where absent)."""

    dataset: Dataset
    clv: pd.DataFrame | None = None
    segments: pd.DataFrame | None = None
    retention: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


def _read(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.exists() else None


def load_results(processed_dir: str | os.PathLike) -> StudyResults:
    """Read the dataset and the result tables of notebooks 03-05, noting what is missing."""
    d = Path(processed_dir)
    ds = load_processed(d)
    res = StudyResults(dataset=ds)
    res.clv = _read(d / ARTIFACTS["clv"])
    res.segments = _read(d / ARTIFACTS["segments"])
    res.retention = _read(d / ARTIFACTS["retention_list"])
    if res.clv is None or res.clv.empty:
        res.notes.append(
            "no lifetime values (notebook 03 did not run or could not model this data)"
        )
        res.clv = None
    if res.segments is None or res.segments.empty:
        res.notes.append(
            "no LRFMC classes (notebook 04 did not run or the data have no L/C columns)"
        )
        res.segments = None
    if res.retention is None or res.retention.empty:
        res.notes.append("no churn scores (notebook 05 did not run)")
        res.retention = None
    return res


def risk_band(p_churn, cuts: tuple[float, float] = (0.3, 0.6)) -> pd.Series:
    """Churn risk band: low below ``cuts[0]``, high at or above ``cuts[1]``, medium between."""
    lo, hi = cuts
    if not 0 <= lo < hi <= 1:
        raise ValueError(f"risk cuts must satisfy 0 <= low < high <= 1, got {cuts}")
    p = pd.Series(p_churn, dtype=float)
    band = np.where(p >= hi, "high", np.where(p >= lo, "medium", "low"))
    band = np.where(p.isna(), None, band)
    return pd.Series(pd.Categorical(band, categories=list(RISK_BANDS), ordered=True), index=p.index)


def member_table(res: StudyResults, cuts: tuple[float, float] = (0.3, 0.6)) -> pd.DataFrame:
    """One row per member: class, CLV, P(churn), risk band and expected loss.

    Every member of the snapshot is listed; the class comes from notebook 04 (members it
    left out are ``not_segmented``).
    CLV comes from notebook 03, else from the retention list's CLV (which may be a proxy).
    """
    snap = res.dataset.snapshot
    base = pd.DataFrame({MEMBER: snap[MEMBER].to_numpy()})
    if res.segments is not None:
        # members the segmentation left out (no flight in the window, cleaning rules)
        # stay in the report, so that customer equity and the action matrix add up
        base = base.merge(res.segments[[MEMBER, "segment"]], on=MEMBER, how="left")
        base["segment"] = base["segment"].fillna("not_segmented")
    else:
        base["segment"] = "all members"
    if res.clv is not None:
        base = base.merge(res.clv[[MEMBER, "clv"]], on=MEMBER, how="left")
    elif res.retention is not None and "clv" in res.retention:
        base = base.merge(res.retention[[MEMBER, "clv"]], on=MEMBER, how="left")
    else:
        base["clv"] = np.nan
    if res.retention is not None:
        base = base.merge(res.retention[[MEMBER, "p_churn"]], on=MEMBER, how="left")
    else:
        base["p_churn"] = np.nan
    base["risk"] = risk_band(base["p_churn"].to_numpy(), cuts).to_numpy()
    base["expected_loss"] = base["p_churn"] * base["clv"]
    return base


def _class_order(keys) -> list[str]:
    keys = list(dict.fromkeys(keys))
    return [k for k in CLASS_ORDER if k in keys] + [k for k in keys if k not in CLASS_ORDER]


def class_table(members: pd.DataFrame, segments: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per class: members, share, CLV and share of CLV, mean P(churn), stage and action."""
    g = members.groupby("segment", observed=True)
    total_clv = members["clv"].sum(min_count=1)
    out = pd.DataFrame(
        {
            "members": g.size(),
            "clv_total": g["clv"].sum(min_count=1),
            "clv_per_member": g["clv"].mean(),
            "mean_p_churn": g["p_churn"].mean(),
            "expected_loss": g["expected_loss"].sum(min_count=1),
        }
    )
    out["member_share"] = out["members"] / out["members"].sum()
    out["clv_share"] = out["clv_total"] / total_clv if pd.notna(total_clv) and total_clv else np.nan
    if segments is not None and {"lifecycle_stage", "strategy"} <= set(segments.columns):
        meta = segments.drop_duplicates("segment").set_index("segment")
        cols = [c for c in ("segment_zh", "lifecycle_stage", "strategy") if c in meta]
        out = out.join(meta[cols])
    for col in ("lifecycle_stage", "strategy"):
        if col not in out:
            # text column (pandas 3 refuses, from 4 on, to fill a float column with text)
            out[col] = pd.Series(None, index=out.index, dtype=object)
    out["lifecycle_stage"] = out["lifecycle_stage"].fillna("-")
    out["strategy"] = out["strategy"].fillna(pd.Series(CLASS_ACTIONS, dtype=object))
    out.insert(0, "class", [CLASS_LABELS.get(k, k) for k in out.index])
    out = out.loc[_class_order(out.index)]
    out.index.name = "segment"
    return out


def action_matrix(members: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Class by churn-risk band: members, CLV at stake and expected loss in each cell."""
    m = members.dropna(subset=["risk"])
    if m.empty:
        return {}
    order = _class_order(m["segment"])
    tabs = {}
    for name, values, agg in (
        ("members", None, "size"),
        ("clv", "clv", "sum"),
        ("expected_loss", "expected_loss", "sum"),
    ):
        if values is None:
            t = pd.crosstab(m["segment"], m["risk"])
        else:
            t = pd.crosstab(m["segment"], m["risk"], values=m[values], aggfunc=agg)
        t = t.reindex(index=order, columns=list(RISK_BANDS)).fillna(0)
        t.index = [CLASS_LABELS.get(k, k) for k in t.index]
        t.columns = [f"{c} risk" for c in t.columns]
        tabs[name] = t
    return tabs
