"""Tables of the management report on a hand-made set of results."""

import numpy as np
import pandas as pd
import pytest

from crm_research.data import Dataset
from crm_research.management import (
    StudyResults,
    action_matrix,
    class_table,
    load_results,
    member_table,
    risk_band,
)


@pytest.fixture
def results():
    snap = pd.DataFrame({"MEMBER_NO": [1, 2, 3, 4, 5, 6]})
    ds = Dataset(snapshot=snap, info={"source": "synthetic", "obs_end": "2014-03-31"})
    seg = pd.DataFrame(
        {
            "MEMBER_NO": [1, 2, 3, 4, 5],
            "segment": ["important_retain", "important_retain", "general", "general", "low_value"],
        }
    )
    # member 6 was left out of the segmentation (no flight in the window)
    clv = pd.DataFrame(
        {"MEMBER_NO": [1, 2, 3, 4, 5, 6], "clv": [1000.0, 600.0, 200.0, 100.0, 10.0, 5.0]}
    )
    ret = pd.DataFrame(
        {"MEMBER_NO": [1, 2, 3, 4, 5, 6], "p_churn": [0.1, 0.7, 0.5, 0.2, 0.9, 0.95]}
    )
    return StudyResults(dataset=ds, clv=clv, segments=seg, retention=ret)


def test_risk_bands():
    b = risk_band([0.0, 0.29, 0.3, 0.59, 0.6, 1.0, np.nan])
    assert b.astype(object).tolist()[:6] == ["low", "low", "medium", "medium", "high", "high"]
    assert pd.isna(b.iloc[6])
    with pytest.raises(ValueError, match="risk cuts"):
        risk_band([0.5], cuts=(0.6, 0.3))


def test_class_table_hand_computed(results):
    m = member_table(results)
    t = class_table(m)
    r = t.loc["important_retain"]
    assert r["members"] == 2 and r["clv_total"] == 1600
    assert r["clv_share"] == pytest.approx(1600 / 1915)
    assert r["mean_p_churn"] == pytest.approx(0.4)
    assert r["expected_loss"] == pytest.approx(0.1 * 1000 + 0.7 * 600)
    assert list(t.index) == ["important_retain", "general", "low_value", "not_segmented"]
    assert t.loc["not_segmented", "members"] == 1
    assert "win-back" in t.loc["not_segmented", "strategy"]
    assert t["member_share"].sum() == pytest.approx(1.0)


def test_action_matrix_cells(results):
    tabs = action_matrix(member_table(results))
    mem, clv = tabs["members"], tabs["clv"]
    assert mem.loc["Important - retain", "low risk"] == 1
    assert mem.loc["Important - retain", "high risk"] == 1
    assert clv.loc["Important - retain", "high risk"] == 600
    assert clv.loc["General", "medium risk"] == 200
    assert mem.to_numpy().sum() == 6
    assert clv.to_numpy().sum() == pytest.approx(1915)
    assert mem.loc["Not segmented", "high risk"] == 1


def test_missing_results_are_noted(tmp_path):
    snap = pd.DataFrame({"MEMBER_NO": [1, 2]})
    Dataset(snapshot=snap, info={"source": "textbook", "obs_end": "2014-03-31"}).save(tmp_path)
    res = load_results(tmp_path)
    assert len(res.notes) == 3 and res.clv is None and res.segments is None
    m = member_table(res)
    assert (m["segment"] == "all members").all() and m["clv"].isna().all()
    assert action_matrix(m) == {}
