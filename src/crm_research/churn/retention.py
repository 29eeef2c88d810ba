"""Who is worth saving: the retention list and the campaign calculator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data import schema as S
from ..data.schema import DataValidationError
from .labels import WINBACK


# ---------------------------------------------------------------------------------------
# who is worth saving
# ---------------------------------------------------------------------------------------
def proxy_clv(snapshot: pd.DataFrame, years: float = 3.0, source: str = "snapshot") -> pd.DataFrame:
    """A stated proxy for CLV when notebook 03 has not run: last-year revenue x years.

    ``SUM_YR_2`` (revenue in the last year of the window) times ``years``, undiscounted
    and in revenue (the campaign calculator applies the margin).

    Returns ``MEMBER_NO, clv``.
    """
    S.require_columns(snapshot, (S.MEMBER, "SUM_YR_2"), source)
    if years <= 0:
        raise ValueError(f"years must be positive, got {years}")
    rev = S.numeric(snapshot, "SUM_YR_2", source, allow_missing=True).fillna(0.0)
    return pd.DataFrame({S.MEMBER: snapshot[S.MEMBER].to_numpy(), "clv": rev.to_numpy() * years})


def value_if_retained(clv: pd.DataFrame, source: str = "CLV table") -> pd.DataFrame:
    """The value a member brings if retained: CLV given alive, from the same purchase model.

    Notebook 03's CLV is an expectation over being alive: with the factorisation of the
    conditional expectation of the BG/NBD, MBG/NBD and Pareto/NBD,
    ``E[X(t) | x, t_x, T] = P(alive | x, t_x, T) E[X(t) | alive, x, T]`` (Fader, Hardie &
    Lee 2005a, eq. 10; Schmittlein, Morrison & Colombo 1987), so

    ``CLV_i = P(alive)_i x V_i``, with ``V_i = margin x spend_i x sum_k E[flights in month
    k | alive] / (1 + d)^k``,

    the discounted expected residual value of a member who is still active (Fader, Hardie
    & Lee 2005b; the "DERL" of Fader & Hardie). ``V_i = CLV_i / P(alive)_i`` is computed
    from the table's own columns, so it uses the same model as the CLV.

    Parameters
    ----------
    clv : DataFrame
        ``MEMBER_NO, clv`` and ``p_alive`` (notebook 03's ``clv.parquet``), or
        ``MEMBER_NO, clv`` only for a CLV that is not weighted by P(alive) (the revenue
        proxy): then ``V = clv``.

    Returns
    -------
    DataFrame
        ``MEMBER_NO, clv, value_if_retained``; ``attrs["basis"]`` says which rule applied,
        ``attrs["n_p_alive_zero"]`` counts members with P(alive) = 0 (their CLV is 0 and so
        is their value if retained, as far as the model can tell).
    """
    S.require_columns(clv, (S.MEMBER, "clv"), source)
    out = clv[[S.MEMBER, "clv"]].copy()
    c = out["clv"].astype(float).to_numpy()
    if "p_alive" in clv.columns:
        pa = S.numeric(clv, "p_alive", source, allow_missing=True).to_numpy(float)
        zero = ~(pa > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.where(zero, 0.0, c / np.where(zero, 1.0, pa))
        out["value_if_retained"] = v
        out.attrs["basis"] = "CLV / P(alive): the CLV given alive, from the same purchase model"
        out.attrs["n_p_alive_zero"] = int(zero.sum())
    else:
        out["value_if_retained"] = c
        out.attrs["basis"] = "the CLV itself (it is not weighted by P(alive))"
        out.attrs["n_p_alive_zero"] = 0
    return out


def retention_list(
    p_churn: pd.Series,
    clv: pd.DataFrame,
    segments: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The ranked retention list: expected loss = P(churn) x value if retained.

    ``expected_loss_i = P(churn)_i x V_i`` with ``V_i`` the value member *i* brings if
    retained, the CLV given alive (:func:`value_if_retained`). Not ``P(churn) x CLV``:
    the CLV is already weighted by P(alive), so that product counts dropout twice and
    pushes the members most likely to leave down the list. The value at stake in a
    retention decision is the value of the customer if retained (Blattberg, Kim & Neslin
    2008, ch. 24; Neslin et al. 2006).

    Parameters
    ----------
    p_churn : Series
        P(churn) indexed by ``MEMBER_NO``.
    clv : DataFrame
        ``MEMBER_NO, clv`` with ``p_alive`` (notebook 03) or ``value_if_retained``;
        members without a CLV get 0 and are counted in ``attrs``.
    segments : DataFrame, optional
        ``MEMBER_NO, segment``.

    Returns
    -------
    DataFrame
        ``rank, MEMBER_NO, segment, p_churn, clv, value_if_retained, expected_loss``,
        highest loss first; ``attrs["value_basis"]`` says how the value was obtained.
    """
    S.require_columns(clv, (S.MEMBER, "clv"), "CLV table")
    p = pd.Series(np.asarray(p_churn, float), index=pd.Index(p_churn.index, name=S.MEMBER))
    if p.isna().any():
        raise DataValidationError(
            "missing P(churn)", source="P(churn)", values=p.index[p.isna()].tolist()
        )
    if ((p < 0) | (p > 1)).any():
        bad = p[(p < 0) | (p > 1)]
        raise DataValidationError("P(churn) outside [0, 1]", source="P(churn)", values=bad.tolist())
    vt = clv if "value_if_retained" in clv.columns else value_if_retained(clv)
    basis = vt.attrs.get("basis", "given")
    vt = vt.set_index(S.MEMBER)
    c = vt["clv"].astype(float).reindex(p.index)
    v = vt["value_if_retained"].astype(float).reindex(p.index)
    n_no_clv = int(c.isna().sum())
    out = pd.DataFrame(
        {
            S.MEMBER: p.index.to_numpy(),
            "p_churn": p.to_numpy(),
            "clv": c.fillna(0.0).to_numpy(),
            "value_if_retained": v.fillna(0.0).to_numpy(),
        }
    )
    if segments is not None:
        S.require_columns(segments, (S.MEMBER, "segment"), "segments")
        out["segment"] = (
            out[S.MEMBER]
            .map(segments.set_index(S.MEMBER)["segment"])
            .fillna("unassigned")
            .astype(str)
        )
    else:
        out["segment"] = "all members"
    out["expected_loss"] = out["p_churn"] * out["value_if_retained"]
    out = out.sort_values(["expected_loss", S.MEMBER], ascending=[False, True], kind="mergesort")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    cols = ["rank", S.MEMBER, "segment", "p_churn", "clv", "value_if_retained", "expected_loss"]
    out = out[cols].reset_index(drop=True)
    out.attrs["members_without_clv"] = n_no_clv
    out.attrs["value_basis"] = basis
    return out


@dataclass
class CampaignResult:
    """Outcome of :func:`campaign`.

    Attributes
    ----------
    table : DataFrame
        The retention list with ``expected_benefit, expected_net, cum_net, contact``.
    summary : dict
        ``n_contact, cost, expected_saved_value, expected_return, roi`` and the inputs.
    """

    table: pd.DataFrame
    summary: dict


def campaign(
    ranked: pd.DataFrame,
    *,
    contact_cost: float,
    acceptance_rate: float,
    margin: float,
    n_contact: int | None = None,
) -> CampaignResult:
    """Campaign calculator: whom to contact and what it is expected to return.

    Contacting member *i* costs ``contact_cost``; with probability ``acceptance_rate``
    the member accepts the offer and stays, which saves the profit that would have been
    lost, ``margin x expected_loss_i`` (Blattberg, Kim & Neslin 2008, ch. 24). ``margin``
    turns a revenue-based CLV into profit; pass ``margin=1`` when the CLV is already a
    profit figure (notebook 03 applies its margin). So

    ``expected_benefit_i = acceptance_rate x margin x P(churn_i) x CLV_i``,
    ``expected_net_i = expected_benefit_i - contact_cost``.

    Along the ranked list the net falls; the expected return is largest when every
    member with a positive net is contacted, which is the default ``n_contact``; pass a
    number to evaluate a fixed budget instead.

    Returns
    -------
    CampaignResult
    """
    for name, v, lo, hi in (
        ("contact_cost", contact_cost, 0, None),
        ("acceptance_rate", acceptance_rate, 0, 1),
        ("margin", margin, 0, 1),
    ):
        if not np.isfinite(v) or v < lo or (hi is not None and v > hi):
            raise ValueError(
                f"{name} must lie in [{lo}, {hi if hi is not None else 'inf'}], got {v}"
            )
    S.require_columns(ranked, ("expected_loss",), "retention list")
    t = ranked
    if not t["expected_loss"].is_monotonic_decreasing:  # retention_list's order already is
        t = t.sort_values("expected_loss", ascending=False, kind="mergesort")
    t = t.reset_index(drop=True)
    t["expected_benefit"] = acceptance_rate * margin * t["expected_loss"]
    t["expected_net"] = t["expected_benefit"] - contact_cost
    t["cum_net"] = t["expected_net"].cumsum()
    if n_contact is None:
        n = int((t["expected_net"] > 0).sum())
        how = "every member with a positive expected net return"
    else:
        if not 0 <= int(n_contact) <= len(t):
            raise ValueError(f"n_contact must lie in [0, {len(t)}], got {n_contact}")
        n = int(n_contact)
        how = "fixed number"
    t["contact"] = np.arange(len(t)) < n
    cost = n * contact_cost
    saved = float(t.loc[t["contact"], "expected_benefit"].sum())
    summary = {
        "n_members": len(t),
        "n_contact": n,
        "share_contacted": n / len(t) if len(t) else float("nan"),
        "rule": how,
        "contact_cost": contact_cost,
        "acceptance_rate": acceptance_rate,
        "margin": margin,
        "cost": float(cost),
        "expected_saved_value": saved,
        "expected_return": saved - cost,
        "roi": (saved - cost) / cost if cost > 0 else float("nan"),
        "expected_loss_contacted": float(t.loc[t["contact"], "expected_loss"].sum()),
        "expected_loss_total": float(t["expected_loss"].sum()),
    }
    return CampaignResult(table=t, summary=summary)


def campaign_by_segment(result: CampaignResult) -> pd.DataFrame:
    """The campaign split by segment, win-back class flagged.

    Returns
    -------
    DataFrame
        ``segment, members, contacted, mean_p_churn, expected_loss, cost,
        expected_saved_value, expected_return, winback``; largest expected loss first.
    """
    t = result.table
    c = result.summary["contact_cost"]
    g = t.groupby("segment", sort=False)
    out = pd.DataFrame(
        {
            "members": g.size(),
            "contacted": g["contact"].sum().astype(np.int64),
            "mean_p_churn": g["p_churn"].mean() if "p_churn" in t.columns else np.nan,
            "expected_loss": g["expected_loss"].sum(),
        }
    )
    out["cost"] = out["contacted"] * c
    out["expected_saved_value"] = (
        t[t["contact"]]
        .groupby("segment")["expected_benefit"]
        .sum()
        .reindex(out.index, fill_value=0.0)
    )
    out["expected_return"] = out["expected_saved_value"] - out["cost"]
    out = out.rename_axis("segment").reset_index()
    out["winback"] = out["segment"] == WINBACK
    return out.sort_values("expected_loss", ascending=False).reset_index(drop=True)


__all__ = [
    "CampaignResult",
    "campaign",
    "campaign_by_segment",
    "proxy_clv",
    "retention_list",
    "value_if_retained",
]
