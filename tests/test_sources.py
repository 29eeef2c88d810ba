"""data.sources: the simulation writers (one table per file, or chunked part files)."""

import json

import pandas as pd
import pytest

from crm_research.data import sources
from crm_research.data.schema import DataValidationError


def test_chunked_simulation_is_the_chunks_side_by_side(tmp_path):
    out = sources.write_synthetic(tmp_path / "log", n_members=250, seed=4, chunk_members=100)
    meta = json.loads((out / "simulation.json").read_text())
    assert (meta["n_members"], meta["n_chunks"], meta["chunk_members"]) == (250, 3, 100)
    members = pd.read_parquet(out / "members")
    assert members["MEMBER_NO"].is_unique and len(members) == 250
    assert meta["n_flights"] == len(pd.read_parquet(out / "flights"))
    assert sorted(p.name for p in (out / "flights").iterdir()) == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["log"]  # no partial folder left


def test_a_simulation_never_overwrites_a_folder_with_files(tmp_path):
    (tmp_path / "log").mkdir()
    (tmp_path / "log" / "mine.csv").write_text("x\n")
    for chunk in (None, 100):
        with pytest.raises(DataValidationError, match="already holds files"):
            sources.write_synthetic(tmp_path / "log", n_members=50, chunk_members=chunk)
    assert [p.name for p in (tmp_path / "log").iterdir()] == ["mine.csv"]
