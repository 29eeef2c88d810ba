"""The purchase-model file round-trips: loading gives the same predictions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from crm_research import clv
from crm_research.data.simulate import simulate_programme


@pytest.fixture(scope="module")
def summary():
    sim = simulate_programme(n_members=1200, seed=11)
    return clv.flight_summary(sim.flights, observation_end=sim.obs_end)


@pytest.mark.parametrize("key", ["bgnbd", "mbgnbd", "pareto"])
def test_round_trip_gives_identical_predictions(tmp_path, summary, key):
    m = clv.fit_ladder(key, summary, context="test")
    path = clv.save_purchase_model(
        m,
        tmp_path / "purchase_model.json",
        time_unit="weeks",
        counting_rule="flights",
        calibration_end="2014-03-31",
        selection={"rule": "test"},
        holdout_cumulative_error=-0.0123,
    )
    doc = json.loads(path.read_text())  # plain JSON, no pickle
    assert doc["name"] == m.name and doc["verdict"]["status"] == m.verdict_.status
    back = clv.load_purchase_model(path)
    assert type(back) is type(m) and back.penalizer == m.penalizer
    assert back.verdict_ == m.verdict_
    assert back.meta_["holdout_cumulative_error"] == -0.0123
    assert back.meta_["counting_rule"] == "flights" and back.meta_["time_unit"] == "weeks"
    x, tx, T = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    np.testing.assert_array_equal(back.params_.to_numpy(), m.params_.to_numpy())
    np.testing.assert_array_equal(back.p_alive(x, tx, T), m.p_alive(x, tx, T))
    np.testing.assert_array_equal(
        back.expected_flights(52, x, tx, T), m.expected_flights(52, x, tx, T)
    )
    np.testing.assert_array_equal(back.prob_no_flight(52, x, tx, T), m.prob_no_flight(52, x, tx, T))
    np.testing.assert_array_equal(back.standard_errors_, m.standard_errors_)
    assert back.bic_ == pytest.approx(m.bic_)


def test_missing_and_bad_files_are_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="notebook 02"):
        clv.load_purchase_model(tmp_path / "purchase_model.json")
    (tmp_path / "purchase_model.json").write_text('{"key": "weibull", "params": {}}')
    with pytest.raises(ValueError, match="not a purchase-model file"):
        clv.load_purchase_model(tmp_path)


def test_the_calibration_fit_says_so_and_older_files_are_the_runs(tmp_path, summary):
    m = clv.fit_ladder("bgnbd", summary, context="test")
    kw = {"time_unit": "weeks", "counting_rule": "flights", "calibration_end": "2013-03-31"}
    path = clv.save_purchase_model(
        m, tmp_path / "purchase_model_calibration.json", fitted_on="calibration period", **kw
    )
    back = clv.load_purchase_model(path)
    assert back.meta_["fitted_on"] == "calibration period" and back.verdict_ == m.verdict_
    assert back.meta_["calibration_end"] == "2013-03-31"
    with pytest.raises(ValueError, match="fitted_on must be one of"):
        clv.save_purchase_model(m, tmp_path / "x.json", fitted_on="holdout", **kw)
    doc = json.loads(path.read_text())
    del doc["fitted_on"]  # a file of an earlier version: the run's model
    (tmp_path / "purchase_model.json").write_text(json.dumps(doc))
    assert clv.load_purchase_model(tmp_path).meta_["fitted_on"] == "all data"
    doc["fitted_on"] = "yesterday"
    (tmp_path / "purchase_model.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="purchase_model.json: fitted_on must be one of"):
        clv.load_purchase_model(tmp_path)
