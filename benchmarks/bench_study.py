"""Benchmark of the whole study: today's code against an older commit, side by side.

For each size, runs ``crm-research run`` (simulation, the six notebooks, the report) with
the old code and with this tree's code, one after the other, on the same machine. The old
code is ``git archive <commit>`` extracted into ``--old-dir`` (never a git worktree) with
a venv of its own made by its own ``make install`` (its pins: eb32594 has pandas 2.3, which
today's venv does not have; made once and reused), and prints both wall times, the ratio new/old and the peak memory (the
largest resident size of the runner or of any notebook kernel). The machine is shared
and noisy: read the ratio of the two runs made together.

Targets (issue 12): at 60,000 members new/old <= 0.5; at 1,000,000 members <= 0.4 with
peak memory under 4 GB.

    .venv/bin/python benchmarks/bench_study.py [--sizes 60000 1000000] [--old eb32594]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

WRAP = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"
)
CLI = "import sys; from crm_research.cli import main; sys.exit(main())"


def extract(commit: str, dest: Path) -> Path:
    """The tree of ``commit`` (``git archive``, never a worktree) in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def old_python(root: Path) -> Path:
    """The old tree's venv (``make install`` there, once)."""
    py = root / ".venv" / "bin" / "python"
    if not py.exists():
        subprocess.run(["make", "-C", str(root), "install"], check=True)
    return py


def run(code_root: Path, python, members: int, seed: int, work: Path) -> tuple[float, float]:
    """Wall time and peak memory (GB) of one study with the code under ``code_root``."""
    cmd = [str(python), "-c", CLI, "run", "--members", str(members), "--seed", str(seed),
           "--raw", str(work / "raw"), "--processed", str(work / "processed"),
           "--out", str(work / "reports"), "--no-progress"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(code_root / "src")}  # this tree's or the old one
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-c", WRAP, *cmd], capture_output=True, text=True, env=env,
        cwd=code_root,
    )  # fmt: skip
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(
            f"study at {members:,} members failed ({code_root}):\n{r.stderr[-3000:]}"
        )
    peak_gb = int(r.stdout.strip().splitlines()[-1]) / 1024**2
    return elapsed, peak_gb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[60_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--old", default="eb32594", help="the commit to compare with")
    ap.add_argument(
        "--old-dir", default=None, help="where to extract it (default /tmp/crm-old-<commit>)"
    )
    a = ap.parse_args()
    old_root = Path(a.old_dir or f"/tmp/crm-old-{a.old}")
    if not (old_root / "Makefile").exists():
        extract(a.old, old_root)
    old_py = old_python(old_root)
    for n in a.sizes:
        res = {}
        for label, root, py in (("old", old_root, old_py), ("new", REPO, sys.executable)):
            with tempfile.TemporaryDirectory() as work:
                res[label] = run(root, py, n, a.seed, Path(work))
            print(
                f"{n:>10,} members, {label} ({a.old if label == 'old' else 'this tree'}): "
                f"{res[label][0]:7.1f} s, peak memory {res[label][1]:.2f} GB",
                flush=True,
            )
        ratio = res["new"][0] / res["old"][0]
        print(f"{n:>10,} members: new/old time {ratio:.2f}", flush=True)


if __name__ == "__main__":
    main()
