"""Benchmark of the whole study: today's code against an older commit, side by side.

For each size, runs ``crm-research run`` (simulation, the six notebooks, the report) with
the old code and with this tree's code, one after the other, on the same machine. The old
code is ``git archive <commit>`` extracted into ``--old-dir`` (never a git worktree) with
a venv of its own made by its own ``make install`` (its pins: eb32594 has pandas 2.3,
which today's venv does not have; made once and reused), and prints both wall times, the
ratio new/old, each notebook's seconds and the peak memory: the largest resident size of
one process (the runner or a notebook kernel) and the largest sum over all the run's
processes at once (this tree starts the next notebook's kernel while the current one
runs, so two kernels live together). The machine is shared and noisy: read the ratio of
the two runs made together.

Targets (issue 12): at 60,000 members new/old <= 0.5; at 1,000,000 members <= 0.4 with
peak memory under 4 GB.

    .venv/bin/python benchmarks/bench_study.py [--sizes 60000 1000000] [--old eb32594]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
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


def _tree_rss(root: int) -> int:
    """Resident memory (bytes) of ``root`` and all its descendants (Linux ``/proc``)."""
    parent, rss = {}, {}
    page = os.sysconf("SC_PAGE_SIZE")
    for d in Path("/proc").glob("[0-9]*"):
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            parent[int(d.name)] = int(fields[1])
            rss[int(d.name)] = int(fields[21]) * page
        except (OSError, ValueError, IndexError):
            continue
    tree, grew = {root}, True
    while grew:
        new = {pid for pid, pp in parent.items() if pp in tree and pid not in tree}
        tree |= new
        grew = bool(new)
    return sum(rss.get(pid, 0) for pid in tree)


def run(code_root: Path, python, members: int, seed: int, work: Path) -> dict:
    """Wall time, peak memory and per-notebook seconds of one study with the code under
    ``code_root``.

    Peak memory twice: ``peak_gb``, the largest resident size of a single process (the
    runner or one notebook kernel: ``getrusage``), and ``peak_sum_gb``, the largest sum
    over the runner and all its processes at one time (sampled every 0.2 s), which counts
    the next notebook's kernel that this tree starts while the current one runs.
    """
    cmd = [str(python), "-c", CLI, "run", "--members", str(members), "--seed", str(seed),
           "--raw", str(work / "raw"), "--processed", str(work / "processed"),
           "--out", str(work / "reports"), "--no-progress"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(code_root / "src")}  # this tree's or the old one
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", WRAP, *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env, cwd=code_root,
    )  # fmt: skip
    peak_sum, done = [0], threading.Event()

    def sample():
        while not done.wait(0.2):
            peak_sum[0] = max(peak_sum[0], _tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"study at {members:,} members failed ({code_root}):\n{err[-3000:]}")
    lines = out.strip().splitlines()
    books = dict(re.findall(r"^\s+(\d\d\w*): ([\d.]+) s$", out, flags=re.M))
    return {
        "seconds": elapsed,
        "peak_gb": int(lines[-1]) / 1024**2,
        "peak_sum_gb": peak_sum[0] / 1024**3,
        "notebooks": {k: float(v) for k, v in books.items()},
    }


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
            r = res[label]
            print(
                f"{n:>10,} members, {label} ({a.old if label == 'old' else 'this tree'}): "
                f"{r['seconds']:7.1f} s, peak memory {r['peak_gb']:.2f} GB (one process), "
                f"{r['peak_sum_gb']:.2f} GB (all its processes at once)",
                flush=True,
            )
            per = ", ".join(f"{k[:2]}{k[-3:] if k.endswith('_zh') else ''} {v:.1f}"
                            for k, v in r["notebooks"].items())  # fmt: skip
            print(f"{'':>10}   notebooks (s): {per}; load {os.getloadavg()[0]:.1f}", flush=True)
        ratio = res["new"]["seconds"] / res["old"]["seconds"]
        print(f"{n:>10,} members: new/old time {ratio:.2f}", flush=True)


if __name__ == "__main__":
    main()
