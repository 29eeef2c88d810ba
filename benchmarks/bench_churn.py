"""Benchmark of the churn stage (issue 5: who is about to leave, why, who is worth saving).

Target on the 2-core machine: notebook 05 on 60,000 simulated members well under 45 s.
Prints the time of each step (each in a fresh process) and of the whole notebook.

    .venv/bin/python benchmarks/bench_churn.py [--members 60000] [--no-notebook]

Side by side (issue 12): notebook 05 of another revision against this tree, on the
processed folder of a study that ran notebooks 01-04 (so P(alive), CLV and segments
come from the run's own upstream files, as in ``crm-research run``), alternately, each
run in a fresh kernel; prints every wall and CPU time (papermill and its kernel) with
the load average, the medians, their ratios, and any metric the two versions record
differently:

    .venv/bin/crm-research run --members 60000 --only 01-04 --out /tmp/s60k
    .venv/bin/python benchmarks/bench_churn.py --study /tmp/s60k/processed --against main

Notebook 05 writes its retention list into that processed folder (both versions do).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _measure import REPO, measure, stage_tables


def _children_cpu() -> float:
    """User + system CPU seconds of the finished child processes (papermill and the
    kernel it waited for): on a shared machine less noisy than the wall time."""
    import resource  # noqa: PLC0415

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def side_by_side() -> None:
    """Notebook 05 of ``--against`` and of this tree on ``--study``, alternately."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--study", required=True, help="processed folder after notebooks 01-04")
    ap.add_argument("--against", default="main", help="git revision to compare with")
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        old.mkdir()
        tar = subprocess.run(
            ["git", "-C", str(REPO), "archive", a.against], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=tar, check=True)
        times: dict[str, list[float]] = {"old": [], "new": []}
        cpus: dict[str, list[float]] = {"old": [], "new": []}
        metrics = {}
        for r in range(a.rounds):
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            for label in order:
                tree = old if label == "old" else REPO
                out = Path(tmp) / f"{label}{r}"
                out.mkdir()
                load = os.getloadavg()[0]
                t0 = time.perf_counter()
                c0 = _children_cpu()
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "papermill",
                        str(tree / "notebooks" / "05_churn_analysis.ipynb"),
                        str(out / "out.ipynb"),
                        *("-p", "processed_dir", str(Path(a.study).resolve())),
                        *("-p", "figures_dir", str(out / "figures")),
                        *("-p", "metrics_dir", str(out / "metrics")),
                        *("-p", "reports_dir", str(out)),
                        *("--cwd", str(tree / "notebooks"), "--no-progress-bar"),
                    ],
                    check=True,
                    capture_output=True,
                    env={**os.environ, "PYTHONPATH": str(tree / "src")},
                )
                sec = time.perf_counter() - t0
                cpu = _children_cpu() - c0
                times[label].append(sec)
                cpus[label].append(cpu)
                metrics[label] = json.loads(
                    (out / "metrics" / "05_churn_analysis.json").read_text()
                )
                print(
                    f"round {r + 1} {label} ({a.against if label == 'old' else 'this tree'}): "
                    f"{sec:.1f} s, CPU {cpu:.1f} s (load average {load:.1f} -> "
                    f"{os.getloadavg()[0]:.1f})",
                    flush=True,
                )
        for what, got in (("wall", times), ("CPU", cpus)):
            med = {k: statistics.median(v) for k, v in got.items()}
            print(
                f"notebook 05, {what} time, median of {a.rounds}: old {med['old']:.1f} s, "
                f"new {med['new']:.1f} s, new/old {med['new'] / med['old']:.2f}"
            )
        differ = {
            k: (metrics["old"].get(k), metrics["new"].get(k))
            for k in sorted(set(metrics["old"]) | set(metrics["new"]))
            if metrics["old"].get(k) != metrics["new"].get(k)
        }
        print("metrics that differ (old, new):", differ or "none")


def main() -> None:
    if any(arg.startswith("--study") for arg in sys.argv[1:]):
        side_by_side()
        return
    with stage_tables(__doc__) as stage:
        base = "import pandas as pd\nfrom crm_research import churn as C\n" + stage.load
        with_data = base + textwrap.dedent(
            """
            cd = C.build_churn_data(ds, "forward", horizon_months=12, seed=1, cache={})
            gbm = C.ChurnGBM(seed=1).fit(cd.X_train, cd.y_train)
            """
        )
        steps = [
            (
                "purchase model (BG/NBD) fit + P(alive) at one date",
                base,
                "C.p_alive_at(ds, ds.obs_end - pd.DateOffset(months=12), {})",
            ),
            (
                "compare the three definitions (1 fit)",
                base,
                "C.compare_definitions(ds, horizon_months=12, cache={})",
            ),
            (
                "forward data, time split (3 fits, 2 snapshots)",
                base,
                "C.build_churn_data(ds, 'forward', horizon_months=12, seed=1, cache={})",
            ),
            ("logistic regression", with_data, "C.ChurnLogit().fit(cd.X_train, cd.y_train)"),
            ("gradient boosting fit", with_data, "C.ChurnGBM(seed=1).fit(cd.X_train, cd.y_train)"),
            (
                "permutation importance (3 repeats, <= 5,000 members)",
                with_data,
                "gbm.permutation_importance(cd.X_test, cd.y_test)",
            ),
        ]
        for label, setup, body in steps:
            r = measure(body, setup=setup)
            print(f"{label:<55} {r['seconds']:6.2f} s  (peak {r['peak_mb']:.0f} MB)")

        dirs = ("figures_dir", "metrics_dir", "reports_dir")
        stage.time_notebook("05_churn_analysis", "well under 45 s", dirs)


if __name__ == "__main__":
    main()
