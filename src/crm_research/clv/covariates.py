"""Time-invariant covariates in the BG/NBD and the Pareto/NBD (Fader & Hardie 2007).

Member ``i`` with covariates ``z_i`` (a row of a design matrix, e.g. dummies of gender,
age band, enrolment year) gets its own scale of the flight rate and its own dropout
parameters, each multiplied by ``exp(gamma' z_i)``:

- BG/NBD: ``alpha_i = alpha exp(g_alpha' z_i)``, ``a_i = a exp(g_a' z_i)``,
  ``b_i = b exp(g_b' z_i)``;
- Pareto/NBD: ``alpha_i = alpha exp(g_alpha' z_i)``, ``beta_i = beta exp(g_beta' z_i)``.

How to read them. The mean flight rate is ``r / alpha_i``, so ``exp(-g_alpha)`` is the
*rate ratio* of a covariate: 1.2 means members with it fly 20% more often than the
reference group, other things equal. In the Pareto/NBD the mean dropout rate is
``s / beta_i``: ``exp(-g_beta)`` is the dropout-rate ratio (above 1: they leave sooner).
In the BG/NBD the dropout probability after a flight has mean ``a_i / (a_i + b_i)``: a
positive ``g_a`` or a negative ``g_b`` means more dropout; the table gives the mean
dropout probability of each covariate's group beside the reference. The likelihood-ratio
test (:attr:`CovariateFit.lr_test_`) says whether the covariates together explain the
flying at all (twice the gain in log-likelihood against chi-square with as many degrees
of freedom as coefficients).

The likelihood is that of the model without covariates evaluated group by group: members
with the same covariate row share their parameters, so for categorical covariates (the
usual case: dummies) it runs on the distinct histories of each group, with the analytic
gradients of :mod:`crm_research.clv.likelihoods` (chain rule: the gradient in
``g_alpha`` is the sum over groups of ``z_g`` times that in ``log alpha_g``).

References
----------
Fader, P. S. & Hardie, B. G. S. (2007). Incorporating time-invariant covariates into the
Pareto/NBD and BG/NBD models. http://brucehardie.com/notes/019/
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import digamma, expit, gammaln

from . import likelihoods as lk
from .models import FitError
from .summary import compress
from .verdict import FitVerdict

#: which base parameters carry covariates, by model
COVARIATE_PARAMS = {"bgnbd": ("alpha", "a", "b"), "pareto": ("alpha", "beta")}
BASE_PARAMS = {"bgnbd": ("r", "alpha", "a", "b"), "pareto": ("r", "alpha", "s", "beta")}
LOGLIK = {"bgnbd": lk.bgnbd_loglik, "pareto": lk.pareto_loglik}


@dataclass
class _Groups:
    hists: list
    Z: np.ndarray  # groups x k
    n: float
    stacked: object = None  # the BG/NBD's one-pass arrays, made on first use


def _groups(x, tx, T, Z: np.ndarray, scale: float) -> _Groups:
    """Distinct histories within each distinct covariate row."""
    if Z.shape[1] == 0:
        codes = np.zeros(len(x), dtype=np.int64)
        uZ = np.zeros((1, 0))
    else:
        uZ, codes = np.unique(Z, axis=0, return_inverse=True)
        codes = codes.ravel()
    hists = []
    for g in range(len(uZ)):
        sel = codes == g
        rows, inv = compress(x[sel], tx[sel], T[sel])
        w = np.bincount(inv, minlength=len(rows)).astype(float)
        hists.append(
            lk.Histories.make(rows["frequency"], rows["recency"] * scale, rows["T"] * scale, w)
        )
    return _Groups(hists, uZ.astype(float), float(len(x)))


def _loglik(model: str, theta, groups: _Groups, grad: bool = True):
    """Total log-likelihood and gradient in ``(log base params, gammas)``.

    BG/NBD: all groups in one pass (:func:`_bgnbd_stacked`); Pareto/NBD: group by group.
    """
    if model == "bgnbd":
        if groups.stacked is None:
            groups.stacked = _stack(groups)
        return _bgnbd_stacked(theta, groups.stacked, grad)
    k = groups.Z.shape[1]
    fn = LOGLIK[model]
    which = [BASE_PARAMS[model].index(p) for p in COVARIATE_PARAMS[model]]
    base = np.asarray(theta[:4], dtype=float)
    gam = np.asarray(theta[4:], dtype=float).reshape(len(which), k)
    total, g_base, g_gam = 0.0, np.zeros(4), np.zeros_like(gam)
    for h, z in zip(groups.hists, groups.Z, strict=True):
        lp = base.copy()
        lp[which] += gam @ z
        if not grad:
            total += fn(lp, h, grad=False)
            continue
        ll, g = fn(lp, h)
        total += ll
        g_base += g
        g_gam += np.outer(g[which], z)
    return float(total) if not grad else (float(total), np.r_[g_base, g_gam.ravel()])


@dataclass
class _Stacked:
    """Every group's distinct histories in one set of arrays (BG/NBD in one pass)."""

    x: np.ndarray
    tx: np.ndarray
    T: np.ndarray
    w: np.ndarray
    g: np.ndarray  # group of each row
    ux: np.ndarray
    wx: np.ndarray
    px: np.ndarray  # distinct (group, x) pairs
    pg: np.ndarray
    wp: np.ndarray
    Z: np.ndarray
    wg: np.ndarray  # members per group
    n: float


