"""Figures of the study, one module per stage, each function ``plot_x(..., ax=None) -> Axes``.

The notebook decides where a figure is saved (``crm_research.io.save_figure``), under a
name that says what it shows. Figures use English text, except those of the management
report's Chinese edition, which use a CJK font when one is installed
(:func:`~crm_research.plots.fonts.figure_language`).
"""

from .churn import *  # noqa: F401,F403
from .clv import *  # noqa: F401,F403
from .exploration import *  # noqa: F401,F403
from .fonts import *  # noqa: F401,F403
from .report import *  # noqa: F401,F403
from .segmentation import *  # noqa: F401,F403
