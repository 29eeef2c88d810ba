"""The BG/NBD, Pareto/NBD and MBG/NBD purchase models (Gamma-Gamma: :mod:`.gammagamma`).

Fitted by our own log-likelihoods with analytic gradients
(:mod:`crm_research.clv.likelihoods`; lifetimes 0.11.3's autograd fit took 14.5 s on a
million members, Nelder-Mead 30 s for the Pareto/NBD); lifetimes' fitter objects carry
the estimates for lifetimes' prediction formulas (P(alive), conditional expectations,
pmf), and lifetimes is the cross-check of our likelihoods in the tests. What the classes
add:

- fits on the condensed data (unique ``(x, t_x, T)`` rows with weights, exact) and, for
  large inputs, start BFGS from a fit on a 10,000-member subsample (with its Hessian;
  the Pareto/NBD's subsample fit itself starts from a 500-member pilot), so the final
  optimum is still the one of the full data, reached in a few iterations;
- deterministic starting values, lifetimes' time rescaling (oldest member T = 1) and its
  penalizer, so the fit ladder's penalizers mean what they mean in lifetimes;
- checks that turn a failed fit into :class:`FitError` with the remedy, and a verdict
  (converged, penalized, at a bound) on every fit;
- the log-likelihood on the caller's time scale, AIC/BIC; standard errors from the
  Hessian by differences of the analytic gradient, 95% intervals on the log scale (so
  they stay positive); bootstrap replicates skip them (``standard_errors=False``);
- predictions evaluated once per distinct history and mapped back to members, the
  conditional expectation over many horizons at once (:mod:`.expectations`).

All calls into lifetimes go through :func:`crm_research._compat.lifetimes_guard`.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005a). "Counting your customers" the easy
way: an alternative to the Pareto/NBD model. Marketing Science 24(2), 275-284.
Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your customers: who
are they and what will they do next? Management Science 33(1), 1-24.
Batislam, E. P., Denizel, M. & Filiztekin, A. (2007). Empirical validation and
comparison of models for customer base analysis. IJRM 24(3), 201-209 (MBG/NBD).
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005b). RFM and CLV: using iso-value curves
for customer base analysis. Journal of Marketing Research 42(4), 415-430 (Gamma-Gamma).
"""

from __future__ import annotations

from functools import partialmethod

import numpy as np
import pandas as pd
from scipy import stats

from .._compat import lifetimes_guard
from ..data.schema import DataValidationError, row_labels
from . import expectations as ex
from . import likelihoods as lk
from .lifetimes_patches import _fitter_class, _lt, _stable_log_A_0  # noqa: F401
from .summary import compress, compress_codes
from .verdict import RIDGE_DROP, RIDGE_FACTOR, FitVerdict, likelihood_ridge  # noqa: F401

#: Above this many distinct rows, start from a fit on a subsample (see module docstring).
WARM_START_ROWS = 30_000
WARM_START_MEMBERS = 10_000
WARM_START_TOL = 1e-5
#: Scaled parameters (time rescaled so max T = 1) outside this range mean a degenerate fit.
PARAM_BOUNDS = (1e-6, 1e6)
#: Series terms of the Pareto/NBD's upper bounds of the likelihood in the ridge check
#: (tried in turn until one settles the move).
RIDGE_BOUND_TERMS = (128, 2048)
#: The fit ladder: plain maximum likelihood, then these penalizers, until a usable fit.
PENALIZER_LADDER = (0.0, 0.001, 0.01, 0.1)

REMEDY = (
    "Remedy: refit with a penalizer (e.g. penalizer=0.001, then larger), express time in "
    "another unit (time_unit='weeks' or 'months') or check the data (enough members with "
    "repeat flights, a calibration period long enough to see repeat flying)"
)


class FitError(ValueError):
    """A model fit that did not converge, overflowed or hit a bound (with the remedy)."""


