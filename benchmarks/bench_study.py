"""Benchmark of the whole study (issue: management report and reproducible study).

Runs ``crm-research run`` on simulated programmes of increasing size and prints the
wall time and the peak memory (the largest resident size of the runner or of any
notebook kernel) for each, and how time grows with size. Targets on the 2-core
machine: 60,000 members (``make report``) within 3 minutes; 1,000,000 members within
15 minutes under 8 GB, time growing no faster than linearly.

    .venv/bin/python benchmarks/bench_study.py [--sizes 100000 300000 1000000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


WRAP = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"
)


def run(members: int, seed: int, root: Path) -> tuple[float, float]:
    """Wall time and peak memory (GB) of one study, measured in a process of its own."""
    cmd = [
        str(BIN / "crm-research"),
        "run",
        "--members",
        str(members),
        "--seed",
        str(seed),
        "--raw",
        str(root / "raw"),
        "--processed",
        str(root / "processed"),
        "--out",
        str(root / "reports"),
        "--no-progress",
    ]
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", WRAP, *cmd], capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"study at {members:,} members failed:\n{r.stderr[-3000:]}")
    peak_gb = int(r.stdout.strip().splitlines()[-1]) / 1024**2
    return elapsed, peak_gb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    rows = []
    for n in a.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            secs, peak = run(n, a.seed, Path(tmp))
        rows.append((n, secs, peak))
        print(
            f"{n:>10,} members: {secs:7.1f} s  ({secs / n * 1e6:6.1f} s per million)  "
            f"peak memory {peak:.2f} GB",
            flush=True,
        )
    if len(rows) > 1:
        (n0, t0, _), (n1, t1, _) = rows[0], rows[-1]
        growth = (t1 / t0) / (n1 / n0)
        print(
            f"time grew {t1 / t0:.2f}x for {n1 / n0:.1f}x the members "
            f"({'no faster than' if growth <= 1.05 else 'faster than'} linear: ratio {growth:.2f})"
        )


if __name__ == "__main__":
    main()
