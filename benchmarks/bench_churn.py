"""Benchmark of the churn stage (issue 5: who is about to leave, why, who is worth saving).

Target on the 2-core machine: notebook 05 on 60,000 simulated members well under 45 s.
Prints the time of each step (each in a fresh process) and of the whole notebook.

    .venv/bin/python benchmarks/bench_churn.py [--members 60000] [--no-notebook]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _measure import measure

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--members", type=int, default=60_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--no-notebook", action="store_true")
    a = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        processed = Path(tmp) / "processed"
        measure(
            f"simulate_programme({a.members}, seed={a.seed}).to_dataset().save(r'{processed}')",
            setup="from crm_research.data.simulate import simulate_programme",
        )
        base = f"""
            import pandas as pd
            from crm_research import churn as C
            from crm_research.data import load_processed
            ds = load_processed(r"{processed}")
            """
        with_data = (
            base
            + """
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
                "permutation importance (5 repeats, <= 5,000 members)",
                with_data,
                "gbm.permutation_importance(cd.X_test, cd.y_test)",
            ),
        ]
        for label, setup, body in steps:
            r = measure(body, setup=setup)
            print(f"{label:<55} {r['seconds']:6.2f} s  (peak {r['peak_mb']:.0f} MB)")

        if not a.no_notebook:
            t0 = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "papermill",
                    str(REPO / "notebooks" / "05_churn_analysis.ipynb"),
                    str(Path(tmp) / "out.ipynb"),
                    "-p",
                    "processed_dir",
                    str(processed),
                    "-p",
                    "figures_dir",
                    str(Path(tmp) / "fig"),
                    "-p",
                    "metrics_dir",
                    str(Path(tmp) / "metrics"),
                    "-p",
                    "reports_dir",
                    str(Path(tmp) / "reports"),
                    "--cwd",
                    str(REPO / "notebooks"),
                    "--no-progress-bar",
                ],
                check=True,
                capture_output=True,
            )
            print(
                f"notebook 05 on {a.members:,} members: {time.perf_counter() - t0:.1f} s "
                "including kernel start (target well under 45 s)"
            )


if __name__ == "__main__":
    main()
