"""Benchmark of the churn stage (issue 5: who is about to leave, why, who is worth saving).

Target on the 2-core machine: notebook 05 on 60,000 simulated members well under 45 s.
Prints the time of each step (each in a fresh process) and of the whole notebook.

    .venv/bin/python benchmarks/bench_churn.py [--members 60000] [--no-notebook]
"""

from __future__ import annotations

import textwrap

from _measure import measure, stage_tables


def main() -> None:
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
                "permutation importance (5 repeats, <= 5,000 members)",
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
