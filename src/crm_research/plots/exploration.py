"""Plots for the exploration stage: `plot_x(..., ax=None) -> Axes`."""
