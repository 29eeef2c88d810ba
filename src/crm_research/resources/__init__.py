"""The study's tables of words and numbers, kept as TOML data files beside this module.

The modules that use them (:mod:`crm_research.vocabulary`, :mod:`crm_research.params_registry`,
:mod:`crm_research.report.summary`) read them here, through :mod:`importlib.resources`, so
they are found in an editable and in an installed package alike (``pyproject.toml`` ships
them as package data).
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


@cache
def read_toml(name: str) -> dict[str, Any]:
    """The content of the data file ``name`` (``"vocabulary.toml"``) of this package.

    Cached: each file is read once per process. Callers must not change what it returns.
    """
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return tomllib.loads(text)


__all__ = ["read_toml"]
