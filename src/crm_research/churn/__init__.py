"""Churn: who is about to leave, why, and who is worth saving.

One module per job: :mod:`.labels` (the three definitions), :mod:`.upstream` (what the
earlier notebooks left), :mod:`.features`, :mod:`.dataset` (labels + features + split),
:mod:`.models`, :mod:`.evaluation`, :mod:`.truth` (the simulator's truth),
:mod:`.survival` and :mod:`.retention`. This package re-exports their public API.

A frequent-flyer programme has no contract, so churn has to be *defined*. This module
offers three definitions (DOMAIN.md, research question 4):

``textbook``
    From the member table alone, as in the textbook case: among established members
    (``FLIGHT_COUNT`` above a threshold, 6 by default) the ratio of last-year to
    first-year flights ``L1Y_Flight_Count / P1Y_Flight_Count``; below 0.5 churned, 0.5 to
    0.9 at risk, 0.9 and above retained. A concurrent, descriptive label.
``forward``
    From a flight log: features as of an observation date ``obs_date = obs_end - H
    months``, churned = no flight in ``(obs_date, obs_date + H months]``. Features use
    only events on or before ``obs_date`` (:func:`forward_dataset`).
``palive``
    Model-based: the probability of being alive under the run's purchase model (the one
    notebook 02 chose and saved to ``purchase_model.json``: BG/NBD, MBG/NBD or
    Pareto/NBD; Fader, Hardie & Lee 2005); churned = ``P(alive) < 0.5``.

Every model-based score comes from that one purchase model through
:mod:`crm_research.clv`, with its time unit and counting rule (flights, not flight days),
so a member's P(alive) is the same in notebooks 02, 03 and 05 (:func:`p_alive_at`). The
score that answers the forward churn question is the model's probability of no flight in
the horizon (:meth:`crm_research.clv.models._PurchaseModel.prob_no_flight`); ``1 -
P(alive)`` is kept as a baseline, and any score with a ROC AUC below 0.5 is flagged
(:func:`score_checks`).

Around the labels: an interpretable logistic regression (statsmodels, odds ratios with
95% confidence intervals), a gradient-boosting classifier (scikit-learn, class weights
with a prior correction, permutation importance), the evaluation metrics (ROC AUC, PR
AUC, Brier score, calibration, cumulative gains and lift, confusion matrix), Kaplan-Meier
curves of time to last flight (lifelines), and the retention list with a campaign
calculator: expected loss = P(churn) x value if retained (the CLV given alive, so
dropout is not counted twice), and how many members to contact.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy
way: an alternative to the Pareto/NBD model. Marketing Science 24(2), 275-284.
Neslin, S. A., Gupta, S., Kamakura, W., Lu, J. & Mason, C. H. (2006). Defection detection:
measuring and understanding the predictive accuracy of customer churn models. Journal of
Marketing Research 43(2), 204-211 (top-decile lift, the churn-model yardstick).
Elkan, C. (2001). The foundations of cost-sensitive learning. IJCAI 2001, 973-978
(re-weighting classes and correcting the predicted probabilities back).
Kaplan, E. L. & Meier, P. (1958). Nonparametric estimation from incomplete observations.
JASA 53(282), 457-481.
Blattberg, R. C., Kim, B.-D. & Neslin, S. A. (2008). Database Marketing, ch. 24 (churn
management: contact cost, acceptance rate, value of a saved customer).
"""

from __future__ import annotations

# Each module declares its public names in its ``__all__``; the package re-exports them
# all, so a name is listed once, beside its definition.
from ..config import DAYS_PER_MONTH
from . import dataset, evaluation, features, labels, models, retention, survival, truth, upstream
from .dataset import *
from .evaluation import *
from .features import *
from .labels import *
from .models import *
from .retention import *
from .survival import *
from .truth import *
from .upstream import *

__all__ = [
    "DAYS_PER_MONTH",
    *labels.__all__,
    *upstream.__all__,
    *features.__all__,
    *dataset.__all__,
    *models.__all__,
    *evaluation.__all__,
    *truth.__all__,
    *survival.__all__,
    *retention.__all__,
]
