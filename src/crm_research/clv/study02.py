"""The steps of notebook 02 (purchase models) that are decisions, tables or long sentences.

The notebook keeps the narrative, the calls and the figures; what it decides (the
calibration end, which comparisons run on which data), the tables it assembles and the
sentences it prints are here, tested (``tests/test_clv_study.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import ARTIFACTS
from ..data.engines.predictions import PredictionTable, prediction_table, score_predictions
from .covariates import covariate_design, fit_covariates
from .fitting import fit_ladder, holdout_cumulative_error, weights_of
from .modelfile import COUNTING_RULES, counting_rule_for, save_purchase_model
from .models import MODELS, FitError
from .replicate import CDNOW_CALIBRATION_END
from .study02_inputs import (  # noqa: F401 - notebook 02's inputs, re-exported
    PurchaseInputs,
    diagnostics_on,
    log_histories,
    purchase_data,
    purchase_inputs,
    sample_note,
)
from .summary import days_per_unit, summary_from_snapshot
from .validation import (
    compare_models,
    discretisation_effect,
    holdout_by_frequency,
    holdout_errors,
)
from .verdict import FitVerdict


@dataclass
class Setup:
    """What notebook 02 works with: data source, time unit, counting rule, periods."""

    source: str
    obs_end: pd.Timestamp
    cal_end: pd.Timestamp
    time_unit: str
    unit_days: float
    counting_rule: str
    has_log: bool
    process: str
    true_params: dict | None

    @property
    def merge_same_day(self) -> bool:
        return self.counting_rule == "distinct days"

    @property
    def year(self) -> float:
        """One year in the time unit."""
        return 365.25 / self.unit_days

    def text(self) -> str:
        lines = [
            f"data: {self.source}; observation end {self.obs_end.date()}; time unit: "
            f"{self.time_unit}; counting rule: {self.counting_rule} "
            f"({COUNTING_RULES[self.counting_rule]})"
        ]
        if self.has_log:
            lines.append(
                f"calibration period ends {self.cal_end.date()}; holdout "
                f"{(self.obs_end - self.cal_end).days} days"
            )
        else:
            lines.append("no flight log (member table only): no holdout validation is possible")
        return "\n".join(lines)


def setup(ds, *, calibration_end=None, holdout_weeks: int = 52, time_unit: str = "weeks"):
    """The calibration end (given; CDNOW's; ``holdout_weeks`` before the end; or none)."""
    source = ds.info.get("source", "unknown")
    obs_end = ds.obs_end
    if calibration_end is not None:
        cal_end = pd.Timestamp(calibration_end)
    elif source == "cdnow":
        cal_end = pd.Timestamp(CDNOW_CALIBRATION_END)
    elif holdout_weeks > 0:
        cal_end = obs_end - pd.Timedelta(days=7 * holdout_weeks)
    else:
        cal_end = obs_end
    return Setup(
        source=source,
        obs_end=obs_end,
        cal_end=cal_end,
        time_unit=time_unit,
        unit_days=days_per_unit(time_unit),
        counting_rule=counting_rule_for(ds),
        has_log=ds.flights is not None,
        process=ds.info.get("process", "bgnbd"),
        true_params=ds.info.get("true_params") if ds.has_truth else None,
    )


def approximation_study(ds, st: Setup, penalizer: float = 0.0, histories=None):
    """Counting rules and the member-table approximation against the simulation's truth.

    Returns None (with the sentence why) unless the data are simulated with a flight log
    and a BG/NBD truth; else ``discretisation`` (:func:`discretisation_effect`, on a
    sample of members), ``approximation`` (BG/NBD on the flight log, on the member-table
    approximation and on its textbook-like subset, beside the truth) and ``checks``.
    The flight log's fit is on its distinct all-data histories in weeks, counting
    flights: ``histories`` (notebook 02's ``fit_all``) where the run's unit and rule are
    those, else the engine's (:func:`log_histories`); never a per-member table of the log.
    """
    if not (st.has_log and st.true_params is not None and st.process == "bgnbd"):
        return None, "Skipped: needs simulated data with a flight log and a BG/NBD truth."
    truth = {k: st.true_params[k] for k in ("r", "alpha", "a", "b")}
    disc = discretisation_effect(
        ds.flights, calibration_end=st.cal_end, observation_end=st.obs_end, truth=truth
    )
    # the columns summary_from_snapshot reads, not the whole snapshot
    used = ["MEMBER_NO", "LOAD_TIME", "FLIGHT_COUNT", "FIRST_FLIGHT_DATE", "LAST_FLIGHT_DATE",
            "AVG_INTERVAL", "SUM_YR_1", "SUM_YR_2"]  # fmt: skip
    snap = summary_from_snapshot(
        ds.read("snapshot", used), time_unit="weeks", source="simulated member table"
    )
    if histories is None or st.time_unit != "weeks" or st.counting_rule != "flights":
        histories = log_histories(ds, observation_end=st.obs_end, time_unit="weeks")
    cases = {
        "flight log (exact)": histories,
        "member table approximation": snap,
        "member table, FLIGHT_COUNT >= 2 (textbook file)": snap.loc[snap["frequency"] >= 1],
    }
    rows, verdicts, checks, notes = {}, {}, [], []
    for label, s in cases.items():
        try:
            m = fit_ladder(
                "bgnbd",
                s,
                penalizer=penalizer,
                source=label,
                context=f"notebook 02: BG/NBD on the {label}",
                weights=weights_of(s),
            )
        except FitError as err:
            notes.append(f"{label}: {err}")
            continue
        rows[label], verdicts[label] = m.params_, m.verdict_.sentence()
        checks.append({**m.verdict_.to_dict(), "role": "comparison"})
    table = pd.DataFrame(rows).T
    table.loc["truth"] = [truth[k] for k in table.columns]
    table["verdict"] = pd.Series(verdicts).reindex(table.index).fillna("(true values)")
    sample = (
        f" (a random sample of {disc.attrs['n_members']:,} members)"
        if disc.attrs.get("sampled")
        else ""
    )
    notes.append(
        "The 'flights, days' and 'distinct ...' fits are comparisons of counting rules, "
        f"not used further{sample}."
    )
    return {
        "discretisation": disc,
        "approximation": table,
        "checks": checks,
    }, "\n".join(notes)


def fit_candidates(models, calib: pd.DataFrame, st: Setup, has_holdout: bool, penalizer=0.0):
    """Fit each candidate through the fit ladder; failures are reported, never silent.

    ``calib``: the distinct calibration histories with their ``weights``
    (:class:`PurchaseInputs`' ``fit_calibration``: the members are the sum of the
    weights), or a per-member summary (one member a row): the same fits.

    Returns ``fitted`` (name -> model), ``checks`` (verdict dicts) and the report text.
    """
    period = "calibration period" if has_holdout else "all data (no holdout)"
    fitted, checks, lines = {}, [], []
    for key in models:
        name = MODELS[key].name
        try:
            model = fit_ladder(
                key,
                calib,
                penalizer=penalizer,
                source=f"{st.source} {period}",
                context=f"notebook 02: {name}, {period}",
                weights=weights_of(calib),
            )
        except FitError as err:
            lines.append(f"{name} not used: {err}")
            checks.append(
                FitVerdict(
                    name, "failed", detail=str(err), context=f"notebook 02: {period}"
                ).to_dict()
            )
            continue
        fitted[model.name] = model
        checks.append({**model.verdict_.to_dict(), "role": "candidate"})
        lines.append(
            f"{name} (time unit: {st.time_unit}), log-likelihood {model.log_likelihood_:,.2f}; "
            f"verdict: {model.verdict_.sentence()}"
        )
    if not fitted:
        raise RuntimeError("no purchase model could be fitted; see the messages above")
    return fitted, checks, "\n".join(lines)


def parameter_recovery(fitted: dict, st: Setup) -> pd.DataFrame | None:
    """Estimates of the simulated process's model beside the truth (None without one)."""
    if st.true_params is None or st.time_unit != "weeks":
        return None
    key = "BG/NBD" if st.process == "bgnbd" else "Pareto/NBD"
    if key not in fitted:
        return None
    model = fitted[key]
    out = model.summary.assign(truth=[st.true_params[k] for k in model.param_names])
    out["error_pct"] = 100 * (out["coef"] / out["truth"] - 1)
    out.attrs["model"] = key
    return out


def comparison_table(fitted: dict, calib: pd.DataFrame, ds, st: Setup, has_holdout: bool):
    """:func:`~crm_research.clv.compare_models` of the candidates with each one's verdict.

    The holdout columns (per-member errors, cumulative errors) are there where a holdout
    exists; the cumulative ones need the flight log.
    """
    flights = ds.flights if (st.has_log and has_holdout) else None
    comparison = compare_models(fitted, calib, flights, merge_same_day=st.merge_same_day)
    comparison["verdict"] = pd.Series({name: m.verdict_.status for name, m in fitted.items()})
    return comparison


def selection_text(preferred: str, selection: dict, calib=None) -> str:
    """The sentence naming the run's purchase model and the rule that chose it (and the
    sample the holdout errors were computed on, where ``calib`` is one)."""
    out = f"purchase model of this run: {preferred} ({selection['rule']}: {selection['reason']})"
    note = sample_note(calib)
    return out + (f"\nholdout errors of the comparison {note}" if note else "")


def holdout_table(fitted: dict, calib: pd.DataFrame, preferred: str, max_frequency: int):
    """Holdout flights by calibration frequency (the preferred model first), and errors."""
    by_freq = {n: holdout_by_frequency(m, calib, max_frequency) for n, m in fitted.items()}
    table = by_freq[preferred].rename(columns={"expected": f"expected ({preferred})"})
    for name, t in by_freq.items():
        if name != preferred:
            table[f"expected ({name})"] = t["expected"]
    errors = {name: holdout_errors(m, calib) for name, m in fitted.items()}
    return by_freq, table, errors


def tracking_text(tracking: dict, calib=None) -> str:
    """Expected vs actual cumulative repeat flights at the end of the holdout, per model
    (of the members of ``calib``: a sample is named)."""
    note = sample_note(calib)
    lines = [f"cumulative tracking {note}"] if note else []
    for name, t in tracking.items():
        row = t.iloc[-1]
        lines.append(
            f"{name}: expected {row['expected_cum']:,.0f} vs actual {row['actual_cum']:,.0f} "
            f"cumulative repeat flights at {row['period_end'].date()} "
            f"({100 * (row['expected_cum'] / row['actual_cum'] - 1):+.2f}%)"
        )
    return "\n".join(lines)


def member_predictions(final, cal_model, full, calib, st: Setup, has_holdout: bool, truth=None):
    """P(alive) and expected flights next year per member (+ holdout columns), and a report.

    The in-memory reference of :func:`predict_members` (the engine-scored
    ``purchase_predictions.parquet``, equal row for row: ``tests/test_engines_predictions.py``).
    """
    x, tx, T = full["frequency"], full["recency"], full["T"]
    pred = pd.DataFrame(
        {
            "frequency": x,
            "recency": tx,
            "T": T,
            "p_alive": final.p_alive(x, tx, T),
            "expected_flights_next_year": final.expected_flights(st.year, x, tx, T),
        },
        index=full.index,
    )
    if has_holdout:
        cx, ctx, cT = calib["frequency"], calib["recency"], calib["T"]
        pred["p_alive_calibration"] = pd.Series(cal_model.p_alive(cx, ctx, cT), index=calib.index)
        dur = calib["duration_holdout"].iloc[0]
        pred["expected_flights_holdout"] = pd.Series(
            cal_model.expected_flights(dur, cx, ctx, cT), index=calib.index
        )
        pred["flights_holdout"] = calib["frequency_holdout"]
    return pred, predictions_text(pred, truth)


def save_models(
    final, cal_model, st: Setup, processed_dir, selection, holdout_error, has_holdout: bool,
    sample: dict | None = None,
) -> dict[str, Path]:  # fmt: skip
    """Write ``purchase_model.json`` (the run's model, fitted on all data: the later
    notebooks read it) and, with a holdout, ``purchase_model_calibration.json`` (the
    same model fitted on the calibration period, ``fitted_on = "calibration period"``:
    the holdout columns of ``purchase_predictions.parquet`` are scored from it).
    With a diagnostic ``sample`` (:class:`PurchaseInputs`), ``selection`` records in
    ``holdout_diagnostics`` that the holdout error is the sample's.
    Returns the paths by :data:`~crm_research.config.ARTIFACTS` name."""
    d = Path(processed_dir)
    if sample:
        selection = {**selection, "holdout_diagnostics": "holdout_cumulative_error and the "
                     f"comparison's holdout errors {sample_note(sample)}"}  # fmt: skip
    kw = {"time_unit": st.time_unit, "counting_rule": st.counting_rule, "selection": selection,
          "holdout_cumulative_error": holdout_error}  # fmt: skip
    paths = {
        "purchase_model": save_purchase_model(
            final, d / ARTIFACTS["purchase_model"], calibration_end=st.obs_end, **kw
        )
    }
    if has_holdout:
        paths["purchase_model_calibration"] = save_purchase_model(
            cal_model, d / ARTIFACTS["purchase_model_calibration"], calibration_end=st.cal_end,
            fitted_on="calibration period", **kw
        )  # fmt: skip
    return paths


def predict_members(ds, model_paths: dict, processed_dir, full, calib, *, engine=None):
    """Every member's predictions scored by the run's engine from the model files of
    :func:`save_models` into ``purchase_predictions.parquet``
    (:func:`~crm_research.data.engines.predictions.score_predictions`), returned as the
    :class:`~crm_research.data.engines.predictions.PredictionTable` whose summaries that
    engine computes. ``full`` and ``calib`` (the summaries notebook 02 holds) are scored
    where the data are in memory (pandas, the member table); a lazy log's engine
    writes its own."""
    path = score_predictions(
        ds,
        Path(processed_dir) / ARTIFACTS["purchase_predictions"],
        model_file=model_paths["purchase_model"],
        calibration_model_file=model_paths.get("purchase_model_calibration"),
        # a diagnostic sample is not every member: the engine summarises them itself
        summaries=None if "sample" in full.attrs else (full, calib),
        engine=engine,
    )
    return prediction_table(path, ds)


def truth_alive(ds) -> pd.DataFrame | None:
    """The simulated truth's ``MEMBER_NO`` and ``alive`` (two columns read, not the
    table), for :func:`predictions_text`; None without a truth that says who is alive."""
    if "alive" not in (ds.table_columns("truth") or []):
        return None
    return ds.read("truth", ["MEMBER_NO", "alive"])


def predictions_text(predictions, truth=None) -> str:
    """Mean P(alive), the share below 0.5, the expected flights next year and (simulated
    data) the truth's alive members against P(alive); ``predictions`` a
    :class:`~crm_research.data.engines.predictions.PredictionTable` or the DataFrame of
    :func:`member_predictions`."""
    pt = PredictionTable.of(predictions)
    s = pt.stats()
    lines = [
        f"mean P(alive): {s['mean_p_alive']:.3f}; members with P(alive) < 0.5: "
        f"{s['share_p_alive_below_half']:.1%}",
        f"expected flights in the next year: {s['expected_flights_next_year']:,.0f} "
        f"({s['mean_expected_flights_next_year']:.2f} per member)",
    ]
    if truth is not None and "alive" in truth.columns:
        share, by = pt.truth_comparison(truth)
        lines.append(
            f"simulated truth: {share:.1%} of the members are alive; mean P(alive) "
            f"{by} for dead/alive members"
        )
    return "\n".join(lines)


def _quantile(rows: pd.DataFrame, col: str, q: float) -> float:
    """``rows[col].quantile(q)`` of the members (pandas' linear interpolation), where a
    row of distinct histories stands for ``weights`` members: the two order statistics
    around ``(n - 1) q`` found in the cumulative weights, interpolated as numpy does."""
    v = rows[col].to_numpy(float)
    w = weights_of(rows)
    w = np.ones(len(v), dtype=np.int64) if w is None else np.asarray(w, dtype=np.int64)
    order = np.argsort(v, kind="stable")
    v, c = v[order], np.cumsum(w[order])
    h = (c[-1] - 1) * q
    lo = int(np.floor(h))
    pair = v[np.searchsorted(c, [lo, min(lo + 1, c[-1] - 1)], side="right")]
    return float(np.quantile(pair, h - lo))


def matrix_grid(full: pd.DataFrame) -> tuple[float, int]:
    """Age ``T`` (75th percentile) and largest frequency (95th, 5 to 40) of the maps, of
    every member: ``full`` the all-data histories (:class:`PurchaseInputs`' ``fit_all``)
    or a per-member summary."""
    matrix_T = float(np.ceil(_quantile(full, "T", 0.75)))
    max_f = int(min(max(_quantile(full, "frequency", 0.95), 5), 40))
    return matrix_T, max_f


def model_matrices(final, full: pd.DataFrame, st: Setup, n_grid: int = 60):
    """Expected flights in the next year and P(alive) over (x, t_x) for a member of age ``T``.

    ``T`` and the largest frequency come from :func:`matrix_grid`. Returns
    ``(expected, p_alive, at)``, ``at`` naming the model and ``T`` for the titles.
    """
    matrix_T, max_f = matrix_grid(full)
    expected = final.expected_matrix(st.year, max_f, matrix_T, matrix_T, n_grid=n_grid)
    p_alive = final.p_alive_matrix(max_f, matrix_T, matrix_T, n_grid=n_grid)
    return expected, p_alive, f"{final.name}, T = {matrix_T:.0f} {st.time_unit}"


def saved_model_text(path, final, holdout_error: float | None) -> str:
    """The line after writing ``purchase_model.json``: model and holdout cumulative error;
    ``path`` its path, or the paths of :func:`save_models` (then also a line on the
    calibration fit's file, where there is one)."""
    calibration_path = None
    if isinstance(path, dict):
        path, calibration_path = path["purchase_model"], path.get("purchase_model_calibration")
    err = f"{holdout_error:+.2%}" if holdout_error is not None else "not available (no holdout)"
    out = f"wrote {Path(path).name}: {final.name}, holdout cumulative error {err}"
    if calibration_path is not None:
        out += (
            f"\nwrote {Path(calibration_path).name}: {final.name} fitted on the calibration "
            "period (the holdout predictions of purchase_predictions.parquet)"
        )
    return out


# -- covariates --------------------------------------------------------------------------------
#: The member attributes used as time-invariant covariates, and why each one.
COVARIATE_ATTRIBUTES = {
    "tier at enrolment": "FFP_TIER_AT_ENROLMENT",
    "age band": "AGE",
    "gender": "GENDER",
    "enrolment year": "FFP_DATE",
    "city tier": "WORK_CITY",
}
#: First-tier cities (the usual Chinese classification) for the city-tier covariate.
TIER1_CITIES = ("北京", "上海", "广州", "深圳")


def member_covariates(ds, index) -> tuple[pd.DataFrame | None, str]:
    """Design matrix of the member attributes present, and which are present and why not.

    Time-invariant attributes only: the tier at enrolment (today's ``FFP_TIER`` follows
    from the flying the model explains, so it would leak the future, and is never used),
    age band (under 30, 30-39, 40-49, 50-59, 60+), gender, enrolment year (up to 2007,
    2008-09, 2010-11, 2012 on) and city tier (first-tier city, other, abroad). Dummies
    with the most common level as the reference (:func:`covariate_design`). Returns
    ``(None, sentence)`` when the data have no member table (CDNOW, the textbook file).
    """
    m = ds.members
    if m is None or len(m) == 0:
        return None, (
            "Skipped: the data have no member attributes (CDNOW, or the textbook member "
            "table read without a flight log), so there is nothing to explain the flying with."
        )
    m = m.set_index("MEMBER_NO").reindex(index)
    attrs, present, absent = {}, [], []
    if "FFP_TIER_AT_ENROLMENT" in m.columns:
        attrs["tier_at_enrolment"] = m["FFP_TIER_AT_ENROLMENT"]
        present.append("tier at enrolment")
    else:
        absent.append(
            "tier at enrolment (not in the data; today's FFP_TIER is left out because it "
            "follows from the flying the model explains)"
        )
    if "AGE" in m.columns:
        age = pd.to_numeric(m["AGE"], errors="coerce")
        attrs["age"] = pd.cut(
            age, [0, 29, 39, 49, 59, 200], labels=["<30", "30-39", "40-49", "50-59", "60+"]
        )
        present.append("age band")
    else:
        absent.append("age band")
    if "GENDER" in m.columns:
        attrs["gender"] = m["GENDER"]
        present.append("gender")
    else:
        absent.append("gender")
    if "FFP_DATE" in m.columns:
        yr = pd.to_datetime(m["FFP_DATE"]).dt.year
        attrs["enrolled"] = pd.cut(
            yr, [0, 2007, 2009, 2011, 3000], labels=["-2007", "2008-09", "2010-11", "2012-"]
        )
        present.append("enrolment year")
    else:
        absent.append("enrolment year")
    if "WORK_CITY" in m.columns:
        abroad = m.get("WORK_COUNTRY", pd.Series("CN", index=m.index)).fillna("CN") != "CN"
        city = np.where(
            abroad, "abroad", np.where(m["WORK_CITY"].isin(TIER1_CITIES), "tier 1", "other")
        )
        attrs["city"] = pd.Series(city, index=m.index)
        present.append("city tier")
    else:
        absent.append("city tier")
    design = covariate_design(pd.DataFrame(attrs, index=m.index))
    text = f"covariates present: {', '.join(present) or 'none'}"
    if absent:
        text += f"; not available: {'; '.join(absent)}"
    return (design if design.shape[1] else None), text


#: Members the covariate model is fitted on (a random sample of larger programmes).
COVARIATE_SAMPLE = 100_000


def covariate_fit(
    ds, full: pd.DataFrame, preferred: str, *, sample_members=COVARIATE_SAMPLE, seed: int = 0
):
    """Fit the run's model family (BG/NBD or Pareto/NBD) with the member covariates.

    On a random sample of ``sample_members`` members when there are more (``None``: all):
    the model describes how attributes shift flying, and at 100,000 members its
    coefficients have standard errors of about 0.01-0.05 (the recovery test), while its
    Hessian needs one gradient per coefficient (30 and more). Returns
    ``(CovariateFit or None, checks, text)``; ``checks`` holds the fit's verdict (a
    failed fit too) for the run's model checks. The MBG/NBD has no covariate version here: its
    covariates are fitted with the BG/NBD, whose process it shares while alive.
    """
    if sample_members is not None and len(full) > sample_members:
        pick = np.random.default_rng(seed).choice(len(full), size=sample_members, replace=False)
        full = full.iloc[np.sort(pick)]
    design, text = member_covariates(ds, full.index)
    if design is None:
        return None, [], text
    if sample_members is not None and len(full) == sample_members:
        text += f" (fitted on a random sample of {sample_members:,} members)"
    elif "sample" in full.attrs:
        text += f" (fitted {sample_note(full)})"
    model = "pareto" if preferred == "Pareto/NBD" else "bgnbd"
    context = "notebook 02: covariates (description)"
    try:
        fit = fit_covariates(model, full, design)
    except (FitError, ValueError) as err:
        name = "Pareto/NBD" if model == "pareto" else "BG/NBD"
        failed = FitVerdict(f"{name} with covariates", "failed", detail=str(err), context=context)
        return None, [failed.to_dict()], f"{text}\nThe covariate model could not be fitted: {err}"
    verdict = {**fit.verdict_.to_dict(), "context": context}
    return fit, [verdict], f"{text}\n{fit.verdict_.sentence()}\n{fit.text()}"


def metrics(
    st: Setup,
    calib,
    fitted,
    final,
    preferred,
    selection,
    comparison,
    predictions,
    holdout_errs,
    tracking,
    recovery,
    checks,
    covariates=None,
) -> dict:
    """The key numbers of notebook 02 for its metrics file."""
    out = {
        "source": st.source,
        "time_unit": st.time_unit,
        "calibration_end": str(st.cal_end.date()),
        "n_members_calibration": int(
            calib.attrs.get("sample", {}).get("calibration_members", len(calib))
        ),
        "diagnostic_sample_members": calib.attrs.get("sample", {}).get("members"),
        "n_members_late": int(calib.attrs.get("n_members_late", 0)),
        "preferred_model": preferred,
        "final_model": final.name,
        "purchase_model": final.name,
        "purchase_model_selection": selection["rule"],
        "holdout_cumulative_error": holdout_cumulative_error(comparison, preferred),
        "model_checks": checks,
    }
    ps = PredictionTable.of(predictions).stats()  # the engine's table, or a DataFrame
    out.update({k: ps[k] for k in ("mean_p_alive", "share_p_alive_below_half",
                                   "expected_flights_next_year")})  # fmt: skip
    for name, model in fitted.items():
        tag = name.lower().replace("/", "").replace("-", "")
        out[f"{tag}_log_likelihood"] = float(model.log_likelihood_)
        out[f"{tag}_bic"] = float(model.bic_)
        for k, v in model.params_.items():
            out[f"{tag}_{k}"] = float(v)
        if name in holdout_errs:
            out[f"{tag}_holdout_mae"] = holdout_errs[name]["mae"]
            out[f"{tag}_holdout_correlation"] = holdout_errs[name]["correlation"]
        if name in tracking:
            row = tracking[name].iloc[-1]
            out[f"{tag}_cumulative_error_pct"] = float(
                100 * (row["expected_cum"] / row["actual_cum"] - 1)
            )
    if recovery is not None:
        out["max_abs_parameter_error_pct"] = float(recovery["error_pct"].abs().max())
    if covariates is not None:
        out["covariates"] = covariates.covariates
        out["covariate_lr_statistic"] = covariates.lr_test_["statistic"]
        out["covariate_lr_p_value"] = covariates.lr_test_["p_value"]
    return out
