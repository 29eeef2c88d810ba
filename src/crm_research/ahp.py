"""The analytic hierarchy process (AHP): weights from a pairwise comparison matrix.

An expert compares the criteria two at a time on Saaty's 1-9 scale: ``a[i, j]`` says how
much more important criterion ``i`` is than criterion ``j`` (``a[j, i] = 1 / a[i, j]``).
The weights are the principal (Perron) eigenvector of the matrix, normalised to sum to
one; the consistency index ``CI = (lambda_max - n) / (n - 1)`` divided by Saaty's random
index ``RI(n)`` (the mean CI of random reciprocal matrices) gives the consistency ratio
``CR``. Saaty accepts a matrix whose ``CR`` is below 0.1 and asks the expert to revise
the judgements otherwise.

The airline paper behind this study (DOMAIN.md) proposes to weight the five LRFMC
variables with AHP and expert judgement to obtain a single customer value score; see
:func:`crm_research.segmentation.value_score`.

References
----------
Saaty, T. L. (1977). A scaling method for priorities in hierarchical structures.
    *Journal of Mathematical Psychology*, 15(3), 234-281.
Saaty, T. L. (1980). *The Analytic Hierarchy Process*. McGraw-Hill, New York.
Saaty, R. W. (1987). The analytic hierarchy process - what it is and how it is used.
    *Mathematical Modelling*, 9(3-5), 161-176.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

#: Saaty's random consistency index RI(n): the mean consistency index of random
#: reciprocal matrices of order n with entries from the 1/9..9 scale, as tabulated by
#: Saaty (1980) and reproduced in R. W. Saaty (1987). RI is 0 for n <= 2 (every such
#: matrix is consistent).
RANDOM_INDEX = {
    1: 0.0,
    2: 0.0,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
}

#: Saaty's threshold: a consistency ratio of 0.1 or more is not acceptable.
MAX_CONSISTENCY_RATIO = 0.1

#: |a_ij * a_ji - 1| allowed before a matrix counts as not reciprocal (lets judgements be
#: typed as rounded decimals, 0.33 for 1/3, but not 0.3 for 1/3).
RECIPROCAL_TOL = 0.02


class AHPInconsistentError(ValueError):
    """The pairwise judgements are too inconsistent (consistency ratio >= 0.1)."""


@dataclass(frozen=True)
class AHPResult:
    """Result of :func:`ahp_weights`.

    Attributes
    ----------
    matrix : DataFrame
        The pairwise comparison matrix (float), rows and columns labelled.
    weights : Series
        Principal eigenvector, normalised to sum to one.
    lambda_max : float
        Principal eigenvalue (``>= n``; ``== n`` for a perfectly consistent matrix).
    consistency_index : float
        ``(lambda_max - n) / (n - 1)`` (0 for n = 1).
    random_index : float
        Saaty's ``RI(n)`` (:data:`RANDOM_INDEX`).
    consistency_ratio : float
        ``CI / RI`` (0 when ``RI`` is 0, i.e. n <= 2).
    """

    matrix: pd.DataFrame
    weights: pd.Series
    lambda_max: float
    consistency_index: float
    random_index: float
    consistency_ratio: float

    @property
    def acceptable(self) -> bool:
        """True when the consistency ratio is below Saaty's 0.1."""
        return self.consistency_ratio < MAX_CONSISTENCY_RATIO

    def summary(self) -> pd.DataFrame:
        """Weights with the consistency figures as a small table."""
        out = self.weights.rename("weight").to_frame()
        out.index.name = "criterion"
        return out

    def consistency(self) -> dict:
        """lambda_max, CI, RI and CR as plain floats."""
        return {
            "n": int(len(self.weights)),
            "lambda_max": float(self.lambda_max),
            "consistency_index": float(self.consistency_index),
            "random_index": float(self.random_index),
            "consistency_ratio": float(self.consistency_ratio),
        }


def _entry(value, i: int, j: int, source: str) -> float:
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(Fraction(text))
        except (ValueError, ZeroDivisionError):
            raise ValueError(
                f"{source}: entry [{i}, {j}] = {value!r} is not a number or a fraction such as '1/3'"
            ) from None
    if isinstance(value, bool | np.bool_):
        raise ValueError(f"{source}: entry [{i}, {j}] = {value!r} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{source}: entry [{i}, {j}] = {value!r} is not a number") from None


