"""Notebook 05's decision rules and metric assembly (crm_research.churn.study)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from crm_research import churn as C
from crm_research.churn import study as st


def test_the_retention_value_rule_applies_the_margin_once():
    snap = pd.DataFrame({"MEMBER_NO": [1, 2], "SUM_YR_2": [100.0, 0.0]})
    clv = pd.DataFrame({"MEMBER_NO": [1, 2], "clv": [50.0, 10.0], "p_alive": [0.5, 1.0]})
    value, margin, note = st.value_for_list(clv, snap, [1, 2], margin=0.3)
    assert margin == 1.0 and "notebook 03" in note  # CLV is already a profit
    assert list(value.columns) == ["MEMBER_NO", "clv", "p_alive"]
    value, margin, note = st.value_for_list(None, snap, [1, 2], margin=0.3, proxy_years=2)
    assert margin == 0.3 and "proxy" in note
    assert value.set_index("MEMBER_NO")["clv"].to_dict() == {1: 200.0, 2: 0.0}
    value, margin, note = st.value_for_list(None, snap[["MEMBER_NO"]], [1, 2], margin=0.3)
    assert margin == 0.3 and (value["clv"] == 1.0).all() and "P(churn) only" in note
    # a CLV table without a clv column is not a CLV: the proxy is used
    _, margin, note = st.value_for_list(clv[["MEMBER_NO"]], snap, [1, 2], margin=0.2)
    assert margin == 0.2 and "proxy" in note


def test_metric_keys_of_the_scores():
    ev = pd.DataFrame(
        {
            "model": ["gradient boosting", "logistic regression", "BG/NBD P(no flight)"],
            "roc_auc": [0.8, 0.7, 0.6],
            "pr_auc": [0.5, 0.4, 0.3],
            "brier": [0.1, 0.2, 0.3],
            "top_decile_lift": [3.0, 2.0, 1.5],
        }
    )
    m = st.evaluation_metrics(ev)
    assert m["gbm_roc_auc"] == 0.8 and m["logit_top_decile_lift"] == 2.0
    assert m["model_no_flight_brier"] == 0.3 and len(m) == 12
    assert st.evaluation_metrics(ev, ("roc_auc",), "_truth") == {
        "gbm_roc_auc_truth": 0.8,
        "logit_roc_auc_truth": 0.7,
        "model_no_flight_roc_auc_truth": 0.6,
    }


def test_definition_metrics_and_cross_table():
    summ = pd.DataFrame(
        {
            "definition": ["textbook", "forward"],
            "churn_rate": [0.2, 0.4],
            "truth_precision": [0.5, 0.9],
            "truth_recall": [0.3, 0.8],
            "truth_roc_auc": [0.6, 0.85],
        }
    )
    m = st.definition_metrics(summ)
    assert m["forward_churn_rate"] == 0.4 and m["textbook_truth_roc_auc"] == 0.6
    assert st.definition_metrics(summ[["definition", "churn_rate"]]) == {
        "textbook_churn_rate": 0.2,
        "forward_churn_rate": 0.4,
    }
    comp = pd.DataFrame(
        {"textbook_status": ["churned", "churned", "retained"], "forward_churn": [1, 0, 0]}
    )
    xt = st.textbook_vs_forward(comp)
    assert xt.loc["churned", "share not flying"] == 0.5
    assert xt.loc["retained", "share not flying"] == 0.0
    assert st.textbook_vs_forward(comp[["textbook_status"]]) is None


class _Const:
    def __init__(self, p):
        self.p = p

    def predict_proba(self, X):
        return np.full(len(X), self.p)


def test_scores_now_falls_back_to_gbm_and_fills_the_baseline():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=pd.Index([7, 8, 9], name="MEMBER_NO"))
    cd = SimpleNamespace(
        X_now=X, baseline_now=pd.Series([0.2, np.nan, 0.4], index=X.index), no_flight_now=None
    )
    models = {"gbm": _Const(0.3), "logit": _Const(1.5)}
    p, used, notes = st.scores_now(cd, models, "baseline")
    assert used == "baseline" and p.tolist() == pytest.approx([0.2, 0.3, 0.4]) and not notes
    p, used, notes = st.scores_now(cd, models, "no_flight")
    assert used == "gbm" and "not available" in notes[0]
    p, used, _ = st.scores_now(cd, models, "logit")
    assert (p == 1.0).all()  # clipped to a probability


def test_survival_groups_prefer_segments_then_tier():
    snap = pd.DataFrame({"MEMBER_NO": [1, 2], "FFP_TIER": [4, 5]})
    ds = SimpleNamespace(snapshot=snap)
    seg = pd.DataFrame({"MEMBER_NO": [1, 2], "segment": ["a", "b"], "L": [1, 2]})
    g, note = st.survival_groups(ds, seg)
    assert list(g.columns) == ["MEMBER_NO", "segment"] and "LRFMC" in note
    g, note = st.survival_groups(ds, None)
    assert g["segment"].tolist() == ["tier 4", "tier 5"] and "tier" in note
    assert st.survival_groups(SimpleNamespace(snapshot=snap[["MEMBER_NO"]]), None)[0] is None


def test_winback_sentence_metrics_and_rows():
    p = pd.Series([0.9, 0.5, 0.1], index=pd.Index([1, 2, 3], name="MEMBER_NO"))
    clv = pd.DataFrame({"MEMBER_NO": [1, 2, 3], "clv": [1000.0, 500.0, 100.0]})
    seg = pd.DataFrame({"MEMBER_NO": [1, 2, 3], "segment": [C.WINBACK, "general", C.WINBACK]})
    res = C.campaign(
        C.retention_list(p, clv, seg), contact_cost=10, acceptance_rate=0.5, margin=1.0
    )
    by = C.campaign_by_segment(res)
    note, m, rows = st.winback(res, by, True, top=5)
    assert m["winback_members"] == 2 and "win-back class: 2 members" in note
    assert rows["MEMBER_NO"].tolist() == [1, 3]
    note, m, _ = st.winback(res, by, False)
    assert m == {} and "notebook 04" in note
    out = st.retention_output(res, "gbm", "forward")
    assert out["expected_loss"].is_monotonic_decreasing
    assert set(out["p_churn_model"]) == {"gbm"} and set(out["definition"]) == {"forward"}


def test_retention_csv_reads_back_as_write_csv_writes_it(tmp_path):
    """write_list_csv (pyarrow) and io.write_csv (pandas) give the same cells; text that
    the injection guard or quoting would change falls back to write_csv itself."""
    from crm_research import io as cio

    rng = np.random.default_rng(0)
    n = 500
    out = pd.DataFrame(
        {
            "rank": np.arange(1, n + 1),
            "MEMBER_NO": rng.permutation(n) + 10,
            "segment": rng.choice(["important_retain", "general", "unassigned"], n),
            "p_churn": rng.random(n),
            "clv": np.r_[np.nan, 10.0 ** rng.uniform(-40, 6, n - 1)],  # tiny to large
            "expected_net": rng.normal(0, 100, n),
            "contact": rng.random(n) < 0.3,
            "p_churn_model": "gbm",
            "definition": "forward",
        }
    )
    for frame in (out, out.assign(segment=np.where(out["rank"] == 3, "=cmd|x", "a,b"))):
        fast = st.write_list_csv(frame, tmp_path / "fast.csv")
        slow = cio.write_csv(frame, tmp_path / "slow.csv")
        raw = fast.read_bytes()
        assert raw.startswith(b"rank,MEMBER_NO,segment,") and raw.count(b"\r\n") == n + 1
        pd.testing.assert_frame_equal(pd.read_csv(fast), pd.read_csv(slow), check_exact=True)
    assert fast.read_bytes() == slow.read_bytes()  # the guarded text went to write_csv
    assert "'=cmd|x" in fast.read_text()
