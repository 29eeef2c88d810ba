"""Benchmark of the flight-log engines (issue 15): DuckDB at 100M rows, and three engines at 10M.

The measured step, from a partitioned Parquet log (``crm-research data synth --format
parquet``) to results on disk: validate the log, the member snapshot (written as Parquet),
the calibration/holdout summary (written as Parquet) and the distinct-history counts
(collected: the input of the fit).

1. Scale, DuckDB: 10M and 100M flight rows (about 0.76M and 7.6M members), each in its
   own process with ``memory_limit`` 3 GB. Targets: peak resident memory of the process
   under 4 GB at 100M rows; time per row at 100M no more than 1.2 x the time per row at
   10M (linear growth).
2. Engines at 10M rows in one run: today's pandas code (the whole log in memory),
   DuckDB and Spark (local mode, all cores). Target: DuckDB no slower than pandas.
   Spark's peak memory is the JVM's (a child process), not measured here.
3. Scoring (``--part scoring``): every member of the 10M and the 100M log (about 0.6M
   and 6M members) scored from the model file (BG/NBD fitted on the 10M log's distinct
   histories, Gamma-Gamma on 100,000 of its members) and the per-member summaries in
   Parquet, batch by batch with DuckDB (``data.engines.scoring.score_members``), each
   in its own process. Target: the peak memory stays flat (100M / 10M <= 1.2) while
   the members grow tenfold. The summaries and the model are made once into
   ``--data``/scoring (not timed).

Each engine runs in a fresh process; the ratios printed are the targets, the absolute
times depend on the machine (and on whatever else it runs).

    .venv/bin/python benchmarks/bench_scale.py                  # both parts
    .venv/bin/python benchmarks/bench_scale.py --part engines   # only the 10M comparison
    .venv/bin/python benchmarks/bench_scale.py --part scoring   # only the batch scoring
    .venv/bin/python benchmarks/bench_scale.py --small 1000000 --large 10000000  # quicker

The logs are simulated once into ``--data`` (default ``benchmarks/.data``) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLIGHTS_PER_MEMBER = 14.0  # of the default simulation (measured: 3,492,749 flights / 250,000)
OBS, CAL = "2014-03-31", "2013-03-31"

STEP = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
engine, data, out, opts = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), json.loads(sys.argv[4])
from crm_research.data.engines import get_engine
with get_engine(engine, **opts) as eng:
    eng.load(data / "flights", data / "members")
    info = eng.validate()
    t1 = time.perf_counter()
    eng.snapshot("{obs}").write_parquet(out / "snapshot")
    t2 = time.perf_counter()
    eng.summary(calibration_end="{cal}", observation_end="{obs}").write_parquet(out / "summary")
    hist = eng.histories(calibration_end="{cal}", observation_end="{obs}")
    t3 = time.perf_counter()
print("__RESULT__" + json.dumps({{
    "seconds": t3 - t0, "validate": t1 - t0, "snapshot": t2 - t1, "summary": t3 - t2,
    "rows": int(info["n_flights"]), "histories": len(hist),
    "members": int(hist["weights"].sum()),
}}))
""".format(obs=OBS, cal=CAL)  # noqa: UP032


PREPARE = """
import sys
from pathlib import Path
import pandas as pd
from crm_research import clv
from crm_research.data.engines import get_engine
from crm_research.data.engines.scale import fit_on_histories
data, out, fit = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1"
kw = {{"calibration_end": "{cal}", "observation_end": "{obs}"}}
with get_engine("duckdb", memory_limit="3GB") as eng:
    eng.load(data / "flights")
    eng.summary(**kw).write_parquet(out / "summary")
    if fit:
        m = fit_on_histories(eng.histories(**kw))
        clv.save_purchase_model(m, out / "purchase_model.json", time_unit="weeks",
                                counting_rule="flights", calibration_end="{cal}")
if fit:
    s = pd.read_parquet(out / "summary").sample(100_000, random_state=0)
    from pyspark import cloudpickle  # our lifetimes subclass pickles by value
    (out / "spend.pickle").write_bytes(cloudpickle.dumps(clv.GammaGamma().fit(s)))
""".format(obs=OBS, cal=CAL)  # noqa: UP032

