"""Benchmark: BG/NBD + Gamma-Gamma fit and 36-month CLV for 1,000,000 simulated members.

Compares ``crm_research.clv`` (condensed data, warm start, CLV through the
P(alive) x g(t; x, T) factorisation) with calling lifetimes directly on the uncompressed
per-member summary (``BetaGeoFitter.fit``, ``GammaGammaFitter.fit`` and
``GammaGammaFitter.customer_lifetime_value``) in the same run. Prints both times, the
ratio and the parameters to 4 significant digits. Target: ours within 5 s and at least
3x faster. Usage::

    .venv/bin/python benchmarks/bench_clv.py [--members 1000000] [--seed 42]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from crm_research import clv
from crm_research._compat import import_lifetimes, lifetimes_guard
from crm_research.data.simulate import simulate_programme

HORIZON_MONTHS = 36
DISCOUNT_ANNUAL = 0.1
MARGIN = 0.1


def _fmt(params) -> str:
    return ", ".join(f"{k}={float(v):.4g}" for k, v in params.items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    t = time.perf_counter()
    sim = simulate_programme(n_members=args.members, seed=args.seed)
    t_sim = time.perf_counter() - t
    t = time.perf_counter()
    summ = clv.flight_summary(sim.flights, observation_end=sim.obs_end, time_unit="weeks")
    t_summary = time.perf_counter() - t
    print(
        f"simulated {args.members:,} members, {len(sim.flights):,} flights in {t_sim:.1f} s; "
        f"per-member summary in {t_summary:.2f} s (not in the timings below)"
    )
    x, tx, tt = (summ[c].to_numpy() for c in ("frequency", "recency", "T"))
    m = summ["monetary_value"].to_numpy()
    n_m = summ["n_monetary"].to_numpy()

    # --- ours ------------------------------------------------------------------------------
    t = time.perf_counter()
    bg = clv.BGNBD().fit(summ)
    t_bg = time.perf_counter() - t
    gg = clv.GammaGamma().fit(summ)
    t_gg = time.perf_counter() - t - t_bg
    ours = clv.customer_lifetime_value(
        bg,
        gg,
        summ,
        horizon_months=HORIZON_MONTHS,
        discount_rate_annual=DISCOUNT_ANNUAL,
        margin=MARGIN,
    )
    t_ours = time.perf_counter() - t
    print(
        f"\ncrm_research.clv : {t_ours:6.2f} s  (BG/NBD {t_bg:.2f} s on {bg.n_rows_:,} distinct "
        f"histories, Gamma-Gamma {t_gg:.2f} s, CLV {t_ours - t_bg - t_gg:.2f} s)"
    )

    # --- lifetimes directly, uncompressed ---------------------------------------------------
    lt = import_lifetimes()
    idx = summ.index
    t = time.perf_counter()
    with lifetimes_guard():
        bgf = lt.BetaGeoFitter().fit(x, tx, tt)
        t_lbg = time.perf_counter() - t
        use = n_m > 0
        ggf = lt.GammaGammaFitter().fit(n_m[use], m[use])
        t_lgg = time.perf_counter() - t - t_lbg
        # lifetimes' CLV: monthly steps of 4.345 weeks, monthly discount rate
        clv_lt = ggf.customer_lifetime_value(
            bgf,
            pd.Series(x, index=idx),
            pd.Series(tx, index=idx),
            pd.Series(tt, index=idx),
            pd.Series(np.where(use, m, 0.0), index=idx),
            time=HORIZON_MONTHS,
            discount_rate=clv.monthly_rate(DISCOUNT_ANNUAL),
            freq="W",
        )
    t_lt = time.perf_counter() - t
    print(
        f"lifetimes direct : {t_lt:6.2f} s  (BG/NBD {t_lbg:.2f} s on {len(x):,} rows, "
        f"Gamma-Gamma {t_lgg:.2f} s, CLV {t_lt - t_lbg - t_lgg:.2f} s)"
    )
    print(f"speed-up         : {t_lt / t_ours:6.1f}x")

    print("\nparameters (4 significant digits)")
    print(f"  BG/NBD      ours     : {_fmt(bg.params_)}")
    print(f"  BG/NBD      lifetimes: {_fmt(bgf.params_)}")
    print(f"  Gamma-Gamma ours     : {_fmt(gg.params_)}")
    print(f"  Gamma-Gamma lifetimes: {_fmt(ggf.params_.rename({'v': 'gamma'}))}")
    same = all(
        f"{a:.4g}" == f"{b:.4g}"
        for a, b in zip(
            np.r_[bg.params_.to_numpy(), gg.params_.to_numpy()],
            np.r_[bgf.params_.to_numpy(), ggf.params_.to_numpy()],
            strict=True,
        )
    )
    print(f"  identical to 4 significant digits: {same}")
    truth = sim.params
    print(
        f"  truth: r={truth.r}, alpha={truth.alpha}, a={truth.a}, b={truth.b}; "
        f"p={truth.gg_p}, q={truth.gg_q}, gamma={truth.gg_gamma}"
    )
    eq_ours = ours["clv"].sum()
    eq_lt = MARGIN * clv_lt.sum()
    print(
        f"\ncustomer equity ({HORIZON_MONTHS} months, {DISCOUNT_ANNUAL:.0%} a year, margin "
        f"{MARGIN:.0%}): ours {eq_ours:,.0f}, lifetimes {eq_lt:,.0f} "
        f"({100 * (eq_ours / eq_lt - 1):+.2f}%: lifetimes' month is 4.345 weeks, ours 4.348)"
    )


if __name__ == "__main__":
    main()
