"""The verdict every fitted model carries, in one vocabulary for the whole study.

A fit ends in exactly one of four states:

``converged``
    maximum likelihood converged inside the parameter space, finite standard errors;
``penalized``
    it converged only with an L2 penalty ``penalizer`` (the plain fit ran to a bound, was
    flat or failed): the estimates are shrunk, and ``detail`` says why the penalty was
    needed;
``at_bound``
    one or more parameters ran to a bound of the parameter space: the data cannot
    identify them, and predictions that depend on them are not to be trusted (a model
    with this verdict is never selected automatically);
``failed``
    no usable estimate; ``detail`` holds the error.

The verdict is data, not a print: notebooks show it beside the parameters, the runner
collects every verdict of a run into the "model checks" table of ``manifest.json``, and
the management report states the non-clean ones in plain words.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

Status = Literal["converged", "penalized", "at_bound", "failed"]
STATUSES: tuple[str, ...] = ("converged", "penalized", "at_bound", "failed")


@dataclass(frozen=True)
class FitVerdict:
    """The outcome of one model fit.

    Parameters
    ----------
    model : str
        The model's name as shown to users (``"BG/NBD"``, ``"Gamma-Gamma"``, ...).
    status : {"converged", "penalized", "at_bound", "failed"}
    penalizer : float
        The L2 penalty of the fit that was kept (0 for plain maximum likelihood).
    detail : str
        Plain words: why a penalty was needed, which parameter ran to which bound, or the
        error of a failed fit. Empty for a clean fit.
    parameters : tuple of str
        The parameters concerned (those at a bound, for ``at_bound``).
    context : str
        Where the fit was made (``"notebook 02, calibration period"``), optional.
    """

    model: str
    status: Status
    penalizer: float = 0.0
    detail: str = ""
    parameters: tuple[str, ...] = field(default_factory=tuple)
    context: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if self.penalizer < 0:
            raise ValueError(f"penalizer must be >= 0, got {self.penalizer}")
        if self.status == "penalized" and self.penalizer <= 0:
            raise ValueError("a 'penalized' verdict needs the penalizer that was used (> 0)")
        object.__setattr__(self, "parameters", tuple(self.parameters))

    @property
    def ok(self) -> bool:
        """True for a clean maximum-likelihood fit."""
        return self.status == "converged"

    @property
    def usable(self) -> bool:
        """True when predictions may be used (converged or penalized)."""
        return self.status in ("converged", "penalized")

    def sentence(self) -> str:
        """The verdict in one line of plain English."""
        if self.status == "converged":
            text = f"{self.model}: converged"
        elif self.status == "penalized":
            text = f"{self.model}: converged with penalizer {self.penalizer:g}"
        elif self.status == "at_bound":
            which = ", ".join(self.parameters) or "a parameter"
            text = f"{self.model}: {which} at a bound (not identifiable from these data)"
        else:
            text = f"{self.model}: failed"
        if self.detail:
            text += f" ({self.detail})"
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for model files and the manifest)."""
        d = asdict(self)
        d["parameters"] = list(self.parameters)
        d["sentence"] = self.sentence()
        return d

    @classmethod
    def at_bound(cls, model, detail: str, parameters, context: str = "") -> FitVerdict:
        """The ``at_bound`` verdict of a fitted ``model`` (its ``name`` and ``penalizer``)."""
        return cls(
            model.name,
            "at_bound",
            penalizer=model.penalizer,
            detail=detail,
            parameters=tuple(parameters),
            context=context,
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FitVerdict:
        """Inverse of :meth:`to_dict` (extra keys such as ``sentence`` are ignored)."""
        keys = ("model", "status", "penalizer", "detail", "parameters", "context")
        return cls(**{k: d[k] for k in keys if k in d})


#: A fit is at a bound when moving a parameter this many times further towards the edge
#: of the parameter space lowers the log-likelihood by less than ``RIDGE_DROP`` (1.92,
#: half the 95% point of chi-square(1)).
RIDGE_FACTOR = 100.0
RIDGE_DROP = 1.92


def likelihood_ridge(model, rows) -> tuple[tuple[str, ...], float, float, float] | None:
    """The parameter(s) of a fitted purchase model whose move towards the edge of the
    parameter space (``model._edge_moves``) by :data:`RIDGE_FACTOR` lowers the
    log-likelihood of ``rows`` by less than :data:`RIDGE_DROP` (the likelihood ridge of
    the verdict ``at_bound``), with the drop, the factor and the limit; else None."""
    p0 = model.params_.to_numpy(float)
    ll0 = model.log_likelihood_
    names = list(model.param_names)
    best = None
    moves = model._edge_moves
    for which, sign in moves:
        # the full move where the likelihood can be evaluated there, else a shorter
        # one with the threshold scaled down as the square of the log step (the
        # quadratic approximation of the log-likelihood around the optimum)
        for f in (RIDGE_FACTOR, 10.0, 3.0):
            p = p0.copy()
            for n in which:
                p[names.index(n)] *= f**sign
            limit = RIDGE_DROP * (np.log(f) / np.log(RIDGE_FACTOR)) ** 2
            # a cheap upper bound of the log-likelihood there (Pareto/NBD) that is
            # already more than the limit below the optimum settles the move
            with np.errstate(all="ignore"):
                upper = model._loglik_upper(rows, p, ll0 - limit)
            if upper is not None and np.isfinite(upper) and ll0 - upper >= limit:
                ll = None
                break
            with np.errstate(all="ignore"):
                try:
                    ll = model.log_likelihood(rows, p)
                except (FloatingPointError, OverflowError, ValueError):
                    continue
            if np.isfinite(ll) and ll > -1e299:
                break
        else:
            continue
        if ll is None:
            continue
        drop = ll0 - ll
        if drop < limit and (best is None or drop < best[1]):
            best = (which, float(drop), f, limit)
    return best
