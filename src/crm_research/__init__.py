"""crm-research: customer value of an airline frequent-flyer programme.

The package mirrors the study's notebooks: ``data`` (loaders, schema checks, the
simulator, flight log -> member snapshot), ``clv``, ``segmentation``, ``churn``,
``report`` (papermill runner), ``plots`` and ``cli``.
"""

__version__ = "0.1.0"

from .config import DEFAULT_SEED  # noqa: E402,F401  (one default seed: config)
