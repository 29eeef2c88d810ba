"""Spend per flight: Gamma-Gamma's independence check and a spend model chosen from it.

The Gamma-Gamma model (Colombo & Jiang 1999; Fader, Hardie & Lee 2005b) assumes that a
member's mean spend per transaction is independent of how often the member buys. Fader,
Hardie & Lee (2005b, p. 420) check it with the correlation of the two (0.11 on CDNOW,
judged weak enough). In airline data it fails: in the textbook table's heavy flyers the
Spearman correlation of flights and mean fare per flight is about -0.7 (frequent flyers
fly short routes on discounted corporate fares), and a Gamma-Gamma fit then shrinks every
member towards one population mean that belongs to nobody.

This module

* tests the assumption (:func:`independence_check`): Spearman's rank correlation of
  repeat frequency and mean spend, a Fisher-z confidence interval with the variance of
  Bonett & Wright (2000) for Spearman's rho, and a stated threshold; the verdict is
  "dependent" when the whole interval lies beyond the threshold (``|rho|`` is then
  confidently larger than it);
* offers a spend model in which spend may depend on frequency
  (:class:`LogSpendRegression`): a normal-normal empirical-Bayes model of log mean spend
  with log flights as covariate (parametric empirical Bayes, Morris 1983; the normal
  model of mean spend of Schmittlein & Peterson 1994; using the dependence of the value
  per transaction on the number of transactions to predict CLV, as Glady, Baesens &
  Croux 2009 propose, although their estimator differs);
* fits Gamma-Gamma with a verdict (:func:`fit_gamma_gamma`) and chooses between the two
  (:func:`choose_spend_model`): Gamma-Gamma when the check says "independent" and its fit
  is usable, the regression otherwise, with the reason in words (a fallback is never
  silent).

Every spend fit carries ``verdict_`` (:class:`~crm_research.clv.verdict.FitVerdict`).

References
----------
Bonett, D. G. & Wright, T. A. (2000). Sample size requirements for estimating Pearson,
Kendall and Spearman correlations. Psychometrika 65(1), 23-28.
Colombo, R. & Jiang, W. (1999). A stochastic RFM model. Journal of Interactive Marketing
13(3), 2-12.
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005b). RFM and CLV: using iso-value curves
for customer base analysis. Journal of Marketing Research 42(4), 415-430.
Glady, N., Baesens, B. & Croux, C. (2009). A modified Pareto/NBD approach for predicting
customer lifetime value. Expert Systems with Applications 36(2), 2062-2071.
Morris, C. N. (1983). Parametric empirical Bayes inference: theory and applications.
Journal of the American Statistical Association 78(381), 47-55.
Schmittlein, D. C. & Peterson, R. A. (1994). Customer base analysis: an industrial
purchase process application. Marketing Science 13(1), 41-67.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from functools import partialmethod

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..data.schema import DataValidationError
from .gammagamma import usable_spend
from .models import FitError, GammaGamma, require_fit
from .verdict import FitVerdict

#: "dependent" when the whole interval of Spearman's rho lies beyond +-this. Fader, Hardie
#: & Lee (2005b) accepted a correlation of 0.11 on CDNOW as weak; on CDNOW's whole period
#: Spearman's rho is 0.21 (interval 0.15 to 0.26): not confidently beyond 0.2, so
#: Gamma-Gamma stays, as in the paper; airline heavy flyers (about -0.7) are far beyond.
INDEPENDENCE_THRESHOLD = 0.2
#: A parameter whose 95% interval (log scale) spans more than this factor is taken as
#: not identified by the data (relative standard error above log(1000) / (2 * 1.96)).
MAX_CI_RATIO = 1000.0


def _spend_columns(summary: pd.DataFrame, source: str) -> tuple[np.ndarray, np.ndarray]:
    if "monetary_value" not in summary.columns:
        raise DataValidationError(
            "no revenue column: the spend model needs REVENUE",
            source=source,
            column="monetary_value",
        )
    col = "n_monetary" if "n_monetary" in summary.columns else "frequency"
    return summary[col].to_numpy(dtype=float), summary["monetary_value"].to_numpy(dtype=float)


@dataclass(frozen=True)
class IndependenceCheck:
    """Outcome of :func:`independence_check` (see there)."""

    n: int
    spearman: float
    lower: float
    upper: float
    level: float
    threshold: float
    verdict: str

    def sentence(self) -> str:
        """The check in one line of plain English."""
        ci = f"{self.level:.0%} interval {self.lower:.2f} to {self.upper:.2f}"
        rule = f"rule: dependent when the whole interval lies beyond the threshold +-{self.threshold:g}"
        if self.verdict == "dependent":
            return (
                f"spend per flight depends on frequency: Spearman rho = {self.spearman:.2f} "
                f"({ci}, {self.n:,} members; {rule}), so Gamma-Gamma's independence "
                "assumption fails"
            )
        return (
            f"spend per flight is taken as independent of frequency: Spearman rho = "
            f"{self.spearman:.2f} ({ci}, {self.n:,} members; {rule})"
        )

    def to_dict(self) -> dict:
        """JSON-ready dict (for metrics), with the sentence."""
        return {**asdict(self), "sentence": self.sentence()}


def independence_check(
    summary: pd.DataFrame,
    *,
    threshold: float = INDEPENDENCE_THRESHOLD,
    level: float = 0.95,
    source: str = "member summary",
) -> IndependenceCheck:
    """Test Gamma-Gamma's assumption that mean spend does not depend on frequency.

    Spearman's rank correlation between repeat frequency and mean spend per repeat flight
    over the members with a usable mean (``n_monetary > 0``), with a Fisher-z interval
    whose variance ``(1 + rho^2 / 2) / (n - 3)`` is Bonett & Wright's (2000) for
    Spearman's rho. Verdict ``"dependent"`` when the whole interval lies beyond
    ``+-threshold`` (the correlation is confidently stronger than the threshold), else
    ``"independent"`` (with few members the interval is wide and the check keeps the
    literature's default, Gamma-Gamma).

    Parameters
    ----------
    summary : DataFrame
        ``flight_summary`` output with ``frequency``, ``monetary_value`` (and
        ``n_monetary``).
    threshold : float
        Smallest ``|rho|`` that counts as a dependence, in [0, 1).
    level : float
        Confidence level of the interval, in (0, 1).
    """
    if not 0 <= threshold < 1:
        raise ValueError(f"threshold must be in [0, 1), got {threshold}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    n_m, m = _spend_columns(summary, source)
    use = (n_m > 0) & np.isfinite(m)
    n = int(use.sum())
    if n < 5:
        raise DataValidationError(
            f"{n} member(s) with a repeat flight and revenue; the independence check needs 5",
            source=source,
            column="monetary_value",
        )
    rho = float(stats.spearmanr(summary["frequency"].to_numpy()[use], m[use]).statistic)
    if not np.isfinite(rho):  # constant frequency or spend: no evidence of dependence
        rho = 0.0
    z = np.arctanh(np.clip(rho, -0.999999, 0.999999))
    half = stats.norm.ppf(0.5 + level / 2) * np.sqrt((1 + rho**2 / 2) / (n - 3))
    lo, hi = float(np.tanh(z - half)), float(np.tanh(z + half))
    dependent = lo > threshold or hi < -threshold
    return IndependenceCheck(
        n=n,
        spearman=rho,
        lower=lo,
        upper=hi,
        level=level,
        threshold=threshold,
        verdict="dependent" if dependent else "independent",
    )


def _identification(model, names) -> tuple[str, list[str]]:
    """Names of parameters whose 95% interval spans more than ``MAX_CI_RATIO``."""
    se = model.standard_errors_.reindex(list(names)).to_numpy(dtype=float)
    coef = model.params_.reindex(list(names)).to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.exp(2 * stats.norm.ppf(0.975) * np.abs(se / coef))
    bad = [
        n for n, r in zip(names, ratio, strict=True) if not (np.isfinite(r) and r <= MAX_CI_RATIO)
    ]
    return ", ".join(
        f"{n} = {c:.4g} (se {s:.3g})" for n, c, s in zip(names, coef, se, strict=True)
    ), bad


def gamma_gamma_verdict(model: GammaGamma, context: str = "") -> FitVerdict:
    """Classify a fitted Gamma-Gamma model (converged, penalized, at a bound).

    ``at_bound`` when a parameter is not identified: its 95% interval spans more than a
    factor ``MAX_CI_RATIO`` (e.g. ``p`` near 0 with ``q`` and ``gamma`` running off
    together, the direction in which the spread of mean spend across members vanishes).
    """
    text, bad = _identification(model, model.param_names)
    if bad:
        detail = f"95% interval wider than a factor {MAX_CI_RATIO:g} for {bad}: {text}"
        return FitVerdict.at_bound(model, detail, bad, context)
    if model.penalizer > 0:
        return FitVerdict(
            model.name,
            "penalized",
            penalizer=model.penalizer,
            detail="penalizer set by the caller (lifetimes' L2 penalty on p, q, gamma)",
            context=context,
        )
    return FitVerdict(model.name, "converged", context=context)


def fit_gamma_gamma(
    summary: pd.DataFrame,
    *,
    penalizer: float = 0.0,
    source: str = "member summary",
    context: str = "",
) -> GammaGamma:
    """Fit Gamma-Gamma and attach ``verdict_``; a failed fit is returned, not raised.

    No automatic penalized refit: lifetimes' penalty ``penalizer * (p^2 + q^2 + gamma^2)``
    acts on ``gamma`` in currency units (hundreds to thousands of yuan), so any penalizer
    large enough to matter drags the mean spend to a value set by the penalty, not the
    data. A fit that fails or is not identified is reported, and
    :func:`choose_spend_model` then uses :class:`LogSpendRegression`, saying so.
    """
    model = GammaGamma(penalizer=penalizer)
    try:
        model.fit(summary, source=source)
    except FitError as err:
        msg = str(err)
        status = "at_bound" if "bound" in msg or "flat" in msg else "failed"
        model.verdict_ = FitVerdict(
            model.name,
            status,
            penalizer=penalizer,
            detail=msg.split(". Remedy")[0],
            context=context,
        )
        return model
    model.verdict_ = gamma_gamma_verdict(model, context)
    return model


def _nbd_rate(x, T, w) -> tuple[float, float]:
    """ML ``(r, alpha)`` of the NBD: flights in ``T`` ~ Poisson(lam T), lam ~ Gamma(r, alpha).

    Ehrenberg's (1959) NBD, i.e. the purchase models without dropout; only used to turn
    ``(x, T)`` into an expected flight rate ``(r + x) / (alpha + T)`` per member.
    """
    from scipy.special import gammaln  # noqa: PLC0415

    ok = T > 0

    def nll(t):
        r, a = np.exp(t)
        ll = gammaln(r + x) - gammaln(r) + r * np.log(a / (a + T)) + x * np.log(T / (a + T))
        return -float(np.sum((w * ll)[ok])) / w[ok].sum()

    rate = np.average(x[ok] / T[ok], weights=w[ok])
    t0 = np.log([1.0, 1.0 / max(rate, 1e-6)])
    with np.errstate(all="ignore"):
        res = optimize.minimize(
            nll, t0, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-10}
        )
    r, a = np.exp(res.x)
    if not (np.isfinite(r) and np.isfinite(a)):
        raise FitError("log-spend regression: the NBD fit of the flight rate overflowed")
    return float(r), float(a)


class LogSpendRegression:
    r"""Mean spend per flight that may depend on frequency (normal-normal empirical Bayes).

    For member ``i`` with ``n_i`` repeat flights with revenue averaging ``m_i``, let
    ``eta_i`` be the log of the member's true mean spend per flight and
    ``z_i = log((r + x_i) / (alpha + T_i))`` the log of the member's expected flight rate
    (posterior mean of the NBD, Ehrenberg 1959, fitted on ``x, T`` of all members; with
    equal observation windows, as in the textbook table, it orders members as ``x``
    does, and it does not mistake a new member's few flights for rare flying). The model:

    .. math::

        \eta_i \sim N(\beta_0 + \beta_1 z_i, \tau^2), \qquad
        \log m_i \mid \eta_i \sim N(\eta_i - s^2 / (2 n_i), s^2 / n_i),

    with ``s`` the coefficient of variation of single fares around the member's mean (the
    delta method: the mean of ``n`` fares has a relative variance ``s^2 / n``, its log a
    bias ``-s^2 / (2n)``); ``s`` also absorbs other noise that falls with ``n``, such as
    the uncertain flight rate of a member with few flights, so on real data it can exceed
    the spread of single fares. ``beta_1 = 0`` is independence; ``beta_1 < 0`` means frequent
    flyers pay less per flight. The four parameters are estimated by maximum likelihood
    of the marginal model ``log m_i ~ N(mu_i - s^2/(2 n_i), tau^2 + s^2 / n_i)``; each
    member's mean is then shrunk towards the regression line, not towards one population
    mean (Morris 1983):

    .. math::

        E[e^{\eta_i} \mid m_i] = \exp(\hat\eta_i + v_i / 2), \quad
        v_i = (1/\tau^2 + n_i / s^2)^{-1}, \quad
        \hat\eta_i = v_i (\mu_i / \tau^2 + (\log m_i + s^2/(2n_i)) n_i / s^2).

    Members without a usable mean get the line's prediction ``exp(mu_i + tau^2 / 2)``.
    Like :class:`~crm_research.clv.models.GammaGamma` (``fit`` with ``weights`` and
    ``start_from``, ``population_mean``, ``summary``), but predictions need the member
    summary (:meth:`predict`), because the covariate uses ``frequency`` and ``T``.

    References: Morris (1983); Schmittlein & Peterson (1994) for the normal model of mean
    spend; Glady, Baesens & Croux (2009) for using the dependence of value per
    transaction on the number of transactions in CLV (see the module docstring);
    Ehrenberg, A. S. C. (1959). The pattern of consumer purchases. Applied Statistics
    8(1), 26-41 (the NBD).
    """

    name = "log-spend regression"
    param_names = ("beta0", "beta1", "tau", "s")

    def __init__(self, penalizer: float = 0.0, tol: float = 1e-8, warm_start: bool = False):
        if penalizer < 0:
            raise ValueError(f"penalizer must be >= 0, got {penalizer}")
        self.penalizer = float(penalizer)  # no penalty: kept for the GammaGamma interface
        self.tol = tol
        self.warm_start = warm_start

    # -- fitting ---------------------------------------------------------------------
    @staticmethod
    def _nll(theta, y, z, n, w):
        b0, b1, log_tau, log_s = theta
        tau2, s2 = np.exp(2 * log_tau), np.exp(2 * log_s)
        var = tau2 + s2 / n
        r = y - (b0 + b1 * z - s2 / (2 * n))
        return 0.5 * float(np.sum(w * (np.log(2 * np.pi * var) + r**2 / var)))

    @staticmethod
    def _columns(summary: pd.DataFrame, source: str):
        missing = [c for c in ("frequency", "T") if c not in summary.columns]
        if missing:
            raise DataValidationError(f"missing column(s) {missing}", source=source, column=missing)
        n_m, m = _spend_columns(summary, source)
        return (
            summary["frequency"].to_numpy(dtype=float),
            summary["T"].to_numpy(dtype=float),
            n_m,
            m,
        )

    def covariate(self, frequency, T) -> np.ndarray:
        """``log((r + x) / (alpha + T))``: log expected flight rate (NBD posterior mean)."""
        self._require_fit()
        r, a = self.rate_params_
        return np.log((r + np.asarray(frequency, float)) / (a + np.asarray(T, float)))

    def fit(
        self,
        summary: pd.DataFrame,
        *,
        weights=None,
        source: str = "member summary",
        start_from: LogSpendRegression | None = None,
        context: str = "",
        standard_errors: bool = True,
    ):
        """Fit by maximum likelihood; returns ``self`` with ``verdict_``.

        Parameters
        ----------
        summary : DataFrame
            ``flight_summary`` output: ``frequency``, ``T``, ``monetary_value`` and
            ``n_monetary`` (else ``frequency``, the flights the mean is over).
        weights : array_like, optional
            Members per row (bootstrap counts).
        start_from : fitted LogSpendRegression, optional
            Start the optimiser from its estimates (bootstrap replicates).
        standard_errors : bool
            Compute standard errors (a numerical Hessian); bootstrap replicates skip them.

        Raises
        ------
        FitError
            Fewer than 5 members with a usable mean, or no convergence.
        """
        x, tt, n_all, m = self._columns(summary, source)
        w_all = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
        if len(w_all) != len(x) or (w_all < 0).any():
            raise ValueError(f"{source}: weights must be non-negative, one per member")
        use = usable_spend(self, n_all, m, w_all, source, summary, 5)
        live = w_all > 0
        self.rate_params_ = _nbd_rate(x[live], tt[live], w_all[live])
        z = self.covariate(x[use], tt[use])
        n, y, w = n_all[use], np.log(m[use]), w_all[use]
        self.n_obs_ = float(w.sum())
        if start_from is not None:
            p = start_from.params_
            theta0 = np.array([p["beta0"], p["beta1"], np.log(p["tau"]), np.log(p["s"])])
        else:
            # weighted least squares line, half of the residual variance to each component
            X = np.column_stack([np.ones_like(z), z]) * np.sqrt(w)[:, None]
            beta = np.linalg.lstsq(X, y * np.sqrt(w), rcond=None)[0]
            resid = y - beta[0] - beta[1] * z
            v = max(float(np.average(resid**2, weights=w)), 1e-6)
            theta0 = np.array([beta[0], beta[1], 0.5 * np.log(v / 2), 0.5 * np.log(v)])
        args = (y, z, n, w)
        with np.errstate(all="ignore"):
            res = optimize.minimize(
                lambda t: self._nll(t, *args) / self.n_obs_,
                theta0,
                method="BFGS",
                options={"gtol": self.tol, "maxiter": 1000},
            )
        grad_ok = np.all(np.isfinite(res.jac)) and np.max(np.abs(res.jac)) < 1e-4
        if not (res.success or grad_ok) or not np.all(np.isfinite(res.x)):
            raise FitError(f"{self.name}: the optimiser did not converge ({res.message})")
        from statsmodels.tools.numdiff import approx_hess3  # noqa: PLC0415

        theta = res.x
        d = np.full(4, np.nan)
        if standard_errors:
            hess = approx_hess3(theta, lambda t: self._nll(t, *args))
            try:
                d = np.diag(np.linalg.inv(hess))
            except np.linalg.LinAlgError:
                pass
        se_theta = np.where(d > 0, np.sqrt(np.abs(d)), np.nan)
        params = np.array([theta[0], theta[1], np.exp(theta[2]), np.exp(theta[3])])
        self.params_ = pd.Series(params, index=list(self.param_names))
        # delta method for tau and s (estimated on the log scale)
        se = se_theta * np.array([1.0, 1.0, params[2], params[3]])
        self.standard_errors_ = pd.Series(se, index=list(self.param_names))
        self.log_likelihood_ = -float(self._nll(theta, *args))
        self.verdict_ = self._verdict(context, standard_errors)
        return self

    def _verdict(self, context: str, checked_se: bool = True) -> FitVerdict:
        se = self.standard_errors_
        if checked_se and not np.all(np.isfinite(se.to_numpy())):
            return FitVerdict(
                self.name,
                "at_bound",
                detail=f"the likelihood is flat (standard errors {se.round(4).to_dict()})",
                parameters=tuple(k for k, v in se.items() if not np.isfinite(v)),
                context=context,
            )
        p = self.params_
        scale = float(np.hypot(p["tau"], p["s"]))
        small = [k for k in ("tau", "s") if p[k] < 1e-4 * scale]
        if small:
            return FitVerdict(
                self.name,
                "at_bound",
                detail=f"{small} ran to 0 (fitted {p.round(4).to_dict()})",
                parameters=tuple(small),
                context=context,
            )
        return FitVerdict(self.name, "converged", context=context)

    # -- predictions -------------------------------------------------------------------
    _require_fit = partialmethod(require_fit, "rate_params_")

    @property
    def summary(self) -> pd.DataFrame:
        """Estimates with standard errors and 95% Wald intervals."""
        self._require_fit()
        z = stats.norm.ppf(0.975)
        se = self.standard_errors_
        return pd.DataFrame(
            {
                "coef": self.params_,
                "se": se,
                "lower_95": self.params_ - z * se,
                "upper_95": self.params_ + z * se,
            }
        )

    @property
    def population_mean(self) -> float:
        """Mean spend per flight of a member at the population's mean flight rate."""
        self._require_fit()
        b0, b1, tau, _ = self.params_.to_numpy()
        r, a = self.rate_params_
        return float(np.exp(b0 + b1 * np.log(r / a) + tau**2 / 2))

    def expected_revenue(self, frequency_monetary, monetary_value, frequency, T) -> np.ndarray:
        """E[member's mean revenue per flight | history] (posterior mean, see the class).

        Parameters
        ----------
        frequency_monetary : array_like
            Flights the mean spend is over (``n_monetary``).
        monetary_value : array_like
            Their mean revenue (NaN without any).
        frequency, T : array_like
            Repeat flights and age, for the flight-rate covariate.
        """
        self._require_fit()
        b0, b1, tau, s = self.params_.to_numpy()
        n = np.asarray(frequency_monetary, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        ok = (n > 0) & np.isfinite(m) & (m > 0)
        mu = b0 + b1 * self.covariate(frequency, T)
        nn = np.where(ok, n, 1.0)
        prec_data = np.where(ok, nn / s**2, 0.0)
        v = 1.0 / (1.0 / tau**2 + prec_data)
        y = np.where(ok, np.log(np.where(ok, m, 1.0)) + s**2 / (2 * nn), 0.0)
        eta = v * (mu / tau**2 + prec_data * y)
        return np.exp(eta + v / 2)

    def predict(self, summary: pd.DataFrame) -> np.ndarray:
        """Expected revenue per flight of each member of a ``flight_summary``."""
        x, tt, n_m, m = self._columns(summary, "member summary")
        return self.expected_revenue(n_m, m, x, tt)


def spend_per_flight(model, summary: pd.DataFrame) -> np.ndarray:
    """Expected revenue per flight per member from either spend model."""
    if isinstance(model, LogSpendRegression):
        return model.predict(summary)
    n_m, m = _spend_columns(summary, "member summary")
    return model.expected_revenue(n_m, m)


def refit_spend(model, summary: pd.DataFrame, weights, source: str = "bootstrap sample"):
    """Refit a fitted spend model on reweighted members, starting from its estimates.

    Without standard errors: the bootstrap replicates do not need them.
    """
    fresh = type(model)(penalizer=model.penalizer, warm_start=False)
    kw = {"weights": weights, "source": source, "start_from": model, "standard_errors": False}
    if isinstance(model, LogSpendRegression):
        return fresh.fit(summary, **kw)
    n_m, m = _spend_columns(summary, source)
    return fresh.fit(n_m, m, **kw)


@dataclass
class SpendChoice:
    """Outcome of :func:`choose_spend_model`."""

    check: IndependenceCheck
    model: object
    reason: str
    fits: dict

    @property
    def verdicts(self) -> list[FitVerdict]:
        """Verdicts of every spend fit made, the chosen one first, the context saying which."""
        out = []
        for fit in [self.model] + [f for f in self.fits.values() if f is not self.model]:
            v = fit.verdict_
            role = "spend model used" if fit is self.model else "fitted for comparison, not used"
            ctx = f"{v.context}: {role}" if v.context else role
            out.append(replace(v, context=ctx))
        return out

    def to_dict(self) -> dict:
        """JSON-ready summary: check, chosen model, reason, verdicts."""
        return {
            "check": self.check.to_dict(),
            "model": self.model.name,
            "reason": self.reason,
            "verdicts": [v.to_dict() for v in self.verdicts],
        }


def choose_spend_model(
    summary: pd.DataFrame,
    *,
    threshold: float = INDEPENDENCE_THRESHOLD,
    penalizer: float = 0.0,
    source: str = "member summary",
    context: str = "",
) -> SpendChoice:
    """Check independence, fit the spend models and choose one, with the reason.

    Gamma-Gamma when the check says "independent" and its fit is usable (converged or
    penalized); otherwise :class:`LogSpendRegression`. Both are fitted, so the notebook
    can show both verdicts and compare the two.

    Returns
    -------
    SpendChoice
        ``check``, ``model`` (the chosen fitted model), ``reason`` (plain words),
        ``fits`` (``{"gamma_gamma": ..., "regression": ...}``, each with ``verdict_``).

    Raises
    ------
    FitError
        When neither model can be fitted.
    """
    check = independence_check(summary, threshold=threshold, source=source)
    gg = fit_gamma_gamma(summary, penalizer=penalizer, source=source, context=context)
    reg = LogSpendRegression()
    try:
        reg.fit(summary, source=source, context=context)
    except FitError as err:
        reg.verdict_ = FitVerdict(reg.name, "failed", detail=str(err), context=context)
    fits = {"gamma_gamma": gg, "regression": reg}
    if check.verdict == "independent" and gg.verdict_.usable:
        return SpendChoice(check, gg, f"Gamma-Gamma, because {check.sentence()}", fits)
    if not reg.verdict_.usable and reg.verdict_.status == "failed":
        if gg.verdict_.usable:
            reason = (
                f"Gamma-Gamma although {check.sentence()}: the log-spend regression failed "
                f"({reg.verdict_.detail})"
            )
            return SpendChoice(check, gg, reason, fits)
        raise FitError(f"no spend model: {gg.verdict_.sentence()}; {reg.verdict_.sentence()}")
    if check.verdict == "dependent":
        why = check.sentence()
    else:
        why = f"{check.sentence()}, but {gg.verdict_.sentence()}"
    reason = (
        "the log-spend regression (each member's mean spend shrunk towards a line in the "
        f"log of the flight rate), because {why}"
    )
    return SpendChoice(check, reg, reason, fits)
