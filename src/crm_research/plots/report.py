"""Plots for the report stage: `plot_x(..., ax=None) -> Axes`."""
