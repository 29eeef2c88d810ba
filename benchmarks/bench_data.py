"""Benchmark of the data layer (issue: foundation).

Targets on the 2-core machine: the simulator at 1,000,000 members within 10 s, the
snapshot builder on 10,000,000 flight rows within 30 s, peak memory under 4 GB.

    .venv/bin/python benchmarks/bench_data.py [--members 1000000] [--rows 10000000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _measure import measure

# CPU seconds of the measured step as well as its wall time: on a machine shared with
# other jobs the wall time is noisy, the CPU time steadier (though not immune)
CPU_START = "import time as _t; _cpu0 = _t.process_time()"
CPU_EXTRA = "'cpu': _t.process_time() - _cpu0"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()

    sim = measure(
        f"sim = simulate_programme({a.members}, seed={a.seed})",
        setup=f"from crm_research.data.simulate import simulate_programme\n{CPU_START}",
        extra=f"extra = {{'flights': len(sim.flights), {CPU_EXTRA}}}",
    )
    print(
        f"simulator: {a.members:,} members, {sim['flights']:,} flights in {sim['seconds']:.1f} s "
        f"(CPU {sim['cpu']:.1f} s), peak {sim['peak_mb'] / 1024:.2f} GB (target 10 s, 4 GB)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "flights.parquet"
        members = Path(tmp) / "members.parquet"
        # A programme a little larger than needed (flights per member vary with the
        # draws), cut to exactly the requested number of flight rows.
        measure(
            f"""
            n = int({a.members} * {a.rows} / {sim["flights"]} * 1.02) + 1
            s = simulate_programme(n, seed={a.seed})
            while len(s.flights) < {a.rows}:
                n = int(n * 1.05) + 1
                s = simulate_programme(n, seed={a.seed})
            log = s.flights.iloc[:{a.rows}]
            log.to_parquet(r"{log}")
            s.members[s.members["MEMBER_NO"] <= log["MEMBER_NO"].iloc[-1]].to_parquet(r"{members}")
            """,
            setup="from crm_research.data.simulate import simulate_programme",
        )
        snap = measure(
            "snap = build_snapshot(flights, members, '2014-03-31')",
            setup=f"""
            import pandas as pd
            from crm_research.data.snapshot import build_snapshot
            flights = pd.read_parquet(r"{log}")
            members = pd.read_parquet(r"{members}")
            {CPU_START}
            """,
            extra=f"extra = {{'rows': len(flights), 'members': len(snap), {CPU_EXTRA}}}",
        )
    print(
        f"snapshot:  {snap['rows']:,} flight rows -> {snap['members']:,} members in "
        f"{snap['seconds']:.1f} s (CPU {snap['cpu']:.1f} s), peak {snap['peak_mb'] / 1024:.2f} GB "
        f"incl. the loaded log (target 30 s, 4 GB)"
    )


if __name__ == "__main__":
    main()
