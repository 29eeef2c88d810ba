"""k-means on standardised LRFMC: the model, the choice of k and stability."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)
from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

from ..data import schema as S
from .features import LRFMC, check_lrfmc, fit_scaler, population_z


# ----------------------------------------------------------------------------------------
# k-means
# ----------------------------------------------------------------------------------------
def _check_k(k: int, Z: np.ndarray, source: str, distinct: int | None = None) -> None:
    """Refuse a k below 2 or above the number of distinct rows (``distinct``, counted
    here when not given)."""
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 2:
        raise ValueError(f"{source}: the number of clusters k must be an integer >= 2, got {k!r}")
    distinct = len(np.unique(Z, axis=0)) if distinct is None else distinct
    if k > distinct:
        raise ValueError(
            f"{source}: k = {k} clusters but only {distinct} distinct members (distinct "
            f"L, R, F, M, C rows among {len(Z)}); choose k <= {distinct}"
        )


def _subsample(Z: np.ndarray, sample: int | None, seed: int) -> np.ndarray:
    """``sample`` rows of ``Z`` drawn with ``seed`` (in their order), or all of them."""
    if sample is None or len(Z) <= sample:
        return Z
    return Z[np.sort(np.random.default_rng(seed).choice(len(Z), size=int(sample), replace=False))]


def _kmeans(Z: np.ndarray, k: int, n_init: int, seed: int, n_threads: int | None) -> KMeans:
    km = KMeans(n_clusters=int(k), n_init=int(n_init), random_state=int(seed))
    with threadpool_limits(limits=n_threads):
        km.fit(Z)
    return km


@dataclass(repr=False)
class LRFMCKMeans(BaseEstimator):
    """k-means on standardised L, R, F, M, C (fit returns self, fitted state ends in _).

    Parameters
    ----------
    k : int
        Number of clusters (the textbook's 5).
    n_init : int
        k-means restarts; the best (lowest inertia) is kept. Explicit because the
        result depends on it and scikit-learn changed its default (10 -> "auto", which
        is 1 for k-means++ since version 1.4).
    seed : int
        Seed of the k-means++ initialisation.
    standardize : {"zscore", "log_zscore", "none"}
        See :class:`Scaler`.
    ddof : {0, 1}
        Degrees of freedom of the standard deviation in the z-scores.
    n_threads : int or None
        OpenMP/BLAS threads for the fit (1 is fastest for five variables: threading
        overhead dominates; None leaves the library default).

    Attributes
    ----------
    labels_ : Series
        Cluster (0..k-1) of each member, indexed by member id.
    centers_std_ : DataFrame
        Centres in the standardised space.
    centers_ : DataFrame
        Cluster means in natural units (months, flights, km, discount).
    centers_z_ : DataFrame
        Cluster means as z-scores of the population (ddof as given), the basis of the
        naming rules whatever the standardisation.
    sizes_ : Series
        Members per cluster.
    inertia_ : float
        Within-cluster sum of squares in the standardised space.
    scaler_ : Scaler
    model_ : sklearn.cluster.KMeans
    """

    k: int = 5
    n_init: int = 10
    seed: int = 42
    standardize: str = "zscore"
    ddof: int = 1
    n_threads: int | None = 1
    source: str = "LRFMC table"
    labels_: pd.Series = field(init=False, repr=False)

    def fit(self, X: pd.DataFrame) -> LRFMCKMeans:
        Xf = check_lrfmc(X, source=self.source)
        ids = X[S.MEMBER] if S.MEMBER in X.columns else pd.Series(X.index, index=X.index)
        self.scaler_ = fit_scaler(Xf, self.standardize, self.ddof)
        Z = self.scaler_.transform(Xf).to_numpy()
        _check_k(self.k, Z, self.source)
        if not isinstance(self.n_init, int | np.integer) or self.n_init < 1:
            raise ValueError(
                f"{self.source}: n_init must be a positive integer, got {self.n_init!r}"
            )
        self.model_ = _kmeans(Z, self.k, self.n_init, self.seed, self.n_threads)
        labels = self.model_.labels_.astype(int)
        self.labels_ = pd.Series(
            labels, index=pd.Index(ids.to_numpy(), name=S.MEMBER), name="cluster"
        )
        self.centers_std_ = pd.DataFrame(
            self.model_.cluster_centers_, columns=list(LRFMC)
        ).rename_axis("cluster")
        self.centers_ = Xf.groupby(labels).mean().reindex(range(self.k)).rename_axis("cluster")
        self.centers_z_ = population_z(self.centers_, Xf, self.ddof)
        self.sizes_ = pd.Series(np.bincount(labels, minlength=self.k), name="n").rename_axis(
            "cluster"
        )
        self.inertia_ = float(self.model_.inertia_)
        self.n_iter_ = int(self.model_.n_iter_)
        return self

    @property
    def verdict_(self):
        """The fit's verdict (:class:`crm_research.clv.verdict.FitVerdict`).

        ``converged`` when the best of the ``n_init`` runs stopped before scikit-learn's
        ``max_iter``; ``failed`` when it did not (the partition may still move);
        ``at_bound`` when a cluster is empty (the data do not support ``k`` groups).
        """
        from ..clv.verdict import FitVerdict  # noqa: PLC0415

        name = f"k-means (k = {self.k})"
        empty = [str(c) for c, n in self.sizes_.items() if n == 0]
        if empty:
            return FitVerdict(name, "at_bound", detail="empty cluster(s)", parameters=tuple(empty))
        max_iter = int(getattr(self.model_, "max_iter", 300))
        if self.n_iter_ >= max_iter:
            return FitVerdict(name, "failed", detail=f"no convergence within {max_iter} iterations")
        return FitVerdict(
            name, "converged", detail=f"{self.n_iter_} iterations, best of {self.n_init} starts"
        )

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Standardise ``X`` with the fitted scaler."""
        return self.scaler_.transform(check_lrfmc(X, source=self.source))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Nearest fitted centre for each row of ``X``."""
        with threadpool_limits(limits=self.n_threads):
            return self.model_.predict(self.transform(X).to_numpy())

    def profile(self) -> pd.DataFrame:
        """Per cluster: size, share, centre in natural units and in population z-scores."""
        nat = self.centers_.add_suffix(" (mean)")
        z = self.centers_z_.add_suffix(" (z)")
        out = pd.concat(
            [self.sizes_, (self.sizes_ / self.sizes_.sum()).rename("share"), nat, z], axis=1
        )
        return out


def cluster_lrfmc(
    X: pd.DataFrame,
    k: int = 5,
    *,
    n_init: int = 10,
    seed: int = 42,
    standardize: str = "zscore",
    ddof: int = 1,
    n_threads: int | None = 1,
    source: str = "LRFMC table",
) -> LRFMCKMeans:
    """Cluster any table with columns L, R, F, M, C by k-means; see :class:`LRFMCKMeans`.

    Examples
    --------
    >>> model = cluster_lrfmc(features, k=5, n_init=10, seed=42)  # doctest: +SKIP
    >>> model.profile()  # doctest: +SKIP
    """
    return LRFMCKMeans(
        k=k,
        n_init=n_init,
        seed=seed,
        standardize=standardize,
        ddof=ddof,
        n_threads=n_threads,
        source=source,
    ).fit(X)


def k_selection(
    X: pd.DataFrame,
    ks: Iterable[int] = range(2, 11),
    *,
    n_init: int = 10,
    seed: int = 42,
    standardize: str = "zscore",
    ddof: int = 1,
    silhouette_sample: int | None = 5000,
    sample: int | None = 20_000,
    n_threads: int | None = 1,
    source: str = "LRFMC table",
) -> pd.DataFrame:
    """Criteria for choosing k: inertia, silhouette, Calinski-Harabasz, Davies-Bouldin.

    With more than ``sample`` members (None: never) the k-means fits and the criteria
    use a random subsample of ``sample`` members (drawn with ``seed``), standardised
    with the whole population's mean and SD. Choosing k needs the shape of the
    criteria, not every member: on the 44,000 segmented members of the default
    simulation the subsample of 20,000 gives the same best k by every criterion
    (``benchmarks/bench_segmentation.py`` prints both; ``tests/test_segmentation.py``
    checks it on a smaller simulation). ``inertia`` is per member times the number of
    members, so it stays on the scale of the whole data.

    Inertia (the within-cluster sum of squares) always falls with k: look for the elbow.
    Silhouette (Rousseeuw 1987; -1..1, higher is better) is computed on a random sample
    of ``silhouette_sample`` members when the data are larger (its cost is quadratic);
    Calinski-Harabasz (higher is better) and Davies-Bouldin (lower is better) use every
    member. All are computed in the standardised space.

    Returns
    -------
    DataFrame
        Index ``k``; columns ``inertia, silhouette, calinski_harabasz, davies_bouldin``.
    """
    Xf = check_lrfmc(X, source=source)
    Z = fit_scaler(Xf, standardize, ddof).transform(Xf).to_numpy()
    n_all = len(Z)
    Z = _subsample(Z, sample, seed)
    rows = []
    rows_s, D = _silhouette_sample(Z, silhouette_sample, seed, n_threads)
    distinct = len(np.unique(Z, axis=0))  # once, not once per k
    for k in ks:
        _check_k(k, Z, source, distinct)
        km = _kmeans(Z, k, n_init, seed, n_threads)
        lab = km.labels_
        with threadpool_limits(limits=n_threads):
            if D is None:
                sil = silhouette_score(Z[rows_s], lab[rows_s])
            else:
                sil = silhouette_from_distances(D, lab[rows_s])
            ch = calinski_harabasz_score(Z, lab)
            db = davies_bouldin_score(Z, lab)
        inertia = float(km.inertia_) * n_all / len(Z)
        rows.append((int(k), inertia, float(sil), float(ch), float(db)))
    return pd.DataFrame(
        rows, columns=["k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin"]
    ).set_index("k")


#: Largest silhouette sample whose distance matrix is kept for every k (6,000 members:
#: 0.29 GB); the notebook's default sample is 5,000.
SILHOUETTE_MATRIX_MAX = 6_000


def _silhouette_sample(
    Z: np.ndarray, sample: int | None, seed: int, n_threads: int | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The members the silhouette is computed on and their distance matrix.

    The same members as ``sklearn.metrics.silhouette_score(Z, labels,
    sample_size=sample, random_state=seed)`` draws (the first ``sample`` of a permutation
    drawn with ``seed``; every member when ``Z`` has no more rows): that draw does not
    depend on the labels, so the distances are computed once for every k instead of
    once per k (about 0.4 s per k on 5,000 members; issue 12), and
    :func:`silhouette_from_distances` sums them by cluster in one matrix product. Above
    ``SILHOUETTE_MATRIX_MAX`` members the matrix is not kept (its memory: 8 bytes per
    pair) and the distances are computed per k, in scikit-learn's chunks, as before.
    """
    from sklearn.metrics import pairwise_distances
    from sklearn.utils import check_random_state

    rows = np.arange(len(Z))
    if sample and len(Z) > sample:
        rows = check_random_state(seed).permutation(len(Z))[: int(sample)]
    if len(rows) > SILHOUETTE_MATRIX_MAX:
        return rows, None
    with threadpool_limits(limits=n_threads):
        D = pairwise_distances(Z[rows])
    return rows, D


def silhouette_from_distances(D: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette (Rousseeuw 1987) of ``labels`` given the distance matrix ``D``.

    What ``sklearn.metrics.silhouette_score(D, labels, metric="precomputed")`` returns
    (a member alone in its cluster scores 0), with the distances summed by cluster in
    one matrix product ``D @ onehot(labels)`` instead of scikit-learn's loop of one
    ``bincount`` per member (0.1 s per call on 5,000 members; it was 0.1 s for every 500
    members). Equal to scikit-learn's to rounding (``tests/test_segmentation.py``).
    """
    D = np.asarray(D, dtype=float)
    _, inv, counts = np.unique(np.asarray(labels), return_inverse=True, return_counts=True)
    n, n_labels = len(inv), len(counts)
    if not 2 <= n_labels <= n - 1:
        raise ValueError(
            f"Number of labels is {n_labels}. Valid values are 2 to n_samples - 1 (inclusive)"
        )
    onehot = np.zeros((n, n_labels))
    onehot[np.arange(n), inv] = 1.0
    sums = D @ onehot  # distance of each member to all members of each cluster
    own = counts[inv]
    with np.errstate(divide="ignore", invalid="ignore"):
        intra = sums[np.arange(n), inv] / (own - 1)
        means = sums / counts
        means[np.arange(n), inv] = np.inf
        inter = means.min(axis=1)
        sil = (inter - intra) / np.maximum(intra, inter)
    return float(np.mean(np.nan_to_num(sil)))


def matched_disagreement(a: np.ndarray, b: np.ndarray) -> int:
    """Members in a different group after matching the cluster numbers of ``b`` to ``a``.

    Cluster numbers are arbitrary; the Hungarian algorithm pairs the clusters of the two
    partitions to maximise agreement, and the rest are the members that "moved".
    """
    a = np.asarray(a)
    b = np.asarray(b)
    ua, ia = np.unique(a, return_inverse=True)
    ub, ib = np.unique(b, return_inverse=True)
    table = np.zeros((len(ua), len(ub)), dtype=np.int64)
    np.add.at(table, (ia, ib), 1)
    r, c = linear_sum_assignment(-table)
    return int(len(a) - table[r, c].sum())


def stability(
    X: pd.DataFrame,
    k: int = 5,
    *,
    n_seeds: int = 5,
    n_boot: int = 5,
    n_init: int = 10,
    seed: int = 42,
    standardize: str = "zscore",
    ddof: int = 1,
    sample: int | None = 20_000,
    n_threads: int | None = 1,
    source: str = "LRFMC table",
) -> pd.DataFrame:
    """How stable the k groups are: adjusted Rand index against a reference clustering.

    With more than ``sample`` members (None: never) every run, the reference included,
    uses one random subsample of ``sample`` members (drawn with ``seed``, standardised
    with the whole population's mean and SD), as :func:`k_selection` does: the
    stability of the partition, not of every member's label, is the question
    (``benchmarks/bench_segmentation.py`` prints the ARIs and times of both).

    The reference is the fit with ``seed``. ``seed`` runs refit on the same members with
    other seeds; ``bootstrap`` runs refit on a bootstrap sample of the members (drawn
    with replacement) and assign every member to the nearest of the new centres. The
    adjusted Rand index (Hubert & Arabie 1985) is 1 for identical partitions and about 0
    for chance agreement; ``moved`` counts the members that change group after matching
    the cluster numbers (:func:`matched_disagreement`).

    Returns
    -------
    DataFrame
        ``kind, rep, seed, ari, moved, moved_share`` per run.
    """
    Xf = check_lrfmc(X, source=source)
    scaler = fit_scaler(Xf, standardize, ddof)
    Z = scaler.transform(Xf).to_numpy()
    Z = _subsample(Z, sample, seed)
    _check_k(k, Z, source)
    ref = _kmeans(Z, k, n_init, seed, n_threads).labels_
    rng = np.random.default_rng(seed)
    rows = []
    run_seeds = rng.integers(0, 2**31 - 1, size=n_seeds + n_boot)
    for i in range(n_seeds):
        s = int(run_seeds[i])
        lab = _kmeans(Z, k, n_init, s, n_threads).labels_
        moved = matched_disagreement(ref, lab)
        rows.append(("seed", i + 1, s, adjusted_rand_score(ref, lab), moved, moved / len(Z)))
    for i in range(n_boot):
        s = int(run_seeds[n_seeds + i])
        idx = np.random.default_rng(s).integers(0, len(Z), size=len(Z))
        Zb = Z[idx]
        if len(np.unique(Zb, axis=0)) < k:
            continue
        km = _kmeans(Zb, k, n_init, s, n_threads)
        with threadpool_limits(limits=n_threads):
            lab = km.predict(Z)
        moved = matched_disagreement(ref, lab)
        rows.append(("bootstrap", i + 1, s, adjusted_rand_score(ref, lab), moved, moved / len(Z)))
    return pd.DataFrame(rows, columns=["kind", "rep", "seed", "ari", "moved", "moved_share"])