def _as_arrays(frequency, recency, T, source: str):
    x = np.asarray(frequency)
    tx = np.asarray(recency, dtype=float)
    tt = np.asarray(T, dtype=float)
    if not (len(x) == len(tx) == len(tt)):
        raise ValueError(
            f"{source}: frequency, recency and T differ in length ({len(x)}, {len(tx)}, {len(tt)})"
        )
    if len(x) == 0:
        raise DataValidationError("no members to fit", source=source)
    # the frame (for the row labels of a message) only when there is something to refuse
    frame = lambda: pd.DataFrame({"frequency": x, "recency": tx, "T": tt})  # noqa: E731
    for col, v in (("frequency", x.astype(float)), ("recency", tx), ("T", tt)):
        bad = ~np.isfinite(v)
        if bad.any():
            raise DataValidationError(
                "missing or infinite values",
                source=source,
                column=col,
                rows=row_labels(frame(), bad),
            )
    checks = (
        ("frequency", (x < 0) | (x != np.round(x)), "frequency must be a whole number >= 0"),
        ("recency", (tx < 0) | (tx > tt), "recency must lie in [0, T]"),
        ("recency", (x == 0) & (tx != 0), "recency must be 0 for members without repeat flights"),
        ("T", tt < 0, "T must be >= 0"),
    )
    for col, bad, what in checks:
        if bad.any():
            f = frame()
            raise DataValidationError(
                what, source=source, column=col, rows=row_labels(f, bad), values=f.loc[bad, col]
            )
    return x.astype(np.int64), tx, tt


def _unpack(data, recency, T):
    if isinstance(data, pd.DataFrame):
        missing = [c for c in ("frequency", "recency", "T") if c not in data.columns]
        if missing:
            raise DataValidationError(
                f"missing column(s) {missing}", source="member summary", column=missing
            )
        return data["frequency"].to_numpy(), data["recency"].to_numpy(), data["T"].to_numpy()
    if recency is None or T is None:
        raise ValueError("give a summary DataFrame or the three arrays frequency, recency, T")
    return data, recency, T


def require_fit(model, attr: str) -> None:
    """Refuse to use ``model`` before ``fit`` has set its fitted attribute ``attr``."""
    if not hasattr(model, attr):
        raise ValueError(f"{model.name}: call fit() first")


class _Fitted:
    """Shared parts of the wrappers: summary table, information criteria."""

    name = "model"
    param_names: tuple[str, ...] = ()

    def __init__(self, penalizer: float = 0.0, tol: float = 1e-7, warm_start: bool = True):
        if penalizer < 0:
            raise ValueError(f"penalizer must be >= 0, got {penalizer}")
        self.penalizer = float(penalizer)
        self.tol = tol
        self.warm_start = warm_start

    _require_fit = partialmethod(require_fit, "params_")

    @property
    def summary(self) -> pd.DataFrame:
        """Estimates with standard errors and 95% intervals (log scale, so positive)."""
        self._require_fit()
        se = self.standard_errors_
        z = stats.norm.ppf(0.975)
        with np.errstate(invalid="ignore", divide="ignore"):
            half = z * se / self.params_
            return pd.DataFrame(
                {
                    "coef": self.params_,
                    "se": se,
                    "lower_95": self.params_ * np.exp(-half),
                    "upper_95": self.params_ * np.exp(half),
                }
            )

    @property
    def n_params(self) -> int:
        return len(self.param_names)

    @property
    def aic_(self) -> float:
        return 2 * self.n_params - 2 * self.log_likelihood_

    @property
    def bic_(self) -> float:
        return self.n_params * np.log(self.n_obs_) - 2 * self.log_likelihood_

    def _check_params(self, scaled: np.ndarray, se: pd.Series | None = None) -> None:
        lo, hi = PARAM_BOUNDS
        if not np.all(np.isfinite(scaled)):
            raise FitError(f"{self.name}: the fit overflowed (non-finite parameters). {REMEDY}")
        off = [n for n, v in zip(self.param_names, scaled, strict=True) if not lo < v < hi]
        if off:
            vals = {n: float(v) for n, v in self.params_.items()}
            raise FitError(
                f"{self.name}: parameter(s) {off} ran to a bound of the parameter space "
                f"(fitted {vals}); the data cannot identify them. {REMEDY}"
            )
        if se is not None and not np.all(np.isfinite(se.to_numpy())):
            raise FitError(
                f"{self.name}: the likelihood is flat or not concave at the optimum "
                f"(standard errors {se.to_dict()}). {REMEDY}"
            )


