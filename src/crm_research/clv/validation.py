"""Holdout validation of the purchase models (Fader, Hardie & Lee 2005a, section 4).

- :func:`holdout_by_frequency`: mean flights in the holdout, actual and conditional
  expectation, by calibration-period frequency (0, 1, ..., 7+; their figure 4);
- :func:`cumulative_tracking`: cumulative repeat flights period by period, actual and
  expected (their figure 3), the expectation summed over first-flight cohorts;
- :func:`frequency_histogram`: members by calibration-period repeat flights, actual
  and expected (their figure 2);
- :func:`holdout_errors`: per-member MAE, RMSE and correlation;
- :func:`compare_models`: log-likelihood, AIC, BIC, holdout and cumulative errors.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..data import schema as S
from ..data.engines.flightlog import is_lazy
from .models import _PurchaseModel

_NS_PER_DAY = 86_400_000_000_000

#: The last few results of the computations notebook 02 repeats on the same fitted models
#: and summary (compare_models, then the holdout table and the tracking figure): the
#: holdout predictions and the actual flights per tracking period. Found again only for
#: the same objects (identity) and, for a model, the same estimates: a refit, another
#: summary or another log is computed afresh. Exact (the same arrays, computed once);
#: about 10 s of notebook 02 at 1,000,000 members.
_RECENT: list = []


def _recent(kind: str, objects: tuple, values: tuple, compute):
    for k, objs, vals, result in _RECENT:
        if k == kind and vals == values and all(a is b for a, b in zip(objs, objects, strict=True)):
            return result
    result = compute()
    _RECENT[:] = [*_RECENT[-7:], (kind, objects, values, result)]
    return result


def _holdout_prediction(model: _PurchaseModel, summary: pd.DataFrame) -> np.ndarray:
    """Conditional expectation of each member's holdout flights (computed once per
    model, estimates and summary)."""
    _need_holdout(summary)
    dur = float(summary["duration_holdout"].iloc[0])
    return _recent(
        "holdout prediction",
        (model, summary),
        (tuple(model.params_.to_numpy(float)), dur, len(summary)),
        lambda: np.asarray(
            model.expected_flights(dur, summary["frequency"], summary["recency"], summary["T"])
        ),
    )


def _need_holdout(summary: pd.DataFrame) -> None:
    if "frequency_holdout" not in summary.columns:
        raise ValueError(
            "the summary has no holdout period (calibration_end = observation end): "
            "holdout validation needs calibration_end before the last flight"
        )


def holdout_by_frequency(model: _PurchaseModel, summary: pd.DataFrame, max_frequency: int = 7):
    """Mean actual vs expected holdout flights by calibration frequency (0..max, max+)."""
    pred = _holdout_prediction(model, summary)
    grp = np.minimum(summary["frequency"].to_numpy(), max_frequency)
    labels = [str(k) for k in range(max_frequency)] + [f"{max_frequency}+"]
    df = pd.DataFrame(
        {"group": grp, "actual": summary["frequency_holdout"].to_numpy(), "expected": pred}
    )
    out = df.groupby("group").agg(
        members=("actual", "size"), actual=("actual", "mean"), expected=("expected", "mean")
    )
    out = out.reindex(range(max_frequency + 1))
    out.index = pd.Index([labels[i] for i in out.index], name="calibration_frequency")
    out["members"] = out["members"].fillna(0).astype(int)
    return out


def holdout_errors(model: _PurchaseModel, summary: pd.DataFrame) -> dict:
    """Per-member error of the conditional expectation of holdout flights."""
    pred = _holdout_prediction(model, summary)
    act = summary["frequency_holdout"].to_numpy(float)
    err = pred - act
    corr = float(np.corrcoef(pred, act)[0, 1]) if act.std() > 0 and pred.std() > 0 else float("nan")
    return {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "correlation": corr,
        "total_actual": float(act.sum()),
        "total_expected": float(pred.sum()),
        "total_error_pct": float(100 * (pred.sum() - act.sum()) / act.sum())
        if act.sum()
        else float("nan"),
    }


def cumulative_tracking(
    model: _PurchaseModel,
    summary: pd.DataFrame,
    flights: pd.DataFrame,
    *,
    period_days: int = 7,
    merge_same_day: bool = False,
    start=None,
) -> pd.DataFrame:
    """Cumulative repeat flights of the calibration members, actual and expected.

    Parameters
    ----------
    summary : DataFrame
        ``flight_summary`` output (its members and ``first_flight`` dates; its
        ``attrs`` give the calibration and observation ends and the time unit).
    flights : DataFrame
        The flight log (``MEMBER_NO``, ``FLIGHT_DATE``).
    period_days : int
        Length of a tracking period (7: weeks).
    start : date-like, optional
        Day 0 of the tracking (default: the first first-flight of the members).

    Returns
    -------
    DataFrame
        One row per period: ``period`` (1, 2, ...), ``period_end`` (date),
        ``actual``/``expected`` (repeat flights in the period), ``actual_cum``,
        ``expected_cum``, ``holdout`` (bool: period ends after the calibration end).
    """
    options = dict(period_days=period_days, merge_same_day=merge_same_day, start=start)
    values = (period_days, merge_same_day, None if start is None else str(pd.Timestamp(start)))
    counted = []

    def actual_counts():  # the first model's full table; its actual column for the others
        if is_lazy(flights):  # a Parquet log: periods counted by its engine
            out = flights.cumulative_tracking(model, summary, **options)
        else:
            out = _tracking(model, summary, flights, **options)
        counted.append(out)
        return out["actual"].to_numpy()

    actual = _recent("tracking actual", (summary, flights), values, actual_counts)
    if counted:
        return counted[0]
    none = pd.DataFrame(
        {S.MEMBER: summary.index[:0], S.FLIGHT_DATE: pd.Series([], dtype="datetime64[ns]")}
    )
    out = _tracking(model, summary, none, **options)  # the expected curve; no flights
    out["actual"] = actual.copy()
    out["actual_cum"] = np.cumsum(actual)
    return out


def _tracking(model, summary, flights, *, period_days, merge_same_day, start) -> pd.DataFrame:
    """:func:`cumulative_tracking` of a flight log in memory."""
    S.require_columns(flights, S.FLIGHT_REQUIRED, "flight log")
    dpu = float(summary.attrs.get("days_per_unit", 7.0))
    cal_end = pd.Timestamp(summary.attrs["calibration_end"])
    obs_end = pd.Timestamp(summary.attrs["observation_end"])
    first = summary["first_flight"]
    day0 = pd.Timestamp(first.min()) if start is None else pd.Timestamp(start)
    first_d = ((first - day0).dt.days).to_numpy()
    n_periods = int(np.ceil(((obs_end - day0).days + 1) / period_days))
    ends = period_days * np.arange(1, n_periods + 1)  # day offsets of the period ends (exclusive)

    # expected: sum over first-flight days of E[X(end - first)]
    # E[X(t)] depends on the whole-day gap between a period end and a first flight only:
    # evaluated once per distinct gap (a few thousand), not once per (cohort, period)
    # pair (about 1.5 million hypergeometric terms at 60,000 members, 5 s per model)
    cohort, size = np.unique(first_d, return_counts=True)
    gap = np.clip(ends[None, :] - cohort[:, None], 0, None)
    gaps, where = np.unique(gap, return_inverse=True)
    ex = model.expected_flights_unconditional(gaps / dpu)[where.reshape(gap.shape)]
    expected_cum = (size[:, None] * ex).sum(axis=0)

    # actual: repeat flights (all but each member's first) of these members, by period
    f = flights.loc[flights[S.MEMBER].isin(summary.index), [S.MEMBER, S.FLIGHT_DATE]]
    f = f.loc[f[S.FLIGHT_DATE] <= obs_end]
    if merge_same_day:
        f = f.drop_duplicates()
    d = (f[S.FLIGHT_DATE] - day0).dt.days.to_numpy()
    per = np.minimum(d // period_days, n_periods - 1)
    counts = np.bincount(per, minlength=n_periods).astype(float)
    firsts = np.bincount(np.minimum(first_d // period_days, n_periods - 1), minlength=n_periods)
    actual = counts - firsts
    out = pd.DataFrame(
        {
            "period": np.arange(1, n_periods + 1),
            "period_end": day0 + pd.to_timedelta(ends - 1, unit="D"),
            "actual": actual,
            "expected": np.diff(np.r_[0.0, expected_cum]),
            "actual_cum": np.cumsum(actual),
            "expected_cum": expected_cum,
        }
    )
    out["holdout"] = out["period_end"] > cal_end
    return out


def frequency_histogram(
    model: _PurchaseModel, summary: pd.DataFrame, max_frequency: int = 7, max_points: int = 300
):
    """Members by calibration repeat flights (0..max-1, max+), actual vs expected.

    The expectation sums ``P(X(T_i) = n)`` over members (their ages ``T_i`` differ),
    evaluated once per distinct ``T`` (or on ``max_points`` ages, interpolated).
    """
    T, n_T = np.unique(summary["T"].to_numpy(float), return_counts=True)
    # lifetimes' pmf takes one t at a time; with many distinct ages, evaluate it on
    # ``max_points`` ages spread over the range and interpolate (it is smooth in t)
    grid = T if len(T) <= max_points else np.linspace(T.min(), T.max(), max_points)
    exp = np.zeros(max_frequency + 1)
    for k in range(max_frequency):
        probs = np.array([model.prob_n_flights(t, k) if t > 0 else float(k == 0) for t in grid])
        exp[k] = (n_T * (probs if grid is T else np.interp(T, grid, probs))).sum()
    exp[max_frequency] = n_T.sum() - exp[:max_frequency].sum()
    act = np.bincount(
        np.minimum(summary["frequency"].to_numpy(), max_frequency), minlength=max_frequency + 1
    )
    labels = [str(k) for k in range(max_frequency)] + [f"{max_frequency}+"]
    return pd.DataFrame(
        {"actual": act[: max_frequency + 1], "expected": exp},
        index=pd.Index(labels, name="calibration_frequency"),
    )


def compare_models(
    models: dict[str, _PurchaseModel],
    summary: pd.DataFrame,
    flights: pd.DataFrame | None = None,
    *,
    merge_same_day: bool = False,
) -> pd.DataFrame:
    """Model comparison table: fit and holdout accuracy, one row per model."""
    rows = []
    for name, m in models.items():
        row = {
            "model": name,
            "n_params": m.n_params,
            "log_likelihood": m.log_likelihood_,
            "aic": m.aic_,
            "bic": m.bic_,
        }
        if "frequency_holdout" in summary.columns:
            e = holdout_errors(m, summary)
            row.update(
                holdout_mae=e["mae"],
                holdout_rmse=e["rmse"],
                holdout_correlation=e["correlation"],
                holdout_total_error_pct=e["total_error_pct"],
            )
            if flights is not None:
                tr = cumulative_tracking(m, summary, flights, merge_same_day=merge_same_day)
                last = tr.iloc[-1]
                row["cumulative_error_pct_at_end"] = float(
                    100 * (last["expected_cum"] - last["actual_cum"]) / last["actual_cum"]
                )
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


#: Members the discretisation table is computed on (a random sample of larger logs).
DISCRETISATION_SAMPLE = 50_000


def discretisation_effect(
    flights: pd.DataFrame,
    *,
    calibration_end=None,
    observation_end=None,
    truth: dict | None = None,
    penalizer: float = 0.0,
    sample_members: int | None = DISCRETISATION_SAMPLE,
    seed: int = 0,
) -> pd.DataFrame:
    """BG/NBD estimates (weeks) under three ways of turning a flight log into (x, t_x, T).

    On a random sample of ``sample_members`` members (all of them when fewer, or with
    ``None``): the table is about the *bias* of each counting rule, which a sample of
    50,000 shows as well as a million members (standard errors of a few percent, biases
    of 10-25%), and lifetimes' ``summary_data_from_transaction_data`` takes about 50 s on
    a million members. ``attrs["n_members"]`` and ``attrs["sampled"]`` say what was used.

    - ``flights, days``: every flight counts (:func:`flight_summary`, the default);
    - ``distinct days``: flights on the same day count once (the CDNOW recipe);
    - ``distinct weeks (lifetimes)``: ``lifetimes.utils.summary_data_from_transaction_data``
      with ``freq="W"``, which counts weeks with a flight and measures time in whole weeks.

    Counting periods instead of flights loses the flights that share a period, so the
    purchase rate falls (``alpha`` up / ``r`` down); whole-week time shortens ``T`` and
    ``t_x`` by up to a week. ``truth`` (simulated data) adds a row with the true values;
    the ``verdict`` column gives each fit's verdict.
    """
    from .._compat import import_lifetimes, lifetimes_guard
    from .models import BGNBD
    from .summary import flight_summary

    # the members sorted, so that a DataFrame and a lazy FlightLog (issue 15: the engine
    # filters the sample's flights, the whole log never reaches pandas) draw the same sample
    lazy = is_lazy(flights)
    ids = flights.member_ids() if lazy else np.sort(flights[S.MEMBER].unique())
    sampled = sample_members is not None and len(ids) > sample_members
    if sampled:
        keep = np.random.default_rng(seed).choice(ids, size=sample_members, replace=False)
        flights = flights.flights_of(keep) if lazy else flights.loc[flights[S.MEMBER].isin(keep)]
    elif lazy:
        flights = flights.to_pandas()  # no more members than the sample: small
    rows, verdicts = {}, {}
    for label, merge in (("flights, days", False), ("distinct days", True)):
        s = flight_summary(
            flights,
            calibration_end=calibration_end,
            observation_end=observation_end,
            time_unit="weeks",
            merge_same_day=merge,
        )
        m = BGNBD(penalizer=penalizer).fit(s)
        rows[label], verdicts[label] = m.params_, m.verdict_.sentence()
    lt = import_lifetimes()
    obs = observation_end if calibration_end is None else calibration_end
    obs = pd.Timestamp(obs) if obs is not None else flights[S.FLIGHT_DATE].max()
    f = flights.loc[flights[S.FLIGHT_DATE] <= obs, [S.MEMBER, S.FLIGHT_DATE]]
    with lifetimes_guard():
        # lifetimes writes into a slice of its own copy (SettingWithCopyWarning, harmless);
        # pandas 3 (copy-on-write) has removed that warning class
        if hasattr(pd.errors, "SettingWithCopyWarning"):
            warnings.simplefilter("ignore", pd.errors.SettingWithCopyWarning)
        w = lt.utils.summary_data_from_transaction_data(
            f, S.MEMBER, S.FLIGHT_DATE, observation_period_end=obs, freq="W"
        )
    m = BGNBD(penalizer=penalizer).fit(w)
    rows["distinct weeks (lifetimes)"] = m.params_
    verdicts["distinct weeks (lifetimes)"] = m.verdict_.sentence()
    out = pd.DataFrame(rows).T
    if truth is not None:
        out.loc["truth"] = [truth[k] for k in out.columns]
    out["verdict"] = pd.Series(verdicts).reindex(out.index).fillna("(true values)")
    out.index.name = "how x, t_x and T are counted"
    out.attrs["n_members"] = int(min(len(ids), sample_members or len(ids)))
    out.attrs["sampled"] = bool(sampled)
    return out
