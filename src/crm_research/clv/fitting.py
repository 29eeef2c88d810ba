"""The fit ladder and the choice of the study's one purchase model.

:func:`fit_ladder` fits a purchase model by plain maximum likelihood and, when that fit
fails or runs to a bound of the parameter space, refits it with increasing L2
penalizers (lifetimes' ``penalizer_coef``), recording every step. The model it returns
carries a :class:`~crm_research.clv.verdict.FitVerdict` that says which step was kept
and why the penalty was needed: a fallback is never silent.

:func:`select_purchase_model` picks the one purchase model of a run from the fitted
candidates: ``auto`` takes the lowest holdout error where a holdout exists, else the
lowest BIC, and never a model whose verdict is "at a bound" or "failed".

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy
way: an alternative to the Pareto/NBD model. Marketing Science 24(2), 275-284 (holdout
validation: cumulative forecast against actual repeat purchases).
Schwarz, G. (1978). Estimating the dimension of a model. Annals of Statistics 6(2),
461-464 (BIC).
"""

from __future__ import annotations

import dataclasses
import math

import pandas as pd

from .models import MODELS, PENALIZER_LADDER, FitError, _PurchaseModel
from .verdict import FitVerdict

#: ``purchase_model`` values accepted by notebook 02.
PURCHASE_CHOICES = ("auto", *MODELS)


def model_key(model_or_name) -> str:
    """The registry key (``bgnbd``, ``mbgnbd``, ``pareto``) of a model, class or name."""
    if isinstance(model_or_name, str):
        if model_or_name in MODELS:
            return model_or_name
        for key, cls in MODELS.items():
            if cls.name == model_or_name:
                return key
        raise ValueError(f"unknown purchase model {model_or_name!r}; known: {sorted(MODELS)}")
    cls = model_or_name if isinstance(model_or_name, type) else type(model_or_name)
    for key, c in MODELS.items():
        if cls is c:
            return key
    raise ValueError(f"{cls.__name__} is not one of the purchase models {sorted(MODELS)}")


def fit_ladder(
    model,
    data,
    recency=None,
    T=None,
    *,
    penalizer: float = 0.0,
    ladder: tuple[float, ...] = PENALIZER_LADDER,
    context: str = "",
    **fit_kw,
) -> _PurchaseModel:
    """Fit a purchase model, stepping up the penalizer until the fit is usable.

    Parameters
    ----------
    model : str or class
        ``"bgnbd"``, ``"mbgnbd"``, ``"pareto"`` (or the class).
    data, recency, T
        As for :meth:`~crm_research.clv.models._PurchaseModel.fit`.
    penalizer : float
        The first rung (0 = plain maximum likelihood); the ladder continues with the
        larger values of ``ladder``.
    ladder : tuple of float
        The penalizers to try (default :data:`~crm_research.clv.models.PENALIZER_LADDER`).
    context : str
        Where the fit is made (``"notebook 02: calibration period"``), kept in the verdict.
    **fit_kw
        Passed to ``fit`` (``weights``, ``source``, ``start_from``).

    Returns
    -------
    model
        Fitted, with ``verdict_`` (converged; penalized with the reason; or at a bound
        when no rung gave a usable fit, then the plain fit is returned) and ``ladder_``
        (one dict per rung tried: ``penalizer, status, detail``).

    Raises
    ------
    FitError
        When every rung failed (the message lists each).
    """
    cls = MODELS[model_key(model)]
    rungs = [float(penalizer)] + [float(p) for p in ladder if p > penalizer]
    steps: list[dict] = []
    first_with_params = None
    for pen in rungs:
        try:
            m = cls(penalizer=pen).fit(data, recency, T, **fit_kw)
        except FitError as err:
            steps.append({"penalizer": pen, "status": "failed", "detail": str(err)})
            continue
        v = m.verdict_
        steps.append({"penalizer": pen, "status": v.status, "detail": v.detail})
        if first_with_params is None:
            first_with_params = m
        if v.usable:
            m.ladder_ = steps
            if pen == rungs[0] and pen == 0:
                m.verdict_ = dataclasses.replace(v, context=context)
            else:
                why = "; ".join(f"{_rung(s['penalizer'])} {_short(s)}" for s in steps[:-1])
                m.verdict_ = FitVerdict(
                    cls.name,
                    "penalized",
                    penalizer=pen,
                    detail=(why or "penalizer given")
                    + (", so the estimates are shrunk" if why else ""),
                    context=context,
                )
            return m
    if first_with_params is None:
        raise FitError(
            f"{cls.name}: no fit with penalizers {rungs}: "
            + " | ".join(f"{s['penalizer']:g}: {s['detail']}" for s in steps)
        )
    m = first_with_params
    m.ladder_ = steps
    m.verdict_ = dataclasses.replace(
        m.verdict_,
        detail=m.verdict_.detail + f"; no penalizer up to {rungs[-1]:g} gave a usable fit",
        context=context,
    )
    return m


