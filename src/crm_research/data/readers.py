"""Reading input files: CSV (UTF-8 or GB18030) and Parquet, with clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .schema import DataValidationError

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
ENCODINGS = ("utf-8-sig", "gb18030")


def read_table(path: str | os.PathLike, **csv_kwargs) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame.

    CSV files may be encoded in UTF-8 (with or without BOM) or GB18030, as Chinese
    airline exports often are. Raises :class:`DataValidationError` naming the file
    when it is missing, empty, of another format, or unreadable.
    """
    p = Path(path)
    src = str(p)
    if not p.exists():
        raise DataValidationError("file not found", source=src)
    if p.is_dir():
        raise DataValidationError("is a folder, not a CSV or Parquet file", source=src)
    if p.stat().st_size == 0:
        raise DataValidationError("the file is empty", source=src)
    suffix = p.suffix.lower()
    if suffix in PARQUET_SUFFIXES or _is_parquet(p):
        try:
            df = pd.read_parquet(p)
        except Exception as exc:  # pyarrow raises several types
            raise DataValidationError(f"not a readable Parquet file ({exc})", source=src) from None
    elif suffix in CSV_SUFFIXES:
        df = _read_csv(p, **csv_kwargs)
    else:
        raise DataValidationError(
            f"unsupported file type {suffix or '(no suffix)'!r}; give a .csv or .parquet file",
            source=src,
        )
    if df.shape[1] == 0 or len(df) == 0:
        raise DataValidationError("the file has no data rows", source=src)
    return df


def _is_parquet(p: Path) -> bool:
    with open(p, "rb") as fh:
        return fh.read(4) == b"PAR1"


def _read_csv(p: Path, **kwargs) -> pd.DataFrame:
    src = str(p)
    with open(p, "rb") as fh:
        head = fh.read(4096)
    if b"\x00" in head:
        raise DataValidationError("looks like a binary file, not CSV text", source=src)
    if p.suffix.lower() == ".tsv":
        kwargs.setdefault("sep", "\t")
    last_exc: Exception | None = None
    for enc in ENCODINGS:
        try:
            return pd.read_csv(p, encoding=enc, low_memory=False, **kwargs)
        except UnicodeDecodeError as exc:
            last_exc = exc
            continue
        except pd.errors.EmptyDataError:
            raise DataValidationError("the file has no header or rows", source=src) from None
        except pd.errors.ParserError as exc:
            raise DataValidationError(f"not a well-formed CSV file ({exc})", source=src) from None
    raise DataValidationError(
        f"cannot decode the file as UTF-8 or GB18030 ({last_exc})", source=src
    )
