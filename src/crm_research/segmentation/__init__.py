"""LRFMC segmentation (being split by job)."""

from .clustering import *  # noqa: F403
from .clustering import DAYS_PER_MONTH, _fallback_clean, __doc__  # noqa: F401
