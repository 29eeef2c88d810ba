"""Expected future flights of a member known to be alive, vectorised over histories x times.

The conditional expectation of all three purchase models factorises,
``E[X(t) | x, t_x, T] = P(alive | x, t_x, T) * g(t; x, T)``: given alive at ``T`` the
future depends on the history through ``x`` and ``T`` only (posterior of the flight rate
Gamma(r + x, alpha + T); of the dropout, Beta(a, b + x) or Gamma(s, beta + T)). The
functions here give ``g`` for a whole array of times at once (NumPy broadcasting: pass
``t`` as a row and ``x, T`` as a column), which replaces the per-month loop over
lifetimes' ``conditional_expected_number_of_purchases_up_to_time`` in the CLV. The
formulas are lifetimes' (0.11.3) divided by its P(alive), with lifetimes' fallback for an
overflowing hypergeometric term evaluated only where needed; the tests check them
against lifetimes.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005a). "Counting your customers" the easy
way. Marketing Science 24(2), 275-284, eq. 10 (BG/NBD).
Batislam, E. P., Denizel, M. & Filiztekin, A. (2007). IJRM 24(3), 201-209 (MBG/NBD).
Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Management Science 33(1), 1-24,
eq. 22 (Pareto/NBD).
"""

from __future__ import annotations

import numpy as np
from scipy.special import hyp2f1


def bgnbd_alive_expectation(params, t, x, T) -> np.ndarray:
    """BG/NBD ``g(t; x, T) = (a + b + x - 1)/(a - 1) [1 - ((alpha + T)/(alpha + T + t))^(r + x)
    2F1(r + x, b + x; a + b + x - 1; t / (alpha + T + t))]``."""
    r, alpha, a, b = (float(v) for v in params)
    t, x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, x, T)))
    _a, _b, _c = r + x, b + x, a + b + x - 1
    z = t / (alpha + T + t)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ln_hyp = np.log(hyp2f1(_a, _b, _c, z))
        bad = ~np.isfinite(ln_hyp)
        if bad.any():  # lifetimes' equivalent form (Euler's transformation)
            ca, cb, cc, zb = _c[bad] - _a[bad], _c[bad] - _b[bad], _c[bad], z[bad]
            ln_hyp[bad] = np.log(hyp2f1(ca, cb, cc, zb)) + (cc - ca - cb) * np.log1p(-zb)
        second = -np.expm1(ln_hyp + (r + x) * np.log((alpha + T) / (alpha + t + T)))
    return (a + b + x - 1) / (a - 1) * second


def mbgnbd_alive_expectation(params, t, x, T) -> np.ndarray:
    """MBG/NBD ``g(t; x, T) = (a + b + x)/(a - 1) [1 - 2F1(r + x, b + x + 1; a + b + x;
    t/(alpha + T + t)) ((alpha + T)/(alpha + T + t))^(r + x)]``."""
    r, alpha, a, b = (float(v) for v in params)
    t, x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, x, T)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        hyp = hyp2f1(r + x, b + x + 1, a + b + x, t / (alpha + T + t))
        second = 1 - hyp * ((alpha + T) / (alpha + t + T)) ** (r + x)
    return (a + b + x) / (a - 1) * second


def pareto_alive_expectation(params, t, x, T) -> np.ndarray:
    """Pareto/NBD ``g(t; x, T) = (r + x)(beta + T) / ((alpha + T)(s - 1))
    [1 - ((beta + T)/(beta + T + t))^(s - 1)]`` (closed form)."""
    r, alpha, s, beta = (float(v) for v in params)
    t, x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, x, T)))
    with np.errstate(divide="ignore", invalid="ignore"):
        lead = (r + x) * (beta + T) / (alpha + T)
        if abs(s - 1.0) < 1e-12:  # the limit s -> 1: log((beta + T + t) / (beta + T))
            return lead * np.log1p(t / (beta + T))
        return lead * -np.expm1((s - 1) * np.log((beta + T) / (beta + T + t))) / (s - 1)
