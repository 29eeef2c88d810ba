"""The run's model checks: every fit's verdict, gathered from the notebooks' metrics.

Each notebook puts the verdicts of its fits into its metrics JSON under
``"model_checks"`` (a list of :meth:`crm_research.clv.verdict.FitVerdict.to_dict`
dicts, ``context`` naming the notebook and the fit). The runner gathers them into
``manifest.json`` and the researchers' index (:func:`collect_model_checks`,
:func:`model_checks_html`); the management report (notebook 06) reads the metrics of
the notebooks that ran before it (:func:`read_model_checks`) and states every check
that is not clean in plain words (:func:`plain_caveats`). A fallback is never silent.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

COLUMNS = ("notebook", "context", "model", "status", "penalizer", "detail", "sentence")


def collect_model_checks(metrics: Mapping[str, Mapping]) -> list[dict]:
    """All model checks of a run, notebook by notebook.

    Parameters
    ----------
    metrics : mapping
        Notebook stem -> its metrics dict (as in ``manifest.json``'s ``"metrics"``).

    Returns
    -------
    list of dict
        One dict per check: ``notebook`` plus the verdict's keys.
    """
    out = []
    for book in sorted(metrics):
        for check in (metrics[book] or {}).get("model_checks") or []:
            if isinstance(check, Mapping) and "status" in check:
                out.append({"notebook": book, **check})
    return out


def read_model_checks(metrics_dir: str | os.PathLike) -> list[dict]:
    """The model checks in the metrics files (``NN_name.json``) of ``metrics_dir``."""
    d = Path(metrics_dir)
    metrics = {}
    for f in sorted(d.glob("[0-9][0-9]_*.json")) if d.exists() else []:
        try:
            metrics[f.stem] = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
    return collect_model_checks(metrics)


def model_checks_table(checks: list[dict]) -> pd.DataFrame:
    """The checks as a table (``notebook, context, model, status, penalizer, detail``)."""
    df = pd.DataFrame(list(checks))
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = pd.Series(dtype=object)
    return df[list(COLUMNS)]


def plain_caveat(check: dict, language: str = "en") -> str | None:
    """One check in plain words for managers (``en`` or ``zh``); None for a clean fit.

    A check with ``role`` ``"candidate"`` or ``"comparison"``, or whose context says "not
    used" (a model that was compared but not used for the figures), says so.
    """
    text = _plain(check, language)
    compared = check.get("role") in ("candidate", "comparison") or "not used" in str(
        check.get("context", "")
    )
    if text is not None and compared:
        text += (
            "该模型仅用于比较，本报告的图表未使用它。"
            if language == "zh"
            else " This model was only compared; the figures of this report do not use it."
        )
    return text


#: Plain sentences per language: the default model name, how the fit's context is
#: shown, the words for "no parameter named", and one template per status that is not
#: clean ("failed_score": a churn score that ranks worse than chance). Model names and
#: contexts stay as recorded.
_SENTENCES = {
    "en": {
        "model": "a model",
        "where": " ({})",
        "no_parameters": "some of its parameters",
        "penalized": (
            "**{model}{where}** could only be estimated with a stabilising penalty "
            "(strength {penalizer:g}): the data alone did not pin it "
            "down, so its figures are pulled towards simpler values. Use them as rough "
            "guides, not exact amounts."
        ),
        "at_bound": (
            "**{model}{where}**: these data cannot determine {parameters} (the estimate "
            "ran to the edge of what the model allows). Its results on these data are not "
            "reliable; the study does not choose such a model."
        ),
        "failed_score": (
            "**{model}{where}** ranks the members who left below those who stayed "
            "(worse than chance): it must not be used to pick members for retention."
        ),
        "failed": "**{model}{where}** could not be estimated from these data and was left out.",
    },
    "zh": {
        "model": "模型",
        "where": "（{}）",
        "no_parameters": "",
        "penalized": (
            "**{model}{where}** 只有加入稳定化惩罚（强度 {penalizer:g}）"
            "才能估计：仅凭数据无法确定其参数，结果会偏向更简单的取值。请把这些数字当作粗略参考，"
            "而不是精确金额。"
        ),
        "at_bound": (
            "**{model}{where}**：这些数据无法确定参数 {parameters}"
            "（估计值到达了模型允许范围的边界）。其结果在这些数据上不可靠，研究不会选用这样的模型。"
        ),
        "failed_score": (
            "**{model}{where}** 对流失会员的排序比留存会员还低（不如随机）："
            "不得用它挑选需要挽留的会员。"
        ),
        "failed": "**{model}{where}** 无法用这些数据估计，已被略去。",
    },
}
_STATUSES = ("penalized", "at_bound", "failed")


def _plain(check: dict, language: str = "en") -> str | None:
    words = _SENTENCES["zh" if language == "zh" else "en"]
    status = check.get("status")
    if status not in _STATUSES:
        return None
    model = check.get("model", words["model"])
    where = check.get("context", "")
    fields = {"model": model, "where": words["where"].format(where) if where else ""}
    if status == "penalized":
        fields["penalizer"] = float(check.get("penalizer", 0))
    elif status == "at_bound":
        p = check.get("parameters") or []
        fields["parameters"] = ", ".join(p) if p else words["no_parameters"]
    elif check.get("check") == "score" or str(model).startswith("churn score"):
        status = "failed_score"
    return words[status].format(**fields)


def plain_caveats(checks: list[dict], language: str = "en") -> list[str]:
    """Plain-words caveats of every check that is not clean (duplicates removed)."""
    out: list[str] = []
    for c in checks:
        s = plain_caveat(c, language)
        if s is not None and s not in out:
            out.append(s)
    return out


def model_checks_html(checks: list[dict]) -> str:
    """An HTML table of the checks (escaped), for the researchers' index page."""
    if not checks:
        return "<p>No model checks were recorded in this run.</p>"
    rows = []
    for c in checks:
        status = str(c.get("status", ""))
        colour = {"converged": "#1a7f37", "penalized": "#9a6700"}.get(status, "#cf222e")
        rows.append(
            "<tr>"
            f"<td>{html.escape(str(c.get('notebook', '')))}</td>"
            f"<td>{html.escape(str(c.get('context', '')))}</td>"
            f"<td>{html.escape(str(c.get('model', '')))}</td>"
            f'<td style="color:{colour}"><b>{html.escape(status)}</b></td>'
            f"<td>{html.escape(str(c.get('sentence', '')))}</td>"
            "</tr>"
        )
    head = "<tr><th>notebook</th><th>fit</th><th>model</th><th>verdict</th><th>in words</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


__all__ = [
    "collect_model_checks",
    "model_checks_html",
    "model_checks_table",
    "plain_caveat",
    "plain_caveats",
    "read_model_checks",
]