def _rung(penalizer: float) -> str:
    return "plain maximum likelihood" if penalizer == 0 else f"penalizer {penalizer:g}"


def _short(step: dict) -> str:
    if step["status"] == "failed":
        return "failed (" + step["detail"].split(". Remedy")[0].split(": ", 1)[-1] + ")"
    if step["status"] == "at_bound":
        return f"ran to a bound ({step['detail']})"
    return step["status"]


def holdout_error_of(comparison: pd.DataFrame, name: str) -> float | None:
    """The holdout error used for the choice: |cumulative error at the holdout end| (%).

    Falls back on the |total holdout error| when there is no tracking (no flight log
    within the holdout); None without a holdout.
    """
    if name not in comparison.index:
        return None
    for col in ("cumulative_error_pct_at_end", "holdout_total_error_pct"):
        if col in comparison.columns:
            v = comparison.loc[name, col]
            if v is not None and math.isfinite(float(v)):
                return abs(float(v))
    return None


def select_purchase_model(
    fitted: dict[str, _PurchaseModel],
    comparison: pd.DataFrame,
    choice: str = "auto",
) -> tuple[str, dict]:
    """The one purchase model of the run, and why.

    Parameters
    ----------
    fitted : dict
        Model name -> fitted model (calibration period), each with ``verdict_``.
    comparison : DataFrame
        :func:`~crm_research.clv.compare_models` of the same fits (index: model name).
    choice : {"auto", "bgnbd", "mbgnbd", "pareto"}
        ``auto``: among the models whose verdict is usable (converged or penalized,
        never at a bound or failed), the lowest holdout error
        (:func:`holdout_error_of`) where a holdout exists, else the lowest BIC. A named
        model is taken when its fit is usable.

    Returns
    -------
    name : str
    selection : dict
        ``choice, rule, reason, candidates`` (per model: ``status, bic, holdout_error_pct``).

    Raises
    ------
    FitError
        When the named model, or for ``auto`` every model, has no usable fit.
    """
    if choice not in PURCHASE_CHOICES:
        raise ValueError(f"purchase_model must be one of {PURCHASE_CHOICES}, got {choice!r}")
    cand = {}
    for name, m in fitted.items():
        cand[name] = {
            "status": m.verdict_.status,
            "verdict": m.verdict_.sentence(),
            "bic": float(m.bic_),
            "holdout_error_pct": holdout_error_of(comparison, name),
        }
    usable = [n for n, m in fitted.items() if m.verdict_.usable]
    if choice != "auto":
        name = MODELS[choice].name
        if name not in fitted:
            raise FitError(f"purchase_model={choice!r}: {name} was not fitted (see the messages)")
        if name not in usable:
            raise FitError(
                f"purchase_model={choice!r}: {fitted[name].verdict_.sentence()}; "
                "choose another model or purchase_model='auto'"
            )
        return name, {
            "choice": choice,
            "rule": "named by the purchase_model parameter",
            "reason": f"{name} as requested",
            "candidates": cand,
        }
    if not usable:
        raise FitError(
            "no purchase model has a usable fit: "
            + "; ".join(m.verdict_.sentence() for m in fitted.values())
        )
    left_out = [f"{n} ({fitted[n].verdict_.status})" for n in fitted if n not in usable]
    errs = {n: cand[n]["holdout_error_pct"] for n in usable}
    if all(e is not None for e in errs.values()):
        name = min(usable, key=lambda n: (errs[n], cand[n]["bic"]))
        rule = "lowest holdout error (|cumulative forecast error at the holdout end|)"
        reason = f"{name}: holdout error {errs[name]:.2f}%"
    else:
        name = min(usable, key=lambda n: cand[n]["bic"])
        rule = "lowest BIC (no holdout)"
        reason = f"{name}: BIC {cand[name]['bic']:,.1f}"
    if left_out:
        reason += "; not eligible: " + ", ".join(left_out)
    return name, {"choice": choice, "rule": rule, "reason": reason, "candidates": cand}


