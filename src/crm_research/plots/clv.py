"""Plots for the clv stage: `plot_x(..., ax=None) -> Axes`."""
