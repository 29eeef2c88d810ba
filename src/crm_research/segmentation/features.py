"""The five LRFMC variables from a member snapshot, and their standardisation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import numpy as np
import pandas as pd

from ..config import DAYS_PER_MONTH
from ..data import schema as S
from ..data.schema import DataValidationError
from .cleaning import _SNAPSHOT_NEEDS

LRFMC = ("L", "R", "F", "M", "C")

#: Where each variable comes from in the member snapshot, and its unit.
FEATURE_DEFINITIONS = pd.DataFrame(
    {
        "variable": list(LRFMC),
        "meaning": [
            "length of membership",
            "recency (time since the last flight)",
            "frequency (flights in the two-year window)",
            "mileage flown in the window",
            "average discount coefficient of the fares flown",
        ],
        "formula": [
            "(LOAD_TIME - FFP_DATE) in days / 30.44",
            "LAST_TO_END in days / 30.44",
            "FLIGHT_COUNT",
            "SEG_KM_SUM",
            "avg_discount",
        ],
        "unit": ["months", "months", "flights", "km", "1.0 = full fare"],
    }
).set_index("variable")

STANDARDIZE = ("zscore", "log_zscore", "none")


# ----------------------------------------------------------------------------------------
# features
# ----------------------------------------------------------------------------------------
def _ids(df: pd.DataFrame) -> pd.Series:
    if S.MEMBER in df.columns:
        return df[S.MEMBER].reset_index(drop=True)
    return pd.Series(df.index, name=S.MEMBER)


def _numeric_by_member(raw: pd.Series, ids: pd.Series, source: str, column: str) -> pd.Series:
    """``raw`` as float; non-numeric entries raise, listed as ``member: value``."""
    num = raw if pd.api.types.is_numeric_dtype(raw) else pd.to_numeric(raw, errors="coerce")
    num = num.astype(float)
    bad = num.isna() & raw.notna()
    if bad.any():
        raise DataValidationError(
            "non-numeric values for these members (MEMBER_NO)",
            source=source,
            column=column,
            values=[f"{m}: {r!r}" for m, r in zip(ids[bad], raw[bad], strict=True)],
        )
    return num


def _refuse_members(problem: str, ids: pd.Series, mask, source: str, column: str) -> NoReturn:
    """Raise a :class:`DataValidationError` naming the members (``ids``) where ``mask``."""
    raise DataValidationError(problem, source=source, column=column, values=ids[mask].tolist())


def lrfmc_features(
    snapshot: pd.DataFrame,
    *,
    source: str = "member snapshot",
    days_per_month: float = DAYS_PER_MONTH,
) -> pd.DataFrame:
    """L, R, F, M, C of each member, with the textbook's definitions and units.

    ``L = (LOAD_TIME - FFP_DATE).days / 30.44`` (months), ``R = LAST_TO_END / 30.44``
    (months; :data:`crm_research.config.DAYS_PER_MONTH`, the textbook used 30),
    ``F = FLIGHT_COUNT``, ``M = SEG_KM_SUM`` (km), ``C = avg_discount``. Select members
    first (:func:`clean_members`): a member without a flight has no ``avg_discount``.

    Returns
    -------
    DataFrame
        ``MEMBER_NO, L, R, F, M, C`` (float), one row per member, in the input's order.

    Raises
    ------
    DataValidationError
        Missing columns; unparseable dates; missing or non-numeric values (naming the
        members); an enrolment after the observation end; negative R, F, M or C.
    """
    S.require_columns(snapshot, _SNAPSHOT_NEEDS, source)
    S.require_nonempty(snapshot, source)
    df = snapshot.reset_index(drop=True)
    ids = df[S.MEMBER]
    load = S.parse_dates(df, "LOAD_TIME", source, required=False)
    ffp = S.parse_dates(df, "FFP_DATE", source, required=False)
    for col, ser in (("LOAD_TIME", load), ("FFP_DATE", ffp)):
        if ser.isna().any():
            raise DataValidationError(
                "missing dates for these members (MEMBER_NO)",
                source=source,
                column=col,
                values=ids[ser.isna()].tolist(),
            )
    out = pd.DataFrame({S.MEMBER: ids})
    out["L"] = (load - ffp).dt.days.astype(float) / days_per_month
    for var, col, scale in (
        ("R", "LAST_TO_END", days_per_month),
        ("F", "FLIGHT_COUNT", 1.0),
        ("M", "SEG_KM_SUM", 1.0),
        ("C", "avg_discount", 1.0),
    ):
        raw = df[col]
        num = _numeric_by_member(raw, ids, source, col)
        if num.isna().any():
            hint = (
                "members without a flight in the window have no avg_discount: select "
                "members with clean_members() first"
                if col == "avg_discount"
                else None
            )
            raise DataValidationError(
                "missing values for these members (MEMBER_NO)",
                source=source,
                column=col,
                values=ids[num.isna()].tolist(),
                hint=hint,
            )
        out[var] = num / scale
    neg_l = out["L"] < 0
    if neg_l.any():
        raise DataValidationError(
            "enrolment date (FFP_DATE) after the observation end (LOAD_TIME) for these members",
            source=source,
            column="FFP_DATE",
            values=ids[neg_l].tolist(),
        )
    for var, col in (
        ("R", "LAST_TO_END"),
        ("F", "FLIGHT_COUNT"),
        ("M", "SEG_KM_SUM"),
        ("C", "avg_discount"),
    ):
        neg = out[var] < 0
        if neg.any():
            _refuse_members("negative values for these members (MEMBER_NO)", ids, neg, source, col)
    return out


def feature_summary(features: pd.DataFrame) -> pd.DataFrame:
    """The five variables with unit, count, min, quartiles, max, mean and std (ddof=1)."""
    X = features[list(LRFMC)]
    desc = X.describe(percentiles=[0.25, 0.5, 0.75]).T
    desc = desc.rename(columns={"50%": "median", "25%": "q25", "75%": "q75"})
    out = FEATURE_DEFINITIONS[["meaning", "unit"]].join(desc)
    out["count"] = out["count"].astype(int)
    return out


def check_lrfmc(X: pd.DataFrame, *, source: str = "LRFMC table") -> pd.DataFrame:
    """Validate a table with columns L, R, F, M, C and return them as floats.

    Member ids are taken from a ``MEMBER_NO`` column, else from the index, and named in
    the errors. Raises :class:`DataValidationError` for missing columns, non-numeric or
    missing values, or a variable without variance (k-means and z-scores need spread).
    """
    if not isinstance(X, pd.DataFrame):
        raise DataValidationError(
            f"expected a DataFrame with columns {list(LRFMC)}, got {type(X).__name__}",
            source=source,
        )
    S.require_columns(X, LRFMC, source)
    S.require_nonempty(X, source)
    ids = X[S.MEMBER] if S.MEMBER in X.columns else pd.Series(X.index, index=X.index)
    out = pd.DataFrame(index=X.index)
    for v in LRFMC:
        raw = X[v]
        if pd.api.types.is_bool_dtype(raw):
            raise DataValidationError(
                "boolean values where numbers are needed", source=source, column=v
            )
        num = _numeric_by_member(raw, ids, source, v)
        miss = num.isna() | ~np.isfinite(num)
        if miss.any():
            _refuse_members("missing or infinite values for these members", ids, miss, source, v)
        out[v] = num
    const = [v for v in LRFMC if out[v].nunique() < 2]
    if const:
        raise DataValidationError(
            "zero variance: every member has the same value "
            + ", ".join(f"{v} = {out[v].iloc[0]:g}" for v in const),
            source=source,
            column=const,
            hint="a constant variable cannot be standardised or separate clusters; drop it or check the data",
        )
    return out


# ----------------------------------------------------------------------------------------
# standardisation
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scaler:
    """Standardisation of the five variables: ``z = (t(x) - mean) / scale``.

    ``method``: ``zscore`` (t = identity), ``log_zscore`` (t = log1p on F and M, whose
    distributions are very skewed) or ``none`` (mean 0, scale 1). ``ddof``: degrees of
    freedom of the standard deviation; 1 (the sample standard deviation) reproduces the
    textbook's ``(x - x.mean()) / x.std()`` in pandas, 0 reproduces scikit-learn's
    ``StandardScaler``.
    """

    method: str
    ddof: int
    mean: pd.Series
    scale: pd.Series

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        T = _pre(X[list(LRFMC)].astype(float), self.method)
        return (T - self.mean) / self.scale


def _pre(X: pd.DataFrame, method: str) -> pd.DataFrame:
    if method == "log_zscore":
        for v in ("F", "M"):
            neg = X[v] < 0
            if neg.any():
                raise ValueError(
                    f"standardisation 'log_zscore' takes log(1 + x) of F and M, but {v} has "
                    f"negative values in rows {list(X.index[neg][:10])}"
                )
        X = X.copy()
        X["F"] = np.log1p(X["F"])
        X["M"] = np.log1p(X["M"])
    return X


def fit_scaler(X: pd.DataFrame, method: str = "zscore", ddof: int = 1) -> Scaler:
    """Fit a :class:`Scaler` on the L, R, F, M, C columns of ``X``."""
    if method not in STANDARDIZE:
        raise ValueError(f"standardisation {method!r} unknown; choose one of {STANDARDIZE}")
    if ddof not in (0, 1):
        raise ValueError(f"ddof must be 0 or 1, got {ddof!r}")
    T = _pre(X[list(LRFMC)].astype(float), method)
    if method == "none":
        mean = pd.Series(0.0, index=list(LRFMC))
        scale = pd.Series(1.0, index=list(LRFMC))
    else:
        mean = T.mean()
        scale = T.std(ddof=ddof)
    return Scaler(method, ddof, mean, scale)


def population_z(centres: pd.DataFrame, X: pd.DataFrame, ddof: int = 1) -> pd.DataFrame:
    """Express cluster centres (natural units) as z-scores of the member population."""
    Xf = X[list(LRFMC)].astype(float)
    return (centres[list(LRFMC)] - Xf.mean()) / Xf.std(ddof=ddof)
