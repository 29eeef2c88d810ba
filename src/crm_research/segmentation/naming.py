"""Naming the clusters as the source paper's five member classes; the segments table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import vocabulary as V
from ..data import schema as S
from .clustering import LRFMCKMeans
from .features import LRFMC

#: The five member classes of the source paper (DOMAIN.md), named by the one vocabulary
#: (:mod:`crm_research.vocabulary`: English and the textbook's Chinese names, lifecycle
#: stage, strategy), with the order of value the classes imply (used only to
#: rank-correlate classes with values).
_VALUE_ORDER = {
    "important_retain": 5,
    "important_develop": 4,
    "important_winback": 3,
    "general": 2,
    "low_value": 1,
    "unassigned": np.nan,
}
SEGMENTS = pd.DataFrame(
    [
        (
            key,
            V.class_name(key, "en"),
            V.class_name(key, "zh"),
            V.CLASS_STAGE.get(key, "n/a"),
            V.STRATEGIES[key],
            order,
        )
        for key, order in _VALUE_ORDER.items()
    ],
    columns=["segment", "segment_en", "segment_zh", "lifecycle_stage", "strategy", "value_order"],
).set_index("segment")

SEGMENT_COLUMNS = (
    "MEMBER_NO",
    *LRFMC,
    "cluster",
    "segment",
    "segment_en",
    "segment_zh",
    "lifecycle_stage",
    "strategy",
    "value_score",
)


# ----------------------------------------------------------------------------------------
# naming the clusters
# ----------------------------------------------------------------------------------------
def _level(z: float, t: float) -> str:
    if z >= t:
        return "high"
    if z <= -t:
        return "low"
    return "mid"


def name_clusters(centres_z: pd.DataFrame, threshold: float = 0.25) -> pd.DataFrame:
    """Name each cluster as one of the five member classes by rules on its centre.

    The centre of each cluster is read as population z-scores (:func:`population_z`): a
    variable is *high* when the centre lies at least ``threshold`` standard deviations
    above the member average, *low* when at least ``threshold`` below, *mid* otherwise.
    Activity ``A = max(z_F, z_M)`` stands for "F or M" in the profiles of DOMAIN.md
    (A is high when F or M is high, low when both are low). The rules, applied to each
    cluster on its own (so the result never depends on the cluster numbering):

    ===================  =============================================================
    important retain     A high, R not high (flew recently), C not low
    important develop    C high, A not high, R not high
    important win-back   R high (long since the last flight), and A not low or C high
                         (they flew a lot or at high fares in the window)
    low value            A low, C not high, and R high or C low
    general              A not high, C not high, R not high, and not (A low and C low)
                         (middling members)
    ===================  =============================================================

    The rules exclude one another. A cluster that none fits (e.g. high activity at low
    fares: A high, C low, R not high) is reported as ``unassigned`` with its profile,
    rather than forced into a class. Several clusters may share a class.

    Parameters
    ----------
    centres_z : DataFrame
        One row per cluster (index = cluster id), columns L, R, F, M, C in population
        z-scores.
    threshold : float
        The band, in standard deviations, between "low", "mid" and "high".

    Returns
    -------
    DataFrame
        Index cluster; columns ``segment, segment_en, segment_zh, lifecycle_stage,
        strategy``, the levels ``L_level ... C_level, A_level``, ``A`` and ``reason``.
    """
    if threshold <= 0:
        raise ValueError(f"threshold must be positive, got {threshold!r}")
    S.require_columns(centres_z, LRFMC, "cluster centres")
    rows = []
    for cl, c in centres_z[list(LRFMC)].astype(float).iterrows():
        a = max(c["F"], c["M"])
        lv = {v: _level(c[v], threshold) for v in LRFMC}
        la = _level(a, threshold)
        r_hi, c_hi, c_lo = lv["R"] == "high", lv["C"] == "high", lv["C"] == "low"
        a_hi, a_lo = la == "high", la == "low"
        prof = (
            f"L {lv['L']} ({c['L']:+.2f}), R {lv['R']} ({c['R']:+.2f}), F {lv['F']} ({c['F']:+.2f}), "
            f"M {lv['M']} ({c['M']:+.2f}), C {lv['C']} ({c['C']:+.2f})"
        )
        if a_hi and not r_hi and not c_lo:
            seg, why = (
                "important_retain",
                "flies a lot (F or M high), recently (R not high), at fares not below average",
            )
        elif c_hi and not a_hi and not r_hi:
            seg, why = (
                "important_develop",
                "high fares (C high), recent, but F and M not high: room to grow",
            )
            if lv["L"] == "low":
                why += "; mostly recent members (L low)"
        elif r_hi and (not a_lo or c_hi):
            seg, why = (
                "important_winback",
                (
                    "long since the last flight (R high) though they flew a lot or at high fares in the window"
                ),
            )
        elif a_lo and not c_hi and (r_hi or c_lo):
            seg, why = (
                "low_value",
                "few flights and km (F, M low), "
                + ("long since the last flight (R high)" if r_hi else "at low fares (C low)"),
            )
        elif not a_hi and not c_hi and not r_hi and not (a_lo and c_lo):
            seg, why = "general", "middling activity, recency and fares"
        else:
            seg, why = "unassigned", "fits none of the five profiles"
        info = SEGMENTS.loc[seg]
        rows.append(
            {
                "cluster": cl,
                "segment": seg,
                "segment_en": info["segment_en"],
                "segment_zh": info["segment_zh"],
                "lifecycle_stage": info["lifecycle_stage"],
                "strategy": info["strategy"],
                **{f"{v}_level": lv[v] for v in LRFMC},
                "A": a,
                "A_level": la,
                "reason": f"{why}. Centre: {prof}",
            }
        )
    return pd.DataFrame(rows).set_index("cluster")


# ----------------------------------------------------------------------------------------
# the segments table
# ----------------------------------------------------------------------------------------
def segments_table(
    features: pd.DataFrame, model: LRFMCKMeans, names: pd.DataFrame, score: pd.Series | None = None
) -> pd.DataFrame:
    """One row per member: ``MEMBER_NO, L..C, cluster, segment, segment_en, segment_zh,
    lifecycle_stage, strategy, value_score`` (what ``segments.parquet`` holds)."""
    out = features[[S.MEMBER, *LRFMC]].reset_index(drop=True).copy()
    out["cluster"] = model.labels_.to_numpy()
    for col in ("segment", "segment_en", "segment_zh", "lifecycle_stage", "strategy"):
        out[col] = out["cluster"].map(names[col])
    if score is not None:
        out["value_score"] = out[S.MEMBER].map(score)
    else:
        out["value_score"] = np.nan
    return out[list(SEGMENT_COLUMNS)]


def empty_segments() -> pd.DataFrame:
    """An empty ``segments.parquet`` table (data without LRFMC columns, e.g. CDNOW)."""
    out = pd.DataFrame({c: pd.Series(dtype=float) for c in SEGMENT_COLUMNS})
    out[S.MEMBER] = out[S.MEMBER].astype("int64")
    out["cluster"] = out["cluster"].astype("int64")
    for c in ("segment", "segment_en", "segment_zh", "lifecycle_stage", "strategy"):
        out[c] = out[c].astype(object)
    return out


def segment_summary(segments: pd.DataFrame) -> pd.DataFrame:
    """Per segment: members, share, mean L..C and mean value score, English and Chinese names."""
    g = segments.groupby("segment")
    out = pd.DataFrame({"n": g.size()})
    out["share"] = out["n"] / out["n"].sum()
    out = out.join(g[list(LRFMC) + ["value_score"]].mean())
    out = SEGMENTS[["segment_en", "segment_zh", "lifecycle_stage"]].join(out, how="inner")
    order = [s for s in SEGMENTS.index if s in out.index]
    return out.loc[order]
