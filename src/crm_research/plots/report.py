"""Plots of the management report (notebook 06): ``plot_x(..., ax=None) -> Axes``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

__all__ = ["FIGURE_TEXT", "plot_action_matrix", "plot_class_value", "plot_value_concentration"]

#: Figure text of the management report in each language (the Chinese edition uses it
#: only when a CJK font is installed: :func:`crm_research.plots.fonts.figure_language`).
FIGURE_TEXT = {
    "en": {
        "members": "{n:,} members",
        "risk_axis": "Churn risk (probability of leaving)",
        "matrix_title": "Action matrix: members and {value} by class and churn risk",
        "member_share": "share of members",
        "value_share": "share of lifetime value",
        "percent": "Percent",
        "value_title": "Who holds the value: members vs lifetime value by class",
    },
    "zh": {
        "members": "{n:,} 名会员",
        "risk_axis": "流失风险（离开的概率）",
        "matrix_title": "行动矩阵：各类客户按流失风险的会员数与{value}",
        "member_share": "会员占比",
        "value_share": "终身价值占比",
        "percent": "百分比",
        "value_title": "价值在谁手中：各类客户的会员占比与终身价值占比",
    },
}


def plot_action_matrix(
    members: pd.DataFrame,
    value: pd.DataFrame,
    ax=None,
    value_label: str = "CLV at stake",
    language: str = "en",
) -> plt.Axes:
    """Heat map of class x churn-risk cells, shaded by value, annotated with members and value
    (labels in ``language``, ``en`` or ``zh``)."""
    text = FIGURE_TEXT[language]
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 0.7 * len(members) + 1.8))
    v = value.to_numpy(dtype=float)
    im = ax.imshow(v, cmap="Reds", aspect="auto")
    ax.set_xticks(range(v.shape[1]), list(value.columns))
    ax.set_yticks(range(v.shape[0]), list(value.index))
    top = np.nanmax(v) if v.size and np.isfinite(v).any() else 1.0
    for i in range(v.shape[0]):
        for j in range(v.shape[1]):
            colour = "white" if top and v[i, j] > 0.6 * top else "black"
            ax.text(
                j,
                i,
                text["members"].format(n=int(members.iat[i, j])) + f"\n{v[i, j]:,.0f}",
                ha="center",
                va="center",
                fontsize=8.5,
                color=colour,
            )
    ax.set_xlabel(text["risk_axis"])
    ax.set_title(text["matrix_title"].format(value=value_label))
    ax.figure.colorbar(im, ax=ax, label=value_label, format=FuncFormatter(lambda x, _: f"{x:,.0f}"))
    return ax


def plot_class_value(table: pd.DataFrame, ax=None, language: str = "en") -> plt.Axes:
    """Share of members vs share of lifetime value, per class (bars side by side)."""
    text = FIGURE_TEXT[language]
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["member_share"] * 100, width=0.4, label=text["member_share"])
    ax.bar(x + 0.2, table["clv_share"].fillna(0) * 100, width=0.4, label=text["value_share"])
    ax.set_xticks(x, list(table["class"]), rotation=20, ha="right")
    ax.set_ylabel(text["percent"])
    ax.set_title(text["value_title"])
    ax.legend()
    return ax


LORENZ_TEXT = {
    "en": ("Members, ranked from lowest to highest value (%)", "Cumulative share of value (%)"),
    "zh": ("会员按价值从低到高排序（%）", "累计价值占比（%）"),
}


def plot_value_concentration(panels, q: float = 0.2, language: str = "en"):
    """Lorenz curves side by side, one per ``(values, title)`` panel; returns the Figure.

    Wraps :func:`crm_research.plots.exploration.plot_lorenz` and names the axes in
    ``language``.
    """
    from .exploration import plot_lorenz

    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    for ax, (values, title) in zip(axes[0], panels, strict=True):
        plot_lorenz(values, ax=ax, label=title, q=q)
        ax.set_title(title)
        ax.set_xlabel(LORENZ_TEXT[language][0])
        ax.set_ylabel(LORENZ_TEXT[language][1])
        if language == "zh":
            _lorenz_in_chinese(ax, values, q)
    fig.tight_layout()
    return fig


def _lorenz_in_chinese(ax, values, q: float) -> None:
    """The Lorenz panel's annotation and legend in Chinese (the curve is unchanged)."""
    from ..exploration import top_share

    for t in ax.texts:
        if t.get_text().startswith("top "):
            t.set_text(f"前 {q:.0%} 的会员\n持有 {top_share(values, q):.0%} 的价值")
    lines = ax.get_lines()
    labels = [ln.get_label() for ln in lines]
    labels = ["完全平均" if lb == "perfect equality" else lb for lb in labels]
    keep = [(ln, lb) for ln, lb in zip(lines, labels, strict=True) if not lb.startswith("_")]
    ax.legend([k[0] for k in keep], [k[1] for k in keep], loc="upper left")
