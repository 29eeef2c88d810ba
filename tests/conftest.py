"""Shared, session-scoped fixtures: small simulated programmes made once per test run.

Each simulation is deterministic (fixed seed) and small, so the fast suite makes only a
few of them instead of one per test module. The objects are shared: a test that needs to
change a table copies it first.
"""

from __future__ import annotations

import pandas as pd
import pytest

from crm_research.data.simulate import simulate_programme


@pytest.fixture(scope="session")
def sim_small():
    """2,000 members (BG/NBD process, seed 3, observation end 2014-03-31)."""
    return simulate_programme(n_members=2000, seed=3, obs_end="2014-03-31", process="bgnbd")


@pytest.fixture(scope="session")
def sim_medium():
    """4,000 members (BG/NBD process, seed 7): enough churners for the classifiers."""
    return simulate_programme(n_members=4000, seed=7)


@pytest.fixture(scope="session")
def sim_tiny():
    """600 members (seed 7): format round trips, where the size does not matter."""
    return simulate_programme(n_members=600, seed=7, obs_end="2014-03-31")


@pytest.fixture(scope="session")
def ds_small(sim_small):
    """:class:`~crm_research.data.Dataset` of :func:`sim_small` (with the truth)."""
    return sim_small.to_dataset()


@pytest.fixture(scope="session")
def ds_medium(sim_medium):
    return sim_medium.to_dataset()


@pytest.fixture(scope="session")
def ahp_matrix_04():
    """The AHP pairwise matrix of notebook 04's parameters cell (its default)."""
    import ast
    from pathlib import Path

    import nbformat

    path = Path(__file__).resolve().parents[1] / "notebooks" / "04_lrfmc_segmentation.ipynb"
    cell = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    for node in ast.parse(cell.source).body:
        if node.targets[0].id == "ahp_matrix":
            return ast.literal_eval(node.value)
    raise LookupError("notebook 04 has no ahp_matrix parameter")


@pytest.fixture
def log():
    """A hand-made flight log, member table and complaints (tests/test_snapshot.py
    computes the snapshot of it by hand)."""
    # member 1: flights on both years of the window and one before it
    # member 2: one flight in the last year only
    # member 3: flew only before the window
    rows = [
        (1, "2011-06-01", 1000, 0.5, 500.0),  # before the window (window starts 2012-03-31, excl.)
        (1, "2012-05-01", 2000, 1.0, 2000.0),  # first year of the window
        (1, "2013-06-01", 1000, 0.5, 400.0),  # last year (after 2013-03-31)
        (1, "2013-06-11", 1000, 0.7, 600.0),  # last year
        (2, "2014-03-31", 800, 0.8, 640.0),  # on the observation end
        (3, "2010-01-01", 1500, 0.9, 1350.0),
    ]
    f = pd.DataFrame(rows, columns=["MEMBER_NO", "FLIGHT_DATE", "SEG_KM", "DISCOUNT", "REVENUE"])
    f["FLIGHT_DATE"] = pd.to_datetime(f["FLIGHT_DATE"])
    m = pd.DataFrame(
        {
            "MEMBER_NO": [1, 2, 3],
            "FFP_DATE": pd.to_datetime(["2011-01-01", "2014-01-01", "2009-12-01"]),
            "FFP_TIER": [5, 4, 4],
            "AGE": [40, 30, 50],
        }
    )
    c = pd.DataFrame(
        {
            "MEMBER_NO": [1, 1, 2],
            "COMPLAINT_DATE": pd.to_datetime(["2011-06-02", "2013-06-12", "2014-03-30"]),
        }
    )
    return f, m, c


# --------------------------------------------------------------------------------------
# the whole study, run once per session for the slow tests that only read its outputs
# --------------------------------------------------------------------------------------
#: The shared synthetic study: 2,500 simulated members, seed 5 (tests/test_study.py's
#: golden metrics were recorded on exactly this study).
STUDY_MEMBERS = 2_500
STUDY_SEED = 5


def _study_in(root, data: str = "synthetic", **options):
    """``run_study`` on ``data`` with every folder under ``root``, no progress, no log and
    the repository's figures/ left alone; a simulation of ``STUDY_MEMBERS`` members, seed
    ``STUDY_SEED``. ``options`` (run_study's) replace any of these."""
    from crm_research.report import run_study

    default = dict(
        out_dir=root / "reports",
        raw_dir=root / "raw",
        processed_dir=root / "processed",
        figures_dir=None,
        members=STUDY_MEMBERS if data == "synthetic" else None,
        seed=STUDY_SEED,
        progress=False,
        log=lambda *a: None,
    )
    return run_study(data, **{**default, **options})


@pytest.fixture(scope="session")
def study_in():
    """The function that runs a small whole study into a folder, ``study_in(root, data,
    **run_study_options)``, for tests that need a run of their own."""
    return _study_in


@pytest.fixture(scope="session")
def synthetic_study(tmp_path_factory):
    """The whole study on the default simulation (2,500 members, seed 5), run once per
    session and shared by every slow test that only reads a finished study's outputs
    (test_study, test_report_browser). Read it, never change it: a test that writes
    makes a run of its own (``study_in``)."""
    return _study_in(tmp_path_factory.mktemp("synthetic_study"))
