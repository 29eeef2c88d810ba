"""LRFMC segmentation of frequent-flyer members and the AHP customer value score.

The airline version of RFM (DOMAIN.md) describes each member by five variables taken
from the member snapshot at the observation end:

====  ==================================================  ============================
L     length of membership: ``(LOAD_TIME - FFP_DATE)``     months (days / 30)
R     recency: ``LAST_TO_END``                             months (days / 30)
F     frequency: ``FLIGHT_COUNT`` in the two-year window   flights
M     mileage: ``SEG_KM_SUM`` in the window                km
C     average discount coefficient ``avg_discount``        1.0 = full fare
====  ==================================================  ============================

The variables are standardised and clustered by k-means (k = 5 in the textbook); each
cluster is then named as one of the five member classes of the source paper by
transparent rules on its centre (:func:`name_clusters`). :func:`value_score` combines
the five variables into one customer value score with weights from the analytic
hierarchy process (:mod:`crm_research.ahp`), as the paper proposes, and
:func:`true_future_value` gives, on simulated data, each member's true expected value
to compare the surrogate rankings with.

Every step works on any table with columns ``L, R, F, M, C`` (member ids in a
``MEMBER_NO`` column or the index), so data from elsewhere can be fed to
:func:`cluster_lrfmc`, :func:`name_clusters` and :func:`value_score` directly.

References
----------
Hughes, A. M. (1994). *Strategic Database Marketing*. Probus (RFM).
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy
    way: an alternative to the Pareto/NBD model. *Marketing Science*, 24(2), 275-284.
Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your customers: who
    are they and what will they do next? *Management Science*, 33(1), 1-24.
Rousseeuw, P. J. (1987). Silhouettes. *J. Comput. Appl. Math.*, 20, 53-65.
Calinski, T. & Harabasz, J. (1974). A dendrite method for cluster analysis.
    *Communications in Statistics*, 3(1), 1-27.
Davies, D. L. & Bouldin, D. W. (1979). A cluster separation measure. *IEEE TPAMI*,
    1(2), 224-227.
Hubert, L. & Arabie, P. (1985). Comparing partitions. *J. Classification*, 2, 193-218.
Saaty, T. L. (1980). *The Analytic Hierarchy Process*. McGraw-Hill.
Zhang, L. et al. *Python数据分析与挖掘实战* (Python data analysis and mining in
    practice), chapter 7 "airline customer value analysis": the textbook case and its
    cleaning rules.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)
from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

from ..data import schema as S
from ..data.schema import DataValidationError

LRFMC = ("L", "R", "F", "M", "C")
DAYS_PER_MONTH = 30.0

#: Where each variable comes from in the member snapshot, and its unit.
FEATURE_DEFINITIONS = pd.DataFrame(
    {
        "variable": list(LRFMC),
        "meaning": [
            "length of membership",
            "recency (time since the last flight)",
            "frequency (flights in the two-year window)",
            "mileage flown in the window",
            "average discount coefficient of the fares flown",
        ],
        "formula": [
            "(LOAD_TIME - FFP_DATE) in days / 30",
            "LAST_TO_END in days / 30",
            "FLIGHT_COUNT",
            "SEG_KM_SUM",
            "avg_discount",
        ],
        "unit": ["months", "months", "flights", "km", "1.0 = full fare"],
    }
).set_index("variable")

CLEANING_RULES = ("first_edition", "second_edition", "none")
STANDARDIZE = ("zscore", "log_zscore", "none")

#: The five member classes of the source paper (DOMAIN.md): English key, readable
#: English name, the textbook's Chinese name, lifecycle stage, strategy, and the order
#: of value the classes imply (used only to rank-correlate classes with values).
SEGMENTS = pd.DataFrame(
    [
        (
            "important_retain",
            "Important - retain",
            "重要保持客户",
            "stability",
            "the most valuable, a small share: priority resources, one-to-one marketing, "
            "keep their high spend as long as possible",
            5,
        ),
        (
            "important_develop",
            "Important - develop",
            "重要发展客户",
            "development",
            "growth potential: tier upgrade/retention nudges before the tier review, first "
            "award redemption, co-branded cards and partner earning to raise share of wallet",
            4,
        ),
        (
            "important_winback",
            "Important - win back",
            "重要挽留客户",
            "decline",
            "uncertain value: contact lists and visit plans ranked by churn likelihood; win "
            "them back before they are lost",
            3,
        ),
        (
            "general",
            "General",
            "一般客户",
            "n/a",
            "standard service, nudge upward",
            2,
        ),
        ("low_value", "Low value", "低价值客户", "n/a", "minimal spend", 1),
        (
            "unassigned",
            "Unassigned (fits no class)",
            "未归类",
            "n/a",
            "inspect the cluster: its centre fits none of the five profiles",
            np.nan,
        ),
    ],
    columns=["segment", "segment_en", "segment_zh", "lifecycle_stage", "strategy", "value_order"],
).set_index("segment")

SEGMENT_COLUMNS = (
    "MEMBER_NO",
    *LRFMC,
    "cluster",
    "segment",
    "segment_en",
    "segment_zh",
    "lifecycle_stage",
    "strategy",
    "value_score",
)


# ----------------------------------------------------------------------------------------
# availability and cleaning
# ----------------------------------------------------------------------------------------
_SNAPSHOT_NEEDS = (
    "MEMBER_NO",
    "FFP_DATE",
    "LOAD_TIME",
    "LAST_TO_END",
    "FLIGHT_COUNT",
    "SEG_KM_SUM",
    "avg_discount",
)


def lrfmc_available(snapshot: pd.DataFrame) -> tuple[bool, str]:
    """Whether the member snapshot can give L, R, F, M and C, and if not, why.

    The CDNOW data, for instance, has no enrolment date, mileage or fare discount.
    """
    missing = [c for c in _SNAPSHOT_NEEDS if c not in snapshot.columns]
    if missing:
        return False, (
            f"the member snapshot has no column(s) {missing}: LRFMC needs the enrolment date "
            "(L), mileage (M) and fare discount (C) of a frequent-flyer programme"
        )
    empty = [c for c in _SNAPSHOT_NEEDS if snapshot[c].isna().all()]
    if empty:
        return False, f"the member snapshot's column(s) {empty} hold no values"
    if len(snapshot) == 0:
        return False, "the member snapshot has no rows"
    return True, "the snapshot has every column LRFMC needs"


def _textbook_cleaner():
    """``crm_research.data.textbook.clean_textbook`` if that module exists, else None."""
    try:
        mod = importlib.import_module("crm_research.data.textbook")
    except ImportError:
        return None
    return getattr(mod, "clean_textbook", None)


def _fallback_clean(df: pd.DataFrame, rule: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The textbook's cleaning rules (Zhang et al., ch. 7), used when
    ``crm_research.data.textbook`` is not available.

    ``first_edition``: drop members with a missing fare (SUM_YR_1 or SUM_YR_2), then keep
    those with a non-zero fare in either year or with zero mileage and zero discount.
    ``second_edition``: drop members with a missing fare, keep those with a non-zero fare
    in either year, positive mileage and a non-zero discount, and drop ages over 100.
    """
    steps = []
    out = df
    fare = [c for c in ("SUM_YR_1", "SUM_YR_2") if c in out.columns]

    def step(name, keep):
        nonlocal out
        keep = pd.Series(keep, index=out.index).fillna(False).astype(bool)
        steps.append((name, int((~keep).sum())))
        out = out.loc[keep]

    if rule == "none":
        return out, pd.DataFrame(steps, columns=["step", "removed"])
    if len(fare) == 2:
        step("missing fare (SUM_YR_1 or SUM_YR_2)", out[fare].notna().all(axis=1))
        nonzero = (out["SUM_YR_1"] != 0) | (out["SUM_YR_2"] != 0)
    else:
        nonzero = pd.Series(True, index=out.index)
        steps.append(("fare columns SUM_YR_1/SUM_YR_2 absent: fare rules skipped", 0))
    km = out["SEG_KM_SUM"]
    disc = out["avg_discount"]
    if rule == "first_edition":
        step(
            "zero fare in both years unless mileage and discount are both zero",
            nonzero | ((km == 0) & (disc == 0)),
        )
    elif rule == "second_edition":
        step("zero fare in both years", nonzero)
        step("zero mileage or zero discount", (km > 0) & (disc != 0))
        if "AGE" in out.columns:
            step("age over 100", ~(pd.to_numeric(out["AGE"], errors="coerce") > 100))
    return out, pd.DataFrame(steps, columns=["step", "removed"])


