"""What notebook 01 shows of an input: its size, the panels, the monthly flights, metrics.

The flight log may be a pandas DataFrame or a lazy
:class:`~crm_research.data.engines.flightlog.FlightLog`: its size, dates and monthly
counts then come from the engine, never from the whole log in pandas.
"""

from __future__ import annotations

import pandas as pd

from . import Dataset
from . import schema as S

#: Distribution panels of notebook 01: column, title, axis label, log axis.
PANELS = (
    ("FLIGHT_COUNT", "Flights per member in the window", "Flights (log scale)", True),
    ("SEG_KM_SUM", "Distance flown per member", "km in the window (log scale)", True),
    (
        "avg_discount",
        "Average fare discount coefficient",
        "Discount coefficient (1.0 = full fare)",
        False,
    ),
    ("window_revenue", "Revenue per member", "Revenue in the window (log scale)", True),
)


def log_span(flights) -> tuple[int, pd.Timestamp, pd.Timestamp]:
    """Rows, first and last flight date of a log (DataFrame or FlightLog)."""
    if isinstance(flights, pd.DataFrame):
        d = flights[S.FLIGHT_DATE]
        return len(flights), d.min(), d.max()
    first, last = flights.date_range()
    return len(flights), first, last


def monthly_flights(flights) -> pd.Series:
    """Flights per calendar month (zeros kept), indexed by month period."""
    if isinstance(flights, pd.DataFrame):
        m = flights.set_index(S.FLIGHT_DATE).resample("MS").size()
    else:
        m = flights.monthly_counts()
    m.index = m.index.to_period("M")
    return m


def describe_input(ds: Dataset, engine: str) -> str:
    """The lines notebook 01 prints about the input: source, end, members, tables."""
    lines = [
        f"input: {ds.info['source']}  |  observation end: {ds.info['obs_end']}  |  "
        f"engine: {engine}",
        f"members in the snapshot: {len(ds.snapshot):,}",
    ]
    if ds.flights is not None:
        n, first, last = log_span(ds.flights)
        lines.append(f"flights in the log: {n:,} from {first.date()} to {last.date()}")
    else:
        lines.append("no flight log: this input has one aggregated row per member only")
    for name in ("members", "complaints", "noshows", "truth"):
        t = getattr(ds, name)
        lines.append(f"{name:>10}: {f'{len(t):,} rows' if t is not None else 'not available'}")
    return "\n".join(lines)


def activity_panels(snap: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple], list[str]]:
    """Members who flew in the window (with ``window_revenue``), the panels that the
    snapshot's columns allow, and the columns skipped for want of data."""
    from ..exploration import member_value

    active = snap[snap["FLIGHT_COUNT"] > 0] if "FLIGHT_COUNT" in snap else snap
    if {"SUM_YR_1", "SUM_YR_2"} <= set(snap.columns):
        active = active.assign(window_revenue=member_value(active))
    panels = [p for p in PANELS if p[0] in active.columns and active[p[0]].notna().any()]
    skipped = [c for c in ("SEG_KM_SUM", "avg_discount") if c not in active.columns]
    return active, panels, skipped


def over_time_panels(ds: Dataset) -> tuple[list[tuple[pd.Series, str, str]], str | None]:
    """The two panels of notebook 01's "over time" figure and a note on a fallback.

    Left: new members by enrolment year (empty without ``FFP_DATE``). Right: flights per
    month from the flight log, or, without a log, members by the month of their last
    flight; the note then says so (None when the log is there).
    Each panel is ``(counts, title, ylabel)``.
    """
    snap = ds.snapshot
    enrol = (
        snap["FFP_DATE"].dt.year.value_counts().sort_index()
        if "FFP_DATE" in snap
        else pd.Series(dtype=int)
    )
    panels = [(enrol, "New members by enrolment year", "Members")]
    if ds.flights is not None:
        panels.append((monthly_flights(ds.flights), "Flights per month", "Flights"))
        return panels, None
    last = snap["LAST_FLIGHT_DATE"].dt.to_period("M").value_counts().sort_index()
    panels.append((last, "Members by month of their last flight", "Members"))
    return (
        panels,
        "no flight log: the right panel shows the month of each member's last flight instead",
    )


def concentration(active: pd.DataFrame, q: float) -> dict:
    """Gini and top-``q`` shares of revenue (where the snapshot has it) and flights."""
    from ..exploration import concentration_summary

    conc = {}
    if "window_revenue" in active:
        conc["revenue"] = concentration_summary(active["window_revenue"], q=q)
    conc["flights"] = concentration_summary(active["FLIGHT_COUNT"].astype(float), q=q)
    return conc


def concentration_sentence(conc: dict, q: float) -> str | None:
    """The result sentence against the 80/20 rule (None without revenue)."""
    if "revenue" not in conc:
        return None
    r = conc["revenue"]
    share = r[f"top_{int(round(q * 100))}pct_share"]
    verdict = "close to" if 0.7 <= share <= 0.9 else ("above" if share > 0.9 else "below")
    return (
        f"**Result.** The top {q:.0%} of members bring **{share:.1%}** of the revenue "
        f"(Gini {r['gini']:.2f}), {verdict} the 80% of the 80/20 rule; 80% of revenue comes "
        f"from {r['members_share_for_80pct_value']:.1%} of members."
    )


def truth_summary(ds: Dataset) -> dict:
    """Share alive, mean weekly flight rate and share of business flyers (simulation)."""
    if ds.truth is None:
        return {}
    t = ds.truth
    return {
        "true_share_alive": float(t["alive"].mean()),
        "true_mean_flights_per_week": float(t["lam"].mean()),
        "true_share_business": float(t["business"].mean()),
    }


def exploration_metrics(ds: Dataset, active: pd.DataFrame, conc: dict, q: float) -> dict:
    """The key metrics notebook 01 saves."""
    snap = ds.snapshot
    rev = conc.get("revenue", {})
    return {
        "source": ds.info["source"],
        "obs_end": ds.info["obs_end"],
        "n_members": len(snap),
        "n_flights": None if ds.flights is None else len(ds.flights),
        "members_active_in_window": int((snap["FLIGHT_COUNT"] > 0).sum()),
        "median_flights_active": float(active["FLIGHT_COUNT"].median()),
        "revenue_gini": rev.get("gini"),
        "revenue_top20_share": rev.get(f"top_{int(round(q * 100))}pct_share"),
        "flights_gini": conc["flights"]["gini"],
        **truth_summary(ds),
    }
