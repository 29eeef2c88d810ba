"""What the earlier notebooks left behind, and which churn definitions the data allow."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import ARTIFACTS
from ..data.schema import DataValidationError
from .labels import DEFINITIONS, _check_member_ids

UPSTREAM_FILES = {
    "purchase_predictions": ARTIFACTS["purchase_predictions"],  # notebook 02
    "clv": ARTIFACTS["clv"],  # notebook 03
    "segments": ARTIFACTS["segments"],  # notebook 04
}


# ---------------------------------------------------------------------------------------
# upstream outputs and the data kinds
# ---------------------------------------------------------------------------------------
def load_upstream(
    processed_dir: str | os.PathLike,
) -> tuple[dict[str, pd.DataFrame | None], list[str]]:
    """Read the outputs of notebooks 02-04 where they exist.

    Returns
    -------
    tables : dict
        ``purchase_predictions``, ``clv``, ``segments``: a DataFrame or None;
        ``purchase_model``: the run's purchase model (``purchase_model.json``) or None.
    notes : list of str
        One sentence per table saying whether it was found.

    Raises
    ------
    DataValidationError
        When a file exists but has no ``MEMBER_NO`` column or duplicate ids.
    """
    d = Path(processed_dir)
    tables: dict[str, pd.DataFrame | None] = {}
    notes = []
    for key, name in UPSTREAM_FILES.items():
        p = d / name
        if p.exists():
            df = pd.read_parquet(p)
            _check_member_ids(df, str(p))
            tables[key] = df
            notes.append(f"{name}: found ({len(df):,} members, columns {list(df.columns)})")
        else:
            tables[key] = None
            notes.append(f"{name}: not found (its notebook has not run); a fallback is used")
    from ..clv import load_purchase_model  # noqa: PLC0415

    p = d / ARTIFACTS["purchase_model"]
    tables["purchase_model"] = load_purchase_model(p) if p.exists() else None
    if tables["purchase_model"] is not None:
        m = tables["purchase_model"]
        notes.append(
            f"purchase_model.json: found ({m.name}, time unit {m.meta_['time_unit']}, counting "
            f"rule {m.meta_['counting_rule']}; {m.verdict_.sentence()})"
        )
    else:
        notes.append(
            "purchase_model.json: not found (notebook 02 has not run); the BG/NBD is fitted here"
        )
    return tables, notes


def available_definitions(ds, upstream: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Which churn definitions the data can support, and why not when they cannot.

    Returns
    -------
    DataFrame
        ``definition, available, reason``.
    """
    snap = ds.snapshot
    upstream = upstream or {}
    has_tb = all(
        c in snap.columns for c in ("FLIGHT_COUNT", "P1Y_Flight_Count", "L1Y_Flight_Count")
    )
    if ds.info.get("has_ffp_columns") is False:
        tb_reason = (
            "the data have no frequent-flyer columns (e.g. CDNOW: a retail purchase log), "
            "so the textbook's established-member rule does not apply"
        )
        has_tb = False
    elif has_tb:
        tb_reason = "member table has FLIGHT_COUNT, P1Y_Flight_Count, L1Y_Flight_Count"
    else:
        tb_reason = "the member table lacks P1Y_Flight_Count / L1Y_Flight_Count"
    fw = ds.flights is not None
    fw_reason = (
        "a flight log is available"
        if fw
        else "no flight log (member table only): nothing is "
        "known about flights after an observation date"
    )
    up_pa = upstream.get("purchase_model") is not None or any(
        upstream.get(k) is not None and "p_alive" in upstream[k].columns
        for k in ("purchase_predictions", "clv")
    )
    pa = fw or up_pa
    pa_reason = (
        "the purchase model on the flight log"
        if fw
        else (
            "P(alive) from the run's purchase model"
            if up_pa
            else "no flight log and no upstream P(alive)"
        )
    )
    return pd.DataFrame(
        {
            "definition": list(DEFINITIONS),
            "available": [has_tb, fw, pa],
            "reason": [tb_reason, fw_reason, pa_reason],
        }
    )


def resolve_definition(definition: str, available: pd.DataFrame) -> tuple[str, str]:
    """The definition to model: ``definition`` if the data support it, else a fallback.

    ``"auto"`` picks forward when there is a flight log, else textbook, else palive.

    Returns
    -------
    (definition, note)
    """
    ok = dict(zip(available["definition"], available["available"], strict=True))
    why = dict(zip(available["definition"], available["reason"], strict=True))
    if definition not in (*DEFINITIONS, "auto"):
        raise ValueError(f"definition must be one of {DEFINITIONS} or 'auto', got {definition!r}")
    order = ("forward", "textbook", "palive")
    if definition != "auto" and ok[definition]:
        return definition, f"using the {definition!r} definition as requested"
    for d in order:
        if ok[d]:
            note = (
                f"'auto': using {d!r}"
                if definition == "auto"
                else f"{definition!r} is not possible here ({why[definition]}); using {d!r} instead"
            )
            return d, note
    raise DataValidationError(
        "no churn definition is possible: " + "; ".join(f"{d}: {why[d]}" for d in order),
        source="dataset",
    )


__all__ = ["UPSTREAM_FILES", "available_definitions", "load_upstream", "resolve_definition"]
