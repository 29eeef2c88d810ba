"""Helpers shared by the plot modules (not part of the public API)."""

from __future__ import annotations

import matplotlib.pyplot as plt


def new_ax(ax, size=(7, 4.5)):
    """``ax`` itself, or the axes of a new figure of ``size`` inches when it is None."""
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def finish_curves(ax, end: float, label: str, xlabel: str, ylabel: str, title: str):
    """Draw the chance diagonal from (0, 0) to (end, end), label the axes, add the legend."""
    ax.plot([0, end], [0, end], color="grey", ls=":", label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    return ax
