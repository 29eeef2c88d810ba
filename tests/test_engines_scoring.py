"""Scoring every member from the model file in batches: the same rows under every engine
as the in-memory CLV of the whole table."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest

from crm_research import clv
from crm_research.data.engines import get_engine
from crm_research.data.engines.scale import fit_on_histories
from crm_research.data.engines.scoring import score_members
from crm_research.data.simulate import simulate_programme

KW = {"calibration_end": "2013-03-31", "observation_end": "2014-03-31"}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """Summaries written by DuckDB in several parts, the model file, a spend model."""
    d = tmp_path_factory.mktemp("scoring")
    f = simulate_programme(n_members=600, seed=11, obs_end="2014-03-31").flights
    with get_engine("duckdb", part_rows=1500) as eng:
        eng.load(f)
        model = fit_on_histories(eng.histories(**KW))
        eng.summary(**KW).write_parquet(d / "summaries")
    assert len(list((d / "summaries").glob("*.parquet"))) > 1  # ranges of members
    clv.save_purchase_model(
        model,
        d / "purchase_model.json",
        time_unit="weeks",
        counting_rule="flights",
        calibration_end=KW["calibration_end"],
    )
    summary = get_engine("pandas").load(f).summary(**KW).to_pandas()
    spend = clv.GammaGamma().fit(summary)
    want = clv.customer_lifetime_value(
        clv.load_purchase_model(d / "purchase_model.json"), spend, summary
    )
    return d, spend, want


@pytest.fixture(scope="module")
def spark():
    """A local Spark session (Java 17+; skipped without, except in CI)."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("no Java in CI: apt-get install openjdk-17-jre-headless")
        pytest.skip("Spark needs Java 17+: apt-get install openjdk-17-jre-headless")
    from crm_research.data.engines.spark_engine import spark_session

    return spark_session("local[2]", {"spark.sql.shuffle.partitions": "2"})


def engines():
    out = ["pandas", "duckdb"]
    java = shutil.which("java") is not None or os.environ.get("JAVA_HOME")
    if java or os.environ.get("CI"):
        out.append("spark")
    return out


@pytest.mark.parametrize("engine", engines())
def test_scores_in_batches_equal_the_in_memory_clv(fitted, tmp_path, engine, request):
    d, spend, want = fitted
    opts = {}
    if engine == "spark":
        request.getfixturevalue("spark")
        opts = {"spark_master": None}
    out = score_members(
        d / "summaries",
        d / "purchase_model.json",
        tmp_path / "scores",
        spend=spend,
        engine=engine,
        batch_rows=97,
        **opts,
    )
    parts = list(out.glob("*.parquet"))
    assert engine == "spark" or len(parts) > 3  # batch by batch
    got = pd.read_parquet(out).set_index("MEMBER_NO").sort_index()
    want = want.rename_axis("MEMBER_NO")
    assert got.index.tolist() == want.index.tolist()
    pd.testing.assert_frame_equal(got[list(want.columns)], want, check_exact=False, rtol=1e-9)
    assert np.isfinite(got["clv"]).all()


def test_without_a_spend_model_the_purchase_columns(fitted, tmp_path):
    d, _, want = fitted
    out = score_members(d / "summaries", d, tmp_path / "s", engine="duckdb", batch_rows=1000)
    got = pd.read_parquet(out).set_index("MEMBER_NO").sort_index()
    assert list(got.columns) == ["p_alive", "expected_flights", "discounted_flights"]
    np.testing.assert_allclose(got["discounted_flights"], want["discounted_flights"], rtol=1e-9)
