"""Command line: ``crm-research data synth``, ``crm-research run``, ``crm-research replicate``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import DEFAULT_SEED


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="crm-research",
        description="Customer value of an airline frequent-flyer programme: the study's commands.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("data", help="make or check input data")
    dsub = d.add_subparsers(dest="data_command", required=True)
    s = dsub.add_parser("synth", help="simulate a frequent-flyer programme and write it as Parquet")
    s.add_argument("--members", type=int, default=60_000, help="members (default 60,000)")
    s.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 42)")
    s.add_argument("--out", default="data/raw/synthetic", help="output folder")
    s.add_argument(
        "--process", choices=["bgnbd", "pareto"], default="bgnbd", help="dropout process"
    )
    s.add_argument("--obs-end", default="2014-03-31", help="observation end (default 2014-03-31)")
    s.add_argument(
        "--format",
        choices=["single", "parquet"],
        default="single",
        help="single: one Parquet file per table (default, what `run` reads); parquet: "
        "partitioned Parquet (a folder of part files per table), simulated and written in "
        "chunks of members, so a log larger than memory can be made",
    )
    s.add_argument(
        "--chunk-members",
        type=int,
        default=250_000,
        help="members per chunk and part file with --format parquet (default 250,000)",
    )

    r = sub.add_parser("run", help="run the study's notebooks with papermill into reports/")
    r.add_argument(
        "--data",
        default="synthetic",
        help="synthetic (default), cdnow, a flight-log folder or a textbook CSV file",
    )
    r.add_argument("--params", help="YAML file of notebook parameters")
    r.add_argument("--only", help="notebooks to run: 01 | 01,03 | 02-04")
    r.add_argument("--out", default=None, help="reports folder (default reports/)")
    r.add_argument("--raw", default=None, help="raw data folder (default data/raw/)")
    r.add_argument("--processed", default=None, help="processed tables (default data/processed/)")
    r.add_argument("--members", type=int, default=None, help="size of the default simulation")
    r.add_argument(
        "--seed",
        type=int,
        default=None,
        help="the seed of every random step (default: the parameters file's seed, else 42)",
    )
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.add_argument(
        "--engine",
        choices=["duckdb", "spark", "pandas"],
        default="duckdb",
        help="what scans the flight log: duckdb (default, embedded), spark (local mode or "
        "a cluster, see --spark-master) or pandas (in memory)",
    )
    r.add_argument(
        "--spark-master",
        default=None,
        help="Spark master URL with --engine spark (default local[2]; e.g. spark://host:7077)",
    )

    rep = sub.add_parser("replicate", help="replicate a published result")
    rep.add_argument("what", choices=["cdnow"], help="cdnow: Fader, Hardie & Lee (2005) on CDNOW")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .data.schema import DataValidationError

    try:
        if args.command == "data":
            from .data.sources import write_synthetic, write_synthetic_parquet

            if args.format == "parquet":
                out = write_synthetic_parquet(
                    args.out,
                    n_members=args.members,
                    seed=args.seed,
                    process=args.process,
                    obs_end=args.obs_end,
                    chunk_members=args.chunk_members,
                    log=print,
                )
            else:
                out = write_synthetic(
                    args.out,
                    n_members=args.members,
                    seed=args.seed,
                    process=args.process,
                    obs_end=args.obs_end,
                )
            print(f"wrote {args.members:,} simulated members (seed {args.seed}) to {out}")
            return 0
        if args.command == "run":
            from .report import REPO_ROOT, run_study

            kwargs = {}
            if args.out:
                kwargs["out_dir"] = Path(args.out)
            if args.raw:
                kwargs["raw_dir"] = Path(args.raw)
            if args.processed:
                kwargs["processed_dir"] = Path(args.processed)
            res = run_study(
                args.data,
                only=args.only,
                params_file=args.params,
                members=args.members,
                seed=args.seed,
                progress=not args.no_progress,
                engine=args.engine,
                spark_master=args.spark_master,
                **kwargs,
            )
            index = res.run_dir / "index.html"
            shown = index if index.exists() else res.run_dir
            try:
                shown = shown.relative_to(REPO_ROOT)
            except ValueError:
                pass
            print(
                f"study done: {len(res.notebooks)} notebook(s) in {sum(res.timings.values()):.0f} s"
            )
            print(f"report: {shown}")
            return 0
        if args.command == "replicate":
            from .clv import replicate_cdnow

            table, ok = replicate_cdnow()
            import pandas as pd

            with pd.option_context("display.width", 140, "display.max_columns", 20):
                print(table.to_string(index=False))
            print(
                "replication OK: all within 0.5%"
                if ok
                else "replication FAILED: see rows marked not ok"
            )
            return 0 if ok else 1
    except DataValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from .report import StudyError

        if isinstance(exc, StudyError):
            print(f"error: {exc}", file=sys.stderr)
            return 1
        raise
    return 1


if __name__ == "__main__":
    sys.exit(main())
