"""Notebook 03's CLV table scored in batches by each engine (``clv.parquet``) equals the
in-memory table row for row, and the engine's aggregates over it (equity, describe, top
members, Gini, top share, Lorenz curve, histogram, past revenue) equal pandas'."""

from __future__ import annotations

import os
import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from crm_research import clv
from crm_research.clv import study03
from crm_research.data.engines import get_engine
from crm_research.data.engines.flightlog import FlightLog
from crm_research.data.engines.scale import fit_on_histories
from crm_research.data.engines.valuetable import (
    LORENZ_POINTS,
    ValueTable,
    lorenz_ranks,
    score_value_table,
    value_table,
)
from crm_research.data.simulate import simulate_programme

OBS_END = pd.Timestamp("2014-03-31")
SETTINGS = {"horizon_months": 24, "discount_rate_annual": 0.1, "margin": 0.1}


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A small programme: its log as Parquet, the model file, the spend model, and the
    in-memory CLV table (notebook 03's reference)."""
    d = tmp_path_factory.mktemp("valuetable")
    f = simulate_programme(n_members=700, seed=12, obs_end=str(OBS_END.date())).flights
    f.to_parquet(d / "flights.parquet", index=False)
    with get_engine("duckdb") as eng:
        model = fit_on_histories(eng.load(f).histories(observation_end=OBS_END))
    clv.save_purchase_model(model, d / "purchase_model.json", time_unit="weeks",
                            counting_rule="flights", calibration_end=OBS_END)  # fmt: skip
    purchase = clv.load_purchase_model(d / "purchase_model.json")
    ds = SimpleNamespace(flights=f, obs_end=OBS_END, info={"source": "synthetic"}, snapshot=None)
    summary = clv.purchase_summary(ds, time_unit="weeks", counting_rule="flights")
    spend = clv.GammaGamma().fit(summary)
    values = clv.customer_lifetime_value(purchase, spend, summary, **SETTINGS)
    return d, ds, purchase, spend, values, study03.clv_table(values, summary)


def _java() -> bool:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("no Java in CI: apt-get install openjdk-17-jre-headless")
        pytest.skip("Spark needs Java 17+: apt-get install openjdk-17-jre-headless")
    return True


@pytest.mark.parametrize(
    "engine", ["pandas", "duckdb", pytest.param("spark", marks=pytest.mark.slow)]
)
def test_batch_scored_clv_table_and_its_aggregates(scored, tmp_path, engine):
    d, ds, purchase, spend, values, want = scored
    if engine == "spark" and _java():
        from crm_research.data.engines.spark_engine import spark_session

        spark_session("local[2]", {"spark.sql.shuffle.partitions": "2"})
    if engine != "pandas":  # the run's lazy log, scanned by the engine
        log = FlightLog(d / "flights.parquet", engine)
        ds = SimpleNamespace(**{**vars(ds), "flights": log})
    out = tmp_path / "clv.parquet"
    out.write_bytes(b"an older run's file")  # replaced
    path = score_value_table(ds, purchase, spend, out, model_file=d, **SETTINGS)
    assert path == out and out.is_file()  # one file, as the run publishes it
    got = pd.read_parquet(path).sort_values("MEMBER_NO").reset_index(drop=True)
    # row for row the in-memory table (Spark's parts come in its own order)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=0,
                                  check_dtype=False)  # fmt: skip
    vt = value_table(path, ds)
    ref = ValueTable.from_frame(values)
    st, rst = vt.stats(), ref.stats()
    assert st["n"] == rst["n"] == len(values) and st["n_nonfinite"] == 0
    for k in ("equity", "mean_clv", "median_clv", "mean_p_alive"):
        assert st[k] == pytest.approx(rst[k], rel=1e-12), k
    assert rst["equity"] == float(values["clv"].sum())
    pd.testing.assert_frame_equal(vt.describe(), values.describe().T, rtol=1e-10)
    top = values.nlargest(10, "clv")
    pd.testing.assert_frame_equal(vt.top(10), top, rtol=1e-12, check_dtype=False,
                                  check_names=False)  # fmt: skip
    c, rc = vt.concentration(0.2), clv.concentration(values["clv"], top_share=0.2)
    for k in ("gini", "top_value_share", "total"):
        assert c[k] == pytest.approx(rc[k], rel=1e-12), k
    full = clv.lorenz_curve(values["clv"])
    keep = np.r_[0, lorenz_ranks(len(values))]
    pd.testing.assert_frame_equal(c["curve"], full.iloc[keep].reset_index(drop=True), rtol=1e-12)
    counts, edges = vt.histogram()
    v = values["clv"].to_numpy()
    np.testing.assert_array_equal(counts, np.histogram(v[v > 0], bins=edges)[0])
    past = vt.past_revenue(ds.flights)
    rev = ds.flights.groupby("MEMBER_NO")["REVENUE"].sum() if engine == "pandas" else None
    if rev is None:
        rev = pd.read_parquet(d / "flights.parquet").groupby("MEMBER_NO")["REVENUE"].sum()
    rev = rev.reindex(values.index).fillna(0).clip(lower=0)
    assert past["gini"] == pytest.approx(clv.concentration(rev)["gini"], rel=1e-12)
    # notebook 03's sentences and tables from the engine's table equal the in-memory ones
    conc, curves, text = study03.value_concentration(vt, ds.flights, 0.2)
    assert text == study03.value_concentration(values, ds.flights, 0.2)[2]
    assert set(curves) == {"predicted CLV", "past revenue"}
    kw = {"currency": "yuan", **SETTINGS}
    assert study03.clv_text(vt, purchase, spend, **kw) == study03.clv_text(
        values, purchase, spend, **kw
    )
    seg = pd.Series(np.where(values["p_alive"] > 0.5, "alive", "gone"), index=values.index)
    boot = {"segments": pd.DataFrame()}
    got_seg = study03.segment_table(vt, seg, boot, rst["equity"], {"lower": None})
    ref_seg = study03.segment_table(values, seg, boot, rst["equity"], {"lower": None})
    pd.testing.assert_frame_equal(got_seg, ref_seg, rtol=1e-12)
    vt.close()


def test_lorenz_ranks_are_every_rank_up_to_the_limit_then_equal_steps():
    assert lorenz_ranks(5).tolist() == [1, 2, 3, 4, 5]
    r = lorenz_ranks(10 * LORENZ_POINTS + 3)
    assert len(r) == LORENZ_POINTS and r[-1] == 10 * LORENZ_POINTS + 3
    assert np.all(np.diff(r) >= 10)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_member_ids_keep_their_type(scored, tmp_path, engine):
    """Member numbers read as text (a CSV log) stay text in clv.parquet, as before."""
    d, ds, purchase, spend, _, want = scored
    f = ds.flights.assign(MEMBER_NO=ds.flights["MEMBER_NO"].astype(str))
    if engine == "pandas":
        flights = f
    else:
        f.to_parquet(tmp_path / "flights.parquet", index=False)
        flights = FlightLog(tmp_path / "flights.parquet", engine)
    ds = SimpleNamespace(**{**vars(ds), "flights": flights})
    path = score_value_table(ds, purchase, spend, tmp_path / "clv.parquet", model_file=d,
                             **SETTINGS)  # fmt: skip
    got = pd.read_parquet(path)
    assert pd.api.types.is_string_dtype(got["MEMBER_NO"])
    got = got.assign(MEMBER_NO=got["MEMBER_NO"].astype(np.int64)).sort_values("MEMBER_NO")
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, rtol=1e-12,
                                  check_dtype=False)  # fmt: skip
