"""Time the input loaders: the textbook table at its real size (62,988 members) and CDNOW.

Run: ``.venv/bin/python benchmarks/bench_loaders.py [--members 62988] [--seed 0]``

Makes a textbook-format ``air_data.csv`` by code (simulated programme -> snapshot ->
``write_textbook_csv`` with the real file's quirks), in UTF-8 and GB18030, then times
``load_textbook`` (no cleaning and the second-edition rule) and the CDNOW readers.
Prints the figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=62_988)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from crm_research.data.cdnow import cdnow_dataset, load_cdnow_transactions
    from crm_research.data.simulate import simulate_programme
    from crm_research.data.snapshot import build_snapshot
    from crm_research.data.textbook import load_textbook, write_textbook_csv

    t = time.perf_counter()
    sim = simulate_programme(n_members=args.members, seed=args.seed, obs_end="2014-03-31")
    snap = build_snapshot(sim.flights, sim.members, sim.obs_end)
    print(
        f"fixture: {len(snap):,} members from {len(sim.flights):,} simulated flights "
        f"({time.perf_counter() - t:.1f} s)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for enc in ("utf-8", "gb18030"):
            path = Path(tmp) / f"air_data_{enc}.csv"
            t = time.perf_counter()
            write_textbook_csv(snap, path, encoding=enc, seed=args.seed)
            w = time.perf_counter() - t
            size = path.stat().st_size / 1e6
            for rule in ("none", "second_edition"):
                t = time.perf_counter()
                ds = load_textbook(path, cleaning=rule)
                dt = time.perf_counter() - t
                q = ds.info["quality"]
                print(
                    f"textbook {enc:8s} {size:5.1f} MB  write {w:4.2f} s  "
                    f"load(cleaning={rule}) {dt:4.2f} s  -> {len(ds.snapshot):,} members, "
                    f"{q['last_flight_date']['placeholders_rebuilt']} placeholders rebuilt"
                )
    for sample in (True, False):
        t = time.perf_counter()
        f = load_cdnow_transactions(sample=sample)
        dt = time.perf_counter() - t
        t = time.perf_counter()
        ds = cdnow_dataset(sample=sample)
        dd = time.perf_counter() - t
        print(
            f"cdnow {'sample' if sample else 'master'}: {len(f):,} transactions, "
            f"{f['MEMBER_NO'].nunique():,} customers; read {dt:.2f} s, dataset {dd:.2f} s "
            f"({len(ds.snapshot):,} snapshot rows)"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:,.0f} MB")


if __name__ == "__main__":
    main(sys.argv[1:])
