"""Customer lifetime value: BG/NBD, Pareto/NBD, MBG/NBD and Gamma-Gamma, validated.

Thin wrappers over ``lifetimes`` 0.11.3 (through :func:`crm_research._compat.lifetimes_guard`)
with per-member inputs built from a flight log (:func:`flight_summary`) or approximated
from the textbook member table (:func:`summary_from_snapshot`), holdout validation,
CLV with discounting, customer equity with bootstrap intervals, and the replication of
the published CDNOW results (:func:`replicate_cdnow`).

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005a). "Counting your customers" the easy
way: an alternative to the Pareto/NBD model. Marketing Science 24(2), 275-284.
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005b). RFM and CLV: using iso-value curves
for customer base analysis. Journal of Marketing Research 42(4), 415-430.
Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your customers: who
are they and what will they do next? Management Science 33(1), 1-24.
"""

from .covariates import CovariateFit, covariate_design, fit_covariates
from .fitting import (
    PURCHASE_CHOICES,
    fit_ladder,
    holdout_cumulative_error,
    model_key,
    refit_on_all,
    select_purchase_model,
    verdict_table,
)
from .modelfile import (
    COUNTING_RULES,
    counting_rule_for,
    load_purchase_model,
    purchase_summary,
    save_purchase_model,
)
from .models import (
    BGNBD,
    MBGNBD,
    MODELS,
    FitError,
    GammaGamma,
    ParetoNBD,
    spend_frequency_correlation,
)
from .replicate import PUBLISHED, cdnow_fits, replicate_cdnow
from .spend import (
    IndependenceCheck,
    LogSpendRegression,
    SpendChoice,
    choose_spend_model,
    fit_gamma_gamma,
    gamma_gamma_verdict,
    independence_check,
    spend_per_flight,
)
from .summary import TIME_UNITS, compress, days_per_unit, flight_summary, summary_from_snapshot
from .validation import (
    compare_models,
    cumulative_tracking,
    discretisation_effect,
    frequency_histogram,
    holdout_by_frequency,
    holdout_errors,
)
from .value import (
    PARAMETER_UNCERTAINTY,
    bootstrap_clv,
    concentration,
    customer_lifetime_value,
    discounted_expected_flights,
    equity_bands,
    equity_interval,
    interval,
    lorenz_curve,
    monthly_rate,
)
from .verdict import FitVerdict

__all__ = [
    "CovariateFit",
    "covariate_design",
    "fit_covariates",
    "COUNTING_RULES",
    "PURCHASE_CHOICES",
    "FitVerdict",
    "counting_rule_for",
    "fit_ladder",
    "holdout_cumulative_error",
    "load_purchase_model",
    "model_key",
    "purchase_summary",
    "refit_on_all",
    "save_purchase_model",
    "select_purchase_model",
    "verdict_table",
    "BGNBD",
    "MBGNBD",
    "MODELS",
    "PARAMETER_UNCERTAINTY",
    "PUBLISHED",
    "TIME_UNITS",
    "FitError",
    "GammaGamma",
    "IndependenceCheck",
    "LogSpendRegression",
    "ParetoNBD",
    "SpendChoice",
    "bootstrap_clv",
    "cdnow_fits",
    "choose_spend_model",
    "compare_models",
    "compress",
    "concentration",
    "cumulative_tracking",
    "customer_lifetime_value",
    "days_per_unit",
    "discounted_expected_flights",
    "discretisation_effect",
    "equity_bands",
    "equity_interval",
    "fit_gamma_gamma",
    "flight_summary",
    "frequency_histogram",
    "gamma_gamma_verdict",
    "holdout_by_frequency",
    "holdout_errors",
    "independence_check",
    "interval",
    "lorenz_curve",
    "monthly_rate",
    "replicate_cdnow",
    "spend_per_flight",
    "spend_frequency_correlation",
    "summary_from_snapshot",
]
