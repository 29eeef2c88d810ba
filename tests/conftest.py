"""Shared, session-scoped fixtures: small simulated programmes made once per test run.

Each simulation is deterministic (fixed seed) and small, so the fast suite makes only a
few of them instead of one per test module. The objects are shared: a test that needs to
change a table copies it first.
"""

from __future__ import annotations

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
