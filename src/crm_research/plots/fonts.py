"""Fonts of the figures: a CJK font for the Chinese edition, found by matplotlib.

matplotlib's default font (DejaVu Sans) has no Chinese characters: they would print as
empty boxes. :func:`cjk_font` looks for a font that covers Chinese through
``matplotlib.font_manager`` (Debian's ``fonts-noto-cjk``, which ``.ci/run`` installs, or
any of the usual Chinese fonts); :func:`figure_language` switches the figures to it, or
tells the caller to keep English labels when there is none.
"""

from __future__ import annotations

import os

import matplotlib as mpl
from matplotlib import font_manager

#: Families that cover simplified Chinese, best first.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "AR PL UMing CN",
)


def cjk_font(families: tuple[str, ...] | None = None) -> str | None:
    """Name of an installed font family that can draw Chinese, else None.

    ``families`` defaults to :data:`CJK_FAMILIES`, or to the comma-separated list in the
    environment variable ``CRM_RESEARCH_CJK_FONTS`` (``none``: use no CJK font, which
    shows the Chinese edition as it is on a machine without one).
    """
    if families is None:
        env = os.environ.get("CRM_RESEARCH_CJK_FONTS")
        if env is not None:
            if env.strip().lower() == "none":
                return None
            families = tuple(f.strip() for f in env.split(",") if f.strip())
        else:
            families = CJK_FAMILIES
    for attempt in range(2):
        installed = {f.name for f in font_manager.fontManager.ttflist}
        for name in families:
            if name in installed:
                return name
        if attempt == 0 and not _add_system_cjk_fonts():
            break
    return None


def _add_system_cjk_fonts() -> bool:
    """Register CJK fonts installed after matplotlib built its font cache (e.g. by
    ``.ci/run`` on a machine where matplotlib had run before); True if any was added."""
    hints = ("cjk", "wqy", "wenquanyi", "simhei", "sourcehan", "uming")
    added = False
    for path in font_manager.findSystemFonts():
        if any(h in path.lower().replace("-", "").replace("_", "") for h in hints):
            try:
                font_manager.fontManager.addfont(path)
                added = True
            except (OSError, RuntimeError, ValueError):
                continue
    return added


def figure_language(language: str = "en", families: tuple[str, ...] | None = None) -> str:
    """Set matplotlib up for figures in ``language`` and return the language they will use.

    ``"zh"`` puts a CJK font first in ``font.sans-serif`` when one is installed and returns
    ``"zh"``; without one it returns ``"en"``: the figures keep English labels (the report
    says so) rather than print empty boxes. ``"en"`` changes nothing.
    """
    if language != "zh":
        return "en"
    font = cjk_font(families)
    if font is None:
        return "en"
    current = [f for f in mpl.rcParams["font.sans-serif"] if f != font]
    mpl.rcParams["font.sans-serif"] = [font, *current]
    mpl.rcParams["font.family"] = "sans-serif"
    mpl.rcParams["axes.unicode_minus"] = False
    return "zh"


__all__ = ["CJK_FAMILIES", "cjk_font", "figure_language"]
