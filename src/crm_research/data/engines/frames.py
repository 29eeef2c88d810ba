"""pandas frames handed to an engine: as Arrow tables with plain column types."""

from __future__ import annotations

import pandas as pd


def arrow_table(df: pd.DataFrame):
    """``df`` as an Arrow table; object columns of mixed types become text.

    A column that cannot be one Arrow type (dates mixed with unparseable text, numbers
    mixed with words) is passed as text, so that the engine's checks report the
    offending values as pandas' checks do.
    """
    import pyarrow as pa

    cols = {}
    for c in df.columns:
        s = df[c]
        try:
            cols[c] = pa.array(s, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            cols[c] = pa.array(s.map(lambda v: None if pd.isna(v) else str(v)), type=pa.string())
    return pa.table(cols)
