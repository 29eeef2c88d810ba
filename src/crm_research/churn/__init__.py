"""Churn: who is about to leave, why, and who is worth saving (being split by job)."""

from .dataset import *  # noqa: F403
from .dataset import (  # noqa: F401
    DAYS_PER_MONTH,
    SNAPSHOT_FEATURES,
    STATUSES,
    UPSTREAM_FILES,
)
from .dataset import __doc__  # noqa: F401
