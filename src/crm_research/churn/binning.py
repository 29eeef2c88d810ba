"""Scikit-learn's weighted feature binning for gradient boosting, in one pass per feature.

``HistGradientBoostingClassifier`` first cuts every feature into at most 255 bins at
weighted quantiles when it is given sample weights (our ``class_weight="balanced"``)
and has at most 200,000 training rows. scikit-learn 1.7+ computes those 254 quantiles
of a feature with 254 separate calls of ``sklearn.utils.stats._weighted_percentile``,
each of which sorts the whole column again and builds its cumulative weights again.
On notebook 05's 26,000 training members that is three quarters of the whole fit
(1.5 s of 2 s). The function itself accepts all quantiles at once and then sorts once:
:func:`weighted_binning_in_one_pass` lets the first call for a column compute the
whole grid in that one call and answers the other 253 from it. The per-quantile
arithmetic is the library's own, so the thresholds, the trees and every prediction
are bit-for-bit those of the plain fit (``tests/test_churn.py`` checks it).

Anything the shortcut does not recognise (another scikit-learn layout, a 2-D array, a
quantile off the grid, an array-API namespace) goes to the library's function
unchanged: the fallback is the library's own path, only slower.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import numpy as np


@contextlib.contextmanager
def weighted_binning_in_one_pass(max_bins: int = 255) -> Iterator[bool]:
    """Within the block, gradient boosting's weighted binning sorts each feature once.

    Parameters
    ----------
    max_bins : int
        The estimator's ``max_bins`` (scikit-learn's default 255): the binning asks for
        the quantiles ``linspace(0, 100, max_bins + 1)[1:-1]``.

    Yields
    ------
    bool
        Whether the shortcut is in place (False: this scikit-learn has no such function,
        and the block runs the library's own code).
    """
    try:
        from sklearn.ensemble._hist_gradient_boosting import binning  # noqa: PLC0415

        original = binning._weighted_percentile
    except (ImportError, AttributeError):
        yield False
        return
    grid = np.linspace(0, 100, num=max_bins + 1)[1:-1]
    lock = threading.Lock()
    memo: dict = {}

    def one_pass(array, sample_weight, percentile_rank=50, average=False, xp=None):
        if (
            xp is not None
            or np.ndim(percentile_rank) != 0
            or not isinstance(array, np.ndarray)
            or array.ndim != 1
            or not isinstance(sample_weight, np.ndarray)
        ):
            return original(array, sample_weight, percentile_rank, average=average, xp=xp)
        key = (id(array), id(sample_weight), bool(average))
        with lock:
            hit = memo.get(key)
        # the memo holds the arrays themselves, so their ids cannot be reused meanwhile
        if hit is None or hit[0] is not array or hit[1] is not sample_weight:
            values = _grid_percentiles(array, sample_weight, grid, average)
            if values is None:
                values = np.asarray(original(array, sample_weight, grid, average=average))
            hit = (array, sample_weight, dict(zip(grid.tolist(), values, strict=True)))
            with lock:
                memo[key] = hit
        value = hit[2].get(float(percentile_rank))
        if value is None:
            return original(array, sample_weight, percentile_rank, average=average)
        return value

    binning._weighted_percentile = one_pass
    try:
        yield True
    finally:
        binning._weighted_percentile = original
        memo.clear()


def _grid_percentiles(array: np.ndarray, weight: np.ndarray, ranks: np.ndarray, average: bool):
    """``_weighted_percentile(array, weight, ranks, average)`` of scikit-learn 1.8-1.9 for
    a 1-D float array, every rank in one vectorised step (the library loops over ranks).

    The same operations in the same order: an unstable argsort, the cumulative weights,
    ``rank / 100 * total``, a left ``searchsorted``, and with ``average`` the mean of the
    value and the next one where the rank falls on a step of the weighted CDF. None
    (the caller then uses the library) for what this copy leaves out: NaN values, zero
    or non-finite weights, a non-float array, or no rows.
    """
    if (
        array.dtype != np.float64
        or weight.shape != array.shape
        or array.size == 0
        or np.isnan(array).any()
        or not (np.isfinite(weight).all() and (weight > 0).all())
    ):
        return None
    weight = weight.astype(np.float64, copy=False)
    order = np.argsort(array, axis=0)
    cdf = np.cumsum(weight[order])
    target = ranks / 100 * cdf[-1]
    zero = target == 0
    target[zero] = np.nextafter(target[zero], target[zero] + 1)
    last = len(array) - 1
    at = np.clip(np.searchsorted(cdf, target), 0, last)
    value = array[order[at]]
    if not average:
        return value
    above = (cdf[at] - target) > np.finfo(np.float64).eps
    following = array[order[np.clip(at + 1, 0, last)]]
    return np.where(above, value, (value + following) / 2)
