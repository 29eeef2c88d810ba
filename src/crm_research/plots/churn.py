"""Plots for the churn stage: `plot_x(..., ax=None) -> Axes`."""
