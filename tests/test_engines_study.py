"""A small study end to end with the flight log scanned by Spark (local mode) and DuckDB.

The input is a partitioned Parquet log written in chunks (``data synth --format
parquet``); both runs must give the same member snapshot as the pandas engine.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from crm_research.cli import _parser
from crm_research.cli import main as cli
from crm_research.data.engines import get_engine
from crm_research.report import run_study

pytestmark = pytest.mark.slow
MEMBERS = 1_500


@pytest.fixture(scope="module")
def log_folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("partitioned") / "log"
    args = ["data", "synth", "--members", str(MEMBERS), "--seed", "3", "--format", "parquet"]
    assert cli([*args, "--chunk-members", "600", "--out", str(out)]) == 0
    return out


def test_synth_parquet_is_partitioned_and_deterministic(log_folder, tmp_path):
    parts = sorted((log_folder / "flights").glob("part-*.parquet"))
    assert len(parts) == 3  # 600 + 600 + 300 members
    again = tmp_path / "again"
    args = ["data", "synth", "--members", str(MEMBERS), "--seed", "3", "--format", "parquet"]
    assert cli([*args, "--chunk-members", "600", "--out", str(again)]) == 0
    a = pd.read_parquet(log_folder / "flights")
    b = pd.read_parquet(again / "flights")
    pd.testing.assert_frame_equal(a, b)
    members = pd.read_parquet(log_folder / "members")
    assert members["MEMBER_NO"].is_unique and len(members) == MEMBERS
    assert set(a["MEMBER_NO"]) <= set(members["MEMBER_NO"])


def test_cli_engine_options():
    a = _parser().parse_args(["run"])
    assert a.engine == "duckdb" and a.spark_master is None
    a = _parser().parse_args(["run", "--engine", "spark", "--spark-master", "local[1]"])
    assert (a.engine, a.spark_master) == ("spark", "local[1]")
    with pytest.raises(SystemExit):
        _parser().parse_args(["run", "--engine", "polars"])


def _study(root: Path, data: Path, engine: str):
    return run_study(
        str(data),
        out_dir=root / "reports",
        raw_dir=root / "raw",
        processed_dir=root / "processed",
        figures_dir=None,
        seed=3,
        progress=False,
        log=lambda *a: None,
        engine=engine,
    )


def _notebook_errors(run_dir: Path) -> list[str]:
    bad = []
    for p in sorted(run_dir.glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(p, as_version=4).cells:
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    bad.append(f"{p.name}: {out.get('ename')}: {out.get('evalue')}")
    return bad


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_study_end_to_end(engine, log_folder, tmp_path):
    if engine == "spark" and shutil.which("java") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("no Java in CI: apt-get install openjdk-17-jre-headless")
        pytest.skip("Spark needs Java 17+: apt-get install openjdk-17-jre-headless")
    res = _study(tmp_path, log_folder, engine)
    assert _notebook_errors(res.run_dir) == []
    assert res.manifest["engine"] == engine
    assert res.manifest["parameters"]["01_data_exploration"]["engine"] == engine
    snap = pd.read_parquet(tmp_path / "processed" / "snapshot.parquet")
    ref = get_engine("pandas").load(
        *(log_folder / t for t in ("flights", "members", "complaints", "noshows"))
    )
    ref.validate()
    want = ref.snapshot(snap["LOAD_TIME"].iloc[0]).to_pandas()
    want = want.reindex(columns=snap.columns)
    pd.testing.assert_frame_equal(snap, want, check_exact=False, rtol=1e-9, check_dtype=False)
    assert len(snap) == MEMBERS
