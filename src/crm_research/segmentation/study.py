"""Notebook 04's steps, decision rules, comparison tables and metrics, as tested functions.

The notebook calls these and shows what they return: which members are segmented,
the stability runs, the naming summary, the comparison of the classes and the AHP score
with the CLV and the simulator's truth, and the metrics it records.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config import ARTIFACTS
from ..data import schema as S
from .clustering import stability
from .features import LRFMC
from .naming import SEGMENTS
from .scoring import value_score
from .truth import rank_agreement, segment_value_table, true_future_value

#: The scores compared with the CLV and the true value.
SCORE_COLUMNS = ("value_score", "value_score_rank", "class_order", "F", "M", "R")
#: The classes the paper calls important.
IMPORTANT = ("important_retain", "important_develop", "important_winback")


def no_flight_count(snapshot: pd.DataFrame) -> int:
    """Members without a flight in the two-year window (no discount C: not segmented)."""
    return int((pd.to_numeric(snapshot["FLIGHT_COUNT"], errors="coerce") == 0).sum())


def selection_notes(snapshot: pd.DataFrame, kept: pd.DataFrame) -> list[str]:
    """How many members are segmented and how many have no flight in the window."""
    n, n0 = len(snapshot), no_flight_count(snapshot)
    return [
        f"members with no flight in the window: {n0:,} ({n0 / max(n, 1):.1%}); they have no "
        "fare discount C and are excluded",
        f"members segmented: {len(kept):,} of {n:,} ({len(kept) / max(n, 1):.1%})",
    ]


def k_choice_note(ksel: pd.DataFrame) -> str:
    """The best k by each criterion of :func:`~crm_research.segmentation.k_selection`."""
    return (
        f"best k by silhouette: {ksel['silhouette'].idxmax()}, by Calinski-Harabasz: "
        f"{ksel['calinski_harabasz'].idxmax()}, by Davies-Bouldin: "
        f"{ksel['davies_bouldin'].idxmin()}"
    )


def stability_runs(
    X: pd.DataFrame, k: int, *, n_seeds: int, n_boot: int, n_init: int, seed: int, **scaling
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Stability across seeds and bootstrap samples, and of single-start k-means.

    Returns every run, the summary by kind (``runs, mean_ari, min_ari, max_moved``) and
    one sentence per kind.
    """
    stab = stability(X, k, n_seeds=n_seeds, n_boot=n_boot, n_init=n_init, seed=seed, **scaling)
    one = stability(X, k, n_seeds=n_seeds, n_boot=0, n_init=1, seed=seed, **scaling)
    runs = pd.concat([stab, one.assign(kind="seed, n_init = 1")], ignore_index=True)
    summary = runs.groupby("kind").agg(
        runs=("ari", "size"),
        mean_ari=("ari", "mean"),
        min_ari=("ari", "min"),
        max_moved=("moved", "max"),
    )
    notes = [
        f"{kind:>18}: ARI {r['mean_ari']:.3f} on average (lowest {r['min_ari']:.3f}); at most "
        f"{int(r['max_moved']):,} of {len(X):,} members ({r['max_moved'] / len(X):.1%}) "
        "change group"
        for kind, r in summary.iterrows()
    ]
    return runs, summary, notes


def naming_summary(names: pd.DataFrame, sizes: pd.Series) -> tuple[pd.DataFrame, list[str]]:
    """The naming table (class, levels, size) and what fits no class or several."""
    levels = ["segment_en", "segment_zh", "lifecycle_stage", "A_level", "R_level", "C_level"]
    table = names[levels + ["L_level"]].join(sizes)
    notes = [
        f"cluster {cl} ({int(sizes[cl]):,} members) -> {r['segment_en']} [{r['segment_zh']}]: "
        f"{r['reason']}"
        for cl, r in names.iterrows()
    ]
    unassigned = names.index[names["segment"] == "unassigned"].tolist()
    shared = names["segment"].value_counts()
    shared = shared[(shared > 1) & (shared.index != "unassigned")]
    missing = [s for s in SEGMENTS.index[:5] if s not in set(names["segment"])]
    notes += [
        f"clusters fitting no class: {unassigned or 'none'}",
        f"classes holding several clusters: {shared.to_dict() if len(shared) else 'none'}",
        f"classes no cluster fits: {missing or 'none'}",
    ]
    return table, notes


def ahp_note(ahp) -> str:
    """Saaty's consistency check in one sentence."""
    c = ahp.consistency()
    verdict = "acceptable" if ahp.acceptable else "NOT acceptable"
    return (
        f"lambda_max = {c['lambda_max']:.4f}, CI = {c['consistency_index']:.4f}, "
        f"RI({c['n']}) = {c['random_index']}, CR = {c['consistency_ratio']:.4f} "
        f"({verdict}: Saaty's limit is 0.1)"
    )


