"""CDNOW, the public benchmark of the customer-lifetime-value literature, as a flight log.

CDNOW was an online music retailer. Its data set holds the entire purchase history up
to the end of June 1998 of the cohort of 23,570 customers who made their first-ever
purchase at CDNOW in the first quarter of 1997; the widely used 1/10 systematic sample
holds 2,357 of them (Hardie, "Notes on the CDNOW Master Data Set", 2013,
http://brucehardie.com/notes/026/). Fader, Hardie & Lee (2005, "Counting your
customers the easy way", *Marketing Science* 24(2)) fit BG/NBD on the sample with weeks
1-39 as calibration and 40-78 as holdout.

Both files ship with the ``lifetimes`` package (``lifetimes/datasets/``); nothing is
downloaded. The files are located with :func:`importlib.util.find_spec`, which does not
import lifetimes (its import changes pandas options and warning filters process-wide).

* ``CDNOW_master.txt``: header ``customer_id date number_of_cds dollar_value``,
  whitespace separated, dates ``YYYYMMDD``.
* ``CDNOW_sample.txt``: no header; ``customer_id new_id date cds dollar_value``, where
  ``customer_id`` is the master id and ``new_id`` runs 1..2,357.

A purchase is read as one "flight": ``MEMBER_NO`` (the master id), ``FLIGHT_DATE``,
``REVENUE`` (dollars) and ``N_ITEMS`` (CDs). Several purchases may share a day.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from . import schema as S
from .schema import DataValidationError

if TYPE_CHECKING:
    from . import Dataset

MASTER_FILE = "CDNOW_master.txt"
SAMPLE_FILE = "CDNOW_sample.txt"
#: End of the CDNOW observation period (Hardie, note 026: purchases up to end June 1998).
CDNOW_END = "1998-06-30"
N_ITEMS = "N_ITEMS"


def cdnow_path(sample: bool = True) -> Path:
    """Path of the CDNOW file shipped with ``lifetimes`` (sample or master)."""
    name = SAMPLE_FILE if sample else MASTER_FILE
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the lifetimes package is not installed; it ships the CDNOW files "
            "(pip install lifetimes==0.11.3)"
        )
    for folder in spec.submodule_search_locations:
        p = Path(folder) / "datasets" / name
        if p.exists():
            return p
    raise FileNotFoundError(
        f"{name} not found under lifetimes/datasets in {list(spec.submodule_search_locations)}"
    )


def load_cdnow_transactions(sample: bool = True) -> pd.DataFrame:
    """Read CDNOW as a transaction log, every record kept (zero-dollar purchases too).

    Parameters
    ----------
    sample : bool
        True: the 1/10 sample (2,357 customers); False: the master file (23,570).

    Returns
    -------
    DataFrame
        ``MEMBER_NO`` (int64, the master customer id), ``FLIGHT_DATE`` (datetime64),
        ``REVENUE`` (float, dollars), ``N_ITEMS`` (int64, CDs), in file order.
        Use :func:`positive_revenue` to drop the non-positive purchases.
    """
    path = cdnow_path(sample)
    if sample:
        names = ["customer_id", "new_id", "date", "cds", "dollar_value"]
        raw = pd.read_csv(path, sep=r"\s+", header=None, names=names, dtype={"date": str})
    else:
        raw = pd.read_csv(path, sep=r"\s+", dtype={"date": str})
        raw = raw.rename(columns={"number_of_cds": "cds"})
    src = str(path)
    S.require_columns(raw, ["customer_id", "date", "cds", "dollar_value"], src)
    dates = pd.to_datetime(raw["date"], format="%Y%m%d", errors="coerce")
    if dates.isna().any():
        bad = dates.isna()
        raise DataValidationError(
            "dates that cannot be parsed as YYYYMMDD",
            source=src,
            column="date",
            rows=S.row_labels(raw, bad),
            values=raw.loc[bad, "date"].tolist(),
        )
    out = pd.DataFrame(
        {
            S.MEMBER: S.numeric(raw, "customer_id", src).astype("int64"),
            S.FLIGHT_DATE: dates.astype("datetime64[ns]"),
            S.REVENUE: S.numeric(raw, "dollar_value", src),
            N_ITEMS: S.numeric(raw, "cds", src).astype("int64"),
        }
    )
    S.check_range(out[S.REVENUE], src, "dollar_value", low=0, what="that are negative")
    return out


def positive_revenue(flights: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Drop purchases with ``REVENUE <= 0``; return the rest and how many were dropped.

    The master file has 80 zero-dollar records. Gamma-Gamma (Fader, Hardie & Lee 2005)
    needs strictly positive spend, so the monetary stage uses this; the frequency models
    may keep them as transactions.
    """
    keep = flights[S.REVENUE] > 0
    return flights.loc[keep].reset_index(drop=True), int((~keep).sum())


