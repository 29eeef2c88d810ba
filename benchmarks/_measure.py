"""Run a snippet in a fresh Python process and report its wall time and peak memory.

Each measured step runs in its own process so that its peak resident memory
(``ru_maxrss``) is its own, not that of earlier steps.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

WRAPPER = """
import json, resource, time
{setup}
t0 = time.perf_counter()
{body}
elapsed = time.perf_counter() - t0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("__RESULT__" + json.dumps({{"seconds": elapsed, "peak_mb": peak_mb, **extra}}))
"""


def measure(body: str, setup: str = "", extra: str = "extra = {}") -> dict:
    code = WRAPPER.format(
        setup=textwrap.dedent(setup), body=textwrap.dedent(body) + "\n" + textwrap.dedent(extra)
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("__RESULT__"))
    return json.loads(line[len("__RESULT__") :])


REPO = Path(__file__).resolve().parents[1]


def stage_args(doc: str) -> argparse.Namespace:
    """The options of a stage benchmark: ``--members``, ``--seed``, ``--no-notebook``."""
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--members", type=int, default=60_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--no-notebook", action="store_true")
    return ap.parse_args()


def simulated_tables(tmp: str, members: int, seed: int) -> Path:
    """Simulate ``members`` and save their processed tables in ``tmp/processed`` (in a
    fresh process, so the benchmark's own memory is not counted)."""
    processed = Path(tmp) / "processed"
    measure(
        f"simulate_programme({members}, seed={seed}).to_dataset().save(r'{processed}')",
        setup="from crm_research.data.simulate import simulate_programme",
    )
    return processed


@dataclasses.dataclass(frozen=True)
class Stage:
    """What a stage benchmark works on: its options, a temporary folder, the simulated
    tables in it and ``load``, the setup code that loads them as ``ds``."""

    args: argparse.Namespace
    tmp: str
    processed: Path
    load: str

    def time_notebook(self, stem: str, target: str, dirs) -> None:
        """:func:`time_notebook` on these tables, unless ``--no-notebook`` was given."""
        if not self.args.no_notebook:
            time_notebook(stem, self.tmp, self.processed, self.args.members, target, dirs)


@contextlib.contextmanager
def stage_tables(doc: str) -> Iterator[Stage]:
    """The :class:`Stage` of a benchmark (options from :func:`stage_args`, tables from
    :func:`simulated_tables`); its temporary folder is removed after."""
    a = stage_args(doc)
    with tempfile.TemporaryDirectory() as tmp:
        processed = simulated_tables(tmp, a.members, a.seed)
        load = f"""
            from crm_research.data import load_processed
            ds = load_processed(r"{processed}")
            """
        yield Stage(a, tmp, processed, textwrap.dedent(load))


def time_notebook(stem: str, tmp: str, processed: Path, members: int, target: str, dirs) -> None:
    """Run ``notebooks/<stem>.ipynb`` with papermill on the tables in ``processed`` (the
    output folders ``dirs`` under ``tmp``) and print its time against ``target``."""
    t0 = time.perf_counter()
    params = []
    for d in dirs:
        params += ["-p", d, str(Path(tmp) / d.removesuffix("_dir"))]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            str(REPO / "notebooks" / f"{stem}.ipynb"),
            str(Path(tmp) / "out.ipynb"),
            "-p",
            "processed_dir",
            str(processed),
            *params,
            "--cwd",
            str(REPO / "notebooks"),
            "--no-progress-bar",
        ],
        check=True,
        capture_output=True,
    )
    print(
        f"notebook {stem[:2]} on {members:,} members: {time.perf_counter() - t0:.1f} s "
        f"including kernel start (target {target})"
    )
