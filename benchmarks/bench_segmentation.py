"""Benchmark of the segmentation stage (issue: LRFMC segmentation and the AHP value score).

Target on the 2-core machine: notebook 04 on 60,000 simulated members well under 40 s.
Prints the time of each step (each in a fresh process) and of the whole notebook.

    .venv/bin/python benchmarks/bench_segmentation.py [--members 60000] [--no-notebook]
"""

from __future__ import annotations

import textwrap

from _measure import measure, stage_tables


def main() -> None:
    with stage_tables(__doc__) as stage:
        setup = stage.load + textwrap.dedent(
            """
            from crm_research import segmentation as sg
            kept, _ = sg.clean_members(ds.snapshot, "first_edition")
            X = sg.lrfmc_features(kept)
            """
        )
        steps = [
            ("features (clean + L..C)", "sg.lrfmc_features(sg.clean_members(ds.snapshot)[0])"),
            ("k-means k=5, n_init=10", "sg.cluster_lrfmc(X, 5, n_init=10, seed=1)"),
            (
                "k selection k=2..10 (silhouette on 5,000)",
                "sg.k_selection(X, range(2, 11), n_init=10, seed=1, silhouette_sample=5000)",
            ),
            (
                "stability 3 seeds + 3 bootstraps",
                "sg.stability(X, 5, n_seeds=3, n_boot=3, n_init=10)",
            ),
        ]
        n = None
        for label, body in steps:
            r = measure(body, setup=setup, extra="extra = {'n': len(X)}")
            n = r["n"]
            print(f"{label:<45} {r['seconds']:6.2f} s  (peak {r['peak_mb']:.0f} MB)")
        print(f"(members segmented: {n:,} of {stage.args.members:,})")
        # k selection and stability on every member against the default subsample
        best = (
            "extra = {'answer': [int(t['silhouette'].idxmax()), "
            "int(t['calinski_harabasz'].idxmax()), int(t['davies_bouldin'].idxmin())]}"
        )
        ari = (
            "extra = {'answer': {kind: round(float(v), 3) for kind, v in "
            "t.groupby('kind')['ari'].mean().items()}}"
        )
        for step, call, answer, what in (
            ("k selection", "sg.k_selection(X, range(2, 11), n_init=10, seed=1", best, "best k"),
            ("stability", "sg.stability(X, 5, n_seeds=3, n_boot=3, n_init=10", ari, "mean ARI"),
        ):
            found = [
                measure(f"t = {call}, sample={sample})", setup=setup, extra=answer)
                for sample in (None, 20_000)
            ]
            for label, r in zip(("all members", "subsample 20,000"), found, strict=True):
                print(f"{step}, {label:<18} {r['seconds']:6.2f} s  {what}: {r['answer']}")
            a_, b_ = found
            print(f"{step}: subsample / all members, time x{b_['seconds'] / a_['seconds']:.2f}")

        dirs = ("figures_dir", "metrics_dir")
        stage.time_notebook("04_lrfmc_segmentation", "well under 40 s", dirs)


if __name__ == "__main__":
    main()