def holdout_cumulative_error(comparison: pd.DataFrame, name: str) -> float | None:
    """Signed relative error (fraction) of ``name``'s cumulative holdout forecast, or None.

    ``(expected - actual) / actual`` of the cumulative repeat flights at the end of the
    holdout (:func:`~crm_research.clv.compare_models`' ``cumulative_error_pct_at_end`` /
    100); None when there is no holdout or no tracking.
    """
    if name in comparison.index and "cumulative_error_pct_at_end" in comparison.columns:
        v = float(comparison.loc[name, "cumulative_error_pct_at_end"])
        if math.isfinite(v):
            return v / 100.0
    return None


def weights_of(data):
    """The ``weights`` column of distinct histories (members per row), or None for a
    per-member summary (one member a row, the fitter's default)."""
    if isinstance(data, pd.DataFrame) and "weights" in data.columns:
        return data["weights"].to_numpy()
    return None


def refit_on_all(
    calibration_model: _PurchaseModel,
    calibration: pd.DataFrame,
    full: pd.DataFrame,
    *,
    penalizer: float = 0.0,
    context: str = "",
    source: str = "all data",
) -> _PurchaseModel:
    """The chosen model fitted on all the data (through :func:`fit_ladder`).

    ``calibration`` and ``full``: per-member summaries or distinct histories with
    ``weights`` (:func:`weights_of`). Without a holdout the calibration data are all the
    data: the calibration fit is reused (same data, same ladder), with ``context`` in
    its verdict.

    Raises
    ------
    FitError
        When the fit on all the data is not usable (its verdict says why).
    """
    if full is calibration:
        m = calibration_model
        m.verdict_ = dataclasses.replace(m.verdict_, context=context)
    else:
        m = fit_ladder(
            model_key(calibration_model), full, penalizer=penalizer, context=context,
            source=source, weights=weights_of(full),
        )  # fmt: skip
    if not m.verdict_.usable:
        raise FitError(f"the purchase model on all the data is not usable: {m.verdict_.sentence()}")
    return m


def verdict_table(models) -> pd.DataFrame:
    """One row per fitted model: ``model, status, penalizer, parameters, verdict``.

    ``models``: a dict name -> fitted model, or a list of fitted models / verdicts.
    """
    items = models.values() if isinstance(models, dict) else models
    rows = []
    for m in items:
        v = m if isinstance(m, FitVerdict) else m.verdict_
        rows.append(
            {
                "model": v.model,
                "context": v.context,
                "status": v.status,
                "penalizer": v.penalizer,
                "parameters at a bound": ", ".join(v.parameters),
                "verdict": v.sentence(),
            }
        )
    return pd.DataFrame(rows)
