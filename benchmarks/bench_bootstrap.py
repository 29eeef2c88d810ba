"""Benchmark: notebook 03's bootstrap of the customer equity at scale, all members
(``clv.bootstrap_clv``) against the m-out-of-n bootstrap on a sample
(``clv.bootstrap_clv`` with ``max_members``, parameter ``bootstrap_members``).

On the processed folder of a finished study (``--study``, e.g. that of
``crm-research run --members 1000000 --engine duckdb --only 01-03``): notebook 03's
members' summary, tier segments, purchase model (from ``purchase_model.json``) and spend
model (``choose_spend_model``), with the summary repeated ``--tile`` times (10 x 1M = 10M
members: the same empirical distribution, so the main fits are also those of the
repeated data). Each bootstrap then runs in a fresh process, one after the other: all N
members, and a sample of each ``--sample`` size. Per run: seconds, seconds per
replicate, the memory the step adds (the process's peak resident memory is reset just
before it, Linux ``/proc/self/clear_refs``, and read after it: ``VmHWM - VmRSS``) and the
95% interval; then the ratios sample / all. Usage::

    .venv/bin/python benchmarks/bench_bootstrap.py --study DIR [--tile 10]
        [--sample 1000000 200000] [--n-bootstrap 10] [--skip-full]
"""

from __future__ import annotations

import argparse
import os

from _measure import measure

SETUP = """
import numpy as np, pandas as pd
from pathlib import Path
from crm_research import clv
from crm_research.clv import study03, value
from crm_research.data import load_processed

S = {{"horizon_months": 36, "discount_rate_annual": 0.1, "margin": 0.1}}
d = Path(r"{study}")
ds = load_processed(d)
purchase = clv.load_purchase_model(d / "purchase_model.json")
one, _, _ = study03.inputs(ds, purchase)
seg_one = study03.bootstrap_segments(ds, one)
del ds
spend = clv.choose_spend_model(one).model
clv_one = clv.customer_lifetime_value(purchase, spend, one, **S)["clv"].to_numpy()
summary = pd.DataFrame({{c: np.tile(one[c].to_numpy(), {tile}) for c in one.columns}})
summary.attrs = dict(one.attrs)
segments = pd.Series(np.tile(seg_one.to_numpy(), {tile}))
clv_all = np.tile(clv_one, {tile})
equity = float(clv_all[np.isfinite(clv_all)].sum())
totals = pd.Series(clv_all).groupby(segments).sum()
del one, seg_one, clv_one, clv_all


def vm(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024


open("/proc/self/clear_refs", "w").write("5")  # peak memory from here on
rss_mb = vm("VmRSS")
"""

BODY = """
boot = clv.bootstrap_clv(
    summary, purchase, spend, max_members={m}, equity=equity, segment_totals=totals,
    n_bootstrap={n_bootstrap}, seed=42, segments=segments, **S,
)
"""

EXTRA = """
lo, hi = clv.interval(boot["equity"])
extra = {"added_mb": vm("VmHWM") - rss_mb, "rss_mb": rss_mb, "members": len(summary),
         "sd": float(boot["equity"].std()),
         "ok": len(boot["equity"]), "lower": lo, "upper": hi, "equity": equity,
         "verdict": boot["verdict"].sentence()}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--study", help="processed folder of a finished study (notebooks 01-03)")
    ap.add_argument("--tile", type=int, default=10)
    ap.add_argument("--sample", type=int, nargs="+", default=[1_000_000, 200_000])
    ap.add_argument("--n-bootstrap", type=int, default=10)
    ap.add_argument("--skip-full", action="store_true", help="samples only")
    args = ap.parse_args()
    if not args.study:  # make bench runs every script without options
        print("bench_bootstrap: skipped, it needs a finished study's processed folder (--study)")
        return
    setup = SETUP.format(study=os.path.abspath(args.study), tile=args.tile)
    runs = {}
    sizes = ([] if args.skip_full else [None]) + args.sample
    for m in sizes:
        name = "all members" if m is None else f"sample of {m:,}"
        body = BODY.format(m=10**12 if m is None else m, n_bootstrap=args.n_bootstrap)
        r = measure(body, setup=setup, extra=EXTRA)
        runs[name] = r
        print(
            f"{name:>20}: {r['seconds']:7.1f} s ({r['seconds'] / args.n_bootstrap:.2f} s per "
            f"replicate), +{r['added_mb'] / 1024:.2f} GB over {r['rss_mb'] / 1024:.2f} GB "
            f"(N = {r['members']:,}); 95% interval {r['lower']:,.0f} to {r['upper']:,.0f}, "
            f"sd {r['sd']:,.0f} ({r['ok']} replicates); {r['verdict']}",
            flush=True,
        )
    full = runs.get("all members")
    if full:
        for name, r in runs.items():
            if r is not full:
                print(
                    f"ratio {name} / all members: time {r['seconds'] / full['seconds']:.3f}, "
                    f"memory added {r['added_mb'] / full['added_mb']:.3f}, sd of the equity "
                    f"{r['sd'] / full['sd']:.3f}"
                )


if __name__ == "__main__":
    main()
