"""Notebook 02's inputs: the histories the models are fitted on, and the summaries the
diagnostics run on (all members, or a seeded sample of them above a declared size).

The fits need only the distinct calibration histories ``(x, t_x, T)`` with their member
counts, which the run's engine computes where the log is (DuckDB, Spark:
:meth:`~crm_research.data.engines.base.SQLEngine.histories`; the pandas code for a log
in memory: :func:`~crm_research.data.engines.pandas_engine.histories_of`): the same fit
as on the per-member summary (the fitter condenses it to these rows itself). At day
resolution most members have a history of their own (3,974,443 distinct histories for
6,032,435 members measured at 100M flights), so this is the fit's input, four numbers a
row, not a small table. The diagnostics (holdout errors,
frequency histogram, holdout by frequency, tracking, covariates) need per-member rows:
of every member up to ``diagnostic_members``, of a seeded random sample of that many
above (the engine filters the sample's members, :func:`sample_positions`), and every
text computed on a sample says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..data.engines.base import sample_positions
from ..data.engines.flightlog import is_lazy
from ..data.engines.pandas_engine import histories_of
from .modelfile import purchase_summary
from .summary import flight_summary


@dataclass
class PurchaseInputs:
    """What notebook 02 fits and checks its models on.

    ``fit_calibration`` / ``fit_all``: the distinct histories (``frequency, recency, T,
    weights``) of the calibration period and of all the data, of every member (the same
    object when the calibration period is all the data); ``calib`` / ``full``: the
    per-member summaries the diagnostics run on (every member, or the sample named by
    ``sample``: ``members, of, seed``); ``text``: the report (counts of all members)."""

    calib: pd.DataFrame
    full: pd.DataFrame
    has_holdout: bool
    text: str
    fit_calibration: pd.DataFrame
    fit_all: pd.DataFrame
    sample: dict | None = None


def log_histories(ds, *, calibration_end=None, observation_end=None, time_unit="weeks",
                  merge_same_day=False) -> pd.DataFrame:  # fmt: skip
    """The distinct histories (``frequency, recency, T, weights``) of ``ds``'s flight log:
    its engine's for a lazy log, the pandas summary's distinct rows in memory."""
    kw = {"calibration_end": calibration_end, "observation_end": observation_end,
          "time_unit": time_unit, "merge_same_day": merge_same_day}  # fmt: skip
    if is_lazy(ds.flights):
        return ds.flights.histories(**kw)
    return histories_of(flight_summary(ds.flights, **kw))


def sample_note(frame) -> str:
    """``"on a random sample of 1,000 of 3,000 members (seed 42)"`` when ``frame`` (a
    summary of :func:`purchase_data`, or its ``sample`` dict) holds a sample, else ``""``."""
    s = frame if isinstance(frame, dict) or frame is None else frame.attrs.get("sample")
    if not s:
        return ""
    return f"on a random sample of {s['members']:,} of {s['of']:,} members (seed {s['seed']})"


def diagnostics_on(frame) -> str:
    """:func:`sample_note`, or ``"of all members"`` (for the diagnostics' headings)."""
    return sample_note(frame) or "of all members"


def _mark(df: pd.DataFrame, sample: dict | None) -> pd.DataFrame:
    if sample is not None:
        df.attrs["sample"] = dict(sample)
    return df


def purchase_data(ds, st, *, diagnostic_members: int | None = None, seed: int = 0):
    """The histories, the summaries and the report of notebook 02's inputs.

    Parameters
    ----------
    ds : Dataset
        A lazy flight log (``ds.flights`` a FlightLog: its engine computes the
        histories, the counts and, above ``diagnostic_members``, the sample's
        summaries), a log in memory (pandas) or the textbook member table.
    st : Setup
        :func:`~crm_research.clv.study02.setup`.
    diagnostic_members : int, optional
        Above this many members (all data) the per-member summaries are those of a
        random sample of this many (:func:`sample_positions` with ``seed``); None: all.

    Returns
    -------
    PurchaseInputs
    """
    kw = {"time_unit": st.time_unit, "counting_rule": st.counting_rule}
    if st.has_log and is_lazy(ds.flights):
        eng = ds.flights.engine
        periods = {"observation_end": st.obs_end, "time_unit": st.time_unit,
                   "merge_same_day": st.merge_same_day}  # fmt: skip
        hist_all = log_histories(ds, calibration_end=None, **periods)
        hist_cal = log_histories(ds, calibration_end=st.cal_end, **periods)
        n_all = int(hist_all["weights"].sum())
        sample = _sample(n_all, diagnostic_members, seed)
        if sample is None:
            full = purchase_summary(ds, **kw)
            calib = purchase_summary(ds, calibration_end=st.cal_end, **kw)
        else:
            pos = sample_positions(n_all, sample["members"], seed)
            full = eng.sample_summary(pos, calibration_end=None, **periods).to_pandas()
            calib = eng.sample_summary(pos, calibration_end=st.cal_end, **periods).to_pandas()
    else:
        # in memory (a pandas log, or the member table, which has no log: today's path,
        # the per-member summary of summary_from_snapshot): every member is summarised
        # here and the histories are its distinct rows, as the pandas engine computes them
        full = purchase_summary(ds, **kw)
        calib = purchase_summary(ds, calibration_end=st.cal_end, **kw) if st.has_log else full
        hist_all = histories_of(full)
        hist_cal = histories_of(calib) if calib is not full else hist_all
        sample = _sample(len(full), diagnostic_members, seed)
        if sample is not None:
            pos = sample_positions(len(full), sample["members"], seed)
            ids = full.index[pos]  # the summary is sorted by MEMBER_NO, as in the engines
            sub = calib.loc[calib.index.isin(ids)] if calib is not full else None
            full = full.iloc[pos].copy()
            calib = full if sub is None else sub.copy()
    has_holdout = "frequency_holdout" in calib.columns
    text = _inputs_text(st, hist_cal, hist_all, full, sample)
    if sample is not None:
        sample["calibration_members"] = int(hist_cal["weights"].sum())
    return PurchaseInputs(_mark(calib, sample), _mark(full, sample), has_holdout, text,
                          hist_cal, hist_all, sample)  # fmt: skip


def _sample(n_all: int, diagnostic_members: int | None, seed: int) -> dict | None:
    if diagnostic_members is None or n_all <= int(diagnostic_members):
        return None
    return {"members": int(diagnostic_members), "of": int(n_all), "seed": int(seed)}


def _inputs_text(st, hist_cal, hist_all, full, sample) -> str:
    """The report of :func:`purchase_data`: counts of all members (the histories')."""
    w = hist_cal["weights"]
    if st.has_log:
        lines = [
            f"members in the calibration period: {int(w.sum()):,}",
            f"members whose first flight is after {st.cal_end.date()}, left out of the "
            f"calibration: {hist_cal.attrs['n_members_late']:,}",
        ]
        if st.merge_same_day:
            lines.append(
                "purchases merged into an earlier one on the same day: "
                f"{hist_all.attrs['n_same_day_merged']:,}"
            )
    else:
        a = hist_all.attrs
        lines = [
            f"members: {int(w.sum()):,}; members without a flight in the two-year window (left "
            f"out): {a['n_no_window_flight']:,}",
            "members whose history starts before the window (clock restarted at their first "
            f"flight in the window): {a['n_left_truncated']:,} "
            f"({a['n_left_truncated'] / w.sum():.0%})",
            "members with a first flight after their last one (treated as unknown): "
            f"{a['n_first_flight_after_last']:,}; with a last flight after LOAD_TIME (left "
            f"out): {a['n_last_flight_after_load']:,}",
        ]
    x0 = w[hist_cal["frequency"] == 0].sum() / w.sum()
    lines.append(f"members with no repeat flight (x = 0): {x0:.1%}")
    lines.append(f"models fitted on {len(hist_cal):,} distinct calibration histories")
    if sample is not None:
        lines.append(
            "holdout diagnostics (comparison's holdout columns, frequency histogram, holdout "
            f"by frequency, tracking, covariates) {sample_note(sample)}"
        )
    return "\n".join(lines)


def purchase_inputs(ds, st, **kw):
    """``calib, full, has_holdout, text`` of :func:`purchase_data` (the per-member
    summaries of every member unless ``diagnostic_members`` is given)."""
    d = purchase_data(ds, st, **kw)
    return d.calib, d.full, d.has_holdout, d.text
