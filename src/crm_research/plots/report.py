"""Plots of the management report (notebook 06): ``plot_x(..., ax=None) -> Axes``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

__all__ = ["plot_action_matrix", "plot_class_value"]


def plot_action_matrix(
    members: pd.DataFrame, value: pd.DataFrame, ax=None, value_label: str = "CLV at stake"
) -> plt.Axes:
    """Heat map of class x churn-risk cells, shaded by value, annotated with members and value."""
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
                f"{int(members.iat[i, j]):,} members\n{v[i, j]:,.0f}",
                ha="center",
                va="center",
                fontsize=8.5,
                color=colour,
            )
    ax.set_xlabel("Churn risk (probability of leaving)")
    ax.set_title(f"Action matrix: members and {value_label} by class and churn risk")
    ax.figure.colorbar(im, ax=ax, label=value_label, format=FuncFormatter(lambda x, _: f"{x:,.0f}"))
    return ax


def plot_class_value(table: pd.DataFrame, ax=None) -> plt.Axes:
    """Share of members vs share of lifetime value, per class (bars side by side)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["member_share"] * 100, width=0.4, label="share of members")
    ax.bar(x + 0.2, table["clv_share"].fillna(0) * 100, width=0.4, label="share of lifetime value")
    ax.set_xticks(x, list(table["class"]), rotation=20, ha="right")
    ax.set_ylabel("Percent")
    ax.set_title("Who holds the value: members vs lifetime value by class")
    ax.legend()
    return ax