class _PurchaseModel(_Fitted):
    """Base of the three purchase models (lifetimes fitter + condensed data)."""

    _fitter: str = ""
    param_names = ("r", "alpha", "a", "b")

    # -- fitting ---------------------------------------------------------------------
    def fit(
        self,
        data,
        recency=None,
        T=None,
        *,
        weights=None,
        source: str = "member summary",
        start_from: _PurchaseModel | None = None,
        standard_errors: bool = True,
    ):
        """Fit by maximum likelihood on the condensed data; returns ``self``.

        Parameters
        ----------
        data : DataFrame or array_like
            A summary with ``frequency, recency, T`` (``flight_summary``), or the
            frequency array with ``recency`` and ``T`` given.
        weights : array_like, optional
            Members per row (bootstrap counts); default one each.
        start_from : fitted model of the same class, optional
            Start the optimiser from its estimates (bootstrap replicates).
        standard_errors : bool
            Compute standard errors (a Hessian); bootstrap replicates skip them (NaN)
            and their verdict then checks the bounds only.

        Raises
        ------
        FitError
            No repeat flights, no convergence, overflow or a parameter at a bound.
        """
        x, tx, tt = _as_arrays(*_unpack(data, recency, T), source)
        w = np.ones(len(x), dtype=np.int64) if weights is None else np.asarray(weights)
        if len(w) != len(x) or (w < 0).any():
            raise ValueError(f"{source}: weights must be non-negative, one per member")
        if (w * x).sum() == 0:
            raise FitError(
                f"{self.name}: {source} has no repeat flights at all (every frequency is 0): "
                "nothing to fit. Use a longer calibration period or data with repeat flights"
            )
        if (tt[w > 0] <= 0).all():
            raise FitError(f"{self.name}: {source}: every member has T = 0. {REMEDY}")
        comp = compress_codes(x, tx, tt)
        rw = np.bincount(comp.inverse, weights=w, minlength=len(comp.rows))
        comp.rows["weights"] = rw
        if not (rw > 0).all():
            comp = comp.subset(rw > 0)
        rows = comp.rows
        self.n_obs_ = float(rows["weights"].sum())
        self.n_rows_ = len(rows)
        start = self._start(rows) if start_from is None else _start_from(start_from, rows)
        self._want_se = bool(standard_errors)
        # the histories once, with the codes of their distinct values (no sort again)
        self._hist = lk.Histories.make(
            rows["frequency"], rows["recency"], rows["T"], rows["weights"],
            codes=(comp.ux, comp.ix, comp.utx, comp.itx, comp.uT, comp.iT),
        )  # fmt: skip
        if self._needs_pairs:
            lk.history_pairs(self._hist)
        self.fitter_ = self._run(rows, start, hist=self._hist)
        self.params_ = self.fitter_.params_.copy()
        self.data_ = rows
        scale = 1.0 / rows["T"].max()
        scaled = self._scaled(self.params_.to_numpy(), scale)
        if not np.all(np.isfinite(scaled)):
            raise FitError(f"{self.name}: the fit overflowed (non-finite parameters). {REMEDY}")
        off = self._off_bounds(scaled)
        with np.errstate(all="ignore"):
            self.standard_errors_ = (
                self._standard_errors(rows)
                if not off and standard_errors
                else pd.Series(np.nan, index=list(self.param_names))
            )
        # the optimum's log-likelihood back on the caller's time scale (Jacobian of the
        # rescaling: each repeat flight's density carries a factor 1 / scale)
        self.log_likelihood_ = self._ml.loglik + float(
            (rows["weights"] * rows["frequency"]).sum()
        ) * np.log(1.0 / rows["T"].max())
        # bootstrap replicates (started from a fitted model) are checked for bounds and
        # standard errors only: the likelihood-ridge check of the main fit stands for them
        self.verdict_ = self._verdict(rows, off, ridge=start_from is None)
        return self

    # -- the verdict ---------------------------------------------------------------------
    def _off_bounds(self, scaled: np.ndarray) -> list[str]:
        lo, hi = PARAM_BOUNDS
        return [n for n, v in zip(self.param_names, scaled, strict=True) if not lo < v < hi]

    def _verdict(self, rows: pd.DataFrame, off: list[str], ridge: bool = True) -> FitVerdict:
        """Classify this fit (see :mod:`crm_research.clv.verdict`).

        ``at_bound`` when a parameter (time rescaled so the oldest member has T = 1, as in
        lifetimes) left ``PARAM_BOUNDS``, when a standard error is not finite (flat or not
        concave likelihood), or, for a plain maximum-likelihood fit, when a move towards
        an edge of the parameter space (``_edge_moves``: a dropout parameter, or the two
        parameters of one mixing distribution with their ratio kept) by
        :data:`RIDGE_FACTOR` lowers the log-likelihood by less than :data:`RIDGE_DROP`
        (1.92, half the 95% point of chi-square(1)): then the 95% likelihood interval
        reaches at least that far, and the data cannot pin the parameter down (Pareto/NBD
        with ``s, beta`` running off together: no heterogeneity in dropout visible;
        BG/NBD with ``b`` running off: no dropout visible). Where the likelihood cannot
        be evaluated that far out, the move is shortened to 10 or 3 times and the
        threshold scaled by the square of the log step.
        """
        vals = {k: float(v) for k, v in self.params_.items()}
        if off:
            shown = ", ".join(f"{k} = {vals[k]:.3g}" for k in off)
            return FitVerdict.at_bound(self, f"{shown} ran to the edge of the parameter space", off)
        se = self.standard_errors_
        bad_se = [k for k in self.param_names if not np.isfinite(se.get(k, np.nan))]
        if bad_se and self._want_se:
            return FitVerdict.at_bound(
                self,
                "the likelihood is flat or not concave at the optimum (no finite "
                f"standard error for {', '.join(bad_se)})",
                bad_se,
            )
        if self.penalizer == 0:
            ridge = self._ridge(rows) if ridge else None
            if ridge is not None:
                names, drop, f, limit = ridge
                shown = ", ".join(f"{k} = {vals[k]:.3g}" for k in names)
                return FitVerdict.at_bound(  # penalizer 0 here
                    self,
                    f"{shown}: moving {' and '.join(names)} {f:g} times further "
                    f"towards the edge lowers the log-likelihood by only {max(drop, 0.0):.2f}"
                    f" (< {limit:.3g})",
                    names,
                )
            return FitVerdict(self.name, "converged")
        return FitVerdict(
            self.name, "penalized", penalizer=self.penalizer, detail="penalizer given"
        )

    #: the moves towards the edges of the parameter space that the ridge check tries:
    #: (parameters, +1 = multiply by the factor, -1 = divide). A pair is the two
    #: parameters of one mixing distribution, moved with their ratio (the mean) kept: it
    #: runs off when members do not differ. ``b`` up or ``a`` down: no dropout visible.
    _edge_moves: tuple[tuple[tuple[str, ...], int], ...] = (
        (("b",), 1),
        (("a",), -1),
        (("a", "b"), 1),
        (("r", "alpha"), 1),
    )

    def _ridge(self, rows: pd.DataFrame) -> tuple[tuple[str, ...], float] | None:
        """The parameter(s) whose move towards the edge barely changes the likelihood."""
        return likelihood_ridge(self, rows)

    def _scaled(self, params: np.ndarray, scale: float) -> np.ndarray:
        p = params.copy()
        p[1] *= scale
        return p

    def _default_start(self, h) -> np.ndarray:
        """The optimiser's start without a subsample fit (log scaled parameters)."""
        return np.full(self.n_params, 0.1)

    def _loglik_upper(self, rows: pd.DataFrame, params, below: float) -> float | None:
        """An upper bound of :meth:`log_likelihood` cheaper than it, or None (none here).

        ``below``: the value the caller wants the bound under (it may stop there)."""
        return None

    def _start(self, rows: pd.DataFrame):
        """Starting values (log scaled parameters): a fit on a subsample for large data."""
        if not self.warm_start or len(rows) <= WARM_START_ROWS:
            return None
        rng = np.random.default_rng(0)
        w = rows["weights"].to_numpy(float)
        pick = rng.choice(len(rows), size=WARM_START_MEMBERS, p=w / w.sum())
        counts = np.bincount(pick, minlength=len(rows))
        sub = rows.loc[counts > 0].copy()
        sub["weights"] = counts[counts > 0]
        start = None
        if self._pilot_members:
            # the subsample's own start from a pilot of its first draws (the first steps
            # from the fixed start, far from the optimum, are the slow ones)
            c = np.bincount(pick[: self._pilot_members], minlength=len(rows))
            pilot = rows.loc[c > 0].copy()
            pilot["weights"] = c[c > 0]
            try:
                fp = self._run(pilot, None, standard_errors=True, tol=WARM_START_TOL)
                start = np.log(self._scaled(fp.params_.to_numpy(), 1.0 / sub["T"].max()))
                start = self._with_hessian(start, pilot["weights"].sum())
            except FitError:
                start = None
        try:
            # a start only: its optimum differs from the full data's by the subsample's
            # sampling error (about 1%), so a gradient tolerance of 1e-5 suffices
            f = self._run(sub, start, standard_errors=True, tol=WARM_START_TOL)
        except FitError:
            return None
        init = np.log(self._scaled(f.params_.to_numpy(), 1.0 / rows["T"].max()))
        return self._with_hessian(init, sub["weights"].sum())

    def _with_hessian(self, init, n: float):
        """``(init, inverse Hessian per member)`` from the last fit's Hessian, or ``init``.

        The last fit's Hessian, per member, as BFGS's first inverse Hessian."""
        h = self._ml.hessian
        if h is None or not np.all(np.isfinite(h)):
            return init
        try:
            hinv = np.linalg.inv(h / n)
        except np.linalg.LinAlgError:
            return init
        hinv = (hinv + hinv.T) / 2
        if np.any(np.linalg.eigvalsh(hinv) <= 0):
            return init
        return init, hinv

    #: our log-likelihood (:mod:`crm_research.clv.likelihoods`) and lifetimes' divisor
    #: of it in the penalized objective (``sum`` or ``mean`` of the weights)
    _loglik = staticmethod(lk.bgnbd_loglik)
    _per = "sum"
    #: the likelihood uses the distinct (x, tau) pairs (:func:`~.likelihoods.history_pairs`)
    _needs_pairs = False
    #: members of a pilot fit that starts the subsample's fit (0: none)
    _pilot_members = 0
    _alive_expectation = staticmethod(ex.bgnbd_alive_expectation)

    def _run(
        self, rows: pd.DataFrame, init, standard_errors: bool | None = None, hist=None, tol=None
    ):
        """Maximum likelihood (:func:`~crm_research.clv.likelihoods.fit_ml`) on ``rows``.

        Time is rescaled so that the oldest member has ``T = 1`` and the penalizer
        applies to the rescaled parameters, as in lifetimes. Returns lifetimes' fitter
        object carrying the parameters, for lifetimes' prediction formulas. ``hist``:
        the histories of ``rows`` when already made (time not rescaled).
        """
        scale = 1.0 / rows["T"].max()
        w = rows["weights"].to_numpy(float)
        if hist is None:
            hist = lk.Histories.make(rows["frequency"], rows["recency"], rows["T"], w)
        h = hist.scaled(scale)
        hinv = None
        if isinstance(init, tuple):
            init, hinv = init
        x0 = self._default_start(h) if init is None else np.asarray(init, dtype=float)
        se = self._want_se if standard_errors is None else standard_errors
        per = w.sum() if self._per == "sum" else w.mean()
        with np.errstate(all="ignore"):
            res = lk.fit_ml(
                self._loglik,
                h,
                x0,
                penalizer=self.penalizer,
                per=per,
                n=w.sum(),
                tol=min(self.tol, 1e-7) if tol is None else tol,
                standard_errors=se,
                hess_inv0=hinv,
            )
        if not np.all(np.isfinite(res.log_params)) or not np.isfinite(res.loglik):
            raise FitError(f"{self.name}: the fit overflowed (non-finite likelihood). {REMEDY}")
        # a parameter running off to the edge of the parameter space stops the line search
        # away from a stationary point: that is reported as "at a bound" by the verdict
        off = self._off_bounds(np.exp(res.log_params))
        if not res.success and res.grad_norm > 1e-5 and not off:
            raise FitError(f"{self.name}: the optimiser did not converge ({res.message}). {REMEDY}")
        params = self._scaled(np.exp(res.log_params), 1.0 / scale)
        fitter = _fitter_class(self._fitter)(penalizer_coef=self.penalizer)
        fitter.params_ = pd.Series(params, index=list(self.param_names))
        fitter._scale = scale
        fitter._negative_log_likelihood_ = res.objective
        fitter._hessian_ = res.hessian
        fitter.data = rows
        fitter.predict = fitter.conditional_expected_number_of_purchases_up_to_time
        self._ml = res
        return fitter

    def _standard_errors(self, rows) -> pd.Series:
        se = self._ml.standard_errors(self.params_.to_numpy())
        return pd.Series(se, index=list(self.param_names))

    def log_likelihood(self, rows: pd.DataFrame, params=None) -> float:
        """Log-likelihood of condensed ``rows`` (``frequency, recency, T, weights``)."""
        p = self.params_.to_numpy() if params is None else np.asarray(params, dtype=float)
        h = getattr(self, "_hist", None)
        if h is None or rows is not getattr(self, "data_", None):
            h = lk.Histories.make(rows["frequency"], rows["recency"], rows["T"], rows["weights"])
        with np.errstate(all="ignore"):
            return float(self._loglik(np.log(p), h, grad=False))

    # -- predictions (once per distinct history) ---------------------------------------
    def _per_history(self, method: str, frequency, recency, T, *args, unique: bool = False):
        """Evaluate a fitter method once per distinct history (``unique``: already are)."""
        self._require_fit()
        x, tx, tt = (np.asarray(v) for v in (frequency, recency, T))
        scalar = x.ndim == 0
        x, tx, tt = (
            np.atleast_1d(x),
            np.atleast_1d(tx).astype(float),
            np.atleast_1d(tt).astype(float),
        )
        if unique:
            rows = pd.DataFrame({"frequency": x, "recency": tx, "T": tt})
            inv = np.arange(len(x))
        else:
            rows, inv = compress(x, tx, tt)
        fn = getattr(self.fitter_, method)
        with lifetimes_guard(), np.errstate(all="ignore"):
            vals = np.asarray(
                fn(
                    *args,
                    rows["frequency"].to_numpy(),
                    rows["recency"].to_numpy(),
                    rows["T"].to_numpy(),
                ),
                dtype=float,
            )
        out = vals[inv]
        return float(out[0]) if scalar else out

    def p_alive(self, frequency, recency, T, *, unique: bool = False) -> np.ndarray:
        """P(alive at T | x, t_x, T)."""
        return self._per_history(
            "conditional_probability_alive", frequency, recency, T, unique=unique
        )

    def expected_flights(self, t: float, frequency, recency, T, *, unique: bool = False):
        """Expected flights in ``(T, T + t]`` given the history (conditional expectation)."""
        return self._per_history(
            "conditional_expected_number_of_purchases_up_to_time",
            frequency,
            recency,
            T,
            t,
            unique=unique,
        )

    def prob_no_flight(self, t: float, frequency, recency, T, *, unique: bool = False):
        """P(no flight in ``(T, T + t]`` | x, t_x, T): the model's churn probability.

        BG/NBD and MBG/NBD:
        ``P = 1 - P(alive) + P(alive) ((alpha + T) / (alpha + T + t))^(r + x)``.
        A member who has dropped out never flies again; given alive, the likelihood
        ``lambda^x exp(-lambda T)`` times a factor in ``p`` only separates, so the
        rate's posterior is Gamma(r + x, alpha + T) (Fader, Hardie & Lee 2005a, section
        3; Batislam et al. 2007 for the MBG/NBD, whose alive term has one more ``1 - p``)
        and the Gamma mixture of ``exp(-lambda t)`` is the power term. For a member
        without history (x = 0, T = 0) it is lifetimes' ``P(X(t) = 0)`` (tested).
        Unlike ``1 - P(alive)``, it is not 0 for members without repeat flights (whose
        BG/NBD P(alive) is 1): it answers the churn question, "no flight in the horizon".
        """
        self._require_fit()
        pa = np.clip(self.p_alive(frequency, recency, T, unique=unique), 0.0, 1.0)
        r, alpha = float(self.params_["r"]), float(self.params_["alpha"])
        x = np.asarray(frequency, dtype=float)
        tt = np.asarray(T, dtype=float)
        quiet = np.exp((r + x) * (np.log(alpha + tt) - np.log(alpha + tt + float(t))))
        return (1.0 - pa) + pa * quiet

    def expected_flights_unconditional(self, t) -> np.ndarray:
        """E[X(t)]: expected repeat flights in ``t`` after a first flight (no history)."""
        self._require_fit()
        t = np.asarray(t, dtype=float)
        with lifetimes_guard(), np.errstate(all="ignore"):
            out = np.asarray(self.fitter_.expected_number_of_purchases_up_to_time(t), dtype=float)
        return np.where(t > 0, out, 0.0)

    def prob_n_flights(self, t: float, n: int) -> float:
        """P(X(t) = n): probability of ``n`` repeat flights in ``t`` after a first flight."""
        self._require_fit()
        with lifetimes_guard(), np.errstate(all="ignore"):
            return float(self.fitter_.probability_of_n_purchases_up_to_time(t, n))

    def expected_flights_path(
        self, times, frequency, recency, T, *, combine=None, unique: bool = False
    ) -> np.ndarray:
        """Conditional expected flights up to each of ``times`` (members x times).

        With ``combine`` (one weight per time) returns ``sum_j combine[j] * E[X(t_j)]``
        per member instead of the matrix (the CLV uses it, without the large matrix).

        Uses the factorisation of the conditional expectation of all three models,
        ``E[X(t) | x, t_x, T] = P(alive | x, t_x, T) * g(t; x, T)``: given alive at T, the
        future depends on the history through ``x`` and ``T`` only (the posterior of the
        rate is Gamma(r + x, alpha + T); of the dropout, Beta(a, b + x) or Gamma(s, beta +
        T)). ``g`` (:mod:`crm_research.clv.expectations`) is evaluated once per distinct
        ``(x, T)`` for all times in one vectorised call, which makes the CLV of a million
        members a matter of seconds. The tests check it against lifetimes' conditional
        expectation, month by month.
        """
        self._require_fit()
        x = np.asarray(frequency)
        tt = np.asarray(T, dtype=float)
        times = np.atleast_1d(np.asarray(times, dtype=float))
        pa = self.p_alive(x, recency, tt, unique=unique)
        pairs, code = compress(x, tt, tt)
        ux, uT = pairs["frequency"].to_numpy(float), pairs["T"].to_numpy()
        p = self.params_.to_numpy(float)
        if combine is not None:
            wts = np.asarray(combine, dtype=float)
            if wts.shape != times.shape:
                raise ValueError("combine needs one weight per time")
            # per distinct (x, T), all times at once (expectations.discounted_alive_expectation)
            acc = ex.discounted_alive_expectation(self._alive_expectation, p, times, wts, ux, uT)
            return pa * acc[code]
        g = self._alive_expectation(p, times[None, :], ux[:, None], uT[:, None])
        return pa[:, None] * g[code]

    def expected_matrix(
        self, t: float, max_frequency: int, max_recency: float, T: float, n_grid=None
    ):
        """Expected flights in the next ``t`` on a (recency x frequency) grid at age ``T``."""
        rec = np.linspace(0, max_recency, n_grid or int(max_recency) + 1)
        xs = np.arange(max_frequency + 1)
        X, R = np.meshgrid(xs, rec)
        R = np.where(X == 0, 0.0, R)
        vals = self.expected_flights(t, X.ravel(), R.ravel(), np.full(X.size, float(T)))
        return pd.DataFrame(vals.reshape(X.shape), index=pd.Index(rec, name="recency"), columns=xs)

    def p_alive_matrix(self, max_frequency: int, max_recency: float, T: float, n_grid=None):
        """P(alive) on a (recency x frequency) grid at age ``T``."""
        rec = np.linspace(0, max_recency, n_grid or int(max_recency) + 1)
        xs = np.arange(max_frequency + 1)
        X, R = np.meshgrid(xs, rec)
        R = np.where(X == 0, 0.0, R)
        vals = self.p_alive(X.ravel(), R.ravel(), np.full(X.size, float(T)))
        return pd.DataFrame(vals.reshape(X.shape), index=pd.Index(rec, name="recency"), columns=xs)


