"""Plots for the segmentation stage: `plot_x(..., ax=None) -> Axes`."""
