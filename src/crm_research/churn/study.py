"""Notebook 05's decision rules, tables and metrics, as tested functions.

The notebook calls these and shows what they return; every rule (which CLV feeds the
retention list and whether the campaign applies a margin, which groups the survival
curves compare, which score ranks today's members) and every metric name lives here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data import schema as S
from ..data.schema import DataValidationError
from .evaluation import evaluate_scores, roc_auc
from .labels import WINBACK, palive_spec, textbook_label
from .retention import CampaignResult, campaign, proxy_clv, retention_list
from .survival import kaplan_meier_by_group, survival_data
from .truth import truth_dead_at
from .upstream import available_definitions, load_upstream, resolve_definition

#: Short metric keys of the scores compared in notebook 05.
SCORE_KEYS = {
    "gradient boosting": "gbm",
    "logistic regression": "logit",
    "1 - P(alive) baseline": "baseline",
}
#: The metrics of each score recorded in the notebook's metrics file.
SCORE_METRICS = ("roc_auc", "pr_auc", "brier", "top_decile_lift")
#: Columns of the retention list written to ``retention_list.parquet``.
RETENTION_COLUMNS = (
    "rank",
    S.MEMBER,
    "segment",
    "p_churn",
    "clv",
    "value_if_retained",
    "expected_loss",
    "expected_benefit",
    "expected_net",
    "contact",
)


def score_key(model: str) -> str:
    """The metric key of a score name (the purchase model's P(no flight) otherwise)."""
    return SCORE_KEYS.get(model, "model_no_flight")


@dataclass
class ChurnInputs:
    """What notebook 05 starts from: upstream tables, the definition used, notes."""

    upstream: dict
    spec: dict
    segments: pd.DataFrame | None
    available: pd.DataFrame
    definition: str
    notes: list[str] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    model_checks: list[dict] = field(default_factory=list)
    #: purchase-model fits and snapshots by date, shared by the notebook's steps
    cache: dict = field(default_factory=dict)


def churn_inputs(ds, processed_dir, definition: str = "auto") -> ChurnInputs:
    """Load the earlier notebooks' outputs and choose the churn definition.

    A segments table without segment assignments (an input without LRFMC) is not used.
    """
    upstream, notes = load_upstream(processed_dir)
    notes.insert(
        0,
        f"input: {ds.info.get('source', 'unknown')} | observation end: {ds.obs_end.date()} | "
        f"members: {len(ds.snapshot):,} | flight log: {'yes' if ds.has_flight_log else 'no'} | "
        f"truth: {'yes' if ds.has_truth else 'no'}",
    )
    spec = palive_spec(upstream["purchase_model"])
    checks = []
    if upstream["purchase_model"] is not None:
        checks.append(
            {
                **upstream["purchase_model"].verdict_.to_dict(),
                "context": "notebook 05: purchase model (from notebook 02)",
            }
        )
    segments = upstream["segments"]
    if segments is not None and ("segment" not in segments.columns or len(segments) == 0):
        notes.append("segments.parquet has no segment assignments (e.g. no LRFMC): not used")
        segments = None
    available = available_definitions(ds, upstream)
    used, why = resolve_definition(definition, available)
    notes.append(f"definition for the models and the retention list: {used!r} ({why})")
    notes.append(
        f"purchase model for P(alive) and P(no flight): {spec['name']} "
        f"(time unit {spec['time_unit']})"
    )
    metrics = {
        "source": ds.info.get("source", "unknown"),
        "definition": used,
        "n_members": int(len(ds.snapshot)),
        "purchase_model": spec["name"],
    }
    return ChurnInputs(upstream, spec, segments, available, used, notes, metrics, checks)


def definition_metrics(summary: pd.DataFrame) -> dict:
    """Churn rate per definition and, on simulated data, its scores against the truth."""
    out = {}
    for _, r in summary.iterrows():
        d = r["definition"]
        out[f"{d}_churn_rate"] = float(r["churn_rate"])
        if "truth_roc_auc" in summary.columns:
            for k in ("precision", "recall", "roc_auc"):
                out[f"{d}_truth_{k}"] = float(r[f"truth_{k}"])
    return out


def textbook_vs_forward(members: pd.DataFrame) -> pd.DataFrame | None:
    """Textbook status against the forward outcome (None without both labels)."""
    if not {"textbook_status", "forward_churn"} <= set(members.columns):
        return None
    fwd = members["forward_churn"].map({0: "flew again", 1: "did not fly"})
    xt = pd.crosstab(members["textbook_status"], fwd)
    xt["share not flying"] = xt.get("did not fly", 0) / xt.sum(axis=1)
    return xt


def textbook_today(ds, available: pd.DataFrame, **rule) -> tuple[pd.DataFrame | None, str, dict]:
    """The textbook label on today's snapshot (None where the input cannot give it)."""
    if not bool(available.set_index("definition").loc["textbook", "available"]):
        return None, "the textbook label is not computed for this input (see section 1)", {}
    try:
        tb = textbook_label(ds.snapshot, **rule)
    except DataValidationError as exc:
        return None, f"textbook label not possible: {exc}", {}
    note = (
        f"established members (more than {rule.get('min_flights', 6)} flights in the window): "
        f"{len(tb):,} of {len(ds.snapshot):,}"
    )
    metrics = {
        "textbook_established": int(len(tb)),
        "textbook_no_first_year_flights": int((tb["rule"] != "ratio").sum()),
    }
    return tb, note, metrics


def data_summary(cd) -> tuple[list[str], pd.DataFrame | None, dict]:
    """Notes, the imputation table (None when nothing was missing) and the metrics."""
    notes = list(cd.notes) + [f"{k}: {v}" for k, v in cd.feature_sources.items()]
    notes.append("features: " + ", ".join(cd.X_train.columns))
    imp = None
    if cd.imputation is not None and len(cd.imputation):
        imp = cd.imputation.groupby(["feature", "action"], as_index=False).agg(
            n_missing=("n_missing", "sum"), fill_value=("fill_value", "first")
        )
    metrics = {
        "split": cd.split,
        "n_train": int(len(cd.y_train)),
        "n_test": int(len(cd.y_test)),
        "test_churn_rate": float(cd.y_test.mean()),
        "n_features": int(cd.X_train.shape[1]),
        "n_imputed_values": int(cd.imputation["n_missing"].sum())
        if cd.imputation is not None
        else 0,
    }
    return notes, imp, metrics


def logit_notes(logit) -> list[str]:
    """What the logistic regression left out, its fit and its three strongest effects."""
    out = []
    if logit.dropped_:
        out.append("left out: " + "; ".join(f"{k} ({v})" for k, v in logit.dropped_.items()))
    out.append(
        f"converged: {logit.converged_}; McFadden pseudo R-squared {logit.result_.prsquared:.3f}"
    )
    out += [f"statsmodels warning: {w}" for w in logit.warnings_]
    out += ["reading: " + s for s in logit.odds_ratios()["reading"].head(3)]
    return out


def held_out_scores(cd, models: dict, spec_name: str, horizon_months: int):
    """Every score of the held-out members: the classifiers, the baseline, P(no flight).

    Returns ``(scores, notes)``; ``models`` maps a score name to a fitted classifier.
    """
    scores = {name: m.predict_proba(cd.X_test) for name, m in models.items()}
    notes = []
    if cd.baseline_test is not None:
        scores["1 - P(alive) baseline"] = cd.baseline_test.to_numpy()
        notes.append(
            f"{(cd.baseline_test == 0).mean():.1%} of the held-out members have P(alive) = 1 "
            f"under the {spec_name}"
        )
    else:
        notes.append("no P(alive) baseline: no flight log and no upstream P(alive)")
    if cd.no_flight_test is not None:
        scores[f"{spec_name} P(no flight in {horizon_months} months)"] = (
            cd.no_flight_test.to_numpy()
        )
    return scores, notes


def evaluation_metrics(evaluation: pd.DataFrame, metrics=SCORE_METRICS, suffix: str = "") -> dict:
    """``{<score key>_<metric><suffix>: value}`` from :func:`evaluate_scores`' table."""
    return {
        f"{score_key(r['model'])}_{m}{suffix}": float(r[m])
        for _, r in evaluation.iterrows()
        for m in metrics
    }


def against_truth(ds, cd, scores: dict, threshold: float = 0.5):
    """The held-out scores against the simulator's truth (dead at the feature date).

    Returns ``(table or None, note, metrics)``; the table has the ranking metrics.
    """
    if not ds.has_truth:
        return None, "no truth: the models are scored against the observed label only", {}
    date = cd.dates["features"]
    dead = truth_dead_at(ds.truth, date).set_index(S.MEMBER)["dead"].reindex(cd.X_test.index)
    ok = dead.notna().to_numpy()
    if not (ok.any() and 0 < dead[ok].sum() < ok.sum()):
        return None, "the held-out members are all dead or all alive in the truth", {}
    tab = evaluate_scores(
        dead[ok].astype(int).to_numpy(),
        {k: np.asarray(v)[ok] for k, v in scores.items()},
        threshold,
    )
    note = f"truly dropped out at {date.date()}: {dead[ok].mean():.1%} of the held-out members"
    shown = tab.set_index("model")[["roc_auc", "pr_auc", "top_decile_lift"]]
    return shown, note, evaluation_metrics(tab, ("roc_auc",), "_truth")


def survival_groups(ds, segments: pd.DataFrame | None) -> tuple[pd.DataFrame | None, str]:
    """Groups for the survival curves: LRFMC segments, else the tier, else everyone."""
    if segments is not None:
        return segments[[S.MEMBER, "segment"]], "LRFMC segment (notebook 04)"
    if "FFP_TIER" in ds.snapshot.columns:
        tier = "tier " + ds.snapshot["FFP_TIER"].astype("Int64").astype(str)
        return (
            ds.snapshot[[S.MEMBER]].assign(segment=tier),
            "frequent-flyer tier (segments.parquet not available)",
        )
    return None, "all members"


def survival_by_group(ds, segments: pd.DataFrame | None, inactive_days: int = 365):
    """Kaplan-Meier curves of the time to the last flight by :func:`survival_groups`.

    Returns ``(fitters, summary, notes, metrics)``.
    """
    surv = survival_data(ds.snapshot, inactive_days=inactive_days)
    groups, gnote = survival_groups(ds, segments)
    km, summary, p = kaplan_meier_by_group(surv, groups)
    lapsed = float(surv["event"].mean())
    notes = [f"groups: {gnote}; members with flight dates: {len(surv):,}; lapsed: {lapsed:.1%}"]
    notes += [
        f"left out: {n:,} members ({w})" for w, n in surv.attrs.get("dropped", {}).items() if n
    ]
    notes.append(
        f"log-rank test that all curves are equal: p = {p:.3g}"
        if np.isfinite(p)
        else "one group only: no log-rank test"
    )
    return km, summary, notes, {"km_groups": gnote, "km_logrank_p": p, "lapsed_share": lapsed}


def scores_now(cd, models: dict, list_model: str = "gbm") -> tuple[pd.Series, str, list[str]]:
    """P(churn) of today's members from ``list_model`` (``gbm`` when it is not available).

    ``models`` maps ``gbm``/``logit`` to fitted classifiers; ``baseline`` and
    ``no_flight`` are the purchase model's scores (missing values get their median).
    """
    scores = {"baseline": cd.baseline_now, "no_flight": cd.no_flight_now}
    available = set(models) | {k for k, s in scores.items() if s is not None}
    used = list_model if list_model in available else "gbm"
    notes = [] if used == list_model else [f"list_model={list_model!r} is not available: 'gbm'"]
    # only the score the list uses: a classifier's prediction of every member today is
    # the costly part (gradient boosting on 1,000,000 members: seconds)
    if used in models:
        p = models[used].predict_proba(cd.X_now)
    else:
        p = scores[used].fillna(scores[used].median()).to_numpy()
    return pd.Series(np.clip(p, 0.0, 1.0), index=cd.X_now.index), used, notes


def value_for_list(
    clv: pd.DataFrame | None,
    snapshot: pd.DataFrame,
    members,
    *,
    margin: float,
    proxy_years: float = 3.0,
) -> tuple[pd.DataFrame, float, str]:
    """Which value feeds the retention list, and the margin the campaign applies.

    - notebook 03's CLV (``clv.parquet`` with ``clv``): already a profit figure, so the
      campaign's margin is 1 (the margin is not applied twice); the value if retained is
      CLV / P(alive) (:func:`value_if_retained`);
    - else a revenue proxy, last-year revenue x ``proxy_years`` (:func:`proxy_clv`), with
      the campaign's ``margin``;
    - else CLV 1 for every member (the list ranks by P(churn) alone), with ``margin``.

    Returns ``(value table, campaign margin, note)``.
    """
    if clv is not None and "clv" in clv.columns:
        cols = [c for c in (S.MEMBER, "clv", "p_alive") if c in clv.columns]
        note = "CLV from notebook 03 (clv.parquet), already a profit figure: margin 1"
        return clv[cols], 1.0, note
    if "SUM_YR_2" in snapshot.columns:
        note = f"proxy CLV: last-year revenue x {proxy_years:g} years (clv.parquet not available)"
        return proxy_clv(snapshot, years=proxy_years), float(margin), note
    note = "no CLV and no revenue: every member gets CLV 1 (the list ranks by P(churn) only)"
    return pd.DataFrame({S.MEMBER: list(members), "clv": 1.0}), float(margin), note


def retention_campaign(
    cd,
    models: dict,
    inputs: ChurnInputs,
    snapshot: pd.DataFrame,
    *,
    list_model: str = "gbm",
    margin: float = 0.3,
    proxy_years: float = 3.0,
    contact_cost: float = 50.0,
    acceptance_rate: float = 0.25,
):
    """Today's P(churn), the retention list and the campaign, with notes and metrics.

    :func:`scores_now` then :func:`value_for_list` (which value, which margin), then
    :func:`~crm_research.churn.retention_list` and :func:`~crm_research.churn.campaign`.

    Returns ``(campaign result, P(churn) today, notes, metrics)``.
    """
    p_now, used, notes = scores_now(cd, models, list_model)
    value, camp_margin, clv_note = value_for_list(
        inputs.upstream.get("clv"), snapshot, p_now.index, margin=margin, proxy_years=proxy_years
    )
    seg = inputs.segments[[S.MEMBER, "segment"]] if inputs.segments is not None else None
    ranked = retention_list(p_now, value, seg)
    result = campaign(
        ranked, contact_cost=contact_cost, acceptance_rate=acceptance_rate, margin=camp_margin
    )
    notes += [
        f"P(churn) for {len(p_now):,} members at {cd.dates['now'].date()} from {used!r}",
        clv_note,
        f"value if retained: {ranked.attrs['value_basis']}",
        f"scored members without a CLV (counted as 0): {ranked.attrs['members_without_clv']:,}",
        campaign_sentence(result),
    ]
    metrics = campaign_metrics(
        result, list_model=used, clv_source=clv_note, campaign_margin=camp_margin
    )
    return result, p_now, notes, metrics


def campaign_sentence(result: CampaignResult) -> str:
    """The campaign's outcome in one sentence."""
    s = result.summary
    roi = f", return on cost {s['roi']:.2f}" if np.isfinite(s["roi"]) else ""
    return (
        f"contact {s['n_contact']:,} of {s['n_members']:,} members ({s['share_contacted']:.1%}): "
        f"cost {s['cost']:,.0f}, expected saved value {s['expected_saved_value']:,.0f}, "
        f"expected return {s['expected_return']:,.0f}{roi}"
    )


def winback(
    result: CampaignResult, by_segment: pd.DataFrame, has_segments: bool, top: int = 15
) -> tuple[str, dict, pd.DataFrame]:
    """The win-back class in the campaign: a sentence, its metrics and its first rows."""
    rows = result.table[result.table["segment"] == WINBACK].head(top)
    if not has_segments:
        return "segments.parquet not available: run notebook 04 to single out win-back", {}, rows
    if not by_segment["winback"].any():
        return "no member is in the win-back class in this segmentation", {}, rows
    wb = by_segment[by_segment["winback"]].iloc[0]
    share = wb["expected_loss"] / max(by_segment["expected_loss"].sum(), 1e-12)
    note = (
        f"win-back class: {int(wb['members']):,} members, mean P(churn) "
        f"{wb['mean_p_churn']:.2f}, expected loss {wb['expected_loss']:,.0f} ({share:.1%} of the "
        f"total), {int(wb['contacted']):,} to contact, expected return "
        f"{wb['expected_return']:,.0f}"
    )
    metrics = {
        "winback_members": int(wb["members"]),
        "winback_contacted": int(wb["contacted"]),
        "winback_expected_return": float(wb["expected_return"]),
    }
    return note, metrics, rows


def retention_output(result: CampaignResult, list_model: str, definition: str) -> pd.DataFrame:
    """The retention list as written to ``retention_list.parquet`` (and the CSV)."""
    out = result.table[list(RETENTION_COLUMNS)].copy()
    out["p_churn_model"] = list_model
    out["definition"] = definition
    return out


def write_retention(
    result: CampaignResult, cd, processed_dir, reports_dir, *, list_model: str, definition: str
) -> tuple[pd.DataFrame, str]:
    """Write the retention list (Parquet and CSV) and today's features; a sentence."""
    from .. import io as _io  # noqa: PLC0415
    from ..config import ARTIFACTS  # noqa: PLC0415

    out = retention_output(result, list_model, definition)
    pq = _io.write_parquet(out, Path(processed_dir) / ARTIFACTS["retention_list"])
    _io.write_parquet(cd.X_now.reset_index(), Path(processed_dir) / ARTIFACTS["churn_features_now"])
    csv = write_list_csv(out, Path(reports_dir) / ARTIFACTS["retention_csv"])
    return out, f"wrote {len(out):,} rows to {pq} and {csv}"


#: Text that pyarrow's CSV writer would have to quote (it refuses it unquoted).
_NEEDS_QUOTES = (",", '"', "\r", "\n")


def write_list_csv(out: pd.DataFrame, path) -> Path:
    """:func:`crm_research.io.write_csv` of the retention list, faster: the same cells.

    pandas' ``to_csv`` formats every number in Python-level chunks: 22 s for the
    1,000,000 rows of a 1M-member study, plus 5 s for ``write_csv``'s CSV-injection
    guard (one Python call per text cell), a third of notebook 05. pyarrow's CSV writer
    prints the shortest round-trip form of every number in C++ (0.07 s instead of
    0.7 s at 60,000 rows): every value reads back bit for bit equal, only numbers
    below 1e-4 are spelt differently (``3.2e-7`` where pandas writes ``3.2e-07``,
    ``0.000037`` for ``3.7e-05``). The list's text columns hold a few distinct values
    (segment keys, the model, the definition), checked once each: when one would be
    changed by the guard or need quoting, a text cell is missing or a number is
    infinite, the list goes to ``write_csv`` itself. ``tests/test_churn_study.py``
    checks both files read back equal, header, text and ``True``/``False`` included.
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.csv as pacsv  # noqa: PLC0415

    from .. import io as _io  # noqa: PLC0415

    text = [c for c in out.columns if not pd.api.types.is_numeric_dtype(out[c].dtype)]
    flags = [c for c in out.columns if pd.api.types.is_bool_dtype(out[c].dtype)]
    values = {str(v) for c in text if c not in flags for v in out[c].unique()}
    plain = all(
        _io.neutralise_cell(v) == v and not any(ch in v for ch in _NEEDS_QUOTES)
        for v in values | {str(c) for c in out.columns}
    )
    numbers = out.select_dtypes("number").to_numpy(float)
    if not plain or out[text].isna().any().any() or np.isinf(numbers).any():
        return _io.write_csv(out, path)
    table = pa.Table.from_pandas(
        out.assign(**{c: np.where(out[c].to_numpy(), "True", "False") for c in flags}),
        preserve_index=False,
    )
    opts = pacsv.WriteOptions(eol="\r\n", quoting_style="none", quoting_header="none")
    return _io._atomic(path, lambda tmp: pacsv.write_csv(table, tmp, write_options=opts))


def list_vs_truth(ds, p_now: pd.Series) -> dict:
    """``list_p_churn_truth_roc_auc``: ROC AUC of today's P(churn) against the truth
    (dropped out by ``obs_end``); empty without a truth or with one class only."""
    if not ds.has_truth:
        return {}
    dead = truth_dead_at(ds.truth, ds.obs_end).set_index(S.MEMBER)["dead"].reindex(p_now.index)
    ok = dead.notna().to_numpy()
    if not 0 < dead[ok].sum() < ok.sum():
        return {}
    return {"list_p_churn_truth_roc_auc": roc_auc(dead[ok].astype(int), p_now[ok])}


def campaign_metrics(result: CampaignResult, **extra: Any) -> dict:
    """The campaign's metrics (plus ``extra``: list model, CLV source, margin)."""
    s = result.summary
    return {
        **extra,
        "n_contact": int(s["n_contact"]),
        "campaign_cost": float(s["cost"]),
        "campaign_expected_return": float(s["expected_return"]),
        "expected_loss_total": float(s["expected_loss_total"]),
    }
