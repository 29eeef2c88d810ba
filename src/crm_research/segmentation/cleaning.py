"""Which members LRFMC can describe: availability and the textbook's cleaning rules."""

from __future__ import annotations

import pandas as pd

from ..data.schema import DataValidationError
from ..data.textbook import clean_textbook

CLEANING_RULES = ("first_edition", "second_edition", "none")


# ----------------------------------------------------------------------------------------
# availability and cleaning
# ----------------------------------------------------------------------------------------
_SNAPSHOT_NEEDS = (
    "MEMBER_NO",
    "FFP_DATE",
    "LOAD_TIME",
    "LAST_TO_END",
    "FLIGHT_COUNT",
    "SEG_KM_SUM",
    "avg_discount",
)


def lrfmc_available(snapshot: pd.DataFrame) -> tuple[bool, str]:
    """Whether the member snapshot can give L, R, F, M and C, and if not, why.

    The CDNOW data, for instance, has no enrolment date, mileage or fare discount.
    """
    missing = [c for c in _SNAPSHOT_NEEDS if c not in snapshot.columns]
    if missing:
        return False, (
            f"the member snapshot has no column(s) {missing}: LRFMC needs the enrolment date "
            "(L), mileage (M) and fare discount (C) of a frequent-flyer programme"
        )
    empty = [c for c in _SNAPSHOT_NEEDS if snapshot[c].isna().all()]
    if empty:
        return False, f"the member snapshot's column(s) {empty} hold no values"
    if len(snapshot) == 0:
        return False, "the member snapshot has no rows"
    return True, "the snapshot has every column LRFMC needs"


def clean_members(
    snapshot: pd.DataFrame, rule: str = "first_edition", *, source: str = "member snapshot"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Select the members that LRFMC can describe, with a report of what was removed.

    Two steps: the textbook's cleaning rule ``rule``
    (:func:`crm_research.data.textbook.clean_textbook`), then the removal of members
    with no flight in the two-year window (``FLIGHT_COUNT == 0``): they have no fare discount C, and their recency refers to a
    flight outside the window, so they cannot be placed among the five classes (they are
    lapsed members whatever the cluster).

    Parameters
    ----------
    snapshot : DataFrame
        The canonical member snapshot.
    rule : {"first_edition", "second_edition", "none"}
        The textbook's cleaning rule.

    Returns
    -------
    (DataFrame, DataFrame)
        The kept members, and a report with one row per step: ``step``, ``removed``,
        ``remaining`` and ``by`` (which implementation ran).
    """
    if rule not in CLEANING_RULES:
        raise ValueError(f"cleaning rule {rule!r} unknown; choose one of {CLEANING_RULES}")
    ok, why = lrfmc_available(snapshot)
    if not ok:
        raise DataValidationError(why, source=source)
    n0 = len(snapshot)
    rows = [("members in the snapshot", 0, n0, "")]
    kept, their = clean_textbook(snapshot, rule=rule)
    by = "crm_research.data.textbook.clean_textbook"
    steps = [(st["step"], st["dropped"]) for st in their["steps"]]
    remaining = n0
    for name, removed in steps:
        remaining -= int(removed)
        rows.append((f"textbook rule {rule}: {name}", int(removed), remaining, by))
    remaining = len(kept)
    fc = pd.to_numeric(kept["FLIGHT_COUNT"], errors="coerce")
    no_flight = fc == 0
    rows.append(
        (
            "no flight in the two-year window (FLIGHT_COUNT == 0: no discount C)",
            int(no_flight.sum()),
            remaining - int(no_flight.sum()),
            "crm_research.segmentation",
        )
    )
    kept = kept.loc[~no_flight]
    report = pd.DataFrame(rows, columns=["step", "removed", "remaining", "by"])
    return kept, report
