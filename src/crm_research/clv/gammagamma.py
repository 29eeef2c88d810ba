"""The Gamma-Gamma model of revenue per flight and the check of its assumption.

Fitted by our likelihood (:func:`crm_research.clv.likelihoods.gamma_gamma_loglik`, with
its analytic gradient); lifetimes' ``GammaGammaFitter`` carries the parameters for its
prediction formula (conditional expected average profit). Split from
:mod:`crm_research.clv.models` (re-exported there).

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005b). RFM and CLV: using iso-value curves
for customer base analysis. Journal of Marketing Research 42(4), 415-430.
Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma model of monetary value. Note 025.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .._compat import lifetimes_guard
from ..data.schema import DataValidationError, refuse_rows
from . import likelihoods as lk
from .lifetimes_patches import _fitter_class
from .models import REMEDY, FitError, _Fitted


def usable_spend(model, n, m, w, source: str, frame: pd.DataFrame | None, minimum: int):
    """The members a spend model fits on: a repeat flight (``n > 0``), a finite mean
    revenue ``m`` and a positive weight ``w``. A non-positive mean revenue is refused
    (:class:`DataValidationError` naming the rows of ``frame``, else row numbers), and so
    are fewer than ``minimum`` such members (:class:`FitError`); ``model.n_excluded_``
    counts the others.
    Shared by Gamma-Gamma and :class:`~crm_research.clv.spend.LogSpendRegression`."""
    use = (n > 0) & np.isfinite(m) & (w > 0)
    bad = use & (m <= 0)
    if bad.any():
        refuse_rows(
            "mean revenue must be positive (exclude non-positive revenue first)",
            pd.DataFrame({"monetary_value": m}) if frame is None else frame,
            bad,
            m[bad],
            source=source,
            column="monetary_value",
        )
    model.n_excluded_ = int((~use).sum())
    if use.sum() < minimum:
        raise FitError(
            f"{model.name}: {source} has {int(use.sum())} member(s) with a repeat flight "
            f"with a positive revenue; at least {minimum} are needed"
        )
    return use


class GammaGamma(_Fitted):
    """Gamma-Gamma model of revenue per flight (Fader, Hardie & Lee 2005b) via lifetimes.

    Revenue of a member's flights ~ Gamma(p, nu), nu ~ Gamma(q, gamma) across members;
    the model assumes spend is independent of the flight process (check
    :func:`spend_frequency_correlation` first). ``v`` in lifetimes is ``gamma`` here.
    """

    name = "Gamma-Gamma"
    param_names = ("p", "q", "gamma")

    def fit(
        self,
        frequency,
        monetary_value=None,
        *,
        weights=None,
        source: str = "member summary",
        start_from: GammaGamma | None = None,
        standard_errors: bool = True,
    ):
        """Fit on members with at least one repeat flight with a positive revenue.

        Maximum likelihood; returns ``self``. Members without a repeat flight, with a
        missing mean or a zero weight are left out (counted in ``n_excluded_``); a
        non-positive mean revenue is refused (:func:`usable_spend`).

        Parameters
        ----------
        frequency : array_like or DataFrame
            Number of flights the mean is over (``n_monetary`` of the summary), or a
            summary with ``n_monetary`` (else ``frequency``) and ``monetary_value``.
        monetary_value : array_like
            Mean revenue of those flights.
        weights : array_like, optional
            Members per row (bootstrap counts); default one each.
        source : str
            What the data are, named in the messages.
        start_from : fitted GammaGamma, optional
            Start the optimiser from its estimates (bootstrap replicates).
        standard_errors : bool
            Compute standard errors; bootstrap replicates skip them (NaN).

        Raises
        ------
        DataValidationError
            No ``monetary_value`` column, or a non-positive mean revenue.
        FitError
            Fewer than 3 usable members, overflow, no convergence, a parameter at a bound
            or a flat likelihood, or ``q <= 1`` (the population mean spend does not exist).
        """
        if isinstance(frequency, pd.DataFrame):
            df = frequency
            if "monetary_value" not in df.columns:
                raise DataValidationError(
                    "no revenue: the input has no REVENUE column, so the spend model cannot "
                    "be fitted",
                    source=source,
                    column="monetary_value",
                )
            col = "n_monetary" if "n_monetary" in df.columns else "frequency"
            frequency, monetary_value = df[col].to_numpy(), df["monetary_value"].to_numpy()
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
        use = usable_spend(self, x, m, w, source, None, 3)
        x, m, w = x[use], m[use], w[use]
        self.n_obs_ = float(w.sum())
        init = None
        if start_from is not None:
            start_from._require_fit()
            init = np.log(start_from.params_.to_numpy())
        data = lk.Spends.make(x, m, w)
        with np.errstate(all="ignore"):
            res = lk.fit_ml(
                lk.gamma_gamma_loglik,
                data,
                np.full(3, 0.1) if init is None else init,
                penalizer=self.penalizer,
                per=w.sum(),
                n=w.sum(),
                tol=min(self.tol, 1e-7),
                standard_errors=standard_errors,
            )
        if not np.all(np.isfinite(res.log_params)) or not np.isfinite(res.loglik):
            raise FitError(f"{self.name}: the fit overflowed (non-finite likelihood). {REMEDY}")
        if not res.success and res.grad_norm > 1e-5:
            raise FitError(f"{self.name}: the optimiser did not converge ({res.message}). {REMEDY}")
        params = np.exp(res.log_params)
        self.fitter_ = _fitter_class("GammaGammaFitter")(penalizer_coef=self.penalizer)
        self.fitter_.params_ = pd.Series(params, index=["p", "q", "v"])
        self.params_ = pd.Series(params, index=list(self.param_names))
        self._check_params(self.params_.to_numpy())
        se = pd.Series(res.standard_errors(params), index=list(self.param_names))
        self.standard_errors_ = se
        if standard_errors:
            self._check_params(self.params_.to_numpy(), se)
        if self.params_["q"] <= 1:
            raise FitError(
                f"{self.name}: q = {self.params_['q']:.3f} <= 1, so the population mean spend "
                "p*gamma/(q-1) does not exist. Remedy: check for extreme revenues (outliers) "
                "or use a penalizer"
            )
        self._data = (x, m, w)
        self.log_likelihood_ = res.loglik
        return self

    def log_likelihood(self, frequency, monetary_value, weights=None, params=None) -> float:
        p = self.params_.to_numpy() if params is None else np.asarray(params, dtype=float)
        d = lk.Spends.make(frequency, monetary_value, weights)
        return lk.gamma_gamma_loglik(np.log(p), d, grad=False)

    @property
    def population_mean(self) -> float:
        """Mean revenue per flight across members, ``p * gamma / (q - 1)``."""
        self._require_fit()
        p, q, g = self.params_.to_numpy()
        return float(p * g / (q - 1))

    def expected_revenue(self, frequency, monetary_value) -> np.ndarray:
        """E[mean revenue per flight | x flights averaging m] (lifetimes' eq. 5).

        Members without a usable mean (``frequency == 0`` or missing ``monetary_value``)
        get the population mean.
        """
        self._require_fit()
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        ok = (x > 0) & np.isfinite(m)
        with lifetimes_guard():
            out = np.asarray(
                self.fitter_.conditional_expected_average_profit(
                    np.where(ok, x, 0.0), np.where(ok, m, 0.0)
                ),
                dtype=float,
            )
        return out


def spend_frequency_correlation(summary: pd.DataFrame) -> dict:
    """Correlation of repeat frequency and mean spend (Gamma-Gamma's independence check).

    Fader, Hardie & Lee (2005b) report 0.11 on CDNOW and take it as weak enough. Uses
    members with a usable mean (``n_monetary > 0``).

    Returns
    -------
    dict
        ``n``, ``pearson``, ``pearson_p``, ``spearman``, ``spearman_p``.
    """
    if "monetary_value" not in summary.columns:
        raise DataValidationError(
            "no revenue column: the independence check needs REVENUE",
            source="member summary",
            column="monetary_value",
        )
    col = "n_monetary" if "n_monetary" in summary.columns else "frequency"
    d = summary.loc[(summary[col] > 0) & summary["monetary_value"].notna()]
    if len(d) < 3:
        raise DataValidationError(
            f"{len(d)} member(s) with a repeat flight and revenue; need at least 3",
            source="member summary",
            column="monetary_value",
        )
    pr = stats.pearsonr(d["frequency"], d["monetary_value"])
    sr = stats.spearmanr(d["frequency"], d["monetary_value"])
    return {
        "n": len(d),
        "pearson": float(pr.statistic),
        "pearson_p": float(pr.pvalue),
        "spearman": float(sr.statistic),
        "spearman_p": float(sr.pvalue),
    }