def pairwise_matrix(
    matrix,
    labels: Sequence[str] | None = None,
    *,
    source: str = "AHP pairwise comparison matrix",
    tol: float = RECIPROCAL_TOL,
) -> pd.DataFrame:
    """Validate a pairwise comparison matrix and return it as a labelled float DataFrame.

    Parameters
    ----------
    matrix : array-like, list of lists or DataFrame
        Square matrix; entries are numbers or fraction strings (``"1/3"``), so that a
        notebook parameter can hold it as literals.
    labels : sequence of str, optional
        Criterion names (default: the DataFrame's index, else ``c1, c2, ...``).
    tol : float
        Largest ``|a_ij * a_ji - 1|`` accepted as reciprocal.

    Raises
    ------
    ValueError
        When the matrix is not square, has non-numeric, missing, zero or negative
        entries, a diagonal other than 1, or is not reciprocal; the message names the
        offending entries.
    """
    if isinstance(matrix, pd.DataFrame):
        if labels is None:
            labels = [str(c) for c in matrix.index]
        rows = matrix.to_numpy().tolist()
    else:
        rows = np.asarray(matrix, dtype=object).tolist() if not isinstance(matrix, list) else matrix
    if not isinstance(rows, list) or not rows or not all(isinstance(r, list | tuple) for r in rows):
        raise ValueError(f"{source}: expected a square matrix (a list of rows), got {matrix!r}")
    n = len(rows)
    lengths = [len(r) for r in rows]
    if any(ln != n for ln in lengths):
        raise ValueError(
            f"{source}: the matrix is not square: {n} rows with lengths {lengths}; "
            f"each row needs {n} entries"
        )
    a = np.array([[_entry(v, i, j, source) for j, v in enumerate(r)] for i, r in enumerate(rows)])
    if labels is None:
        labels = [f"c{i + 1}" for i in range(n)]
    labels = [str(x) for x in labels]
    if len(labels) != n:
        raise ValueError(f"{source}: {len(labels)} labels {labels} for a {n} x {n} matrix")
    bad = ~np.isfinite(a) | (a <= 0)
    if bad.any():
        where = [
            f"[{labels[i]}, {labels[j]}] = {a[i, j]!r}"
            for i, j in zip(*np.nonzero(bad), strict=True)
        ]
        raise ValueError(
            f"{source}: entries must be positive finite numbers (Saaty's scale 1/9..9); "
            f"offending: {', '.join(where[:10])}"
        )
    diag = ~np.isclose(np.diag(a), 1.0)
    if diag.any():
        where = [f"[{labels[i]}, {labels[i]}] = {a[i, i]!r}" for i in np.flatnonzero(diag)]
        raise ValueError(f"{source}: the diagonal must be 1; offending: {', '.join(where)}")
    dev = np.abs(a * a.T - 1.0)
    iu = np.triu(dev > tol, k=1)
    if iu.any():
        where = [
            f"[{labels[i]}, {labels[j]}] = {a[i, j]:.4g} but [{labels[j]}, {labels[i]}] = "
            f"{a[j, i]:.4g} (should be {1 / a[i, j]:.4g})"
            for i, j in zip(*np.nonzero(iu), strict=True)
        ]
        raise ValueError(
            f"{source}: the matrix is not reciprocal (a[j, i] must equal 1 / a[i, j]); "
            f"offending: {'; '.join(where[:10])}"
        )
    return pd.DataFrame(a, index=labels, columns=labels)


def ahp_weights(
    matrix,
    labels: Sequence[str] | None = None,
    *,
    max_cr: float | None = MAX_CONSISTENCY_RATIO,
    source: str = "AHP pairwise comparison matrix",
) -> AHPResult:
    """AHP weights (principal eigenvector) and Saaty's consistency ratio.

    Parameters
    ----------
    matrix : array-like, list of lists or DataFrame
        Pairwise comparison matrix, see :func:`pairwise_matrix`.
    labels : sequence of str, optional
        Criterion names.
    max_cr : float or None
        Refuse (raise :class:`AHPInconsistentError`) a matrix whose consistency ratio is
        ``>= max_cr`` (Saaty's 0.1). ``None`` computes without refusing.

    Returns
    -------
    AHPResult

    Notes
    -----
    The weights solve ``A w = lambda_max w`` for the largest eigenvalue (Saaty 1977);
    by the Perron-Frobenius theorem this eigenvector of a positive matrix can be taken
    positive. ``CR = ((lambda_max - n) / (n - 1)) / RI(n)`` with Saaty's random index
    (:data:`RANDOM_INDEX`, Saaty 1980).
    """
    a_df = pairwise_matrix(matrix, labels, source=source)
    a = a_df.to_numpy()
    n = a.shape[0]
    if n > max(RANDOM_INDEX):
        raise ValueError(
            f"{source}: {n} criteria; Saaty's random index table covers n <= {max(RANDOM_INDEX)} "
            "(group the criteria in a hierarchy instead)"
        )
    vals, vecs = np.linalg.eig(a)
    k = int(np.argmax(vals.real))
    lam = float(vals[k].real)
    vec = np.abs(vecs[:, k].real)
    w = vec / vec.sum()
    ci = (lam - n) / (n - 1) if n > 1 else 0.0
    ci = max(ci, 0.0)  # lambda_max >= n in exact arithmetic; remove rounding noise
    ri = RANDOM_INDEX[n]
    cr = ci / ri if ri > 0 else 0.0
    result = AHPResult(
        matrix=a_df,
        weights=pd.Series(w, index=a_df.index, name="weight"),
        lambda_max=lam,
        consistency_index=ci,
        random_index=ri,
        consistency_ratio=cr,
    )
    if max_cr is not None and cr >= max_cr:
        raise AHPInconsistentError(
            f"{source}: consistency ratio CR = {cr:.3f} >= {max_cr} (lambda_max = {lam:.3f}, "
            f"CI = {ci:.3f}, RI({n}) = {ri}); Saaty's rule refuses these judgements as too "
            "inconsistent: revise the pairwise comparisons (e.g. if L > R and R > F, then "
            "L should be > F by about the product of the two)"
        )
    return result


__all__ = [
    "AHPInconsistentError",
    "AHPResult",
    "MAX_CONSISTENCY_RATIO",
    "RANDOM_INDEX",
    "ahp_weights",
    "pairwise_matrix",
]