def _stack(groups: _Groups) -> _Stacked:
    hs = groups.hists
    g = np.concatenate([np.full(len(h.x), i) for i, h in enumerate(hs)])
    x, tx, T, w = (np.concatenate([getattr(h, a) for h in hs]) for a in ("x", "tx", "T", "w"))
    ux, ix = np.unique(x, return_inverse=True)
    wx = np.bincount(ix, weights=w, minlength=len(ux))
    px = np.concatenate([h.ux for h in hs])
    pg = np.concatenate([np.full(len(h.ux), i) for i, h in enumerate(hs)])
    wp = np.concatenate([h.wx for h in hs])
    wg = np.array([h.n for h in hs])
    return _Stacked(x, tx, T, w, g, ux, wx, px, pg, wp, groups.Z, wg, groups.n)


def _bgnbd_stacked(theta, sd: _Stacked, grad: bool = True):
    """BG/NBD log-likelihood with covariates over all groups at once, and its gradient.

    The same terms as :func:`~crm_research.clv.likelihoods.bgnbd_loglik` with each row's
    ``alpha, a, b`` those of its group; the terms in ``(a, b, x)`` once per distinct
    ``(group, x)``. The gradient in a group's log parameters is summed per group
    (``bincount``), then mapped to ``gamma`` by ``Z'``.
    """
    k = sd.Z.shape[1]
    base = np.asarray(theta[:4], dtype=float)
    gam = np.asarray(theta[4:], dtype=float).reshape(3, k)
    shift = sd.Z @ gam.T if k else np.zeros((len(sd.wg), 3))
    r = float(np.exp(base[0]))
    al_g, a_g, b_g = (np.exp(base[j + 1] + shift[:, j]) for j in range(3))
    x, w, g = sd.x, sd.w, sd.g
    ap, bp, px = a_g[sd.pg], b_g[sd.pg], sd.px
    alpha, a, b = al_g[g], a_g[g], b_g[g]
    ll_pairs = gammaln(ap + bp) + gammaln(bp + px) - gammaln(bp) - gammaln(ap + bp + px)
    const = lk._dot(sd.wx, gammaln(r + sd.ux)) - sd.n * gammaln(r)
    const += lk._dot(sd.wg, r * np.log(al_g)) + lk._dot(sd.wp, ll_pairs)
    la_T = np.log(alpha + sd.T)
    la_t = np.log(alpha + sd.tx)
    rx = r + x
    pos = x > 0
    bx1 = b + np.maximum(x, 1) - 1
    d = np.log(a) - np.log(bx1) + rx * (la_T - la_t)
    with np.errstate(over="ignore"):
        mix = -rx * la_T + np.where(pos, np.logaddexp(0.0, d), 0.0)
    ll = const + lk._dot(w, mix)
    if not grad:
        return float(ll)
    wp4 = w * np.where(pos, expit(d), 0.0)
    wp3 = w - wp4
    G = len(sd.wg)
    d_r = (
        lk._dot(sd.wx, digamma(r + sd.ux))
        - sd.n * digamma(r)
        + lk._dot(sd.wg, np.log(al_g))
        - lk._dot(wp3, la_T)
        - lk._dot(wp4, la_t)
    ) * r
    row_alpha = alpha * (-(wp3 * rx) / (alpha + sd.T) - (wp4 * rx) / (alpha + sd.tx))
    d_alpha = np.bincount(g, weights=row_alpha, minlength=G) + sd.wg * r
    psi_ab = digamma(ap + bp)
    psi_abx = digamma(ap + bp + px)
    d_a = np.bincount(sd.pg, weights=sd.wp * ap * (psi_ab - psi_abx), minlength=G)
    d_a += np.bincount(g, weights=wp4, minlength=G)
    pair_b = sd.wp * bp * (psi_ab + digamma(bp + px) - digamma(bp) - psi_abx)
    d_b = np.bincount(sd.pg, weights=pair_b, minlength=G)
    d_b -= np.bincount(g, weights=wp4 * b / bx1, minlength=G)
    per_group = np.stack([d_alpha, d_a, d_b])  # 3 x G, in each group's log parameters
    g_base = np.r_[d_r, per_group.sum(axis=1)]
    g_gam = per_group @ sd.Z if k else np.zeros((3, 0))
    return float(ll), np.r_[g_base, g_gam.ravel()]


