"""Atomic file output and the small helpers notebooks use to save results.

Every file the study writes goes through a temporary file in the target folder and
``os.replace``, so a crash never leaves a half-written table, figure or JSON file.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# Tables the notebooks show through pandas' Styler (the management report's retention
# table) carry text from the data: escape it, so a member id "<script>..." stays text.
# Every notebook imports this module; plain DataFrame HTML is escaped by pandas already.
pd.set_option("styler.format.escape", "html")


def _umask() -> int:
    """The process umask (Linux reports it in /proc; elsewhere set it and set it back)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _atomic(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        # mkstemp creates the file 0600; give it the mode of any file the user creates
        # (0666 less the umask, e.g. 0644), so reports and tables are readable by others
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def write_bytes(data: bytes, path: str | os.PathLike) -> Path:
    """Write ``data`` (a PNG, a PDF) to ``path`` atomically."""
    return _atomic(path, lambda tmp: Path(tmp).write_bytes(data))


def write_parquet(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``df`` to Parquet atomically (index kept only if it is named)."""
    keep_index = any(n is not None for n in df.index.names)
    return _atomic(path, lambda tmp: df.to_parquet(tmp, index=keep_index))


# OWASP "CSV injection": a cell that starts with one of these is run as a formula by
# spreadsheet programs (=HYPERLINK(...), +cmd|..., @SUM(...)); prefixing a single quote
# makes it text. https://owasp.org/www-community/attacks/CSV_Injection
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` if it is text that a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_START):
        return "'" + value
    return value


def neutralise_csv(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names cannot become spreadsheet formulas.

    Numbers are left as they are (a negative number is not text); only text cells
    (object, string or categorical columns) and the header are changed.
    """
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out[col] = s.map(neutralise_cell, na_action="ignore")
    out.columns = [neutralise_cell(str(c)) if isinstance(c, str) else c for c in out.columns]
    if out.index.dtype == object:
        out.index = out.index.map(neutralise_cell)
    return out


def write_csv(df: pd.DataFrame, path: str | os.PathLike, **kwargs: Any) -> Path:
    """Write ``df`` to CSV (UTF-8) atomically, text cells neutralised (:func:`neutralise_csv`)."""
    kwargs.setdefault("index", False)
    # RFC 4180 line ends: a text cell holding a bare CR is then quoted, not split
    kwargs.setdefault("lineterminator", "\r\n")
    safe = neutralise_csv(df)
    return _atomic(path, lambda tmp: safe.to_csv(tmp, encoding="utf-8", **kwargs))


def write_text(text: str, path: str | os.PathLike) -> Path:
    """Write text (UTF-8) atomically."""

    def _w(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    return _atomic(path, _w)


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/pandas scalars and containers to plain JSON types (NaN -> None)."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, pd.Series):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        v = float(obj)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    if obj is pd.NaT:
        return None
    return obj


def write_json(obj: Any, path: str | os.PathLike) -> Path:
    """Write ``obj`` as pretty, sorted JSON atomically (numpy types converted)."""
    text = json.dumps(to_jsonable(obj), indent=2, sort_keys=True, ensure_ascii=False)
    return write_text(text + "\n", path)


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def save_metrics(metrics: Mapping[str, Any], name: str, metrics_dir: str | os.PathLike) -> Path:
    """Write a notebook's key metrics to ``metrics_dir/<name>.json`` (the notebook's last cell)."""
    return write_json(dict(metrics), Path(metrics_dir) / f"{name}.json")


def _inline_kernel() -> bool:
    """True in a Jupyter kernel whose figures are drawn by matplotlib's inline backend."""
    import sys

    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    if shell is None or "matplotlib" not in sys.modules:
        return False
    import matplotlib

    return "inline" in str(matplotlib.get_backend()).lower()


def save_figure(fig, name: str, figures_dir: str | os.PathLike, dpi: int = 120) -> Path:
    """Save a matplotlib figure as ``figures_dir/<name>.png`` atomically.

    ``fig`` may also be an Axes or an array of Axes (what the ``plot_x`` functions
    return): their figure is saved. ``name`` says what the figure shows
    (``clv_by_segment``), never ``fig3``.

    In a notebook (matplotlib's inline backend) the figure is drawn once: the saved PNG
    is what the notebook shows (at the size the inline backend would show it, its
    ``figure.dpi``), and the figure is closed so the backend does not draw it a second
    time at the end of the cell (drawing is most of a figure cell's time).
    """
    import io

    if isinstance(fig, np.ndarray):
        fig = fig.flat[0]
    fig = getattr(fig, "figure", fig)
    if not name or name.lower().startswith("fig"):
        raise ValueError(f"figure name {name!r} must say what the figure shows")
    stem = name[:-4] if name.endswith(".png") else name
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=dpi, bbox_inches="tight", format="png")
    png = buffer.getvalue()
    path = write_bytes(png, Path(figures_dir) / f"{stem}.png")
    if _inline_kernel():
        import matplotlib.pyplot as plt
        from IPython.display import Image, display

        width = round(int.from_bytes(png[16:20], "big") * fig.get_dpi() / dpi)  # IHDR
        display(Image(data=png, format="png", width=width))
        plt.close(fig)
    return path
