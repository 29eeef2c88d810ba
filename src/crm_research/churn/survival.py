"""Survival: Kaplan-Meier curves of the time to the last flight."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import DAYS_PER_MONTH
from ..data import schema as S
from ..data.schema import DataValidationError


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


__all__ = ["kaplan_meier_by_group", "survival_data"]