SCORE = """
import json, pickle, sys, time
from pathlib import Path
t0 = time.perf_counter()
summary, model, out, opts = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), json.loads(sys.argv[4])
from crm_research.data.engines.scoring import score_members
spend = pickle.loads((model / "spend.pickle").read_bytes())
score_members(summary, model / "purchase_model.json", out / "scores", spend=spend, **opts)
import pyarrow.parquet as pq
n = sum(pq.ParquetFile(f).metadata.num_rows for f in (out / "scores").glob("*.parquet"))
print("__RESULT__" + json.dumps({"seconds": time.perf_counter() - t0, "rows": n}))
"""


def prepare_scoring(data: Path, log: Path, fit: bool) -> Path:
    """The per-member summaries of ``log`` (and, with ``fit``, the model files), once."""
    d = data / "scoring" / log.name
    done = d / ("purchase_model.json" if fit else "summary")
    if not done.exists():
        print(f"writing the summaries of {log} (and the model: {fit}) into {d} ...")
        d.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-c", PREPARE, str(log), str(d), "1" if fit else "0"], check=True
        )
    return d


def make_log(data: Path, rows: int, seed: int) -> Path:
    """A simulated partitioned log of about ``rows`` flights (made once, then reused)."""
    members = int(round(rows / FLIGHTS_PER_MEMBER))
    d = data / f"log-{members}-{seed}"
    meta = d / "simulation.json"
    if not meta.exists():
        print(f"simulating {members:,} members (about {rows:,} flights) into {d} ...")
        subprocess.run(
            [
                str(Path(sys.executable).parent / "crm-research"),
                "data",
                "synth",
                "--members",
                str(members),
                "--seed",
                str(seed),
                "--format",
                "parquet",
                "--out",
                str(d),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return d


def run_step(engine: str, data: Path, opts: dict, script: str = STEP, argv=None) -> dict:
    """One engine on one log in a fresh process: its times and peak resident memory.

    The process runs ``script`` with ``argv`` (default: the engine and the log), then an
    output folder and ``opts`` as JSON."""
    argv = [engine, str(data)] if argv is None else argv
    with tempfile.TemporaryDirectory() as out:
        outs = Path(out)
        t = time.perf_counter()
        with open(outs / "stdout", "w") as so, open(outs / "stderr", "w") as se:
            p = subprocess.Popen(
                [sys.executable, "-c", script, *argv, out, json.dumps(opts)],
                stdout=so,
                stderr=se,
            )
            # wait4: the peak resident memory of that process (ru_maxrss, KB on Linux)
            _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        stdout, stderr = (outs / "stdout").read_text(), (outs / "stderr").read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{engine} failed:\n{stderr[-3000:]}")
    line = next(ln for ln in stdout.splitlines() if ln.startswith("__RESULT__"))
    res = json.loads(line[len("__RESULT__") :])
    res["wall"] = wall
    res["peak_mb"] = usage.ru_maxrss / 1024
    # CPU seconds of the process (user + system): far less sensitive than wall time to
    # the other jobs on a shared machine
    res["cpu"] = usage.ru_utime + usage.ru_stime
    return res


def show(name: str, r: dict) -> None:
    print(
        f"  {name:<7} {r['rows']:>12,} rows  {r['seconds']:7.1f} s "
        f"(validate {r['validate']:.1f}, snapshot {r['snapshot']:.1f}, summary+histories "
        f"{r['summary']:.1f})  {1e9 * r['seconds'] / r['rows']:6.0f} ns/row  "
        f"peak {r['peak_mb'] / 1024:5.2f} GB  histories {r['histories']:,} for "
        f"{r['members']:,} members  CPU {r['cpu']:.1f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--part", choices=["all", "scale", "engines", "scoring"], default="all")
    ap.add_argument("--small", type=int, default=10_000_000, help="rows of the smaller log")
    ap.add_argument("--large", type=int, default=100_000_000, help="rows of the larger log")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--data", type=Path, default=ROOT / "benchmarks" / ".data")
    ap.add_argument("--memory-limit", default="3GB", help="DuckDB's memory_limit")
    ap.add_argument(
        "--part-rows",
        type=int,
        default=None,
        help="DuckDB's flight rows per range of members (default the engine's, 5,000,000; "
        "0: the log in one scan, as before ranges)",
    )
    a = ap.parse_args()
    a.data.mkdir(parents=True, exist_ok=True)
    duck = {"memory_limit": a.memory_limit, "temp_directory": str(a.data / "duckdb_tmp")}
    if a.part_rows is not None:
        duck["part_rows"] = a.part_rows

    small = make_log(a.data, a.small, a.seed)
    if a.part in ("all", "engines"):
        print(f"\nengines on {a.small:,} rows (one process each, this machine's cores):")
        res = {}
        for name, opts in (("pandas", {}), ("duckdb", duck), ("spark", {})):
            if name == "spark":
                opts = {"spark_master": f"local[{os.cpu_count()}]"}
            res[name] = run_step(name, small, opts)
            show(name, res[name])
        for name in ("pandas", "spark"):
            print(
                f"  ratio {name}/duckdb time: {res[name]['seconds'] / res['duckdb']['seconds']:.2f}"
            )
        ok = res["pandas"]["seconds"] >= res["duckdb"]["seconds"]
        print(f"  target DuckDB no slower than pandas: {'met' if ok else 'NOT met'}")
        same = len({(r["histories"], r["members"]) for r in res.values()}) == 1
        print(f"  same distinct histories and members under the three engines: {same}")

    if a.part in ("all", "scale"):
        large = make_log(a.data, a.large, a.seed)
        rows = "" if a.part_rows is None else f", part_rows {a.part_rows:,}"
        print(f"\nDuckDB scale, memory_limit {a.memory_limit}{rows} (one process each):")
        r_small = run_step("duckdb", small, duck)
        show("duckdb", r_small)
        r_large = run_step("duckdb", large, duck)
        show("duckdb", r_large)
        per_small = r_small["seconds"] / r_small["rows"]
        per_large = r_large["seconds"] / r_large["rows"]
        ratio = per_large / per_small
        cpu = (r_large["cpu"] / r_large["rows"]) / (r_small["cpu"] / r_small["rows"])
        print(
            f"  time per row {a.large // 1_000_000}M / {a.small // 1_000_000}M: {ratio:.2f} "
            f"(target <= 1.2: {'met' if ratio <= 1.2 else 'NOT met'}); CPU time per row "
            f"{cpu:.2f} (target <= 1.2: {'met' if cpu <= 1.2 else 'NOT met'})"
        )
        peak = r_large["peak_mb"] / 1024
        print(
            f"  peak memory at {r_large['rows']:,} rows: {peak:.2f} GB "
            f"(target < 4 GB: {'met' if peak < 4 else 'NOT met'})"
        )

    if a.part in ("all", "scoring"):
        large = make_log(a.data, a.large, a.seed)
        model = prepare_scoring(a.data, small, fit=True)
        print("\nscoring every member from the model file, DuckDB batches (one process each):")
        res = []
        for log in (small, large):
            summ = prepare_scoring(a.data, log, fit=log == small) / "summary"
            r = run_step("duckdb", summ, {"engine": "duckdb"}, SCORE, [str(summ), str(model)])
            res.append(r)
            print(
                f"  {r['rows']:>10,} members  {r['seconds']:6.1f} s  "
                f"{1e6 * r['seconds'] / r['rows']:5.1f} us/member  peak {r['peak_mb'] / 1024:5.2f} GB"
            )
        grow = res[1]["peak_mb"] / res[0]["peak_mb"]
        print(
            f"  peak memory {res[1]['rows']:,} / {res[0]['rows']:,} members: {grow:.2f} "
            f"(target flat, <= 1.2: {'met' if grow <= 1.2 else 'NOT met'}); time per member "
            f"{(res[1]['seconds'] / res[1]['rows']) / (res[0]['seconds'] / res[0]['rows']):.2f}"
        )


if __name__ == "__main__":
    main()