@dataclass
class CovariateFit:
    """Result of :func:`fit_covariates` (fitted state ends in ``_``)."""

    model: str
    covariates: list
    params_: pd.Series
    summary: pd.DataFrame
    log_likelihood_: float
    base_log_likelihood_: float
    lr_test_: dict
    n_obs_: int
    groups_: pd.DataFrame
    verdict_: FitVerdict | None = None

    @property
    def name(self) -> str:
        return f"{_NAMES[self.model]} with covariates"

    def text(self) -> str:
        """The likelihood-ratio test and the largest effects in plain words."""
        t = self.lr_test_
        verdict = "improve" if t["p_value"] < 0.05 else "do not significantly improve"
        s = self.summary
        rate = s.loc[s["parameter"] == "alpha"].dropna(subset=["ratio"])
        lines = [
            f"The covariates ({len(self.covariates)} columns) {verdict} the {_NAMES[self.model]} "
            f"(likelihood ratio {t['statistic']:.1f} on {t['df']} degrees of freedom, "
            f"p = {t['p_value']:.3g})."
        ]
        if len(rate):
            top = rate.iloc[(np.log(rate["ratio"])).abs().argsort()[::-1][:3]]
            parts = [f"{c}: x{r:.2f}" for c, r in zip(top["covariate"], top["ratio"], strict=True)]
            lines.append(
                "Largest flight-rate ratios against the reference group: " + "; ".join(parts)
            )
        return "\n".join(lines)


_NAMES = {"bgnbd": "BG/NBD", "pareto": "Pareto/NBD"}


