"""The member snapshot is built once per run: by the runner's input checks, read by 01."""

from __future__ import annotations

import nbformat
import pandas as pd
import pytest

from crm_research.data import sources
from crm_research.data.engines.base import SQLEngine
from crm_research.report import run_study


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    d = tmp_path_factory.mktemp("raw") / "synthetic-300-seed1"
    sources.write_synthetic(d, n_members=300, seed=1)
    return d


def _no_build(*a, **k):
    raise AssertionError("the snapshot was built again")


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_load_source_reads_a_given_snapshot(sim, tmp_path, monkeypatch, engine):
    built = sources.load_source(str(sim), engine=engine).snapshot
    built.iloc[:3].to_parquet(tmp_path / "snap.parquet")  # recognisably not rebuilt
    monkeypatch.setattr(SQLEngine, "snapshot", _no_build)
    monkeypatch.setattr(sources, "_snapshot", _no_build)
    ds = sources.load_source(str(sim), engine=engine, snapshot=tmp_path / "snap.parquet")
    pd.testing.assert_frame_equal(ds.snapshot, built.iloc[:3])
    assert len(ds.members) == 300  # the rest of the dataset as without it


def test_runner_hands_the_checked_snapshot_to_notebook_01(sim, tmp_path, monkeypatch):
    import papermill

    books = tmp_path / "nbs"
    books.mkdir()
    params = "data_source = ''\nengine = 'duckdb'\nsnapshot_file = None\nseed = 1"
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]})]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, books / "01_x.ipynb")
    seen = {}

    def execute(src, out, parameters, **kw):  # notebook 01 as the runner calls it
        seen.update(parameters)
        snap = pd.read_parquet(parameters["snapshot_file"])
        want = sources.load_source(parameters["data_source"], engine="duckdb").snapshot
        pd.testing.assert_frame_equal(snap, want)
        nbformat.write(nbformat.read(src, as_version=4), out)

    monkeypatch.setattr(papermill, "execute_notebook", execute)
    res = run_study(
        "synthetic",
        out_dir=tmp_path / "reports",
        raw_dir=sim.parent,
        processed_dir=tmp_path / "p",
        figures_dir=None,
        members=300,
        seed=1,
        notebook_dir=books,
        progress=False,
        html=False,
        log=lambda *a: None,
    )
    assert seen["snapshot_file"].endswith("snapshot.parquet")
    assert not pd.io.common.file_exists(seen["snapshot_file"])  # removed after the run
    assert "snapshot_file" not in res.manifest["parameters"]["01_x"]  # a run's temporary
