"""The purchase-model file: one small JSON file holds the run's purchase model.

Notebook 02 chooses the purchase model and writes it to
``<processed_dir>/purchase_model.json`` (:func:`save_purchase_model`); notebooks 03,
05 and 06 read it back (:func:`load_purchase_model`) and build the members' inputs with
the same time unit and counting rule (:func:`purchase_summary`), so every notebook sees
the same P(alive) for a member. JSON, not pickle: the file is readable, diffable and
safe to open, and it holds everything a prediction needs (the model's name, its
parameters and the penalizer), plus the verdict of the fit and how it was chosen.

File layout::

    {"name": "BG/NBD", "key": "bgnbd", "params": {"r": .., "alpha": .., "a": .., "b": ..},
     "standard_errors": {..}, "penalizer": 0.0, "time_unit": "weeks",
     "counting_rule": "flights", "verdict": FitVerdict.to_dict(),
     "calibration_end": "2014-03-31", "selection": {..},
     "holdout_cumulative_error": -0.012 or null, "log_likelihood": .., "n_obs": ..,
     "fitted_on": "all data"}

``calibration_end`` is the last day of the data the saved parameters were fitted on;
``fitted_on`` says which fit it is: ``"all data"`` (``purchase_model.json``, the run's
model, read by the later notebooks) or ``"calibration period"``
(``purchase_model_calibration.json``: the same model fitted on the calibration period
only, whose predictions of the holdout notebook 02 writes beside each member);
``holdout_cumulative_error`` is the relative error (a fraction, not %) of the chosen
model's cumulative forecast at the end of the holdout, fitted on the calibration period
(null without a holdout).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import io as _io
from ..config import ARTIFACTS
from .fitting import model_key
from .models import MODELS, _fitter_class, _PurchaseModel
from .summary import flight_summary, summary_from_snapshot
from .verdict import FitVerdict

FILE_NAME = ARTIFACTS["purchase_model"]
#: What ``fitted_on`` may say: the run's model, or its fit on the calibration period.
FITTED_ON = ("all data", "calibration period")
FORMAT_VERSION = 1

#: How repeat purchases are counted, by kind of input.
COUNTING_RULES = {
    "flights": "every flight counts (two flights on one day are two)",
    "distinct days": "purchases on one day are one transaction (the CDNOW recipe)",
    "member table": "FLIGHT_COUNT - 1 in the two-year window (textbook member table)",
}


def counting_rule_for(ds) -> str:
    """The counting rule of a dataset: distinct days for CDNOW, flights for a flight log,
    the member-table approximation without one."""
    if ds.flights is None:
        return "member table"
    return "distinct days" if ds.info.get("source") == "cdnow" else "flights"


def purchase_summary(
    ds,
    *,
    time_unit: str = "weeks",
    counting_rule: str | None = None,
    calibration_end=None,
    observation_end=None,
) -> pd.DataFrame:
    """Per-member ``frequency, recency, T`` (and revenue) under one counting rule.

    The one way the study turns a dataset into the purchase models' inputs: a flight
    log through :func:`~crm_research.clv.flight_summary` (``"flights"``, or ``"distinct
    days"`` for CDNOW), a member table through
    :func:`~crm_research.clv.summary_from_snapshot`.
    """
    rule = counting_rule or counting_rule_for(ds)
    if rule not in COUNTING_RULES:
        raise ValueError(f"counting_rule must be one of {sorted(COUNTING_RULES)}, got {rule!r}")
    source = ds.info.get("source", "unknown")
    if rule == "member table":
        if ds.snapshot is None:
            raise ValueError("the member-table rule needs a member snapshot")
        return summary_from_snapshot(
            ds.snapshot, time_unit=time_unit, source=f"{source} member table"
        )
    if ds.flights is None:
        raise ValueError(f"counting rule {rule!r} needs a flight log; this dataset has none")
    return flight_summary(
        ds.flights,
        calibration_end=calibration_end,
        observation_end=ds.obs_end if observation_end is None else observation_end,
        time_unit=time_unit,
        merge_same_day=rule == "distinct days",
        source=f"{source} flight log",
    )


def _floats(series) -> dict[str, float | None]:
    out = {}
    for k, v in pd.Series(series).items():
        v = float(v)
        out[str(k)] = v if np.isfinite(v) else None
    return out


def save_purchase_model(
    model: _PurchaseModel,
    path: str | os.PathLike,
    *,
    time_unit: str,
    counting_rule: str,
    calibration_end,
    selection: dict | None = None,
    holdout_cumulative_error: float | None = None,
    fitted_on: str = "all data",
) -> Path:
    """Write a fitted purchase model as JSON (atomically); returns the path.

    Parameters
    ----------
    model : fitted BGNBD, MBGNBD or ParetoNBD
        Needs ``params_`` and ``verdict_`` (:func:`~crm_research.clv.fit_ladder` sets it).
    calibration_end : date-like
        Last day of the data the parameters were fitted on.
    holdout_cumulative_error : float, optional
        Relative error (fraction) of the cumulative holdout forecast; None without holdout.
    fitted_on : {"all data", "calibration period"}
        Which fit this is (:data:`FITTED_ON`): the run's model, or the calibration fit
        whose holdout predictions notebook 02 scores.
    """
    model._require_fit()
    if counting_rule not in COUNTING_RULES:
        raise ValueError(f"counting_rule must be one of {sorted(COUNTING_RULES)}")
    if fitted_on not in FITTED_ON:
        raise ValueError(f"fitted_on must be one of {list(FITTED_ON)}, got {fitted_on!r}")
    hce = None if holdout_cumulative_error is None else float(holdout_cumulative_error)
    if hce is not None and not np.isfinite(hce):
        hce = None
    verdict = getattr(model, "verdict_", None)
    doc: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "name": model.name,
        "key": model_key(model),
        "params": _floats(model.params_),
        "standard_errors": _floats(model.standard_errors_),
        "penalizer": float(model.penalizer),
        "time_unit": time_unit,
        "counting_rule": counting_rule,
        "verdict": verdict.to_dict() if verdict is not None else None,
        "calibration_end": str(pd.Timestamp(calibration_end).date()),
        "selection": selection or {},
        "holdout_cumulative_error": hce,
        "log_likelihood": float(model.log_likelihood_),
        "n_obs": float(model.n_obs_),
        "fitted_on": fitted_on,
    }
    return _io.write_json(doc, Path(path))


def load_purchase_model(path: str | os.PathLike) -> _PurchaseModel:
    """Read a purchase-model file back into a fitted model object.

    Returns
    -------
    model
        Of the saved class (``clv.BGNBD``, ``clv.MBGNBD`` or ``clv.ParetoNBD``) with
        ``params_``, ``standard_errors_``, ``penalizer``, ``verdict_``,
        ``log_likelihood_``, ``n_obs_`` and ``meta_`` (time unit, counting rule,
        calibration end, selection, holdout error, ``fitted_on``: files written before
        it was recorded are the run's model, ``"all data"``): its predictions are those
        of the saved fit.

    Raises
    ------
    FileNotFoundError
        When there is no file (run notebook 02 first).
    ValueError
        When the file is not a purchase-model file (the message says what is wrong).
    """
    p = Path(path)
    if p.is_dir():
        p = p / FILE_NAME
    if not p.exists():
        raise FileNotFoundError(
            f"{p}: no purchase-model file; notebook 02 writes it (run it first)"
        )
    doc = _io.read_json(p)
    missing = [
        k for k in ("key", "params", "penalizer", "time_unit", "counting_rule") if k not in doc
    ]
    if missing or doc.get("key") not in MODELS:
        raise ValueError(f"{p}: not a purchase-model file (missing or bad {missing or ['key']})")
    if (doc.get("fitted_on") or "all data") not in FITTED_ON:
        raise ValueError(
            f"{p}: fitted_on must be one of {list(FITTED_ON)}, got {doc['fitted_on']!r}"
        )
    cls = MODELS[doc["key"]]
    params = pd.Series({k: float(doc["params"][k]) for k in cls.param_names})
    if not np.all(np.isfinite(params.to_numpy())) or (params <= 0).any():
        raise ValueError(f"{p}: parameters must be positive numbers, got {params.to_dict()}")
    model = cls(penalizer=float(doc["penalizer"]))
    fitter = _fitter_class(cls._fitter)(penalizer_coef=model.penalizer)
    fitter.params_ = params.copy()
    fitter._hessian_ = None
    model.fitter_ = fitter
    model.params_ = params
    se = doc.get("standard_errors") or {}
    model.standard_errors_ = pd.Series(
        {k: np.nan if se.get(k) is None else float(se[k]) for k in cls.param_names}
    )
    model.log_likelihood_ = float(doc.get("log_likelihood", np.nan))
    model.n_obs_ = float(doc.get("n_obs", np.nan))
    v = doc.get("verdict")
    model.verdict_ = FitVerdict.from_dict(v) if v else FitVerdict(cls.name, "converged")
    model.meta_ = {
        k: doc.get(k)
        for k in (
            "time_unit",
            "counting_rule",
            "calibration_end",
            "selection",
            "holdout_cumulative_error",
        )
    }
    model.meta_["fitted_on"] = doc.get("fitted_on") or "all data"  # older files: the run's
    return model
