"""Command line: ``crm-research data synth``, ``crm-research run``, ``crm-research replicate``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from . import DEFAULT_SEED
from .config import DEFAULT_OBS_END


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
    s.add_argument(
        "--out",
        default=None,
        help="output folder, never overwritten (default data/raw/synthetic-<members>-seed<seed>)",
    )
    s.add_argument(
        "--process", choices=["bgnbd", "pareto"], default="bgnbd", help="dropout process"
    )
    s.add_argument(
        "--obs-end", default=DEFAULT_OBS_END, help=f"observation end (default {DEFAULT_OBS_END})"
    )
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
    r.add_argument(
        "--processed",
        default=None,
        help="where the last complete run's tables go (default data/processed/, or "
        "OUT/processed with --out)",
    )
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
    r.add_argument(
        "--language",
        choices=["both", "en", "zh"],
        default=None,
        help="edition(s) of the management report: both (default: management_report.html "
        "and management_report_zh.html), en or zh; the same as the parameter 'language'",
    )

    rep = sub.add_parser("replicate", help="replicate a published result")
    rep.add_argument("what", choices=["cdnow"], help="cdnow: Fader, Hardie & Lee (2005) on CDNOW")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run a command; every failure ends in one clear message and a non-zero exit code.

    Exit codes: 0 done; 1 a notebook failed or an operating-system error; 2 bad input or
    parameters (nothing ran); 130 interrupted by Ctrl-C; 143 stopped by SIGTERM. Set
    ``CRM_RESEARCH_DEBUG=1`` to see the traceback of an unexpected error.
    """
    args = _parser().parse_args(argv)
    from .report import _LAST_SIGNAL, _signals_as_interrupts

    try:
        with _signals_as_interrupts():
            return _dispatch(args)
    except KeyboardInterrupt:
        signum = _LAST_SIGNAL[0] or signal.SIGINT
        return _interrupted("interrupted before the run started; nothing was written", signum)
    except BaseException as exc:  # noqa: BLE001 - turned into one line below
        return _report_error(exc)


def _dispatch(args) -> int:
    if args.command == "data":
        from .data.sources import synthetic_folder_name, write_synthetic, write_synthetic_parquet
        from .params import ParameterError

        if args.members < 1:
            raise ParameterError(
                f"option --members = {args.members} is not allowed: an integer >= 1"
            )
        if args.seed < 0:
            raise ParameterError(f"option --seed = {args.seed} is not allowed: an integer >= 0")
        if args.process not in ("bgnbd", "pareto"):
            raise ParameterError(f"option --process = {args.process!r} is not allowed")
        import datetime as dt

        try:
            dt.date.fromisoformat(str(args.obs_end))
        except ValueError:
            raise ParameterError(
                f"option --obs-end = {args.obs_end!r} is not allowed: a date YYYY-MM-DD"
            ) from None
        out = args.out or str(
            Path("data/raw")
            / synthetic_folder_name(args.members, args.seed, args.process, args.obs_end)
        )
        options = {
            "n_members": args.members,
            "seed": args.seed,
            "process": args.process,
            "obs_end": args.obs_end,
        }
        if args.format == "parquet":
            if args.chunk_members < 1:
                raise ParameterError(
                    f"option --chunk-members = {args.chunk_members} is not allowed: an integer >= 1"
                )
            # an --out that holds files is refused by the writer, before any simulation
            out = write_synthetic_parquet(
                out, **options, chunk_members=args.chunk_members, log=print
            )
        else:
            out = write_synthetic(out, **options)
        print(f"wrote {args.members:,} simulated members (seed {args.seed}) to {out}")
        print(f"use it with: crm-research run --data {out}")
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
        if args.language in ("en", "zh"):
            kwargs["params"] = {"language": args.language}
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
        print(f"study done: {len(res.notebooks)} notebook(s) in {sum(res.timings.values()):.0f} s")
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
    return 1


def _interrupted(message: str, signum: int) -> int:
    name = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"
    _quiet_shutdown()
    print(f"interrupted ({name}): {message}", file=sys.stderr)
    return 128 + int(signum)


def _quiet_shutdown() -> None:
    """No asyncio / kernel noise after an interrupt: the message above is the output."""
    import logging

    for name in ("asyncio", "traitlets", "papermill", "nbclient", "jupyter_client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    sys.unraisablehook = lambda *a: None


def _report_error(exc: BaseException) -> int:
    import errno

    from .data.schema import DataValidationError
    from .params import ParameterError
    from .report import StudyError, StudyInterrupted

    if isinstance(exc, SystemExit):
        raise exc
    if isinstance(exc, StudyInterrupted):
        return _interrupted(str(exc), exc.signum)
    if isinstance(exc, ParameterError | DataValidationError):
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if isinstance(exc, StudyError):
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if os.environ.get("CRM_RESEARCH_DEBUG"):
        raise exc
    if isinstance(exc, OSError):
        where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f)
        what = exc.strerror or str(exc)
        if exc.errno == errno.ENOSPC:
            what = "no space left on the device (disk full)"
        print(f"error: {where + ': ' if where else ''}{what}", file=sys.stderr)
        return 1
    if isinstance(exc, MemoryError):
        print("error: out of memory; try a smaller input (--members)", file=sys.stderr)
        return 1
    print(
        f"error: unexpected {type(exc).__name__}: {exc} (set CRM_RESEARCH_DEBUG=1 for the "
        "traceback, and please report it)",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