def strategies(segments: pd.DataFrame) -> pd.DataFrame:
    """The classes present, with their lifecycle stage and strategy."""
    present = [s for s in SEGMENTS.index if s in set(segments["segment"])]
    return SEGMENTS.loc[present, ["segment_en", "segment_zh", "lifecycle_stage", "strategy"]]


def comparison_table(
    segments: pd.DataFrame,
    X: pd.DataFrame,
    ahp,
    *,
    processed_dir,
    truth: pd.DataFrame | None = None,
    horizon_weeks: float = 52.0,
) -> tuple[pd.DataFrame, bool, dict, list[str]]:
    """Segments with their class order, the rank-normalised score, CLV and true value.

    The CLV comes from notebook 03's ``clv.parquet`` when it has ``MEMBER_NO, clv``; the
    true next-period value and activity from the simulator's truth when there is one.

    Returns ``(table, has_clv, metrics, notes)``; the metrics hold the share of the true
    value held by the members left out of the segmentation.
    """
    out = segments.copy()
    out["class_order"] = out["segment"].map(SEGMENTS["value_order"])
    out["value_score_rank"] = value_score(X, ahp, "rank").to_numpy()
    notes, metrics, has_clv = [], {}, False
    path = Path(processed_dir) / ARTIFACTS["clv"]
    clv = pd.read_parquet(path) if path.exists() else None
    if clv is None:
        notes.append(f"{path} not found (notebook 03 has not run): CLV comparison skipped")
    elif not {S.MEMBER, "clv"} <= set(clv.columns):
        notes.append(f"{path} has no MEMBER_NO/clv columns: CLV comparison skipped")
    else:
        out = out.merge(clv[[S.MEMBER, "clv"]], on=S.MEMBER, how="left")
        has_clv = bool(out["clv"].notna().sum() > 2)
        notes.append(f"CLV of notebook 03 for {out['clv'].notna().sum():,} of {len(out):,} members")
    if truth is None:
        notes.append("no ground truth: the comparison with the true value is skipped")
        return out, has_clv, metrics, notes
    tv = true_future_value(truth, horizon_weeks)
    out = out.merge(tv, on=S.MEMBER, how="left")
    out = out.merge(truth[[S.MEMBER, "lam", "alive"]], on=S.MEMBER, how="left")
    left_out = tv.loc[~tv[S.MEMBER].isin(out[S.MEMBER]), "true_value"].sum()
    total = tv["true_value"].sum()
    share = float(left_out / total) if total > 0 else float("nan")
    metrics["excluded_members_true_value_share"] = share
    notes.append(
        f"true value over {horizon_weeks:g} weeks from the simulator for "
        f"{out['true_value'].notna().sum():,} members; the members left out of the "
        f"segmentation hold {share:.1%} of the total true value"
    )
    return out, has_clv, metrics, notes


def agreement(
    compare: pd.DataFrame | None, has_clv: bool, top_share: float = 0.2, *, seed: int = 0
) -> tuple[dict, list[str]]:
    """:func:`rank_agreement` of the scores against the CLV and the true value (``seed``:
    the sample of Kendall's tau on large tables); nothing without a comparison table."""
    tabs = {}
    if compare is None:
        return tabs, []
    kw = dict(top_share=top_share, seed=seed)
    if has_clv:
        tabs["clv"] = rank_agreement(compare, "clv", SCORE_COLUMNS, **kw)
    if "true_value" in compare.columns:
        cols = list(SCORE_COLUMNS) + (["clv"] if has_clv else [])
        tabs["truth"] = rank_agreement(compare, "true_value", cols, **kw)
    notes = [
        f"vs {t}: AHP score rho = {tab.loc['value_score', 'spearman']:.3f}, classes rho = "
        f"{tab.loc['class_order', 'spearman']:.3f}, F alone rho = {tab.loc['F', 'spearman']:.3f}, "
        f"M alone rho = {tab.loc['M', 'spearman']:.3f}; strongest |rho|: "
        f"{tab['spearman'].abs().idxmax()}"
        for t, tab in tabs.items()
    ]
    return tabs, notes


def value_target(compare: pd.DataFrame | None, has_clv: bool) -> str | None:
    """What the classes are compared with: the true value, else the CLV, else nothing."""
    if compare is not None and "true_value" in compare.columns:
        return "true_value"
    return "clv" if has_clv else None


