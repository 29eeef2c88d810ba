"""Our own log-likelihoods, with analytic gradients, of the BG/NBD, MBG/NBD, Pareto/NBD and
Gamma-Gamma models, and the maximum-likelihood fit on them.

Why not lifetimes: lifetimes 0.11.3 differentiates its likelihoods with autograd, which
on a million members costs ten times a hand-written gradient (``benchmarks/bench_clv.py``:
BG/NBD 10.5-16.5 s in lifetimes, 0.8-1.2 s for our whole fit with standard errors), and
fits the Pareto/NBD by Nelder-Mead without a gradient (30 s on a million members). lifetimes stays the cross-check: the tests check
that every log-likelihood here equals lifetimes' to 1e-8 relative on the same data and
parameters, and the gradients against finite differences.

Everything works on *distinct histories* ``(x, t_x, T)`` with counts ``w`` (exact: the
likelihood is a product over members). The terms that depend on ``x`` only (``gammaln``,
``digamma``) are computed once per distinct ``x``, those in ``T`` or ``t_x`` alone once per
distinct time (:class:`Histories`, with the codes :func:`~.summary.compress_codes` made
while condensing), the Pareto/NBD's integral terms once per distinct ``(x, tau)``, and the
gradients' sums over members gathered onto those values by ``np.bincount``; what is left
per history is a handful of vectorised passes (``exp`` and ``log`` rather than
``logaddexp``, which numpy does not vectorise: :func:`_softplus`). Parameters are
optimised on the log scale by L-BFGS-B, on time rescaled so that the oldest member has
``T = 1`` (as lifetimes does), with lifetimes' penalizer: ``penalizer * sum(params**2)``
on the rescaled parameters added to the mean negative log-likelihood (BG/NBD, MBG/NBD,
Gamma-Gamma: divided by ``sum(w)``; Pareto/NBD: by ``mean(w)``, as lifetimes'
``ParetoNBDFitter``), so a penalizer means the same here as in lifetimes and in the fit
ladder. Standard errors come from the Hessian of the total penalized negative
log-likelihood in log parameters, taken by differences of the analytic gradient
(delta method back to the parameters, as lifetimes' ``_compute_variance_matrix``).

The Pareto/NBD's integral term
``I = int_{t_x}^{T} (alpha + tau)^-(r + x) (beta + tau)^-(s + 1) d tau`` is
``G(t_x) - G(T)`` with ``G`` a Gaussian hypergeometric function (Fader & Hardie 2005,
"A note on deriving the Pareto/NBD model and related expressions", note 008, and
"Implementing the Pareto/NBD model given interval-censored data", note 009, eqs. 19-20),
put by Euler's transformation into the form ``2F1(1, b; c; z)`` with ``0 < b < c`` and
``0 <= z < 1``, whose series has positive terms: it is summed here, with its derivatives in
``b``, ``c`` and ``z``, so the gradient is exact too; the difference ``G(t_x) - G(T)`` is
taken on the log scale (log-sum-exp), as in CLVTools' and pymc-marketing's
implementations.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005a). "Counting your customers" the easy
way: an alternative to the Pareto/NBD model. Marketing Science 24(2), 275-284.
Batislam, E. P., Denizel, M. & Filiztekin, A. (2007). Empirical validation and
comparison of models for customer base analysis. IJRM 24(3), 201-209 (MBG/NBD).
Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your customers: who
are they and what will they do next? Management Science 33(1), 1-24.
Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma model of monetary value. Note 025.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln
from threadpoolctl import threadpool_limits  # installed with scikit-learn


def _dot(a, b) -> float:
    """Dot product of two vectors without BLAS.

    ``a @ b`` goes to OpenBLAS, whose threads cost about a millisecond per call on the
    shared 2-core machine (measured: 0.6-1.2 ms for 15,000 rows, against 10 microseconds
    here) and a likelihood evaluation makes a dozen of them.
    """
    return float(np.einsum("i,i->", a, b))


def _softplus(d: np.ndarray, expit: bool = False):
    """``log(1 + exp(d))`` elementwise, as ``log(1 + exp(min(d, 700))) + max(d - 700, 0)``.

    ``np.logaddexp`` has no vectorised (SIMD) loop and was the largest single cost of a
    BG/NBD likelihood evaluation (measured: 49 ms for 817,611 histories against 12 ms
    here); ``exp`` and ``log`` have. ``log(1 + e)`` instead of ``log1p(e)`` errs by at
    most one rounding of ``1 + e`` (absolute 1.1e-16 per member, for ``d < 0``), far
    below the summation's own rounding over a million members; above ``d = 37`` it is
    ``d`` to rounding, and the cap at 700 keeps ``exp`` finite. ``d = -inf`` gives 0.

    ``expit=True``: returns ``(softplus, expit(d))``, the derivative from the same
    exponential (``e / (1 + e)``), else ``(softplus, None)``.
    """
    e = np.minimum(d, 700.0)
    np.exp(e, out=e)
    p = e.copy() if expit else None
    e += 1.0
    if expit:
        p /= e
    np.log(e, out=e)
    over = d - 700.0
    np.maximum(over, 0.0, out=over)
    e += over
    return e, p


#: Largest number of series terms of the Pareto/NBD's hypergeometric function.
MAX_SERIES_TERMS = 20_000
#: Below this many unconverged elements the series is summed in blocks of
#: ``SERIES_BLOCK`` terms (see :func:`_hyp2f1_1bc`).
SERIES_BLOCK_ROWS = 4096
#: The series stop when what is left is below this fraction of the sum.
SERIES_TOL = 1e-17
#: ... and, for the bounds of :func:`_hyp2f1_1bc_bounds`, below this fraction.
BOUNDS_TOL = 1e-9
SERIES_BLOCK = 64


@dataclass
class Histories:
    """Distinct histories with counts, and their distinct ``x`` and times (computed once).

    Attributes
    ----------
    x, tx, T, w : ndarray
        Repeat flights, time of the last one, age, members per row.
    ux : ndarray
        The distinct values of ``x``; ``ix`` maps rows to them; ``wx`` the members per
        distinct ``x``.
    """

    x: np.ndarray
    tx: np.ndarray
    T: np.ndarray
    w: np.ndarray
    ux: np.ndarray
    ix: np.ndarray
    wx: np.ndarray
    #: distinct (x, tau) of the Pareto/NBD's integral term, made on first use
    pairs: tuple | None = None
    #: distinct T and t_x with their inverse indices (times recur: day resolution)
    times: tuple | None = None
    #: members per distinct T and their repeat flights (``wT``, ``wxT``), made on first use
    time_weights: tuple | None = None

    def distinct_times(self):
        """``(uT, iT, utx, itx)``: the log and reciprocal of ``alpha + T`` are taken once
        per distinct time and gathered (cheaper than per history)."""
        if self.times is None:
            uT, iT = np.unique(self.T, return_inverse=True)
            utx, itx = np.unique(self.tx, return_inverse=True)
            self.times = (uT, iT.ravel(), utx, itx.ravel())
        return self.times

    def weights_per_T(self):
        """``(wT, wxT)``: members and their repeat flights per distinct ``T``.

        Sums over members of terms in ``T`` alone, or ``x`` times a term in ``T``, are
        then taken over the distinct ``T`` (a few thousand) instead of the histories.
        """
        if self.time_weights is None:
            uT, iT, _, _ = self.distinct_times()
            self.time_weights = (
                np.bincount(iT, weights=self.w, minlength=len(uT)),
                np.bincount(iT, weights=self.w * self.x, minlength=len(uT)),
            )
        return self.time_weights

    @classmethod
    def make(cls, x, tx, T, w=None, codes=None) -> Histories:
        """Histories from the rows; ``codes``: ``(ux, ix, utx, itx, uT, iT)`` when known
        (:func:`crm_research.clv.summary.compress_codes` has them: no sort again)."""
        x = np.asarray(x, dtype=float)
        w = np.ones(len(x)) if w is None else np.asarray(w, dtype=float)
        tx, T = np.asarray(tx, float), np.asarray(T, float)
        if codes is None:
            ux, ix = np.unique(x, return_inverse=True)
            ix, times = ix.ravel(), None
        else:
            ux, ix, utx, itx, uT, iT = codes
            ux = np.asarray(ux, dtype=float)
            times = (np.asarray(uT, float), iT, np.asarray(utx, float), itx)
        wx = np.bincount(ix, weights=w, minlength=len(ux))
        return cls(x, tx, T, w, ux, ix, wx, times=times)

    def scaled(self, scale: float) -> Histories:
        """The same histories with time multiplied by ``scale`` (codes kept)."""
        times = pairs = None
        if self.times is not None:
            uT, iT, utx, itx = self.times
            times = (uT * scale, iT, utx * scale, itx)
        if self.pairs is not None:
            px, ptau, code = self.pairs
            pairs = (px, ptau * scale, code)
        return Histories(
            self.x, self.tx * scale, self.T * scale, self.w, self.ux, self.ix, self.wx,
            pairs=pairs, times=times, time_weights=self.time_weights,
        )  # fmt: skip

    @property
    def n(self) -> float:
        return float(self.w.sum())


# -- BG/NBD and MBG/NBD -------------------------------------------------------------------
def bgnbd_loglik(log_params, h: Histories, grad: bool = True):
    """Total BG/NBD log-likelihood ``sum w * ll`` and its gradient in log parameters.

    Per member (Fader, Hardie & Lee 2005a, eq. 6; note 004):
    ``ll = A1 + A2 + log(exp(A3) + [x > 0] exp(A4))`` with
    ``A1 = lnG(r + x) - lnG(r) + r ln(alpha)``,
    ``A2 = lnG(a + b) + lnG(b + x) - lnG(b) - lnG(a + b + x)``,
    ``A3 = -(r + x) ln(alpha + T)``, ``A4 = ln(a) - ln(b + x - 1) - (r + x) ln(alpha + t_x)``.
    The terms in ``x`` alone are taken per distinct ``x``; those in ``T`` alone (``A3``
    summed over members) per distinct ``T``; only ``log(1 + exp(A4 - A3))`` is taken per
    history, from logs gathered per distinct time (a handful of passes over the rows:
    this function is the BG/NBD fit's whole cost).
    """
    r, alpha, a, b = np.exp(np.asarray(log_params, dtype=float))
    ux, wx, x, w, ix = h.ux, h.wx, h.x, h.w, h.ix
    uT, iT, utx, itx = h.distinct_times()
    wT, wxT = h.weights_per_T()
    n = h.n
    s1 = _dot(wx, gammaln(r + ux) + gammaln(b + ux) - gammaln(a + b + ux))
    const = n * (-gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b))
    lT, lt = np.log(alpha + uT), np.log(alpha + utx)
    s3 = -_dot(r * wT + wxT, lT)  # sum of w * A3
    pos = ux > 0
    # d = A4 - A3 = c_x + (r + x) (ln(alpha + T) - ln(alpha + t_x)); c_x = -inf at x = 0
    # (no A4 term): log(1 + exp(d)) and its derivative expit(d) are then 0
    with np.errstate(divide="ignore", invalid="ignore"):
        cx = np.where(pos, np.log(a) - np.log(b + ux - 1.0), -np.inf)
    D = lT[iT]
    D -= lt[itx]
    rx = x + r
    d = rx * D
    d += cx[ix]
    sp, wp4 = _softplus(d, expit=grad)
    ll = s1 + const + s3 + _dot(w, sp)
    if not grad:
        return float(ll)
    wp4 *= w  # members' weight on the A4 term
    q = wp4 * rx
    inv_T, inv_t = 1.0 / (alpha + uT), 1.0 / (alpha + utx)
    wp4_x = np.bincount(ix, weights=wp4, minlength=len(ux))
    d_r = (
        _dot(wx, digamma(r + ux)) + n * (-digamma(r) + np.log(alpha)) - _dot(wT, lT) + _dot(wp4, D)
    )
    d_alpha = (
        n * r / alpha
        - _dot(r * wT + wxT, inv_T)
        + _dot(np.bincount(iT, weights=q, minlength=len(uT)), inv_T)
        - _dot(np.bincount(itx, weights=q, minlength=len(utx)), inv_t)
    )
    d_a = n * digamma(a + b) - _dot(wx, digamma(a + b + ux)) + wp4_x.sum() / a
    d_b = (
        n * (digamma(a + b) - digamma(b))
        + _dot(wx, digamma(b + ux) - digamma(a + b + ux))
        - _dot(wp4_x, np.where(pos, 1.0 / (b + np.maximum(ux, 1.0) - 1.0), 0.0))
    )
    g = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
    return float(ll), g


def mbgnbd_loglik(log_params, h: Histories, grad: bool = True):
    """Total MBG/NBD log-likelihood and gradient (Batislam et al. 2007; lifetimes' form).

    ``ll = A1 + A2 + A3 + log(1 + exp(A4))``: ``A1`` as the BG/NBD,
    ``A2 = lnG(a + b) + lnG(b + x + 1) - lnG(b) - lnG(a + b + x + 1)``,
    ``A3 = -(r + x) ln(alpha + T)``,
    ``A4 = ln(a) - ln(b + x) + (r + x) (ln(alpha + T) - ln(alpha + t_x))``.
    """
    r, alpha, a, b = np.exp(np.asarray(log_params, dtype=float))
    ux, wx, x, w = h.ux, h.wx, h.x, h.w
    n = h.n
    s1 = _dot(wx, gammaln(r + ux) + gammaln(b + ux + 1) - gammaln(a + b + ux + 1))
    const = n * (-gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b))
    la_T = np.log(alpha + h.T)
    la_t = np.log(alpha + h.tx)
    rx = r + x
    A3 = -rx * la_T
    A4 = np.log(a) - np.log(b + x) + rx * (la_T - la_t)
    ll = s1 + const + _dot(w, A3 + np.logaddexp(A4, 0.0))
    if not grad:
        return float(ll)
    wp = w * expit(A4)
    d_r = (
        _dot(wx, digamma(r + ux))
        + n * (-digamma(r) + np.log(alpha))
        - _dot(w, la_T)
        + _dot(wp, la_T - la_t)
    )
    d_alpha = (
        n * r / alpha
        - _dot(w, rx / (alpha + h.T))
        + _dot(wp, rx * (1.0 / (alpha + h.T) - 1.0 / (alpha + h.tx)))
    )
    d_a = n * digamma(a + b) - _dot(wx, digamma(a + b + ux + 1)) + wp.sum() / a
    d_b = (
        n * (digamma(a + b) - digamma(b))
        + _dot(wx, digamma(b + ux + 1) - digamma(a + b + ux + 1))
        - _dot(wp, 1.0 / (b + x))
    )
    g = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
    return float(ll), g


# -- Pareto/NBD ---------------------------------------------------------------------------
def _hyp2f1_1bc(
    b, c, z, max_terms: int = MAX_SERIES_TERMS, grad: bool = True, bounds: bool = False
):
    """``log 2F1(1, b; c; z)`` and its derivatives in ``b``, ``c``, ``z`` (0 < b < c, 0 <= z < 1).

    The series ``sum_n (b)_n / (c)_n z^n`` has positive terms falling at least as fast
    as ``z^n``; it is summed until the next term, and the next terms of the derivative
    series, are below 1e-17 of the sum (or after ``max_terms`` terms). Elements leave the
    sum as they converge; the updates are in place (this loop is most of the Pareto/NBD
    fit's time). ``grad=False``: the log of the sum only (no derivative series);
    ``bounds=True`` (with ``grad=False``): the logs of the partial sum and of it plus the
    bound of the rest (:func:`_hyp2f1_1bc_bounds`).
    """
    b, c, z = (np.asarray(v, dtype=float) for v in (b, c, z))
    size = len(z)
    H = np.ones(size)
    Hb, Hc, Hz = (np.zeros(size) for _ in range(3)) if grad else (None, None, None)
    idx = np.arange(size)
    a_n = np.ones(size)
    sb, sc = np.zeros(size), np.zeros(size)
    bb, cc, zz = b, c, z
    h = H.copy()
    hb, hc, hz = (Hb.copy(), Hc.copy(), Hz.copy()) if grad else (None, None, None)
    tail = 1.0 / np.maximum(1.0 - zz, 1e-300)
    rest = np.zeros(size) if bounds else None  # bound of the terms not summed
    k = 0  # terms added so far
    while k < max_terms and len(idx):
        if len(idx) > SERIES_BLOCK_ROWS:
            # many elements: term by term, in place, for 8 terms
            for j in range(k, min(k + 8, max_terms)):
                bk, ck = bb + j, cc + j
                a_n *= bk
                a_n /= ck
                a_n *= zz
                h += a_n
                if grad:
                    sb += np.reciprocal(bk, out=bk)
                    sc += np.reciprocal(ck, out=ck)
                    hb += a_n * sb
                    hc -= a_n * sc
                    hz += (j + 1) * a_n
            k = min(k + 8, max_terms)
        else:
            # few elements left (a slow series, z near 1): the next terms as a block,
            # so that numpy's per-call overhead is paid once per block, not per term
            kk = np.arange(k, min(k + SERIES_BLOCK, max_terms), dtype=float)
            bk, ck = bb[:, None] + kk, cc[:, None] + kk
            ratio = bk / ck
            ratio *= zz[:, None]
            A = np.cumprod(ratio, axis=1)
            A *= a_n[:, None]
            h += A.sum(axis=1)
            if grad:
                SB = np.cumsum(np.reciprocal(bk, out=bk), axis=1)
                SB += sb[:, None]
                SC = np.cumsum(np.reciprocal(ck, out=ck), axis=1)
                SC += sc[:, None]
                hb += np.einsum("ij,ij->i", A, SB)
                hc -= np.einsum("ij,ij->i", A, SC)
                hz += A @ (kk + 1.0)
                sb, sc = SB[:, -1].copy(), SC[:, -1].copy()
            a_n = A[:, -1].copy()
            k += len(kk)
        # converged when the next term of every series, and the rest (at most the next
        # term / (1 - z)), is below SERIES_TOL of the sum
        err = a_n * (k + 1 + sb + sc) if grad else a_n.copy()
        err *= tail
        last = k >= max_terms
        # (bounds: what is left is added as a bound, so a coarser stop stays an upper
        # bound, only a looser one)
        tol = BOUNDS_TOL if bounds else SERIES_TOL
        done = np.ones(len(idx), bool) if last else err <= tol * h
        if done.any():
            sel = idx[done]
            H[sel] = h[done]
            if bounds:
                rest[sel] = (a_n * zz * tail)[done]
            if grad:
                Hb[sel], Hc[sel], Hz[sel] = hb[done], hc[done], hz[done]
            live = ~done
            idx, a_n, bb, cc, zz, tail, h = (v[live] for v in (idx, a_n, bb, cc, zz, tail, h))
            if grad:
                sb, sc, hb, hc, hz = (v[live] for v in (sb, sc, hb, hc, hz))
    if bounds:
        return np.log(H), np.log(H + rest)
    if not grad:
        return np.log(H)
    with np.errstate(divide="ignore", invalid="ignore"):
        dz = np.where(z > 0, Hz / np.where(z > 0, z, 1.0), b / c)
    return np.log(H), Hb / H, Hc / H, dz / H


def _hyp2f1_1bc_bounds(b, c, z, n_terms: int):
    """Lower and upper bounds of ``log 2F1(1, b; c; z)`` from at most ``n_terms`` terms.

    The terms are positive, so a partial sum is a lower bound; each later term is at
    most ``z`` times the one before (``(b + k) / (c + k) < 1``), so the rest is at most
    ``a_n z / (1 - z)``: the partial sum plus that is an upper bound. Exact (to rounding)
    at any ``z < 1`` in a bounded number of terms (the ridge check of the verdict needs
    the likelihood far from the optimum, where ``z`` nears 1 and the series is slow).
    Where the series converges sooner, the two bounds agree to 1e-17.
    """
    return _hyp2f1_1bc(b, c, z, max_terms=n_terms, grad=False, bounds=True)


def _log_G(tau, r, alpha, s, beta, x, grad: bool = True, n_terms: int | None = None):
    """``log G(tau)`` with ``I = G(t_x) - G(T)``, and its gradient in ``(r, alpha, s, beta)``.

    With ``P = max(alpha, beta)``, ``d = |alpha - beta|``, ``V = 1 / (P + tau)``,
    ``m = r + s + x`` and ``t`` the exponent of the other factor (``s + 1`` when
    ``alpha >= beta``, else ``r + x``): ``G = V^m / m (1 - dV)^(1 - t) 2F1(1, m + 1 - t;
    m + 1; dV)`` (note 009, eq. 19 after Euler's transformation). ``grad=False``: the
    log only; ``n_terms``: lower and upper bounds of the log from that many series terms
    (:func:`_hyp2f1_1bc_bounds`).
    """
    case_a = alpha >= beta
    P, d = (alpha, alpha - beta) if case_a else (beta, beta - alpha)
    m = r + s + x
    t = (s + 1.0) * np.ones_like(x) if case_a else r + x
    V = 1.0 / (P + tau)
    z = d * V
    l1z = np.log1p(-z)
    lead = m * np.log(V) - np.log(m) + (1.0 - t) * l1z
    if n_terms is not None:
        lo, hi = _hyp2f1_1bc_bounds(m + 1.0 - t, m + 1.0, z, n_terms)
        return lead + lo, lead + hi
    if not grad:
        return lead + _hyp2f1_1bc(m + 1.0 - t, m + 1.0, z, grad=False)
    lH, Hb, Hc, Hz = _hyp2f1_1bc(m + 1.0 - t, m + 1.0, z)
    lg = lead + lH
    g_m = np.log(V) - 1.0 / m + Hb + Hc
    g_t = -l1z - Hb
    g_d = -(1.0 - t) * V / (1.0 - z) + Hz * V
    g_V = m / V - (1.0 - t) * d / (1.0 - z) + Hz * d
    g_P = -(V**2) * g_V
    if case_a:
        grad_ = (g_m, g_d + g_P, g_m + g_t, -g_d)
    else:
        grad_ = (g_m + g_t, -g_d, g_m, g_d + g_P)
    return lg, grad_


def distinct_pairs(x, tx, T):
    """Distinct ``(x, tau)`` over ``tau`` in ``t_x`` and ``T``: ``x``, ``tau`` and the codes."""
    xx, tau = np.r_[x, x], np.r_[tx, T]
    order = np.lexsort((tau, xx))
    xs, ts = xx[order], tau[order]
    new = np.r_[True, (xs[1:] != xs[:-1]) | (ts[1:] != ts[:-1])]
    code = np.empty(len(xx), dtype=np.int64)
    code[order] = np.cumsum(new) - 1
    return xs[new], ts[new], code


def history_pairs(h: Histories):
    """:func:`distinct_pairs` of ``h`` from its codes of ``x`` and the times (no row sort).

    Each row's pair is coded as ``code(x) * (number of distinct times) + code(time)``;
    where that key space is small (it is: a few hundred ``x`` by a few thousand days) the
    distinct keys are marked in a table, else found by ``np.unique``. Same pairs, same
    order, same codes as :func:`distinct_pairs` (tested).
    """
    if h.pairs is None:
        uT, iT, utx, itx = h.distinct_times()
        utau = np.union1d(uT, utx)
        nt = len(utau)
        key_T = h.ix * nt + np.searchsorted(utau, uT)[iT]
        key_t = h.ix * nt + np.searchsorted(utau, utx)[itx]
        keys = np.concatenate([key_t, key_T])
        nkey = len(h.ux) * nt
        if nkey <= 8 * len(keys) + 1024:
            mark = np.zeros(nkey, dtype=bool)
            mark[keys] = True
            ukeys = np.flatnonzero(mark)
            code = (np.cumsum(mark) - 1)[keys]
        else:
            ukeys, code = np.unique(keys, return_inverse=True)
        h.pairs = (h.ux[ukeys // nt], utau[ukeys % nt], code.ravel())
    return h.pairs


def pareto_loglik(log_params, h: Histories, grad: bool = True, n_terms: int | None = None):
    """Total Pareto/NBD log-likelihood and gradient in log parameters.

    Per member (Schmittlein, Morrison & Colombo 1987; Fader & Hardie note 009, eq. 18):
    ``ll = lnG(r + x) - lnG(r) + r ln(alpha) + s ln(beta)
    + log((alpha + T)^-(r + x) (beta + T)^-s + s I)``.

    ``G`` (:func:`_log_G`) and the first term inside the log, which depends on ``(x, T)``
    only, are evaluated once per distinct ``(x, tau)`` (:func:`history_pairs`) and
    gathered; the gradient's sums over members are gathered onto the pairs
    (``np.bincount``) before the products with the pairs' derivatives.

    ``n_terms`` (no gradient): an upper bound of the log-likelihood from that many terms
    of each series (:func:`_hyp2f1_1bc_bounds`): ``I <= G_upper(t_x) - G_lower(T)`` (where the
    series converge within ``n_terms``, the bound is the log-likelihood).
    """
    r, alpha, s, beta = np.exp(np.asarray(log_params, dtype=float))
    ux, wx, x, w = h.ux, h.wx, h.x, h.w
    nrow = len(x)
    n = h.n
    const = _dot(wx, gammaln(r + ux)) + n * (-gammaln(r) + r * np.log(alpha) + s * np.log(beta))
    px, ptau, code = history_pairs(h)
    code_t, code_T = code[:nrow], code[nrow:]
    # per pair (x, tau): -(r + x) ln(alpha + tau) - s ln(beta + tau), used at tau = T
    la_p, lb_p = np.log(alpha + ptau), np.log(beta + ptau)
    u1p = -(r + px) * la_p - s * lb_p
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if n_terms is not None:
            lo, hi = _log_G(ptau, r, alpha, s, beta, px, n_terms=n_terms)
            l1, l2 = hi[code_t], lo[code_T]
        elif grad:
            lgu, ggu = _log_G(ptau, r, alpha, s, beta, px)
            l1, l2 = lgu[code_t], lgu[code_T]
        else:
            lgu = _log_G(ptau, r, alpha, s, beta, px, grad=False)
            l1, l2 = lgu[code_t], lgu[code_T]
        rho = l2
        rho -= l1
        np.exp(rho, out=rho)  # G(T) / G(t_x), < 1 (1 where t_x = T: no integral)
        if n_terms is not None:
            rho[code_t == code_T] = 1.0
        np.minimum(rho, 1.0, out=rho)
        # log(1 - rho), not log1p(-rho) (no vectorised loop: 10 ms against 4 ms): the
        # rounding of 1 - rho is at most 1.1e-16 absolute, as is the log's error then
        u2 = np.subtract(1.0, rho)
        np.log(u2, out=u2)
        u2 += l1
        u2 += np.log(s)  # log(s I); -inf where t_x = T
        u1 = u1p[code_T]
        u2 -= u1  # the log of the ratio of the two terms
        sp, wp2 = _softplus(u2, expit=grad and n_terms is None)
        ll = const + _dot(w, u1) + _dot(w, sp)
    if not grad or n_terms is not None:
        return float(ll)
    with np.errstate(invalid="ignore", over="ignore"):
        wp2 *= w  # members' weight on the s I term (0 where t_x = T)
        # sum_w p2 d log I = sum_w p2 (dG(t_x) / G(t_x) - rho dG(T) / G(T)) / (1 - rho):
        # q = w p2 / (1 - rho) on the t_x pair and -q rho on the T pair
        q = np.zeros(nrow)
        np.divide(wp2, 1.0 - rho, out=q, where=rho < 1.0)
        npair = len(px)
        A = np.bincount(code_t, weights=q, minlength=npair)
        q *= rho
        A -= np.bincount(code_T, weights=q, minlength=npair)
        # the first term's weight w (1 - p2), per pair
        np.subtract(w, wp2, out=wp2)
        B = np.bincount(code_T, weights=wp2, minlength=npair)
    d_r = (
        _dot(wx, digamma(r + ux))
        + n * (np.log(alpha) - digamma(r))
        - _dot(B, la_p)
        + _dot(A, ggu[0])
    )
    d_alpha = n * r / alpha - _dot(B, (r + px) / (alpha + ptau)) + _dot(A, ggu[1])
    d_s = n * np.log(beta) - _dot(B, lb_p) + (n - B.sum()) / s + _dot(A, ggu[2])
    d_beta = n * s / beta - s * _dot(B, 1.0 / (beta + ptau)) + _dot(A, ggu[3])
    g = np.array([d_r * r, d_alpha * alpha, d_s * s, d_beta * beta])
    return float(ll), g


# -- Gamma-Gamma --------------------------------------------------------------------------
@dataclass
class Spends:
    """Members with ``x > 0`` flights averaging ``m`` (counts ``w``), per-``x`` terms once."""

    x: np.ndarray
    m: np.ndarray
    w: np.ndarray
    ux: np.ndarray
    wx: np.ndarray
    wxlogm: float
    wlogm: float

    @classmethod
    def make(cls, x, m, w=None) -> Spends:
        x = np.asarray(x, dtype=float)
        m = np.asarray(m, dtype=float)
        w = np.ones(len(x)) if w is None else np.asarray(w, dtype=float)
        ux, ix = np.unique(x, return_inverse=True)
        wx = np.bincount(ix, weights=w, minlength=len(ux))
        lm = np.log(m)
        return cls(x, m, w, ux, wx, _dot(w, x * lm), _dot(w, lm))


def gamma_gamma_loglik(log_params, d: Spends, grad: bool = True):
    """Total Gamma-Gamma log-likelihood and gradient (Fader & Hardie 2013, note 025, eq. 1a).

    ``ll = lnG(px + q) - lnG(px) - lnG(q) + q ln(v) + (px - 1) ln(m) + px ln(x)
    - (px + q) ln(xm + v)`` (``v`` is lifetimes' name of ``gamma``).
    """
    p, q, v = np.exp(np.asarray(log_params, dtype=float))
    ux, wx, x, w = d.ux, d.wx, d.x, d.w
    n = float(w.sum())
    pu = p * ux
    lxm = np.log(x * d.m + v)
    ll = (
        _dot(wx, gammaln(pu + q) - gammaln(pu) + pu * np.log(ux))
        + n * (-gammaln(q) + q * np.log(v))
        + p * d.wxlogm
        - d.wlogm
        - _dot(w, (p * x + q) * lxm)
    )
    if not grad:
        return float(ll)
    psi_pq = digamma(pu + q)
    d_p = _dot(wx, ux * (psi_pq - digamma(pu) + np.log(ux))) + d.wxlogm - _dot(w, x * lxm)
    d_q = _dot(wx, psi_pq) - n * digamma(q) + n * np.log(v) - _dot(w, lxm)
    d_v = n * q / v - _dot(w, (p * x + q) / (x * d.m + v))
    return float(ll), np.array([d_p * p, d_q * q, d_v * v])


# -- fitting ------------------------------------------------------------------------------
@dataclass
class MLFit:
    """Result of :func:`fit_ml`: log parameters, log-likelihood, convergence, Hessian."""

    log_params: np.ndarray
    loglik: float
    objective: float
    success: bool
    message: str
    grad_norm: float
    n_evaluations: int
    hessian: np.ndarray | None = None

    def covariance(self) -> np.ndarray:
        """Covariance of the log parameters (inverse Hessian), NaN when not invertible."""
        k = len(self.log_params)
        if self.hessian is None or not np.all(np.isfinite(self.hessian)):
            return np.full((k, k), np.nan)
        try:
            return np.linalg.inv(self.hessian)
        except np.linalg.LinAlgError:
            return np.full((k, k), np.nan)

    def standard_errors(self, params) -> np.ndarray:
        """Standard errors of ``params`` (delta method: ``se(log p) * p``).

        ``params`` on the caller's time scale: rescaling time shifts a log parameter by a
        constant, which leaves its standard error unchanged.
        """
        var = np.diag(self.covariance())
        with np.errstate(invalid="ignore"):
            se = np.where(var > 0, np.sqrt(np.abs(var)), np.nan)
        return se * np.asarray(params, dtype=float)


def penalized_objective(loglik, data, penalizer: float, per: float, n: float):
    """``f(log p) = (-LL / per + penalizer * sum(p^2)) * per / n`` and its gradient.

    ``per`` is what lifetimes divides the log-likelihood by (``sum(w)`` or ``mean(w)``);
    the factor ``per / n`` puts the objective on a per-member scale for the optimiser
    without moving its minimum.
    """
    k = per / n
    last = {}

    def f(lp):
        key = np.asarray(lp, dtype=float).tobytes()
        if last.get("key") == key:  # the optimiser's last point again: no new evaluation
            return last["out"]
        ll, g = loglik(lp, data)
        p2 = np.exp(2 * np.asarray(lp))
        val = (-ll / per + penalizer * p2.sum()) * k
        grd = (-g / per + 2 * penalizer * p2) * k
        if not np.isfinite(val) or not np.all(np.isfinite(grd)):
            val, grd = 1e10, np.zeros_like(grd)
        last.update(key=key, out=(val, grd), ll=ll)
        return val, grd

    f.last = last
    return f


def fit_ml(
    loglik,
    data,
    x0,
    *,
    penalizer: float = 0.0,
    per: float,
    n: float,
    tol: float = 1e-10,
    standard_errors: bool = True,
    bound: float = 30.0,
    hess_inv0=None,
) -> MLFit:
    """Maximise a (penalized) log-likelihood by L-BFGS-B in log parameters.

    Parameters
    ----------
    loglik : callable
        ``loglik(log_params, data) -> (LL, gradient)``, one of the functions above.
    per, n : float
        lifetimes' divisor of the log-likelihood in its penalized objective (``sum(w)``
        or ``mean(w)``) and the number of members.
    bound : float
        Box on the log parameters (|log p| <= bound), so that the optimiser cannot
        overflow; a parameter that ends on it is reported at a bound by the caller.
    standard_errors : bool
        Take the Hessian (bootstrap replicates skip it).
    hess_inv0 : ndarray, optional
        A first guess of the inverse Hessian of the per-member objective (from a fit on a
        subsample): then BFGS starts with it and needs a few iterations from a warm start;
        should it fail, L-BFGS-B takes over from where it stopped.
    """
    # one BLAS thread: the optimisers' small vector operations would otherwise wake
    # OpenBLAS's threads on every iteration (measured: 0.2 s of a 1.5 s BG/NBD fit on the
    # shared 2-core machine, in L-BFGS-B's setulb)
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_ml(
            loglik, data, x0, penalizer=penalizer, per=per, n=n, tol=tol,
            standard_errors=standard_errors, bound=bound, hess_inv0=hess_inv0,
        )  # fmt: skip


def _fit_ml(loglik, data, x0, *, penalizer, per, n, tol, standard_errors, bound, hess_inv0):
    f = penalized_objective(loglik, data, penalizer, per, n)
    x0 = np.clip(np.asarray(x0, dtype=float), -bound + 1, bound - 1)
    res = None
    if hess_inv0 is not None:
        res = minimize(
            f, x0, jac=True, method="BFGS",
            options={"gtol": tol, "maxiter": 200, "hess_inv0": hess_inv0},
        )  # fmt: skip
        ok = np.all(np.isfinite(res.x)) and np.all(np.abs(res.x) < bound)
        if ok and (res.success or np.max(np.abs(res.jac)) < 1e-5):
            res.success = True
        else:
            x0, res = (res.x if ok else x0), None
    if res is None:
        res = minimize(
            f,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-bound, bound)] * len(x0),
            options={"maxiter": 2000, "ftol": tol * 1e-3, "gtol": tol, "maxcor": 20},
        )
    val, g = f(res.x)
    out = MLFit(
        log_params=np.asarray(res.x, dtype=float),
        loglik=float(f.last["ll"]),
        objective=float(val),
        success=bool(res.success),
        message=str(res.message),
        grad_norm=float(np.max(np.abs(g))),
        n_evaluations=int(res.nfev),
    )
    if standard_errors:
        # the Hessian of the total penalized negative log-likelihood, n * f
        out.hessian = hessian_from_gradient(f, res.x) * n
    return out


def hessian_from_gradient(f, x, step: float = 1e-6) -> np.ndarray:
    """Hessian of ``f`` (returning value and gradient) by forward differences of the gradient.

    ``k + 1`` gradient evaluations for ``k`` parameters, symmetrised; the analytic
    gradient is exact to rounding, so the error is of the order of ``step`` (relative),
    far below what a standard error needs (the tests compare with lifetimes' autograd
    Hessian).
    """
    x = np.asarray(x, dtype=float)
    k = len(x)
    g0 = np.array(f(x)[1])
    hess = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = step
        hess[i] = (f(x + e)[1] - g0) / step
    return (hess + hess.T) / 2