def fit_covariates(
    model: str,
    summary: pd.DataFrame,
    covariates: pd.DataFrame,
    *,
    penalizer: float = 0.0,
) -> CovariateFit:
    """Fit the BG/NBD or Pareto/NBD with time-invariant covariates, and the LR test.

    Parameters
    ----------
    model : {"bgnbd", "pareto"}
    summary : DataFrame
        ``flight_summary`` output (``frequency, recency, T``), indexed by member.
    covariates : DataFrame
        Numeric design matrix indexed like ``summary`` (e.g. from
        :func:`covariate_design`: dummies with a reference level left out). Members
        missing from it or with missing values are refused.
    penalizer : float
        lifetimes' penalizer on the base parameters (time rescaled so max T = 1).

    Returns
    -------
    CovariateFit
        ``params_`` (base parameters and ``gamma`` coefficients), ``summary`` (one row
        per coefficient: ``parameter, covariate, coef, se, z, p_value, ratio``),
        ``lr_test_`` (``statistic, df, p_value``) against the same model without
        covariates.
    """
    if model not in LOGLIK:
        raise ValueError(f"model must be one of {sorted(LOGLIK)}, got {model!r}")
    Zdf = covariates.reindex(summary.index)
    if Zdf.isna().any().any():
        bad = Zdf.index[Zdf.isna().any(axis=1)][:10].tolist()
        raise ValueError(f"covariates: missing values or members for rows {bad}")
    Zdf = Zdf.astype(float)
    x, tx, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    scale = 1.0 / T.max()
    full = _groups(x, tx, T, Zdf.to_numpy(), scale)
    base = _groups(x, tx, T, np.zeros((len(x), 0)), scale)
    n = float(len(x))
    per = n if model == "bgnbd" else 1.0  # lifetimes: divided by sum(w) or mean(w) = 1

    def fit(groups, x0, k_gam):
        def f(theta):
            ll, g = _loglik(model, theta, groups)
            p2 = np.exp(2 * theta[:4])
            val = (-ll / per + penalizer * p2.sum()) * per / n
            grd = -g / per * per / n
            grd[:4] += 2 * penalizer * p2 * per / n
            if not np.isfinite(val) or not np.all(np.isfinite(grd)):
                return 1e10, np.zeros_like(grd)
            return val, grd

        from scipy.optimize import minimize  # noqa: PLC0415
        from threadpoolctl import threadpool_limits  # noqa: PLC0415  (scikit-learn's)

        bounds = [(-30, 30)] * 4 + [(-20, 20)] * k_gam
        # one BLAS thread: L-BFGS-B's small vector operations (see likelihoods.fit_ml)
        with np.errstate(all="ignore"), threadpool_limits(limits=1, user_api="blas"):
            res = minimize(
                f,
                x0,
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": 3000, "gtol": 1e-7, "ftol": 1e-11},
            )
        if not np.all(np.isfinite(res.x)) or (not res.success and np.max(np.abs(res.jac)) > 1e-4):
            raise FitError(f"{_NAMES[model]} with covariates: no convergence ({res.message})")
        return res, f

    k = Zdf.shape[1]
    n_gam = len(COVARIATE_PARAMS[model]) * k
    res0, _ = fit(base, np.full(4, 0.1), 0)
    res, f = fit(full, np.r_[res0.x, np.zeros(n_gam)], n_gam)
    with np.errstate(all="ignore"):
        hess = lk.hessian_from_gradient(f, res.x) * n
        try:
            cov = np.linalg.inv(hess)
        except np.linalg.LinAlgError:
            cov = np.full(hess.shape, np.nan)
    var = np.diag(cov)
    se = np.where(var > 0, np.sqrt(np.abs(var)), np.nan)
    base_names = BASE_PARAMS[model]
    params = np.exp(res.x[:4])
    for i, p in enumerate(base_names):
        if p in ("alpha", "beta"):
            params[i] /= scale
    rows = [
        {"parameter": p, "covariate": "(base)", "coef": params[i], "se": se[i] * params[i]}
        for i, p in enumerate(base_names)
    ]
    gam = res.x[4:].reshape(len(COVARIATE_PARAMS[model]), k)
    gse = se[4:].reshape(gam.shape)
    for j, p in enumerate(COVARIATE_PARAMS[model]):
        for c, name in enumerate(Zdf.columns):
            rows.append(
                {"parameter": p, "covariate": str(name), "coef": gam[j, c], "se": gse[j, c]}
            )
    table = pd.DataFrame(rows)
    cov_rows = table["covariate"] != "(base)"
    table["z"] = np.where(cov_rows, table["coef"] / table["se"], np.nan)
    table["p_value"] = np.where(cov_rows, 2 * stats.norm.sf(np.abs(table["z"])), np.nan)
    # alpha and beta: exp(-gamma), the ratio of the mean flight (dropout) rate
    table["ratio"] = np.where(
        cov_rows & table["parameter"].isin(["alpha", "beta"]), np.exp(-table["coef"]), np.nan
    )
    ll = _loglik(model, res.x, full, grad=False)
    ll0 = _loglik(model, res0.x, base, grad=False)
    stat = max(2 * (ll - ll0), 0.0)
    lr = {"statistic": float(stat), "df": int(n_gam), "p_value": float(stats.chi2.sf(stat, n_gam))}
    index = [f"{p}" for p in base_names] + [
        f"{p}:{c}" for p in COVARIATE_PARAMS[model] for c in Zdf.columns
    ]
    # the fit's verdict, as for every model of the study: a log-parameter or coefficient at
    # the optimiser's box, or a standard error that is not finite, is "at_bound"
    names = np.array(index)
    lo = np.r_[np.full(4, -30.0), np.full(n_gam, -20.0)]
    at = (np.abs(res.x - lo) < 1e-6) | (np.abs(res.x + lo) < 1e-6) | ~np.isfinite(se)
    if at.any():
        verdict = FitVerdict(
            f"{_NAMES[model]} with covariates",
            "at_bound",
            penalizer=penalizer,
            detail="parameter at the optimiser's bound or without a finite standard error",
            parameters=tuple(names[at][:10]),
        )
    else:
        verdict = FitVerdict(
            f"{_NAMES[model]} with covariates",
            "penalized" if penalizer > 0 else "converged",
            penalizer=penalizer,
        )
    jac = np.log(scale) * x.sum()  # the likelihood on the caller's time scale
    group_table = pd.DataFrame(full.Z, columns=Zdf.columns).assign(
        members=[h.n for h in full.hists]
    )
    return CovariateFit(
        model=model,
        covariates=[str(c) for c in Zdf.columns],
        params_=pd.Series(np.r_[params, gam.ravel()], index=index),
        summary=table,
        log_likelihood_=float(ll + jac),
        base_log_likelihood_=float(ll0 + jac),
        lr_test_=lr,
        n_obs_=int(n),
        groups_=group_table,
        verdict_=verdict,
    )


def covariate_design(attributes: pd.DataFrame, columns=None) -> pd.DataFrame:
    """Dummies (reference level = the most common, left out) of categorical attributes."""
    cols = list(attributes.columns if columns is None else columns)
    parts = []
    for c in cols:
        v = attributes[c].astype("string").fillna("missing")
        ref = v.value_counts().index[0]
        d = pd.get_dummies(v, prefix=c, prefix_sep="=", dtype=float)
        parts.append(d.drop(columns=f"{c}={ref}"))
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=attributes.index)
