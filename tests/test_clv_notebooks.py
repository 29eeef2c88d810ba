"""Notebooks 02 and 03 run end to end on tiny data of the three kinds (papermill)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crm_research import io as cio
from crm_research.data import Dataset

pm = pytest.importorskip("papermill")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _run(name: str, processed: Path, tmp: Path, **params):
    out = tmp / f"{name}.out.ipynb"
    pm.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"),
        str(out),
        parameters={
            "processed_dir": str(processed),
            "figures_dir": str(tmp / "figures"),
            "metrics_dir": str(tmp / "metrics"),
            **params,
        },
        progress_bar=False,
    )
    return out


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from crm_research.data.simulate import simulate_programme

    d = tmp_path_factory.mktemp("synthetic") / "processed"
    simulate_programme(n_members=800, seed=3).to_dataset().save(d)
    return d


@pytest.mark.slow
def test_notebooks_02_03_synthetic(synthetic, tmp_path):
    _run("02_clv_purchase_models", synthetic, tmp_path, models=["bgnbd", "pareto"])
    pred = pd.read_parquet(synthetic / "purchase_predictions.parquet")
    need = {
        "MEMBER_NO",
        "frequency",
        "recency",
        "T",
        "p_alive",
        "expected_flights_holdout",
        "expected_flights_next_year",
    }
    assert need <= set(pred.columns) and len(pred) == 800
    assert pred["p_alive"].between(0, 1).all() and pred["p_alive"].min() < 0.9  # some look gone
    _run("03_clv_monetary_value", synthetic, tmp_path, n_bootstrap=3)
    value = pd.read_parquet(synthetic / "clv.parquet")
    need = {"MEMBER_NO", "p_alive", "expected_flights", "expected_revenue_per_flight", "clv"}
    assert need <= set(value.columns) and value["clv"].notna().all()
    eq = cio.read_json(synthetic / "customer_equity.json")
    assert eq["customer_equity"] == pytest.approx(value["clv"].sum())
    # 3 replicates: no interval, and the file says why instead of NaN
    assert eq["equity_interval_label"] == "parameter uncertainty"
    assert (
        eq["equity_lower_95"] is None
        and "only 3 bootstrap replicates" in eq["equity_interval_text"]
    )
    assert eq["equity_holdout_text"] and eq["spend_model"] and eq["spend_model_reason"]
    m3 = cio.read_json(tmp_path / "metrics" / "03_clv_monetary_value.json")
    assert m3["spend_verdict"] == "independent" and eq["spend_model"] == "Gamma-Gamma"
    checks = m3["model_checks"]
    assert {c["model"] for c in checks} >= {"Gamma-Gamma", "log-spend regression"}
    assert any(c["model"].startswith("bootstrap") for c in checks)
    assert all(c["status"] in {"converged", "penalized", "at_bound", "failed"} for c in checks)
    m2 = cio.read_json(tmp_path / "metrics" / "02_clv_purchase_models.json")
    assert m2["preferred_model"] in {"BG/NBD", "Pareto/NBD"}
    figs = {p.stem for p in (tmp_path / "figures").glob("*.png")}
    assert {
        "clv_cumulative_tracking",
        "clv_calibration_vs_holdout",
        "clv_customer_equity_bootstrap",
        "clv_spend_vs_frequency",
    } <= figs


@pytest.mark.slow
def test_notebooks_02_03_cdnow(tmp_path):
    from crm_research.data.cdnow import cdnow_dataset

    d = tmp_path / "processed"
    cdnow_dataset(sample=True).save(d)
    _run("02_clv_purchase_models", d, tmp_path, models=["bgnbd"])
    m2 = cio.read_json(tmp_path / "metrics" / "02_clv_purchase_models.json")
    assert m2["calibration_end"] == "1997-09-30"  # the paper's recipe
    assert m2["bgnbd_r"] == pytest.approx(0.2426, rel=5e-3)  # FHL 2005a
    _run("03_clv_monetary_value", d, tmp_path, n_bootstrap=2)
    assert (d / "clv.parquet").exists()


@pytest.mark.slow
def test_notebooks_02_03_textbook_snapshot_only(synthetic, tmp_path):
    full = pd.read_parquet(synthetic / "snapshot.parquet")
    snap = full.loc[full["FLIGHT_COUNT"] >= 2].reset_index(drop=True)
    d = tmp_path / "processed"
    Dataset(snapshot=snap, info={"source": "textbook", "obs_end": "2014-03-31"}).save(d)
    _run("02_clv_purchase_models", d, tmp_path, models=["bgnbd"])
    pred = pd.read_parquet(d / "purchase_predictions.parquet")
    assert "expected_flights_holdout" not in pred.columns  # no flight log, no holdout
    _run("03_clv_monetary_value", d, tmp_path, n_bootstrap=2)
    assert pd.read_parquet(d / "clv.parquet")["clv"].notna().all()


@pytest.mark.slow
def test_one_p_alive_for_a_member_in_notebooks_02_03_05(tmp_path):
    """The run's one purchase model: notebook 02's predictions, notebook 03's CLV table and
    notebook 05's features give every member the same P(alive)."""
    from crm_research.data.simulate import simulate_programme

    d = tmp_path / "processed"
    simulate_programme(n_members=1500, seed=5).to_dataset().save(d)
    _run("02_clv_purchase_models", d, tmp_path)
    _run("03_clv_monetary_value", d, tmp_path, n_bootstrap=2)
    _run("05_churn_analysis", d, tmp_path, reports_dir=str(tmp_path))
    model = cio.read_json(d / "purchase_model.json")
    m2 = cio.read_json(tmp_path / "metrics" / "02_clv_purchase_models.json")
    assert model["name"] == m2["purchase_model"] and model["verdict"]["status"] != "at_bound"
    p02 = pd.read_parquet(d / "purchase_predictions.parquet").set_index("MEMBER_NO")["p_alive"]
    p03 = pd.read_parquet(d / "clv.parquet").set_index("MEMBER_NO")["p_alive"]
    p05 = pd.read_parquet(d / "churn_features_now.parquet").set_index("MEMBER_NO")["p_alive"]
    assert len(p02) > 1000
    pd.testing.assert_series_equal(p03.reindex(p02.index), p02, check_names=False)
    common = p05.index.intersection(p02.index)
    assert len(common) > 0.9 * len(p02)
    pd.testing.assert_series_equal(p05.loc[common], p02.loc[common], check_names=False)
    # every notebook recorded its fits' verdicts
    for name in ("02_clv_purchase_models", "03_clv_monetary_value", "05_churn_analysis"):
        checks = cio.read_json(tmp_path / "metrics" / f"{name}.json")["model_checks"]
        assert checks and all(
            c["status"] in ("converged", "penalized", "at_bound", "failed") for c in checks
        )