def cdnow_dataset(
    sample: bool = True,
    obs_end: str | pd.Timestamp = CDNOW_END,
    *,
    positive_only: bool = False,
) -> Dataset:
    """CDNOW as a :class:`~crm_research.data.Dataset` (flight log + snapshot).

    Parameters
    ----------
    sample : bool
        The 1/10 sample (default) or the master file.
    obs_end : date-like
        Observation end; purchases after it are left out of both tables.
    positive_only : bool
        Drop the non-positive-revenue purchases (counted in ``info``).

    Returns
    -------
    Dataset
        ``flights`` (``MEMBER_NO, FLIGHT_DATE, REVENUE, N_ITEMS``) and the snapshot built
        by :func:`crm_research.data.snapshot.build_snapshot` at ``obs_end`` (no
        frequent-flyer columns: ``info["has_ffp_columns"] = False``; ``FFP_DATE`` is the
        first purchase). No member table, complaints or truth.
    """
    from . import Dataset  # noqa: PLC0415 (lazy: data/__init__ may import this module)
    from .snapshot import build_snapshot  # noqa: PLC0415

    obs_end = pd.Timestamp(obs_end).normalize()
    flights = load_cdnow_transactions(sample)
    n_raw = len(flights)
    n_nonpositive = int((flights[S.REVENUE] <= 0).sum())
    dropped = 0
    if positive_only:
        flights, dropped = positive_revenue(flights)
    late = flights[S.FLIGHT_DATE] > obs_end
    n_late = int(late.sum())
    flights = flights.loc[~late].reset_index(drop=True)
    if len(flights) == 0:
        raise ValueError(f"no CDNOW purchases on or before {obs_end.date()}")
    snapshot = build_snapshot(flights, None, obs_end)
    for col in snapshot.columns:  # one datetime unit everywhere (Parquet keeps units)
        if pd.api.types.is_datetime64_any_dtype(snapshot[col]):
            snapshot[col] = snapshot[col].astype("datetime64[ns]")
    info = {
        "source": "cdnow",
        "obs_end": obs_end.date().isoformat(),
        "has_ffp_columns": False,
        "has_flight_log": True,
        "file": str(cdnow_path(sample)),
        "sample": bool(sample),
        "n_members": int(flights[S.MEMBER].nunique()),
        "n_transactions_file": int(n_raw),
        "n_transactions": int(len(flights)),
        "n_nonpositive_revenue": n_nonpositive,
        "nonpositive_dropped": int(dropped),
        "n_after_obs_end_dropped": n_late,
        "notes": [
            "CDNOW purchases read as flights: REVENUE in dollars, no km, discount or members.",
            "Cohort: first purchase in 1997-Q1, observed to 1998-06-30 (Hardie, note 026).",
        ],
    }
    return Dataset(snapshot=snapshot, flights=flights, info=info)


__all__ = [
    "CDNOW_END",
    "cdnow_dataset",
    "cdnow_path",
    "load_cdnow_transactions",
    "positive_revenue",
]
