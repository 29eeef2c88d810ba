"""Reading input files: CSV and Parquet, with clear errors.

CSV encodings are detected, never guessed into garbage: a byte-order mark names UTF-8,
UTF-16 or UTF-32; otherwise UTF-8 is tried, then GB18030 (simplified Chinese exports)
and Big5 (traditional Chinese), each accepted only when the text it gives is made of
characters of that script. Anything else is refused with a message asking for the
``encoding`` parameter. Member ids are read as text, so a 20-digit id keeps every digit.
"""

from __future__ import annotations

import codecs
import csv
import os
from pathlib import Path

import pandas as pd

from .schema import MEMBER, DataValidationError, read_option

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
ENCODINGS = ("utf-8-sig", "gb18030", "big5")
ID_COLUMNS = (MEMBER,)
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def read_table(
    path: str | os.PathLike, *, encoding: str | None = None, **csv_kwargs
) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame.

    Raises :class:`DataValidationError` naming the file when it is missing, empty,
    unreadable (permissions), of another format, of an encoding that cannot be told, or
    has duplicate column names.
    """
    p = Path(path)
    src = str(p)
    if not p.exists():
        raise DataValidationError("file not found", source=src)
    if p.is_dir():
        raise DataValidationError("is a folder, not a CSV or Parquet file", source=src)
    if not os.access(p, os.R_OK):
        raise DataValidationError("permission denied: the file cannot be read", source=src)
    if p.stat().st_size == 0:
        raise DataValidationError("the file is empty", source=src)
    suffix = p.suffix.lower()
    try:
        if suffix in PARQUET_SUFFIXES or _is_parquet(p):
            try:
                df = pd.read_parquet(p)
            except Exception as exc:  # pyarrow raises several types
                raise DataValidationError(
                    f"not a readable Parquet file ({exc})", source=src
                ) from None
            _check_headers([str(c) for c in df.columns], src)
        elif suffix in CSV_SUFFIXES:
            df = _read_csv(p, encoding=encoding or read_option("encoding"), **csv_kwargs)
        else:
            raise DataValidationError(
                f"unsupported file type {suffix or '(no suffix)'!r}; give a .csv or .parquet file",
                source=src,
            )
    except PermissionError:
        raise DataValidationError(
            "permission denied: the file cannot be read", source=src
        ) from None
    except IsADirectoryError:
        raise DataValidationError("is a folder, not a CSV or Parquet file", source=src) from None
    if df.shape[1] == 0 or len(df) == 0:
        raise DataValidationError("the file has no data rows", source=src)
    if df.attrs.get("encoding"):  # CSV: ids were read as text; strip them
        return _ids_as_text(df, src)
    return df  # Parquet: ids keep the type the file declares


def check_parquet(path: str | os.PathLike) -> list[Path]:
    """The checks of :func:`read_table` on a Parquet file or folder, from the footers only.

    Each file must be readable, a Parquet file, with distinct column names and data rows
    (the same messages as :func:`read_table`); nothing but the footers is read, so a log
    larger than memory is checked as it is. Returns the files.
    """
    import pyarrow.parquet as pq

    from .engines.base import source_files

    files = source_files(path)
    for p in files:
        src = str(p)
        if not os.access(p, os.R_OK):
            raise DataValidationError("permission denied: the file cannot be read", source=src)
        if p.stat().st_size == 0:
            raise DataValidationError("the file is empty", source=src)
        try:
            meta = pq.read_metadata(p)
        except Exception as exc:  # pyarrow raises several types
            raise DataValidationError(f"not a readable Parquet file ({exc})", source=src) from None
        _check_headers([str(n) for n in meta.schema.to_arrow_schema().names], src)
        if meta.num_columns == 0 or meta.num_rows == 0:
            raise DataValidationError("the file has no data rows", source=src)
    return files


def _ids_as_text(df: pd.DataFrame, src: str) -> pd.DataFrame:
    """Member ids as text (``"42"``): long ids keep every digit, and the CSV and Parquet
    tables of one flight log agree (see ``sources.load_flight_log_folder``)."""
    for col in ID_COLUMNS:
        if col not in df.columns:
            continue
        s = df[col]
        if pd.api.types.is_integer_dtype(s.dtype):
            df[col] = s.astype("string").astype(object).where(s.notna(), None)
        elif pd.api.types.is_float_dtype(s.dtype):
            frac = s.notna() & (s != s.round())
            if frac.any():
                raise DataValidationError(
                    "member ids that are not whole numbers",
                    source=src,
                    column=col,
                    rows=[int(i) + 1 for i in frac.to_numpy().nonzero()[0]],
                    values=s[frac].tolist(),
                )
            df[col] = [None if pd.isna(v) else str(int(v)) for v in s]
        else:
            df[col] = [None if v is None or v is pd.NA or v != v else str(v).strip() for v in s]
    return df


def _is_parquet(p: Path) -> bool:
    with open(p, "rb") as fh:
        return fh.read(4) == b"PAR1"


def detect_encoding(data: bytes, source: str, declared: str | None = None) -> str:
    """The encoding of CSV bytes (see the module docstring); raise if it cannot be told."""
    if declared:
        try:
            data.decode(declared)
        except LookupError:
            raise DataValidationError(f"unknown encoding {declared!r}", source=source) from None
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise DataValidationError(
                f"not valid {declared} text: bytes {data[exc.start : exc.start + 4]!r} at "
                f"line {line} (byte {exc.start}) ({exc.reason})",
                source=source,
                hint="Give the file's real encoding with the parameter encoding",
            ) from None
        return declared
    for bom, enc in BOMS:
        if data.startswith(bom):
            try:
                data.decode(enc)
            except UnicodeDecodeError as exc:
                raise DataValidationError(
                    f"starts with a {enc.upper()} byte-order mark but is not valid {enc.upper()} "
                    f"text at byte {exc.start}",
                    source=source,
                ) from None
            return enc
    if b"\x00" in data[:4096]:
        head = data[:4096]
        odd_nuls = head[1::2].count(0)
        even_nuls = head[0::2].count(0)
        half = len(head) // 2
        if odd_nuls > 0.4 * half and even_nuls < 0.05 * half:
            guess = "utf-16-le"
        elif even_nuls > 0.4 * half and odd_nuls < 0.05 * half:
            guess = "utf-16-be"
        else:
            raise DataValidationError("looks like a binary file, not CSV text", source=source)
        raise DataValidationError(
            f"looks like UTF-16 text ({guess.upper()}) without a byte-order mark",
            source=source,
            hint=f"Give the parameter encoding: {guess!r}, or save the file as UTF-8",
        )
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    for enc in ("gb18030", "big5"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if _plausible(text, enc):
            return enc
    line = data[: utf8_error.start].count(b"\n") + 1
    raise DataValidationError(
        f"cannot tell the encoding: not UTF-8 (byte {data[utf8_error.start : utf8_error.start + 1]!r} "
        f"at line {line}), and read as GB18030 or Big5 it gives characters of another script",
        source=source,
        hint="Give the parameter encoding (e.g. 'cp1252', 'latin-1', 'big5') or save the "
        "file as UTF-8",
    )


def _plausible(text: str, enc: str) -> bool:
    """Whether the non-ASCII characters decoded with ``enc`` belong to its script.

    GB18030 decodes almost any bytes; Big5 text read as GB18030 turns into rare
    characters outside GB2312 (the 6,763 common simplified characters and symbols), so
    GB18030 is accepted when nearly all characters are GB2312 ones. Big5 is accepted
    when nearly all are in its common (level 1 and 2) range and are CJK.
    """
    chars = [c for c in text if ord(c) > 127]
    if not chars:
        return True
    if enc == "gb18030":
        ok = sum(_encodes(c, "gb2312") for c in chars)
    else:
        ok = sum(_encodes(c, "big5") and _cjk(c) for c in chars)
    return ok >= 0.97 * len(chars)


def _encodes(c: str, enc: str) -> bool:
    try:
        c.encode(enc)
        return True
    except UnicodeEncodeError:
        return False


def _cjk(c: str) -> bool:
    o = ord(c)
    return 0x4E00 <= o <= 0x9FFF or 0x3000 <= o <= 0x303F or 0xFF00 <= o <= 0xFFEF


def _check_headers(names: list[str], src: str) -> None:
    stripped = [n.strip() for n in names]
    seen: dict[str, list[int]] = {}
    for i, n in enumerate(stripped, start=1):
        seen.setdefault(n, []).append(i)
    dup = {n: pos for n, pos in seen.items() if len(pos) > 1}
    if dup:
        what = "; ".join(f"{n!r} at positions {pos}" for n, pos in dup.items())
        raise DataValidationError(
            f"duplicate column names: {what}",
            source=src,
            column=list(dup),
            hint="Each column must have one name; rename or remove the duplicates",
        )
    empty = [i for i, n in enumerate(stripped, start=1) if not n]
    if empty and len(empty) < len(stripped):
        raise DataValidationError(f"columns without a name at positions {empty}", source=src)


def _read_csv(p: Path, *, encoding: str | None = None, **kwargs) -> pd.DataFrame:
    src = str(p)
    data = p.read_bytes()
    enc = detect_encoding(data, src, encoding)
    first_bytes = data[: data.find(b"\n", 0, 1 << 20) + 1 or 1 << 20]
    del data
    first = next(iter(first_bytes.decode(enc, errors="replace").lstrip("\ufeff").splitlines()), "")
    if p.suffix.lower() == ".tsv":
        kwargs.setdefault("sep", "\t")
    sep = kwargs.get("sep", ",")
    if not first.strip():
        raise DataValidationError(
            "the file has no header line (the first line is empty)", source=src
        )
    header = next(csv.reader([first], delimiter=sep if isinstance(sep, str) else ","))
    _check_headers(header, src)
    dtype = {c: "string" for c in ID_COLUMNS if c in [h.strip() for h in header]}
    # ids are text: a 20-digit member number would not fit an int64 and must not wrap
    for c in list(dtype):
        for h in header:
            if h.strip() == c:
                dtype[h] = "string"
    try:
        df = pd.read_csv(p, encoding=enc, low_memory=False, dtype=dtype or None, **kwargs)
    except pd.errors.EmptyDataError:
        raise DataValidationError("the file has no header or rows", source=src) from None
    except pd.errors.ParserError as exc:
        raise DataValidationError(f"not a well-formed CSV file ({exc})", source=src) from None
    except (ValueError, OverflowError) as exc:
        raise DataValidationError(f"not a readable CSV file ({exc})", source=src) from None
    df.columns = [str(c).strip() for c in df.columns]
    df.attrs["encoding"] = enc
    return df
