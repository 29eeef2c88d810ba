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
from .vocabulary import (
    CLASS_ORDER,
    CLASS_STAGE,
    RISKS,
    action,
    class_name,
    risk_name,
    stage_name,
)

RISK_BANDS = tuple(RISKS)  # low, medium, high


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


def class_table(
    members: pd.DataFrame, segments: pd.DataFrame | None = None, language: str = "en"
) -> pd.DataFrame:
    """Per class: members, share, CLV and share of CLV, mean P(churn), stage and action.

    ``class``, ``lifecycle_stage`` and ``strategy`` are named in ``language`` (``en`` or
    ``zh``, :mod:`crm_research.vocabulary`); ``segments`` is accepted for compatibility
    (the names come from the vocabulary, one for the whole report).
    """
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
    keys = list(out.index)
    out["segment_zh"] = [class_name(k, "zh") for k in keys]
    out["lifecycle_stage"] = [stage_name(CLASS_STAGE.get(k, "n/a"), language) for k in keys]
    out["strategy"] = [action(k, language) for k in keys]
    out.insert(0, "class", [class_name(k, language) for k in keys])
    out = out.loc[_class_order(out.index)]
    out.index.name = "segment"
    return out


def action_matrix(members: pd.DataFrame, language: str = "en") -> dict[str, pd.DataFrame]:
    """Class by churn-risk band: members, CLV at stake and expected loss in each cell
    (rows and columns named in ``language``)."""
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
        t.index = [class_name(k, language) for k in t.index]
        t.columns = [risk_name(c, language) for c in t.columns]
        tabs[name] = t
    return tabs


#: Kotler's rule of thumb (DOMAIN.md, "How much to invest in each relationship"):
#: level by (value per member, number of members).
KOTLER_GRID = {
    ("high", "many"): "accountable",
    ("high", "medium_size"): "proactive",
    ("high", "few"): "partnership",
    ("medium_margin", "many"): "reactive",
    ("medium_margin", "medium_size"): "accountable",
    ("medium_margin", "few"): "proactive",
    ("low", "many"): "basic",
    ("low", "medium_size"): "reactive",
    ("low", "few"): "accountable",
}


def investment_levels(
    classes: pd.DataFrame,
    *,
    size_cuts: tuple[float, float] = (0.10, 0.25),
    value_cuts: tuple[float, float] = (0.75, 1.5),
    language: str = "en",
) -> pd.DataFrame:
    """Kotler's level of relationship investment for each class, with a one-line reason.

    Kotler's rule of thumb picks the level from how many customers there are and how
    high the margin per customer is (many, low margin: basic; few, high margin:
    partnership; see DOMAIN.md for the grid). For a member class the size is its share
    of all members (``few`` below ``size_cuts[0]``, ``many`` from ``size_cuts[1]`` on)
    and the margin is its lifetime value per member relative to the average member
    (``low`` below ``value_cuts[0]`` times the average, ``high`` from ``value_cuts[1]``
    times on). A class whose members are worth nothing or less (value per member <= 0)
    gets ``basic``: a relationship is worth investing in only as far as the gain
    exceeds the cost (Rust, Zeithaml & Lemon 2000). Without lifetime values the level
    is ``None`` and the reason says why.

    Parameters
    ----------
    classes : DataFrame
        One row per class (index: class key) with ``members`` and ``clv_per_member``,
        as :func:`class_table` returns.
    size_cuts, value_cuts : (float, float)
        Bounds of the size (share of members) and margin (ratio to the average value
        per member) bands.
    language : {"en", "zh"}
        Language of ``level_name`` and ``reason``.

    Returns
    -------
    DataFrame
        Index as ``classes``; columns ``member_share, value_ratio, size_band,
        margin_band, level, level_name, contact, reason``.

    References
    ----------
    Kotler, P. (2003). Marketing Management, 11th ed.: five levels of relationship
    investment. Rust, R. T., Zeithaml, V. A. & Lemon, K. N. (2000). Driving Customer
    Equity. Free Press.
    """
    from .vocabulary import INVESTMENT_CONTACT, SCALE, check_language, level_name

    check_language(language)
    lo_s, hi_s = size_cuts
    lo_v, hi_v = value_cuts
    if not 0 < lo_s < hi_s < 1:
        raise ValueError(f"size_cuts must satisfy 0 < few < many < 1, got {size_cuts}")
    if not 0 < lo_v < hi_v:
        raise ValueError(f"value_cuts must satisfy 0 < low < high, got {value_cuts}")
    missing = {"members", "clv_per_member"} - set(classes.columns)
    if missing:
        raise ValueError(f"classes needs the columns {sorted(missing)} (see class_table)")
    n = classes["members"].astype(float)
    v = classes["clv_per_member"].astype(float)
    share = n / n.sum()
    known = v.notna() & (n > 0)
    avg = (v[known] * n[known]).sum() / n[known].sum() if known.any() else np.nan
    ratio = v / avg if pd.notna(avg) and avg > 0 else pd.Series(np.nan, index=v.index)
    rows = []
    for key in classes.index:
        s, r, val = share[key], ratio[key], v[key]
        size = "few" if s < lo_s else "many" if s >= hi_s else "medium_size"
        if pd.isna(val):
            margin, level = "unknown", None
        elif val <= 0 or pd.isna(r):
            margin, level = "low", "basic"
        else:
            margin = "low" if r < lo_v else "high" if r >= hi_v else "medium_margin"
            level = KOTLER_GRID[(margin, size)]
        rows.append((s, r, size, margin, level))
    out = pd.DataFrame(
        rows,
        index=classes.index,
        columns=["member_share", "value_ratio", "size_band", "margin_band", "level"],
    )
    out["level_name"] = [level_name(x, language) if x else "-" for x in out["level"]]
    out["contact"] = [INVESTMENT_CONTACT[x].name(language) if x else "-" for x in out["level"]]
    out["reason"] = [_investment_reason(r, SCALE, language) for r in out.itertuples()]
    return out


def _investment_reason(r, scale, language: str) -> str:
    size = scale[r.size_band].name(language)
    margin = scale[r.margin_band].name(language)
    level = r.level_name
    if language == "zh":
        if r.level is None:
            return f"会员占比 {r.member_share:.0%}（{size}），{margin}：无法确定投入水平"
        if pd.isna(r.value_ratio) or r.value_ratio <= 0:
            return f"会员占比 {r.member_share:.0%}（{size}），人均终身价值不为正：{level}"
        return (
            f"会员占比 {r.member_share:.0%}（{size}），人均终身价值为全体平均的 "
            f"{r.value_ratio:.1f} 倍（{margin}）：{level}"
        )
    if r.level is None:
        return f"{r.member_share:.0%} of members ({size}); {margin}: no level can be set"
    if pd.isna(r.value_ratio) or r.value_ratio <= 0:
        return (
            f"{r.member_share:.0%} of members ({size}); lifetime value per member not "
            f"positive: {level}"
        )
    return (
        f"{r.member_share:.0%} of members ({size}), lifetime value per member "
        f"{r.value_ratio:.1f} times the average ({margin}): {level}"
    )
