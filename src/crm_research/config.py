"""One source of truth for the study's names and constants.

Artifact file names (what one notebook writes and the next reads), time constants,
the default seed and the folders a run uses. Every module and notebook takes these
from here, so a name or a unit cannot drift between two places.

A month
    ``DAYS_PER_MONTH = 365.25 / 12`` (30.4375 days), the mean Gregorian month. Churn
    horizons are calendar months (12 months must be one year of 365.25 days, the unit
    the purchase models use), so this is the month of the whole study. The textbook
    case divides days by 30; its k-means runs on standardised LRFMC, which a common
    rescaling of L and R leaves unchanged, so the clusters are the same with either
    month and only the months shown differ by 1.5%. One definition means membership
    length L is the same number in notebooks 04 and 05.

Paths
    Nothing is found relative to the installed package (``Path(__file__).parents[2]``
    is the repository only in an editable install): the project folder is the
    ``CRM_RESEARCH_HOME`` environment variable when set, else the current working
    directory or the nearest parent of it holding the study's notebooks; every function
    that writes also takes an explicit folder.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The seed every random step uses unless told otherwise (``crm-research run --seed``).
DEFAULT_SEED = 42

#: The observation end of the textbook airline data set (Zhang, ch. 7) and the default
#: end of the simulated programme and of a flight log without one.
DEFAULT_OBS_END = "2014-03-31"

#: Days in a year (Julian year: the purchase models' time unit is a week of 7 days).
DAYS_PER_YEAR = 365.25
#: Days in a month: the mean Gregorian month, used everywhere (see the module docstring).
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
#: Days in a week.
DAYS_PER_WEEK = 7.0

#: Files the notebooks hand on to each other (in the run's ``processed`` folder).
ARTIFACTS = {
    "snapshot": "snapshot.parquet",  # notebook 01
    "dataset": "dataset.json",  # notebook 01: what the dataset holds
    "simulation": "simulation.json",  # the simulator's parameters
    "purchase_model": "purchase_model.json",  # notebook 02
    "purchase_model_calibration": "purchase_model_calibration.json",  # notebook 02's holdout
    "purchase_predictions": "purchase_predictions.parquet",  # notebook 02
    "clv": "clv.parquet",  # notebook 03
    "segments": "segments.parquet",  # notebook 04
    "retention_list": "retention_list.parquet",  # notebook 05
    "churn_features_now": "churn_features_now.parquet",  # notebook 05
    "retention_csv": "retention_list.csv",  # notebook 05, in the reports folder
    "manifest": "manifest.json",  # the run's record
}

#: Environment variable naming the project folder (reports/, data/, figures/).
HOME_ENV = "CRM_RESEARCH_HOME"


def project_dir(start: str | os.PathLike | None = None) -> Path:
    """The project folder (the one holding ``notebooks/``, ``data/``, ``reports/``).

    ``$CRM_RESEARCH_HOME`` when set; else the nearest of ``start`` (default: the working
    directory) and its parents that holds ``notebooks/01_*.ipynb`` (so ``make report``
    and ``pytest`` work from any subfolder of a clone); else the clone the package was
    installed from in editable mode (``crm-research run`` started from another folder,
    e.g. a temporary one); else ``start`` itself (an installed package away from any
    clone: the runner then says that no notebooks were found and names the variable).
    """
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser().absolute()
    here = Path(start if start is not None else Path.cwd()).absolute()
    clone = Path(__file__).resolve().parents[2]  # src/crm_research/config.py -> the clone
    for d in (*(here, *here.parents), clone):
        if any((d / "notebooks").glob("01_*.ipynb")):
            return d
    return here


def artifact(name: str) -> str:
    """The file name of an artifact (``KeyError`` names the known ones)."""
    try:
        return ARTIFACTS[name]
    except KeyError:
        raise KeyError(f"unknown artifact {name!r}; known: {sorted(ARTIFACTS)}") from None