def class_values(
    compare: pd.DataFrame, target: str, top_share: float = 0.2
) -> tuple[dict, pd.DataFrame | None, dict, str]:
    """Per class: value tables (true value and CLV), true rates, important-class shares.

    Returns ``(tables by target, true rates or None, metrics, sentence)``.
    """
    pct = int(round(top_share * 100))
    tabs = {
        t: segment_value_table(compare, t, top_share=top_share)
        for t in ("true_value", "clv")
        if t in compare.columns and compare[t].notna().sum() > 2
    }
    rates = None
    if "lam" in compare.columns:
        rates = compare.groupby("segment").agg(
            n=(S.MEMBER, "size"),
            true_flights_per_year_while_active=("lam", lambda x: 52 * x.mean()),
            share_still_active=("alive", "mean"),
            true_flights_next_period=("true_flights", "mean"),
        )
        rates = SEGMENTS[["segment_en", "segment_zh"]].join(rates, how="inner")
    tab = tabs[target]
    imp = [s for s in IMPORTANT if s in tab.index]
    share = float(tab.loc[imp, "member_share"].sum()) if imp else 0.0
    top = float(tab.loc[imp, f"share_of_top{pct}"].sum()) if imp else 0.0
    metrics = {f"important_share_of_top{pct}_{target}": top, "important_member_share": share}
    note = (
        f"the important classes hold {share:.1%} of the members and {top:.1%} of the top "
        f"{pct}% by {target}"
    )
    return tabs, rates, metrics, note


def value_label(target: str, horizon_weeks: float) -> tuple[str, str]:
    """The axis label of the value compared with, and the figure's name."""
    if target == "true_value":
        label = f"True expected revenue, next {horizon_weeks:g} weeks"
        return label, "lrfmc_segments_vs_true_value"
    return "CLV (notebook 03)", "lrfmc_segments_vs_clv"


def selection_counts(snapshot: pd.DataFrame, X: pd.DataFrame) -> dict:
    """Members without a flight in the window, segmented and left out."""
    return {
        "n_no_flight_in_window": no_flight_count(snapshot),
        "n_segmented": len(X),
        "n_excluded": len(snapshot) - len(X),
    }


def segmentation_metrics(
    model,
    ksel: pd.DataFrame,
    stab_runs: pd.DataFrame,
    stab_summary: pd.DataFrame,
    names: pd.DataFrame,
    ahp,
    segments: pd.DataFrame,
    agreement_tabs: dict,
    top_share: float = 0.2,
) -> dict:
    """The metrics notebook 04 records for a segmentation (beside its parameters)."""
    nan = float("nan")
    k = model.k
    pct = int(round(top_share * 100))

    def at_k(col):
        return float(ksel.loc[k, col]) if k in ksel.index else nan

    def ari(kind):
        return float(stab_summary.loc[kind, "mean_ari"]) if kind in stab_summary.index else nan

    cons = ahp.consistency()
    m = {
        "inertia": model.inertia_,
        "model_checks": [{**model.verdict_.to_dict(), "context": "notebook 04: LRFMC clusters"}],
        "silhouette_at_k": at_k("silhouette"),
        "calinski_harabasz_at_k": at_k("calinski_harabasz"),
        "davies_bouldin_at_k": at_k("davies_bouldin"),
        "best_k_silhouette": int(ksel["silhouette"].idxmax()),
        "stability_seed_mean_ari": ari("seed"),
        "stability_bootstrap_mean_ari": ari("bootstrap"),
        "stability_single_start_mean_ari": ari("seed, n_init = 1"),
        "stability_max_moved": int(stab_runs["moved"].max()),
        "n_unassigned_clusters": int((names["segment"] == "unassigned").sum()),
        "ahp_lambda_max": cons["lambda_max"],
        "ahp_consistency_ratio": cons["consistency_ratio"],
        **{f"ahp_weight_{v}": float(ahp.weights[v]) for v in LRFMC},
        **{f"share_{s}": float((segments["segment"] == s).mean()) for s in SEGMENTS.index},
    }
    for tgt, tab in agreement_tabs.items():
        for key, row in (
            ("score", "value_score"),
            ("score_rank", "value_score_rank"),
            ("classes", "class_order"),
            ("F", "F"),
        ):
            m[f"spearman_{key}_vs_{tgt}"] = tab.loc[row, "spearman"]
        m[f"top{pct}_hit_rate_score_vs_{tgt}"] = tab.loc["value_score", f"top{pct}_hit_rate"]
    return m


def empty_metrics(k: int, reason: str) -> dict:
    """The metrics of an input without LRFMC (NaN where a number is expected)."""
    nan = float("nan")
    return {
        "n_segmented": 0,
        "k": k,
        "silhouette_at_k": nan,
        "ahp_consistency_ratio": nan,
        "spearman_score_vs_truth": nan,
        "reason": reason,
    }


__all__ = [
    "IMPORTANT",
    "SCORE_COLUMNS",
    "agreement",
    "ahp_note",
    "class_values",
    "comparison_table",
    "empty_metrics",
    "k_choice_note",
    "naming_summary",
    "no_flight_count",
    "segmentation_metrics",
    "selection_counts",
    "selection_notes",
    "stability_runs",
    "strategies",
    "value_label",
    "value_target",
]