def clean_members(
    snapshot: pd.DataFrame, rule: str = "first_edition", *, source: str = "member snapshot"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Select the members that LRFMC can describe, with a report of what was removed.

    Two steps: the textbook's cleaning rule ``rule`` (``crm_research.data.textbook``
    ``clean_textbook`` when that module exists, else the same rules implemented here),
    then the removal of members with no flight in the two-year window
    (``FLIGHT_COUNT == 0``): they have no fare discount C, and their recency refers to a
    flight outside the window, so they cannot be placed among the five classes (they are
    lapsed members whatever the cluster).

    Parameters
    ----------
    snapshot : DataFrame
        The canonical member snapshot.
    rule : {"first_edition", "second_edition", "none"}
        The textbook's cleaning rule.

    Returns
    -------
    (DataFrame, DataFrame)
        The kept members, and a report with one row per step: ``step``, ``removed``,
        ``remaining`` and ``by`` (which implementation ran).
    """
    if rule not in CLEANING_RULES:
        raise ValueError(f"cleaning rule {rule!r} unknown; choose one of {CLEANING_RULES}")
    ok, why = lrfmc_available(snapshot)
    if not ok:
        raise DataValidationError(why, source=source)
    n0 = len(snapshot)
    cleaner = _textbook_cleaner()
    rows = [("members in the snapshot", 0, n0, "")]
    if cleaner is not None and rule != "none":
        kept, their = cleaner(snapshot, rule=rule)
        by = "crm_research.data.textbook.clean_textbook"
        if isinstance(their, Mapping) and isinstance(their.get("steps"), list):
            steps = [(st["step"], st["dropped"]) for st in their["steps"]]
        elif isinstance(their, pd.DataFrame) and {"step", "removed"} <= set(their.columns):
            steps = their[["step", "removed"]].itertuples(index=False)
        else:
            steps = [(f"textbook rule {rule!r}", n0 - len(kept))]
    else:
        kept, rep = _fallback_clean(snapshot, rule)
        by = "crm_research.segmentation (fallback: crm_research.data.textbook not found)"
        steps = rep.itertuples(index=False)
    remaining = n0
    for name, removed in steps:
        remaining -= int(removed)
        rows.append((f"textbook rule {rule}: {name}", int(removed), remaining, by))
    remaining = len(kept)
    fc = pd.to_numeric(kept["FLIGHT_COUNT"], errors="coerce")
    no_flight = fc == 0
    rows.append(
        (
            "no flight in the two-year window (FLIGHT_COUNT == 0: no discount C)",
            int(no_flight.sum()),
            remaining - int(no_flight.sum()),
            "crm_research.segmentation",
        )
    )
    kept = kept.loc[~no_flight]
    report = pd.DataFrame(rows, columns=["step", "removed", "remaining", "by"])
    return kept, report


# ----------------------------------------------------------------------------------------
# features
# ----------------------------------------------------------------------------------------
def _ids(df: pd.DataFrame) -> pd.Series:
    if S.MEMBER in df.columns:
        return df[S.MEMBER].reset_index(drop=True)
    return pd.Series(df.index, name=S.MEMBER)


def _numeric_by_member(raw: pd.Series, ids: pd.Series, source: str, column: str) -> pd.Series:
    """``raw`` as float; non-numeric entries raise, listed as ``member: value``."""
    num = raw if pd.api.types.is_numeric_dtype(raw) else pd.to_numeric(raw, errors="coerce")
    num = num.astype(float)
    bad = num.isna() & raw.notna()
    if bad.any():
        raise DataValidationError(
            "non-numeric values for these members (MEMBER_NO)",
            source=source,
            column=column,
            values=[f"{m}: {r!r}" for m, r in zip(ids[bad], raw[bad], strict=True)],
        )
    return num


def lrfmc_features(
    snapshot: pd.DataFrame,
    *,
    source: str = "member snapshot",
    days_per_month: float = DAYS_PER_MONTH,
) -> pd.DataFrame:
    """L, R, F, M, C of each member, with the textbook's definitions and units.

    ``L = (LOAD_TIME - FFP_DATE).days / 30`` (months), ``R = LAST_TO_END / 30`` (months),
    ``F = FLIGHT_COUNT``, ``M = SEG_KM_SUM`` (km), ``C = avg_discount``. Select members
    first (:func:`clean_members`): a member without a flight has no ``avg_discount``.

    Returns
    -------
    DataFrame
        ``MEMBER_NO, L, R, F, M, C`` (float), one row per member, in the input's order.

    Raises
    ------
    DataValidationError
        Missing columns; unparseable dates; missing or non-numeric values (naming the
        members); an enrolment after the observation end; negative R, F, M or C.
    """
    S.require_columns(snapshot, _SNAPSHOT_NEEDS, source)
    S.require_nonempty(snapshot, source)
    df = snapshot.reset_index(drop=True)
    ids = df[S.MEMBER]
    load = S.parse_dates(df, "LOAD_TIME", source, required=False)
    ffp = S.parse_dates(df, "FFP_DATE", source, required=False)
    for col, ser in (("LOAD_TIME", load), ("FFP_DATE", ffp)):
        if ser.isna().any():
            raise DataValidationError(
                "missing dates for these members (MEMBER_NO)",
                source=source,
                column=col,
                values=ids[ser.isna()].tolist(),
            )
    out = pd.DataFrame({S.MEMBER: ids})
    out["L"] = (load - ffp).dt.days.astype(float) / days_per_month
    for var, col, scale in (
        ("R", "LAST_TO_END", days_per_month),
        ("F", "FLIGHT_COUNT", 1.0),
        ("M", "SEG_KM_SUM", 1.0),
        ("C", "avg_discount", 1.0),
    ):
        raw = df[col]
        num = _numeric_by_member(raw, ids, source, col)
        if num.isna().any():
            hint = (
                "members without a flight in the window have no avg_discount: select "
                "members with clean_members() first"
                if col == "avg_discount"
                else None
            )
            raise DataValidationError(
                "missing values for these members (MEMBER_NO)",
                source=source,
                column=col,
                values=ids[num.isna()].tolist(),
                hint=hint,
            )
        out[var] = num / scale
    neg_l = out["L"] < 0
    if neg_l.any():
        raise DataValidationError(
            "enrolment date (FFP_DATE) after the observation end (LOAD_TIME) for these members",
            source=source,
            column="FFP_DATE",
            values=ids[neg_l].tolist(),
        )
    for var, col in (
        ("R", "LAST_TO_END"),
        ("F", "FLIGHT_COUNT"),
        ("M", "SEG_KM_SUM"),
        ("C", "avg_discount"),
    ):
        neg = out[var] < 0
        if neg.any():
            raise DataValidationError(
                "negative values for these members (MEMBER_NO)",
                source=source,
                column=col,
                values=ids[neg].tolist(),
            )
    return out


def feature_summary(features: pd.DataFrame) -> pd.DataFrame:
    """The five variables with unit, count, min, quartiles, max, mean and std (ddof=1)."""
    X = features[list(LRFMC)]
    desc = X.describe(percentiles=[0.25, 0.5, 0.75]).T
    desc = desc.rename(columns={"50%": "median", "25%": "q25", "75%": "q75"})
    out = FEATURE_DEFINITIONS[["meaning", "unit"]].join(desc)
    out["count"] = out["count"].astype(int)
    return out


def check_lrfmc(X: pd.DataFrame, *, source: str = "LRFMC table") -> pd.DataFrame:
    """Validate a table with columns L, R, F, M, C and return them as floats.

    Member ids are taken from a ``MEMBER_NO`` column, else from the index, and named in
    the errors. Raises :class:`DataValidationError` for missing columns, non-numeric or
    missing values, or a variable without variance (k-means and z-scores need spread).
    """
    if not isinstance(X, pd.DataFrame):
        raise DataValidationError(
            f"expected a DataFrame with columns {list(LRFMC)}, got {type(X).__name__}",
            source=source,
        )
    S.require_columns(X, LRFMC, source)
    S.require_nonempty(X, source)
    ids = X[S.MEMBER] if S.MEMBER in X.columns else pd.Series(X.index, index=X.index)
    out = pd.DataFrame(index=X.index)
    for v in LRFMC:
        raw = X[v]
        if pd.api.types.is_bool_dtype(raw):
            raise DataValidationError(
                "boolean values where numbers are needed", source=source, column=v
            )
        num = _numeric_by_member(raw, ids, source, v)
        miss = num.isna() | ~np.isfinite(num)
        if miss.any():
            raise DataValidationError(
                "missing or infinite values for these members",
                source=source,
                column=v,
                values=ids[miss].tolist(),
            )
        out[v] = num
    const = [v for v in LRFMC if out[v].nunique() < 2]
    if const:
        raise DataValidationError(
            "zero variance: every member has the same value "
            + ", ".join(f"{v} = {out[v].iloc[0]:g}" for v in const),
            source=source,
            column=const,
            hint="a constant variable cannot be standardised or separate clusters; drop it or check the data",
        )
    return out


# ----------------------------------------------------------------------------------------
# standardisation
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scaler:
    """Standardisation of the five variables: ``z = (t(x) - mean) / scale``.

    ``method``: ``zscore`` (t = identity), ``log_zscore`` (t = log1p on F and M, whose
    distributions are very skewed) or ``none`` (mean 0, scale 1). ``ddof``: degrees of
    freedom of the standard deviation; 1 (the sample standard deviation) reproduces the
    textbook's ``(x - x.mean()) / x.std()`` in pandas, 0 reproduces scikit-learn's
    ``StandardScaler``.
    """

    method: str
    ddof: int
    mean: pd.Series
    scale: pd.Series

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        T = _pre(X[list(LRFMC)].astype(float), self.method)
        return (T - self.mean) / self.scale


def _pre(X: pd.DataFrame, method: str) -> pd.DataFrame:
    if method == "log_zscore":
        for v in ("F", "M"):
            neg = X[v] < 0
            if neg.any():
                raise ValueError(
                    f"standardisation 'log_zscore' takes log(1 + x) of F and M, but {v} has "
                    f"negative values in rows {list(X.index[neg][:10])}"
                )
        X = X.copy()
        X["F"] = np.log1p(X["F"])
        X["M"] = np.log1p(X["M"])
    return X


def fit_scaler(X: pd.DataFrame, method: str = "zscore", ddof: int = 1) -> Scaler:
    """Fit a :class:`Scaler` on the L, R, F, M, C columns of ``X``."""
    if method not in STANDARDIZE:
        raise ValueError(f"standardisation {method!r} unknown; choose one of {STANDARDIZE}")
    if ddof not in (0, 1):
        raise ValueError(f"ddof must be 0 or 1, got {ddof!r}")
    T = _pre(X[list(LRFMC)].astype(float), method)
    if method == "none":
        mean = pd.Series(0.0, index=list(LRFMC))
        scale = pd.Series(1.0, index=list(LRFMC))
    else:
        mean = T.mean()
        scale = T.std(ddof=ddof)
    return Scaler(method, ddof, mean, scale)


def population_z(centres: pd.DataFrame, X: pd.DataFrame, ddof: int = 1) -> pd.DataFrame:
    """Express cluster centres (natural units) as z-scores of the member population."""
    Xf = X[list(LRFMC)].astype(float)
    return (centres[list(LRFMC)] - Xf.mean()) / Xf.std(ddof=ddof)


# ----------------------------------------------------------------------------------------
# k-means
# ----------------------------------------------------------------------------------------
def _check_k(k: int, Z: np.ndarray, source: str) -> None:
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 2:
        raise ValueError(f"{source}: the number of clusters k must be an integer >= 2, got {k!r}")
    distinct = len(np.unique(Z, axis=0))
    if k > distinct:
        raise ValueError(
            f"{source}: k = {k} clusters but only {distinct} distinct members (distinct "
            f"L, R, F, M, C rows among {len(Z)}); choose k <= {distinct}"
        )


def _kmeans(Z: np.ndarray, k: int, n_init: int, seed: int, n_threads: int | None) -> KMeans:
    km = KMeans(n_clusters=int(k), n_init=int(n_init), random_state=int(seed))
    with threadpool_limits(limits=n_threads):
        km.fit(Z)
    return km


@dataclass
class LRFMCKMeans:
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
    n_threads: int | None = 1,
    source: str = "LRFMC table",
) -> pd.DataFrame:
    """Criteria for choosing k: inertia, silhouette, Calinski-Harabasz, Davies-Bouldin.

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
    rows = []
    for k in ks:
        _check_k(k, Z, source)
        km = _kmeans(Z, k, n_init, seed, n_threads)
        lab = km.labels_
        sample = silhouette_sample if silhouette_sample and len(Z) > silhouette_sample else None
        with threadpool_limits(limits=n_threads):
            sil = silhouette_score(Z, lab, sample_size=sample, random_state=seed)
            ch = calinski_harabasz_score(Z, lab)
            db = davies_bouldin_score(Z, lab)
        rows.append((int(k), float(km.inertia_), float(sil), float(ch), float(db)))
    return pd.DataFrame(
        rows, columns=["k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin"]
    ).set_index("k")


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
    n_threads: int | None = 1,
    source: str = "LRFMC table",
) -> pd.DataFrame:
    """How stable the k groups are: adjusted Rand index against a reference clustering.

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


# ----------------------------------------------------------------------------------------
# naming the clusters
# ----------------------------------------------------------------------------------------
def _level(z: float, t: float) -> str:
    if z >= t:
        return "high"
    if z <= -t:
        return "low"
    return "mid"


def name_clusters(centres_z: pd.DataFrame, threshold: float = 0.25) -> pd.DataFrame:
    """Name each cluster as one of the five member classes by rules on its centre.

    The centre of each cluster is read as population z-scores (:func:`population_z`): a
    variable is *high* when the centre lies at least ``threshold`` standard deviations
    above the member average, *low* when at least ``threshold`` below, *mid* otherwise.
    Activity ``A = max(z_F, z_M)`` stands for "F or M" in the profiles of DOMAIN.md
    (A is high when F or M is high, low when both are low). The rules, applied to each
    cluster on its own (so the result never depends on the cluster numbering):

    ===================  =============================================================
    important retain     A high, R not high (flew recently), C not low
    important develop    C high, A not high, R not high
    important win-back   R high (long since the last flight), and A not low or C high
                         (they flew a lot or at high fares in the window)
    low value            A low, C not high, and R high or C low
    general              A not high, C not high, R not high, and not (A low and C low)
                         (middling members)
    ===================  =============================================================

    The rules exclude one another. A cluster that none fits (e.g. high activity at low
    fares: A high, C low, R not high) is reported as ``unassigned`` with its profile,
    rather than forced into a class. Several clusters may share a class.

    Parameters
    ----------
    centres_z : DataFrame
        One row per cluster (index = cluster id), columns L, R, F, M, C in population
        z-scores.
    threshold : float
        The band, in standard deviations, between "low", "mid" and "high".

    Returns
    -------
    DataFrame
        Index cluster; columns ``segment, segment_en, segment_zh, lifecycle_stage,
        strategy``, the levels ``L_level ... C_level, A_level``, ``A`` and ``reason``.
    """
    if threshold <= 0:
        raise ValueError(f"threshold must be positive, got {threshold!r}")
    S.require_columns(centres_z, LRFMC, "cluster centres")
    rows = []
    for cl, c in centres_z[list(LRFMC)].astype(float).iterrows():
        a = max(c["F"], c["M"])
        lv = {v: _level(c[v], threshold) for v in LRFMC}
        la = _level(a, threshold)
        r_hi, c_hi, c_lo = lv["R"] == "high", lv["C"] == "high", lv["C"] == "low"
        a_hi, a_lo = la == "high", la == "low"
        prof = (
            f"L {lv['L']} ({c['L']:+.2f}), R {lv['R']} ({c['R']:+.2f}), F {lv['F']} ({c['F']:+.2f}), "
            f"M {lv['M']} ({c['M']:+.2f}), C {lv['C']} ({c['C']:+.2f})"
        )
        if a_hi and not r_hi and not c_lo:
            seg, why = (
                "important_retain",
                "flies a lot (F or M high), recently (R not high), at fares not below average",
            )
        elif c_hi and not a_hi and not r_hi:
            seg, why = (
                "important_develop",
                "high fares (C high), recent, but F and M not high: room to grow",
            )
            if lv["L"] == "low":
                why += "; mostly recent members (L low)"
        elif r_hi and (not a_lo or c_hi):
            seg, why = (
                "important_winback",
                (
                    "long since the last flight (R high) though they flew a lot or at high fares in the window"
                ),
            )
        elif a_lo and not c_hi and (r_hi or c_lo):
            seg, why = (
                "low_value",
                "few flights and km (F, M low), "
                + ("long since the last flight (R high)" if r_hi else "at low fares (C low)"),
            )
        elif not a_hi and not c_hi and not r_hi and not (a_lo and c_lo):
            seg, why = "general", "middling activity, recency and fares"
        else:
            seg, why = "unassigned", "fits none of the five profiles"
        info = SEGMENTS.loc[seg]
        rows.append(
            {
                "cluster": cl,
                "segment": seg,
                "segment_en": info["segment_en"],
                "segment_zh": info["segment_zh"],
                "lifecycle_stage": info["lifecycle_stage"],
                "strategy": info["strategy"],
                **{f"{v}_level": lv[v] for v in LRFMC},
                "A": a,
                "A_level": la,
                "reason": f"{why}. Centre: {prof}",
            }
        )
    return pd.DataFrame(rows).set_index("cluster")


# ----------------------------------------------------------------------------------------
# the AHP value score
# ----------------------------------------------------------------------------------------
NORMALISE = ("minmax", "rank")


def normalise_lrfmc(X: pd.DataFrame, method: str = "minmax") -> pd.DataFrame:
    """Map each variable to [0, 1] with "more valuable" = higher; R is reversed.

    ``minmax``: ``(x - min) / (max - min)`` (R: ``(max - x) / (max - min)``), sensitive
    to extreme flyers. ``rank``: mid-rank percentile ``(rank - 0.5) / n`` (R reversed),
    robust to them.
    """
    if method not in NORMALISE:
        raise ValueError(f"normalisation {method!r} unknown; choose one of {NORMALISE}")
    Xf = check_lrfmc(X)
    if method == "minmax":
        out = (Xf - Xf.min()) / (Xf.max() - Xf.min())
    else:
        out = (Xf.rank(method="average") - 0.5) / len(Xf)
    out["R"] = 1.0 - out["R"]
    return out


def value_score(X: pd.DataFrame, weights, method: str = "minmax") -> pd.Series:
    """The customer value score: AHP-weighted sum of the normalised L, R, F, M, C.

    Parameters
    ----------
    X : DataFrame
        Columns L, R, F, M, C (member ids in ``MEMBER_NO`` or the index).
    weights : Series, mapping or AHPResult
        Weights of L, R, F, M, C (e.g. ``ahp_weights(matrix, LRFMC)``); rescaled to sum
        to one.
    method : {"minmax", "rank"}
        See :func:`normalise_lrfmc`.

    Returns
    -------
    Series
        Score in [0, 1] per member, indexed by member id.
    """
    w = getattr(weights, "weights", weights)
    w = pd.Series(w, dtype=float) if isinstance(w, Mapping) else pd.Series(w).astype(float)
    missing = [v for v in LRFMC if v not in w.index]
    if missing:
        raise ValueError(f"AHP weights: no weight for {missing}; weights given for {list(w.index)}")
    w = w[list(LRFMC)]
    if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError(
            f"AHP weights must be non-negative and finite with a positive sum, got {w.to_dict()}"
        )
    w = w / w.sum()
    norm = normalise_lrfmc(X, method)
    ids = X[S.MEMBER] if S.MEMBER in X.columns else pd.Series(X.index, index=X.index)
    score = norm.to_numpy() @ w.to_numpy()
    return pd.Series(score, index=pd.Index(ids.to_numpy(), name=S.MEMBER), name="value_score")


# ----------------------------------------------------------------------------------------
# the segments table
# ----------------------------------------------------------------------------------------
def segments_table(
    features: pd.DataFrame, model: LRFMCKMeans, names: pd.DataFrame, score: pd.Series | None = None
) -> pd.DataFrame:
    """One row per member: ``MEMBER_NO, L..C, cluster, segment, segment_en, segment_zh,
    lifecycle_stage, strategy, value_score`` (what ``segments.parquet`` holds)."""
    out = features[[S.MEMBER, *LRFMC]].reset_index(drop=True).copy()
    out["cluster"] = model.labels_.to_numpy()
    for col in ("segment", "segment_en", "segment_zh", "lifecycle_stage", "strategy"):
        out[col] = out["cluster"].map(names[col])
    if score is not None:
        out["value_score"] = out[S.MEMBER].map(score)
    else:
        out["value_score"] = np.nan
    return out[list(SEGMENT_COLUMNS)]


def empty_segments() -> pd.DataFrame:
    """An empty ``segments.parquet`` table (data without LRFMC columns, e.g. CDNOW)."""
    out = pd.DataFrame({c: pd.Series(dtype=float) for c in SEGMENT_COLUMNS})
    out[S.MEMBER] = out[S.MEMBER].astype("int64")
    out["cluster"] = out["cluster"].astype("int64")
    for c in ("segment", "segment_en", "segment_zh", "lifecycle_stage", "strategy"):
        out[c] = out[c].astype(object)
    return out


def segment_summary(segments: pd.DataFrame) -> pd.DataFrame:
    """Per segment: members, share, mean L..C and mean value score, English and Chinese names."""
    g = segments.groupby("segment")
    out = pd.DataFrame({"n": g.size()})
    out["share"] = out["n"] / out["n"].sum()
    out = out.join(g[list(LRFMC) + ["value_score"]].mean())
    out = SEGMENTS[["segment_en", "segment_zh", "lifecycle_stage"]].join(out, how="inner")
    order = [s for s in SEGMENTS.index if s in out.index]
    return out.loc[order]


# ----------------------------------------------------------------------------------------
# comparison with lifetime value and with the simulator's truth
# ----------------------------------------------------------------------------------------
def true_future_value(truth: pd.DataFrame, horizon_weeks: float = 52.0) -> pd.DataFrame:
    """Each simulated member's true expected flights and revenue over the next horizon.

    Given the member's true flight rate ``lam`` (per week), dropout probability ``p``
    (BG/NBD) or death rate ``mu`` (Pareto/NBD), and whether the member is alive at the
    observation end:

    * BG/NBD, alive: ``E[X(t)] = (1 - exp(-lam p t)) / p`` -- the individual-level
      expectation of Fader, Hardie & Lee (2005), for a member alive at the start (the
      process is memoryless, so the past does not matter given alive);
      ``lam t`` when ``p = 0``.
    * Pareto/NBD, alive: ``E[X(t)] = lam / mu (1 - exp(-mu t))`` (Schmittlein et al.
      1987, individual level); ``lam t`` when ``mu = 0``.
    * dead: 0.

    True value = expected flights x ``mean_revenue`` (the member's expected revenue per
    flight, Gamma-Gamma). Undiscounted: over one year discounting changes the level, not
    the ranking, by little.

    Returns
    -------
    DataFrame
        ``MEMBER_NO, true_flights, true_value``.
    """
    need = ("MEMBER_NO", "lam", "alive", "mean_revenue")
    S.require_columns(truth, need, "truth table")
    t = float(horizon_weeks)
    if not t > 0:
        raise ValueError(f"horizon_weeks must be positive, got {horizon_weeks!r}")
    lam = truth["lam"].to_numpy(float)
    alive = truth["alive"].to_numpy(bool)
    p = truth["p"].to_numpy(float) if "p" in truth.columns else np.full(len(truth), np.nan)
    mu = truth["mu"].to_numpy(float) if "mu" in truth.columns else np.full(len(truth), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        bg = np.where(p > 0, -np.expm1(-lam * p * t) / p, lam * t)
        pn = np.where(mu > 0, lam / mu * -np.expm1(-mu * t), lam * t)
    flights = np.where(~np.isnan(p), bg, np.where(~np.isnan(mu), pn, np.nan))
    if np.isnan(flights[alive]).any():
        raise DataValidationError(
            "members alive at the observation end with neither p (BG/NBD) nor mu (Pareto/NBD)",
            source="truth table",
            column=["p", "mu"],
            values=truth.loc[alive & np.isnan(flights), "MEMBER_NO"].tolist(),
        )
    flights = np.where(alive, flights, 0.0)
    return pd.DataFrame(
        {
            "MEMBER_NO": truth["MEMBER_NO"].to_numpy(),
            "true_flights": flights,
            "true_value": flights * truth["mean_revenue"].to_numpy(float),
        }
    )


def rank_agreement(
    df: pd.DataFrame, target: str, scores: Sequence[str], *, top_share: float = 0.2
) -> pd.DataFrame:
    """How well each score ranks members as ``target`` does.

    Spearman's rank correlation, Kendall's tau-b, and the share of the true top
    ``top_share`` of members (by ``target``) found in the top ``top_share`` by the
    score (the "hit rate"; chance = ``top_share``). Rows with a missing value in the
    pair are dropped.
    """
    rows = []
    for s in scores:
        d = df[[s, target]].dropna()
        n = len(d)
        if n < 3 or d[s].nunique() < 2 or d[target].nunique() < 2:
            rows.append((s, n, np.nan, np.nan, np.nan))
            continue
        rho = stats.spearmanr(d[s], d[target]).statistic
        tau = stats.kendalltau(d[s], d[target]).statistic
        m = max(1, int(round(top_share * n)))
        top_true = set(d.index[d[target].rank(method="first", ascending=False) <= m])
        top_score = set(d.index[d[s].rank(method="first", ascending=False) <= m])
        rows.append((s, n, float(rho), float(tau), len(top_true & top_score) / m))
    return pd.DataFrame(
        rows,
        columns=[
            "score",
            "n",
            "spearman",
            "kendall_tau",
            f"top{int(round(top_share * 100))}_hit_rate",
        ],
    ).set_index("score")


def segment_value_table(
    segments: pd.DataFrame, value: str, *, top_share: float = 0.2
) -> pd.DataFrame:
    """Per segment: members, share, mean and median ``value``, share of the total value,
    and the share of the most valuable ``top_share`` of members the segment holds."""
    d = segments.dropna(subset=[value])
    n = len(d)
    if n == 0:
        return pd.DataFrame()
    m = max(1, int(round(top_share * n)))
    top = d[value].rank(method="first", ascending=False) <= m
    g = d.assign(_top=top).groupby("segment")
    out = pd.DataFrame(
        {
            "n": g.size(),
            "mean_value": g[value].mean(),
            "median_value": g[value].median(),
            "value_share": g[value].sum() / d[value].sum() if d[value].sum() else np.nan,
            "top_members": g["_top"].sum(),
        }
    )
    out["member_share"] = out["n"] / n
    out[f"share_of_top{int(round(top_share * 100))}"] = out["top_members"] / m
    out["lift"] = out[f"share_of_top{int(round(top_share * 100))}"] / out["member_share"]
    out = SEGMENTS[["segment_en", "segment_zh"]].join(out.drop(columns="top_members"), how="inner")
    return out.sort_values("mean_value", ascending=False)


__all__ = [
    "FEATURE_DEFINITIONS",
    "LRFMC",
    "LRFMCKMeans",
    "SEGMENTS",
    "SEGMENT_COLUMNS",
    "Scaler",
    "check_lrfmc",
    "clean_members",
    "cluster_lrfmc",
    "empty_segments",
    "feature_summary",
    "fit_scaler",
    "k_selection",
    "lrfmc_available",
    "lrfmc_features",
    "matched_disagreement",
    "name_clusters",
    "normalise_lrfmc",
    "population_z",
    "rank_agreement",
    "segment_summary",
    "segment_value_table",
    "segments_table",
    "stability",
    "true_future_value",
    "value_score",
]
