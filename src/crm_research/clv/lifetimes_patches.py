"""lifetimes 0.11.3 fitters with the Pareto/NBD's likelihood term made stable.

The models of :mod:`crm_research.clv.models` are fitted by our own likelihoods
(:mod:`crm_research.clv.likelihoods`); lifetimes' fitter objects still carry the fitted
parameters for lifetimes' prediction formulas (P(alive), conditional expectations),
and lifetimes is the cross-check of our likelihoods in the tests. One of those formulas
needs a fix under our pins, the Pareto/NBD's ``_log_A_0`` (see
:func:`_stable_log_A_0`); :func:`fitter_class` wires it in.
"""

from __future__ import annotations

import numpy as np

from .._compat import import_lifetimes


def _lt():
    return import_lifetimes()


def _stable_log_A_0(params, freq, recency, age):
    """``lifetimes.ParetoNBDFitter._log_A_0`` without its NaN and overflow.

    Two failures of lifetimes' version make the likelihood, P(alive) and the conditional
    expectation NaN: a member whose last flight is at ``T`` (common with day resolution:
    anyone who flew on the calibration-end day; seen on the simulated study data), where
    the difference of two equal terms comes out slightly negative; and
    ``log(hyp2f1(r + s + x, t; r + s + x + 1; z))``, which overflows for many flights with
    ``z`` near 1. Here ``t_x = T`` gives ``log A_0 = -inf`` (the integral is 0), and
    Euler's transformation,
    ``2F1(a, b; c; z) = (1 - z)^(c - a - b) 2F1(c - a, c - b; c; z)``, with ``c - a = 1``
    gives the same logarithm as ``(1 - t) log(1 - z) + log 2F1(1, c - b; c; z)``, whose
    series is bounded by ``1 / (1 - z)``. Same formula otherwise (Fader & Hardie 2005,
    note 009, eqs. 19-20); the tests check it against lifetimes' where that is finite.
    """
    from scipy.special import hyp2f1, logsumexp  # noqa: PLC0415

    r, alpha, s, beta = params
    if alpha < beta:
        min_ab, max_ab, t = (alpha, beta, r + freq)
    else:
        min_ab, max_ab, t = (beta, alpha, s + 1)
    abs_ab = max_ab - min_ab
    rsf = r + s + freq
    q_1 = max_ab + recency
    q_2 = max_ab + age
    z_1 = abs_ab / q_1
    z_2 = abs_ab / q_2
    log_p_1 = (1.0 - t) * np.log1p(-z_1) + np.log(hyp2f1(1.0, rsf + 1.0 - t, rsf + 1.0, z_1))
    log_p_2 = (1.0 - t) * np.log1p(-z_2) + np.log(hyp2f1(1.0, rsf + 1.0 - t, rsf + 1.0, z_2))
    sign = np.ones(np.shape(freq)) if np.ndim(freq) else 1
    with np.errstate(divide="ignore", invalid="ignore"):
        out, sgn = logsumexp(
            [log_p_1 + rsf * np.log(q_2), log_p_2 + rsf * np.log(q_1)],
            axis=0,
            b=[sign, -sign],
            return_sign=True,
        )
    # last flight at T (t_x = T): the integral A_0 is exactly 0, log A_0 = -inf; lifetimes
    # gets NaN there when the two equal terms differ by rounding
    out = np.where((sgn <= 0) | (np.asarray(q_1) >= np.asarray(q_2)), -np.inf, out)
    return out - rsf * np.log(q_1 * q_2)


def _stable_conditional_log_likelihood(params, freq, rec, T):
    """``lifetimes.ParetoNBDFitter._conditional_log_likelihood`` on :func:`_stable_log_A_0`.

    lifetimes' version calls ``ParetoNBDFitter._log_A_0`` by class name, so the stable
    ``_log_A_0`` has to be wired in here too; the formula is unchanged (note 009, eq. 18).
    """
    from scipy.special import gammaln  # noqa: PLC0415

    r, alpha, s, beta = params
    x = freq
    r_s_x = r + s + x
    A_1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    log_A_0 = _stable_log_A_0(params, x, rec, T)
    A_2 = np.logaddexp(
        -(r + x) * np.log(alpha + T) - s * np.log(beta + T), np.log(s) + log_A_0 - np.log(r_s_x)
    )
    return A_1 + A_2


_FAST: dict[str, type] = {}


def _fitter_class(name: str) -> type:
    """lifetimes fitter ``name`` (Pareto/NBD: with the stable likelihood term)."""
    if name not in _FAST:
        base = getattr(_lt(), name)
        if name == "ParetoNBDFitter":
            body = {
                "_log_A_0": staticmethod(_stable_log_A_0),
                "_conditional_log_likelihood": staticmethod(_stable_conditional_log_likelihood),
            }
        else:
            body = {}
        _FAST[name] = type(name, (base,), {**body, "__module__": __name__})
    return _FAST[name]
