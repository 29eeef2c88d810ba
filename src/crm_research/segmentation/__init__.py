"""LRFMC segmentation of frequent-flyer members and the AHP customer value score.

The airline version of RFM (DOMAIN.md) describes each member by five variables taken
from the member snapshot at the observation end:

====  ==================================================  ============================
L     length of membership: ``(LOAD_TIME - FFP_DATE)``     months (days / 30.44)
R     recency: ``LAST_TO_END``                             months (days / 30.44)
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

One module per job: :mod:`.cleaning`, :mod:`.features` (LRFMC and standardisation),
:mod:`.clustering` (k-means, choice of k, stability), :mod:`.naming` (the five classes,
the segments table), :mod:`.scoring` (AHP value score) and :mod:`.truth` (comparison
with lifetime value and the simulator's truth). A month is
:data:`crm_research.config.DAYS_PER_MONTH` days (the same month as the churn stage).

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

from ..config import DAYS_PER_MONTH
from .cleaning import CLEANING_RULES, clean_members, lrfmc_available
from .clustering import (
    LRFMCKMeans,
    cluster_lrfmc,
    k_selection,
    matched_disagreement,
    silhouette_from_distances,
    stability,
)
from .features import (
    FEATURE_DEFINITIONS,
    LRFMC,
    STANDARDIZE,
    Scaler,
    check_lrfmc,
    feature_summary,
    fit_scaler,
    lrfmc_features,
    population_z,
)
from .naming import (
    SEGMENT_COLUMNS,
    SEGMENTS,
    empty_segments,
    name_clusters,
    segment_summary,
    segments_table,
)
from .scoring import NORMALISE, normalise_lrfmc, value_score
from .truth import rank_agreement, segment_value_table, true_future_value

__all__ = [
    "CLEANING_RULES",
    "DAYS_PER_MONTH",
    "NORMALISE",
    "STANDARDIZE",
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
    "silhouette_from_distances",
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
