"""Guards around lifetimes 0.11.3 (unmaintained since 2020).

On import, ``lifetimes.utils`` sets ``pd.options.mode.chained_assignment = None`` and
several modules call ``warnings.simplefilter("ignore", FutureWarning)``, also inside
``fit``. Those are process-wide side effects. Every use of lifetimes in this package
goes through :func:`lifetimes_guard`, which restores both afterwards, so importing or
using crm_research never changes the user's pandas options or warning filters.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import pandas as pd

#: pandas 3 deprecates ``mode.chained_assignment`` (no effect since copy-on-write; it
#: goes in pandas 4) and warns whenever it is set, as lifetimes does on import.
_CHAINED_DEPRECATED = r"(?s).*mode\.chained_assignment"


@contextlib.contextmanager
def lifetimes_guard() -> Iterator[None]:
    """Run a block that imports or calls lifetimes, then undo its global side effects."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_CHAINED_DEPRECATED)
        chained = pd.options.mode.chained_assignment
        try:
            yield
        finally:
            if pd.options.mode.chained_assignment != chained:
                pd.options.mode.chained_assignment = chained


def import_lifetimes():
    """Import and return the ``lifetimes`` module without its global side effects."""
    with lifetimes_guard():
        import lifetimes  # noqa: PLC0415
        import lifetimes.utils  # noqa: F401, PLC0415
    return lifetimes
