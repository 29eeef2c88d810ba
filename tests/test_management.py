"""Tables of the management report on a hand-made set of results."""

import numpy as np
import pandas as pd
import pytest

from crm_research.data import Dataset
from crm_research.management import (
    StudyResults,
    action_matrix,
    class_table,
    investment_levels,
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


def _classes(members: dict, value: dict) -> pd.DataFrame:
    """A hand-made class table: members and lifetime value per member by class key."""
    return pd.DataFrame({"members": members, "clv_per_member": value})


def test_investment_levels_follow_kotlers_grid():
    # 1,000 members; average value per member = (50*10000 + 300*1500 + 400*500
    # + 250*100) / 1000 = 1,175
    t = _classes(
        {"important_retain": 50, "important_develop": 300, "general": 400, "low_value": 250},
        {"important_retain": 10_000.0, "important_develop": 1_500.0, "general": 500.0,
         "low_value": 100.0},
    )  # fmt: skip
    lv = investment_levels(t)
    avg = (50 * 10000 + 300 * 1500 + 400 * 500 + 250 * 100) / 1000
    assert lv.loc["important_retain", "value_ratio"] == pytest.approx(10000 / avg)
    # 5% of members (few), 8.5x the average (high): partnership
    assert lv.loc["important_retain", "level"] == "partnership"
    # 30% (many), 1.28x (medium): reactive
    assert lv.loc["important_develop", ["size_band", "margin_band"]].tolist() == [
        "many",
        "medium_margin",
    ]
    assert lv.loc["important_develop", "level"] == "reactive"
    # 40% (many), 0.43x (low): basic
    assert lv.loc["general", "level"] == "basic"
    # 25% (many, the bound is inclusive), 0.09x (low): basic
    assert lv.loc["low_value", "level"] == "basic"
    assert "5% of members (few members)" in lv.loc["important_retain", "reason"]
    assert "8.5 times the average" in lv.loc["important_retain", "reason"]
    assert lv.loc["important_retain", "reason"].endswith(": partnership")


@pytest.mark.parametrize(
    "share, ratio, level",
    [
        (0.05, 2.0, "partnership"),
        (0.15, 2.0, "proactive"),
        (0.30, 2.0, "accountable"),
        (0.05, 1.0, "proactive"),
        (0.15, 1.0, "accountable"),
        (0.30, 1.0, "reactive"),
        (0.05, 0.5, "accountable"),
        (0.15, 0.5, "reactive"),
        (0.30, 0.5, "basic"),
    ],
)
def test_investment_level_each_cell_of_the_grid(share, ratio, level):
    """One class of the given share and value ratio; the rest of the members (a second
    class) is sized so that the average value per member is exactly 1,000."""
    n = 10_000
    a = int(share * n)
    va = 1000.0 * ratio
    vb = (1000.0 * n - a * va) / (n - a)
    lv = investment_levels(_classes({"x": a, "rest": n - a}, {"x": va, "rest": vb}))
    assert lv.loc["x", "value_ratio"] == pytest.approx(ratio)
    assert lv.loc["x", "level"] == level


def test_investment_levels_without_value_and_with_negative_value():
    t = _classes({"a": 10, "b": 90}, {"a": np.nan, "b": np.nan})
    lv = investment_levels(t)
    assert lv["level"].isna().all() and (lv["level_name"] == "-").all()
    assert "no level can be set" in lv.loc["a", "reason"]
    t = _classes({"a": 10, "b": 90}, {"a": -5.0, "b": 100.0})
    lv = investment_levels(t)
    assert lv.loc["a", "level"] == "basic" and "not positive" in lv.loc["a", "reason"]
    with pytest.raises(ValueError, match="size_cuts"):
        investment_levels(t, size_cuts=(0.5, 0.2))
    with pytest.raises(ValueError, match="columns"):
        investment_levels(t.drop(columns="members"))


def test_investment_levels_in_chinese():
    t = _classes({"important_retain": 5, "low_value": 95}, {"important_retain": 5000.0,
                                                           "low_value": 10.0})  # fmt: skip
    lv = investment_levels(t, language="zh")
    assert lv.loc["important_retain", "level_name"] == "伙伴型"
    assert lv.loc["important_retain", "reason"].endswith("：伙伴型")
    assert "会员占比 5%" in lv.loc["important_retain", "reason"]
    with pytest.raises(ValueError, match="language"):
        investment_levels(t, language="fr")


def test_class_table_and_matrix_in_chinese(results):
    m = member_table(results)
    t = class_table(m, language="zh")
    assert t.loc["important_retain", "class"] == "重要保持客户"
    assert t.loc["important_retain", "lifecycle_stage"] == "稳定期"
    assert t.loc["general", "class"] == "一般客户"
    tabs = action_matrix(m, language="zh")
    assert tabs["members"].loc["重要保持客户", "高风险"] == 1