def _start_from(fitted: _PurchaseModel, rows: pd.DataFrame):
    fitted._require_fit()
    return np.log(fitted._scaled(fitted.params_.to_numpy(), 1.0 / rows["T"].max()))


class BGNBD(_PurchaseModel):
    """BG/NBD (Fader, Hardie & Lee 2005a) via ``lifetimes.BetaGeoFitter``.

    Parameters
    ----------
    penalizer : float
        L2 penalty on the parameters (lifetimes' ``penalizer_coef``); 0 = maximum likelihood.
    tol : float
        Gradient tolerance of BFGS.
    warm_start : bool
        Start large fits from a fit on a 10,000-member subsample.
    """

    name = "BG/NBD"
    _fitter = "BetaGeoFitter"


class MBGNBD(_PurchaseModel):
    """MBG/NBD (Batislam, Denizel & Filiztekin 2007) via ``lifetimes.ModifiedBetaGeoFitter``.

    Like the BG/NBD, but a member may also drop out right after the first flight, so
    members without repeat flights are not all taken to be alive.
    """

    name = "MBG/NBD"
    _fitter = "ModifiedBetaGeoFitter"
    _loglik = staticmethod(lk.mbgnbd_loglik)
    _alive_expectation = staticmethod(ex.mbgnbd_alive_expectation)


