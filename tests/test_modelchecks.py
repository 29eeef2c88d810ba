"""The run's model checks: gathered from the metrics, in plain words, escaped in HTML."""

from __future__ import annotations

import json

from crm_research.clv.verdict import FitVerdict
from crm_research.modelchecks import (
    collect_model_checks,
    model_checks_html,
    model_checks_table,
    plain_caveats,
    read_model_checks,
)


def _metrics():
    return {
        "02_clv_purchase_models": {
            "model_checks": [
                {**FitVerdict("BG/NBD", "converged", context="nb 02").to_dict(), "role": "used"},
                {
                    **FitVerdict(
                        "Pareto/NBD", "at_bound", parameters=("s", "beta"), context="nb 02"
                    ).to_dict(),
                    "role": "candidate",
                },
            ]
        },
        "03_clv_monetary_value": {
            "model_checks": [
                FitVerdict("Gamma-Gamma", "penalized", penalizer=0.01, detail="q <= 1").to_dict()
            ]
        },
        "05_churn_analysis": {
            "model_checks": [
                {
                    **FitVerdict(
                        "churn score: 1 - P(alive) <b>", "failed", detail="AUC 0.32"
                    ).to_dict(),
                    "check": "score",
                }
            ]
        },
        "06_management_report": {"n_members": 3},
    }


def test_collect_and_read(tmp_path):
    checks = collect_model_checks(_metrics())
    assert [c["notebook"][:2] for c in checks] == ["02", "02", "03", "05"]
    for name, m in _metrics().items():
        (tmp_path / f"{name}.json").write_text(json.dumps(m))
    assert read_model_checks(tmp_path) == checks
    assert read_model_checks(tmp_path / "absent") == []
    t = model_checks_table(checks)
    assert list(t["status"]) == ["converged", "at_bound", "penalized", "failed"]


def test_plain_caveats_name_every_check_that_is_not_clean():
    words = plain_caveats(collect_model_checks(_metrics()))
    assert len(words) == 3  # the clean BG/NBD is not a caveat
    assert "cannot determine s, beta" in words[0] and "only compared" in words[0]
    assert "stabilising penalty (strength 0.01)" in words[1]
    assert "worse than chance" in words[2]


def test_html_is_escaped():
    html = model_checks_html(collect_model_checks(_metrics()))
    assert "&lt;b&gt;" in html and "<b>failed</b>" in html
    assert "No model checks" in model_checks_html([])


def test_plain_caveats_in_chinese():
    from crm_research.modelchecks import plain_caveat, plain_caveats

    pen = {"status": "penalized", "model": "BG/NBD", "context": "notebook 02", "penalizer": 0.01}
    bound = {"status": "at_bound", "model": "Pareto/NBD", "parameters": ["s", "beta"]}
    clean = {"status": "converged", "model": "BG/NBD"}
    assert "稳定化惩罚（强度 0.01）" in plain_caveat(pen, "zh")
    assert plain_caveat(pen, "zh").startswith("**BG/NBD（notebook 02）**")
    assert "s, beta" in plain_caveat(bound, "zh") and "边界" in plain_caveat(bound, "zh")
    assert plain_caveat(clean, "zh") is None
    compared = {**pen, "role": "comparison"}
    assert plain_caveat(compared, "zh").endswith("本报告的图表未使用它。")
    assert len(plain_caveats([pen, pen, bound, clean], "zh")) == 2
    assert plain_caveats([pen], "en") == [plain_caveat(pen)]