class ParetoNBD(_PurchaseModel):
    """Pareto/NBD (Schmittlein, Morrison & Colombo 1987) on ``lifetimes.ParetoNBDFitter``.

    Fitted by our likelihood with its analytic gradient
    (:func:`~crm_research.clv.likelihoods.pareto_loglik`, L-BFGS-B from a fixed start);
    the predictions and P(alive) are lifetimes' (with the stable likelihood term of
    :mod:`~crm_research.clv.lifetimes_patches`). lifetimes' own optimiser is unfit for the
    study: it starts from random values, does not check convergence and with its default
    ``tol=1e-4`` stops early on CDNOW (r = 0.50, alpha = 8.35 where the maximum is
    r = 0.553, alpha = 10.58, Fader, Hardie & Lee 2005a); Nelder-Mead without a gradient
    took 30 s on a million members. The tests check the CDNOW estimates.
    """

    name = "Pareto/NBD"
    _fitter = "ParetoNBDFitter"
    _loglik = staticmethod(lk.pareto_loglik)
    _needs_pairs = True
    _pilot_members = 500
    _alive_expectation = staticmethod(ex.pareto_alive_expectation)
    _per = "mean"
    param_names = ("r", "alpha", "s", "beta")
    _edge_moves = (
        (("beta",), 1),
        (("s",), -1),
        (("s", "beta"), 1),
        (("r", "alpha"), 1),
    )

    def __init__(self, penalizer: float = 0.0, tol: float = 1e-6, warm_start: bool = True):
        super().__init__(penalizer=penalizer, tol=tol, warm_start=warm_start)

    def _scaled(self, params, scale):
        p = params.copy()
        p[1] *= scale
        p[3] *= scale
        return p

    def _default_start(self, h) -> np.ndarray:
        """Start at the flight rate of the data (``r = 1``, ``alpha = sum T / sum x`` on
        the rescaled time) and the same for the dropout (``s = 1``, ``beta = alpha``,
        where the 2F1 series is trivial, ``z = 0``)."""
        rate = float(np.sum(h.w * h.x)) / max(float(np.sum(h.w * h.T)), 1e-12)
        a = np.log(1.0 / max(rate, 1e-12))
        return np.clip(np.array([0.0, a, 0.0, a]), -20.0, 20.0)

    def _loglik_upper(self, rows: pd.DataFrame, params, below: float) -> float | None:
        """Upper bound of the log-likelihood from a limited number of series terms.

        Far from the optimum (the ridge check's moves by a factor 100) the 2F1 series
        can need 20,000 terms (measured: 5 s of a 13 s fit on a million members); the
        bound (:func:`~crm_research.clv.likelihoods._hyp2f1_1bc_bounds`) takes at most
        :data:`RIDGE_BOUND_TERMS` terms, more only until it falls ``below``.
        """
        if rows is not getattr(self, "data_", None):
            return None
        lp = np.log(np.asarray(params, dtype=float))
        for k in RIDGE_BOUND_TERMS:
            upper = float(lk.pareto_loglik(lp, self._hist, grad=False, n_terms=k))
            if not np.isfinite(upper) or upper < below:
                break
        return upper

    def prob_no_flight(self, t: float, frequency, recency, T, *, unique: bool = False):
        """P(no flight in ``(T, T + t]`` | x, t_x, T) under the Pareto/NBD.

        Given alive at ``T``, the posterior of the flight rate is Gamma(r + x, A) with
        ``A = alpha + T`` and, independently, that of the dropout rate Gamma(s, B) with
        ``B = beta + T`` (the likelihood of an alive member, ``lambda^x exp(-(lambda +
        mu) T)``, factorises; Schmittlein, Morrison & Colombo 1987). A living member with
        rates ``lambda, mu`` flies before dropping out and before ``t`` with probability
        ``int_0^t lambda exp(-(lambda + mu) u) du``, so

        ``P(no flight | alive) = 1 - int_0^t (k/A) (A/(A+u))^(k+1) (B/(B+u))^s du``,
        ``k = r + x``. With ``w = 1 - (A/(A+u))^k`` the integral is
        ``int_0^W (B/(B+u(w)))^s dw``, ``W = 1 - (A/(A+t))^k``, a smooth integrand on a
        short interval, evaluated by 32-point Gauss-Legendre quadrature (the tests check
        it against direct numerical integration). ``P = 1 - P(alive) + P(alive) P(no
        flight | alive)``.
        """
        self._require_fit()
        pa = np.clip(self.p_alive(frequency, recency, T, unique=unique), 0.0, 1.0)
        r, alpha, s, beta = (float(v) for v in self.params_.to_numpy())
        x = np.atleast_1d(np.asarray(frequency, dtype=float))
        tt = np.atleast_1d(np.asarray(T, dtype=float))
        k = r + x
        A, B = alpha + tt, beta + tt
        W = -np.expm1(k * (np.log(A) - np.log(A + float(t))))
        nodes, wts = np.polynomial.legendre.leggauss(32)
        w = (nodes[None, :] + 1.0) / 2.0 * W[:, None]
        v = -np.log1p(-w) / k[:, None]
        u = A[:, None] * np.expm1(v)
        g = np.exp(-s * np.log1p(u / B[:, None]))
        integral = (g * wts[None, :]).sum(axis=1) * W / 2.0
        quiet = 1.0 - integral
        out = (1.0 - pa) + pa * quiet
        return float(out[0]) if np.ndim(frequency) == 0 else out

    def prob_n_flights(self, t: float, n: int) -> float:
        """P(X(t) = n) for a new member: lifetimes' conditional pmf with an empty history."""
        self._require_fit()
        with lifetimes_guard(), np.errstate(all="ignore"):
            return float(
                self.fitter_.conditional_probability_of_n_purchases_up_to_time(n, t, 0, 0.0, 0.0)
            )


MODELS = {"bgnbd": BGNBD, "pareto": ParetoNBD, "mbgnbd": MBGNBD}

# Gamma-Gamma lives in its own module; imported here so ``models.GammaGamma`` keeps working
from .gammagamma import GammaGamma, spend_frequency_correlation  # noqa: E402, F401
