"""The papermill runner: executes the numbered notebooks into a report folder.

Everything is checked before the first notebook starts (the selection, the whole
parameter set against :mod:`crm_research.params`, the folders, the input data). Each run
then works in a staging folder ``reports/.staging-<run-id>-<pid>/`` with its own copy of
the tables the notebooks exchange (``processed/``); only when every notebook has run is
it renamed ``reports/<run-id>/``, its tables published to ``data/processed/`` and
``reports/latest`` pointed at it. A failing notebook leaves ``reports/failed-<run-id>/``;
Ctrl-C or SIGTERM removes the staging folder; either way the previous complete run and its
tables stay exactly as they were. A lock on the output and tables folders keeps two runs
from mixing. A run folder holds each executed notebook and its HTML with code; the
management report (notebook 06, run once per language) without code as
``management_report.html`` and ``management_report_zh.html`` and printed to PDF
(:mod:`.export`); ``index.html``, the landing page (:mod:`.landing`, every name in it
escaped); the figures, the notebooks' metrics, the tables, ``retention_list.csv`` and
``manifest.json`` (parameters, input fingerprint, versions, git commit, run times,
metrics, model checks, which report files were written).
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import re
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import io as _io
from ..config import ARTIFACTS
from .export import BackgroundExports, export_html
from .folders import (
    RunLock,
    _link_or_copy,
    _publish_tables,
    _table_files,
    _writable_folder,
)
from .kernels import _stop_kernels, start_kernel, stop_kernel
from .landing import REPORT_FILES, _index_html, data_range
from .notebooks import (
    NOTEBOOK_DIR,
    REPO_ROOT,
    StudyError,
    _lifetimes_datasets_dir,
    fingerprint,
    git_commit,
    list_notebooks,
    load_params_file,
    notebook_parameters,
    select_notebooks,
    versions,
)

MANAGEMENT_NOTEBOOKS = ("06",)  # rendered without code for managers
COMMON_PARAMETERS = ("processed_dir", "figures_dir", "metrics_dir", "reports_dir", "seed")
#: Set by the runner, never part of a run's parameters (a temporary file of the run).
RUN_ONLY_PARAMETERS = ("snapshot_file",)

#: Above this many members the next notebook's kernel is not started ahead (.kernels):
#: the idle kernel (0.3 GB) beside the running one took the summed peak memory of a 1M
#: study to 4.04 GB (bench_study.py, session 4); below it the 3-6 s per notebook win.
KERNEL_AHEAD_MAX_MEMBERS = 500_000
DEFAULT = object()
ENGINES = ("duckdb", "spark", "pandas")
MIN_MEMBERS = 100
MAX_MEMBERS = 10_000_000
_LAST_SIGNAL: list[int | None] = [None]
_RUNNING = [""]


@dataclass
class RunResult:
    run_dir: Path
    notebooks: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)


def _editions(book: Path, declared: dict, user: dict) -> list[str | None]:
    """Languages to run a notebook in: the management report in both (``en``, ``zh``)
    unless the user chose one with the ``language`` parameter; other notebooks once."""
    if book.name[:2] not in MANAGEMENT_NOTEBOOKS or "language" not in declared:
        return [None]
    if "language" in user:
        return [str(user["language"])]
    return ["en", "zh"]


def _failure_message(book: Path, executed: Path, exc: Exception) -> str:
    """Name the notebook and the failing cell (numbered as in the original notebook)."""
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    where = "a cell"
    try:
        import nbformat

        nb = nbformat.read(str(executed), as_version=4)
        added = {"injected-parameters", "papermill-error-cell-tag"}
        original = [c for c in nb.cells if not added & set(c.get("metadata", {}).get("tags", []))]
        for i, c in enumerate(original, start=1):
            if any(o.get("output_type") == "error" for o in c.get("outputs", [])):
                first = next((ln for ln in c.source.splitlines() if ln.strip()), "")
                where = f"cell {i} (`{first.strip()[:80]}`)"
                break
    except Exception:  # the message must not fail; keep the generic wording
        pass
    return (
        f"notebook {book.name} failed in {where}: {ename}: {evalue}\n"
        f"the partial executed notebook is kept at {executed}"
    )


def _keep_partial(staging: Path, target: Path) -> Path:
    """Move a failed run's staging folder aside (``failed-<run-id>``), never over ``latest``."""
    target = _unique(target)
    staging.rename(target)
    return target


def _unique(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``... when it exists (a run never replaces another)."""
    if not path.exists():
        return path
    i = 2
    while path.with_name(f"{path.name}-{i}").exists():
        i += 1
    return path.with_name(f"{path.name}-{i}")


class StudyInterrupted(StudyError):
    """The run was stopped by SIGINT (Ctrl-C) or SIGTERM; its staging folder is gone."""

    def __init__(self, message: str, signum: int = 2) -> None:
        super().__init__(message)
        self.signum = signum


def _check_inputs_of_later_notebooks(books: list[Path], processed: Path) -> tuple[int, dict]:
    """A run that starts after notebook 01 reads 01's tables: refuse up front if absent.

    Returns the number of members of the snapshot found and ``dataset.json``."""
    from ..params import ParameterError

    need = processed / ARTIFACTS["dataset"]
    snap = processed / ARTIFACTS["snapshot"]
    if not need.exists() or not snap.exists():
        raise ParameterError(
            f"option --only: notebook {books[0].stem} reads the tables notebook 01 writes, "
            f"and {processed} has none (no dataset.json / snapshot.parquet); run notebook 01 "
            f"first (crm-research run --only 01-{books[-1].name[:2]}) or give the --processed "
            "folder of an earlier run"
        )
    try:
        import pyarrow.parquet as pq

        n = int(pq.ParquetFile(snap).metadata.num_rows)
    except Exception as exc:  # a damaged table: say which
        raise ParameterError(f"{snap}: not a readable table of notebook 01 ({exc})") from None
    try:
        meta = _io.read_json(need)
    except (ValueError, OSError) as exc:
        raise ParameterError(
            f"{need}: not a readable dataset.json of notebook 01 ({exc})"
        ) from None
    if not isinstance(meta, dict):
        raise ParameterError(f"{need}: not a dataset.json of notebook 01")
    return n, meta


def _synthetic_folder(raw_dir: Path, members: int, seed: int) -> Path:
    """The default simulation's folder, named by its parameters (never overwritten)."""
    return raw_dir / f"synthetic-{members}-seed{seed}"


def _ensure_simulation(folder: Path, members: int, seed: int, log) -> None:
    """Simulate into ``folder`` if it does not exist; refuse if it holds something else."""
    from ..data import sources

    meta = sources.synthetic_meta_in(folder)
    if meta is not None:
        if meta.get("n_members") == members and meta.get("seed") == seed:
            return
        raise StudyError(
            f"{folder} holds another simulation ({meta.get('n_members')} members, seed "
            f"{meta.get('seed')}); it is left as it is: move it away or give another --raw"
        )
    if folder.exists() and any(folder.iterdir()):
        raise StudyError(
            f"{folder} exists and is not a complete simulation; it is left as it is: move it "
            "away or give another --raw"
        )
    log(f"simulating {members:,} members (seed {seed}) into {folder} ...")
    sources.write_synthetic(folder, n_members=members, seed=seed)


def _add_model_checks(manifest: dict) -> None:
    """Gather every notebook's ``model_checks`` (fit verdicts) into the manifest."""
    from ..modelchecks import collect_model_checks

    manifest["model_checks"] = collect_model_checks(manifest.get("metrics", {}))


def run_study(
    data: str = "synthetic",
    *,
    only: str | list[str] | None = None,
    params_file: str | os.PathLike | None = None,
    params: dict | None = None,
    out_dir: str | os.PathLike | None = None,
    raw_dir: str | os.PathLike | None = None,
    processed_dir: str | os.PathLike | None = None,
    figures_dir: str | os.PathLike | None | object = DEFAULT,
    members: int | None = None,
    seed: int | None = None,
    notebook_dir: str | os.PathLike = NOTEBOOK_DIR,
    progress: bool = True,
    html: bool = True,
    log=print,
    engine: str = "duckdb",
    spark_master: str | None = None,
) -> RunResult:
    """Run the study's notebooks in order with papermill.

    Everything is checked before the first notebook starts: the notebook selection, the
    whole parameter set (:mod:`crm_research.params`), the folders and the input data.
    The run then works in a staging folder ``out_dir/.staging-<run-id>-<pid>/`` that
    holds its own copy of the exchanged tables (``processed/``), its figures, metrics and
    reports; only when every notebook has run is it renamed ``out_dir/<run-id>/`` and
    are its tables published to ``processed_dir``. A failing notebook leaves
    ``out_dir/failed-<run-id>/``; an interrupted run (SIGINT, SIGTERM) removes its
    staging folder. Either way the previous complete run, its tables included, is left
    exactly as it was. Two runs sharing an output or tables folder cannot mix: the second
    is refused (:class:`RunLock`).

    Parameters
    ----------
    data : str
        ``"synthetic"`` (default), ``"cdnow"``, a flight-log folder (a folder written by
        ``crm-research data synth`` too) or a textbook file.
    only : str, optional
        Notebooks to run (``"01"``, ``"01,02"``, ``"02-04"``).
    params_file : path, optional
        YAML file of notebook parameters.
    params : dict, optional
        Parameters set in code, applied after ``params_file``.
    out_dir : path, optional
        Where run folders go (default ``reports/``).
    raw_dir : path, optional
        Input folder (default ``data/raw/``); the default simulation goes to
        ``raw_dir/synthetic-<members>-seed<seed>/`` when missing. Never overwritten.
    processed_dir : path, optional
        Where the last complete run's tables are published: ``data/processed`` for the
        default ``out_dir``, else ``out_dir/processed``.
    figures_dir : path or None, optional
        A copy of the run's figures is placed here after a successful run (default: the
        repository's ``figures/`` for the default ``out_dir``, else none).
    members : int, optional
        Size of the default simulation (60,000 unless given).
    seed : int, optional
        The one seed of every random step: ``seed``, else the parameters file's top-level
        ``seed``, else 42. It reaches the simulation and every notebook.
    engine : {"duckdb", "spark", "pandas"}
        What scans the flight log into the member snapshot
        (:mod:`crm_research.data.engines`); ``spark_master`` is Spark's master URL.
    """
    from ..data import sources
    from ..params import ParameterError, resolve

    notebook_dir = Path(notebook_dir)
    default_out = out_dir is None
    out_dir = Path(out_dir if out_dir is not None else REPO_ROOT / "reports").absolute()
    raw_dir = Path(raw_dir if raw_dir is not None else REPO_ROOT / "data" / "raw").absolute()
    if processed_dir is None:
        processed_dir = (raw_dir.parent / "processed") if default_out else out_dir / "processed"
    processed = Path(processed_dir).absolute()
    if figures_dir is DEFAULT:
        figures_dir = REPO_ROOT / "figures" if default_out else None

    # 1. the notebooks, the parameters and the options
    books = select_notebooks(only, notebook_dir)
    user = load_params_file(params_file)
    user.update(params or {})
    declared = {b.stem: notebook_parameters(b) for b in list_notebooks(notebook_dir)}
    source_name = str(params_file) if params_file else "parameters"
    resolved = resolve(declared, [b.stem for b in books], user, source=source_name, seed=seed)
    seed = resolved.seed
    per_book = resolved.per_book
    key = str(data).strip().lower()
    is_synthetic = key == "synthetic"
    if members is not None:
        if isinstance(members, bool) or not isinstance(members, int) or members < MIN_MEMBERS:
            raise ParameterError(
                f"option --members = {members!r} is not allowed: an integer >= {MIN_MEMBERS} "
                f"and <= {MAX_MEMBERS:,}"
            )
        if members > MAX_MEMBERS:
            raise ParameterError(
                f"option --members = {members:,} is not allowed: at most {MAX_MEMBERS:,}"
            )
        if not is_synthetic:
            raise ParameterError(
                f"option --members = {members} sets the size of the simulation; it has no "
                f"meaning with --data {data}"
            )
    if engine not in ENGINES:
        raise ParameterError(f"option --engine = {engine!r} is not allowed: one of {list(ENGINES)}")
    starts_at_01 = books[0].name.startswith("01")
    first = per_book.get(books[0].stem, {}) if starts_at_01 else {}
    is_textbook = False
    if not is_synthetic and not key.startswith("cdnow"):
        p = Path(data)
        if not p.exists():
            raise ParameterError(
                f"option --data {data}: not found: give 'synthetic', 'cdnow', a flight-log "
                "folder or a textbook CSV/Parquet file"
            )
        is_textbook = p.is_file()
    if starts_at_01:
        cleaning = first.get("cleaning", "none")
        if cleaning not in (None, "none") and not is_textbook:
            raise ParameterError(
                f"parameter 'cleaning' = {cleaning!r} is not allowed with --data {data}: the "
                "textbook's cleaning rules apply to the textbook member table (a CSV file) "
                "only; a flight log is validated, never cleaned silently"
            )
        if first.get("obs_end") and is_synthetic:
            raise ParameterError(
                f"parameter 'obs_end' = {first['obs_end']!r} is not allowed with --data "
                "synthetic: the simulation fixes its observation end (crm-research data synth "
                "--obs-end ... --out FOLDER, then --data FOLDER)"
            )
        for k in ("date_format", "encoding"):
            if first.get(k) and (is_synthetic or key.startswith("cdnow")):
                raise ParameterError(
                    f"parameter {k!r} = {first[k]!r} is not allowed with --data {data}: it "
                    "describes CSV inputs (a flight-log folder or a textbook file)"
                )

    # 2. the folders
    _writable_folder(out_dir, "the reports folder", "--out")
    _writable_folder(processed, "the tables folder", "--processed")
    if is_synthetic and starts_at_01:
        _writable_folder(raw_dir, "the raw data folder", "--raw")
    n_members = None
    obs_end = None
    checked = None
    meta: dict = {}
    if not starts_at_01:
        n_members, meta = _check_inputs_of_later_notebooks(books, processed)
        obs_end = meta.get("obs_end")
        if is_synthetic and members is not None:
            if meta.get("n_members") not in (None, members) or meta.get("seed") not in (None, seed):
                raise ParameterError(
                    f"option --members {members} / seed {seed}: the tables in {processed} come "
                    f"from {meta.get('n_members')} members (seed {meta.get('seed')}); include "
                    "notebook 01 to run on another simulation"
                )

    # the first notebook's kernel boots (and imports its modules) while the input is
    # simulated and checked (.kernels); stopped below unless the run takes it over
    first_kernel = []
    if (members or sources.DEFAULT_MEMBERS) <= KERNEL_AHEAD_MAX_MEMBERS and (
        is_synthetic or key.startswith("cdnow")
    ):
        first_kernel.append(start_kernel(books[0], books[0].parent))
    try:
        return _check_and_run(
            data=data,
            key=key,
            is_synthetic=is_synthetic,
            members=members,
            raw_dir=raw_dir,
            seed=seed,
            starts_at_01=starts_at_01,
            meta=meta,
            first=first,
            books=books,
            resolved=resolved,
            per_book=per_book,
            n_members=n_members,
            obs_end=obs_end,
            checked=checked,
            processed=processed,
            out_dir=out_dir,
            figures_dir=figures_dir,
            progress=progress,
            html=html,
            log=log,
            engine=engine,
            spark_master=spark_master,
            first_kernel=first_kernel,
        )
    finally:
        for km in first_kernel:
            stop_kernel(km)


def _check_and_run(
    *,
    data,
    key,
    is_synthetic,
    members,
    raw_dir,
    seed,
    starts_at_01,
    meta,
    first,
    books,
    resolved,
    per_book,
    n_members,
    obs_end,
    checked,
    processed,
    out_dir,
    figures_dir,
    progress,
    html,
    log,
    engine,
    spark_master,
    first_kernel,
) -> RunResult:
    """Steps 3 and 4 of :func:`run_study`: the input checks and the run."""
    from ..data import sources
    from ..params import check_against_data

    # 3. the input, validated before anything runs
    data_source = str(data)
    if is_synthetic:
        want = members or sources.DEFAULT_MEMBERS
        sim = _synthetic_folder(raw_dir, want, seed)
        if starts_at_01:
            _ensure_simulation(sim, want, seed, log)
        data_source = str(sim)
        inputs = [sim]
    elif key.startswith("cdnow"):
        inputs = [
            _lifetimes_datasets_dir() / "CDNOW_sample.txt",
            _lifetimes_datasets_dir() / "CDNOW_master.txt",
        ]
    else:
        data_source = str(Path(data).absolute())
        inputs = [Path(data_source)]
    if not starts_at_01 and meta.get("input"):
        inputs = [Path(str(meta["input"]))]  # the tables come from that input
    if starts_at_01:
        ds = sources.load_source(
            data_source,
            raw_dir=raw_dir,
            obs_end=first.get("obs_end"),
            cleaning=first.get("cleaning", "none"),
            date_format=first.get("date_format"),
            encoding=first.get("encoding"),
            # checked by the chosen engine: a Parquet log is never read into pandas
            engine=engine,
            spark_master=spark_master,
        )
        n_members = len(ds.snapshot)
        obs_end = ds.info.get("obs_end")
        # the snapshot the checks built is handed to notebook 01 (parameter
        # snapshot_file): built once per run, not a second time in the notebook
        checked = _keep_checked_snapshot(ds.snapshot)
        del ds
    if n_members is not None:
        try:
            check_against_data(
                {b.stem: {**resolved.values, **per_book.get(b.stem, {})} for b in books},
                n_members,
                obs_end,
            )
        except BaseException:
            _drop_checked_snapshot(checked)
            raise

    # 4. the run, in its own staging folder, under the locks of its folders
    locks = [RunLock(out_dir, "reports folder")]
    if processed != out_dir:
        locks.append(RunLock(processed, "tables folder"))
    held: list[RunLock] = []
    staging_cell: list[Path] = []
    _RUNNING[0] = ""
    try:
        with _signals_as_interrupts():
            for lock in locks:
                held.append(lock.acquire())
            return _run_locked(
                books=books,
                per_book=per_book,
                data=data,
                data_source=data_source,
                raw_dir=raw_dir,
                processed=processed,
                out_dir=out_dir,
                figures_dir=figures_dir,
                starts_at_01=starts_at_01,
                seed=seed,
                members=members,
                inputs=inputs,
                progress=progress,
                html=html,
                log=log,
                staging_cell=staging_cell,
                engine=engine,
                spark_master=spark_master,
                checked=checked,
                ahead=n_members is None or n_members <= KERNEL_AHEAD_MAX_MEMBERS,
                first_kernel=first_kernel,
            )
    except KeyboardInterrupt:
        with _signals_blocked():
            _stop_kernels()
        logging.getLogger("papermill").disabled = False  # quiet since the signal
        staging = staging_cell[0] if staging_cell else None
        if staging is not None and staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        signum = _LAST_SIGNAL[0] or signal.SIGINT
        name = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C (SIGINT)"
        raise StudyInterrupted(
            f"interrupted by {name}{_RUNNING[0]}; the run's staging folder is removed and "
            "the previous complete run and its tables are untouched",
            signum,
        ) from None
    except Exception:
        # an error outside a notebook (disk full while exporting, ...): keep what ran
        # aside as failed-<run-id>, never as a staging folder or over the previous run
        staging = staging_cell[0] if staging_cell else None
        if staging is not None and staging.exists() and staging.name.startswith(".staging-"):
            with contextlib.suppress(OSError):
                _keep_partial(staging, out_dir / ("failed-" + staging.name[len(".staging-") :]))
        raise
    finally:
        for lock in reversed(held):
            lock.release()
        _drop_checked_snapshot(checked)


def _keep_checked_snapshot(snapshot) -> Path:
    """The input checks' member snapshot as Parquet in a temporary folder (removed at the
    end of the run): notebook 01 reads it instead of building it again."""
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="crm-research-snapshot-"))
    _io.write_parquet(snapshot, d / "snapshot.parquet")
    return d / "snapshot.parquet"


def _drop_checked_snapshot(path: Path | None) -> None:
    if path is not None:
        shutil.rmtree(path.parent, ignore_errors=True)


@contextlib.contextmanager
def _signals_as_interrupts():
    """SIGTERM (and SIGINT) raise KeyboardInterrupt in the main thread during a run, so
    both clean up the same way; the previous handlers are restored after."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _LAST_SIGNAL[0] = None

    def handler(signum, frame):
        _LAST_SIGNAL[0] = signum
        # nbclient's pending wait for the cell resumes when the kernel is shut down and logs
        # "Kernel died ..." via papermill: the run's one message says it (run_study re-enables)
        logging.getLogger("papermill").disabled = True
        raise KeyboardInterrupt

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextlib.contextmanager
def _signals_blocked():
    """Hold SIGINT/SIGTERM while a complete run is moved into place (a few renames)."""
    sigs = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _run_locked(
    *,
    books,
    per_book,
    data,
    data_source,
    raw_dir,
    processed,
    out_dir,
    figures_dir,
    starts_at_01,
    seed,
    members,
    inputs,
    progress,
    html,
    log,
    staging_cell,
    engine,
    spark_master,
    checked=None,
    ahead=True,
    first_kernel=(),
) -> RunResult:
    import papermill as pm
    from tqdm.auto import tqdm

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    label = Path(str(data)).stem if str(data) not in ("synthetic", "cdnow") else str(data)
    label = re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("._") or "input"
    run_id = _unique(out_dir / f"{stamp}-{label}").name
    staging = out_dir / f".staging-{run_id}-{os.getpid()}"
    staging_cell.append(staging)
    if staging.exists():
        shutil.rmtree(staging)
    (staging / "figures").mkdir(parents=True)
    (staging / "metrics").mkdir()
    tables = staging / "processed"
    tables.mkdir()
    if not starts_at_01:
        # later notebooks read the tables of the last complete run: work on a copy
        for f in _table_files(processed):
            _link_or_copy(f, tables / f.name)

    common = {
        "processed_dir": str(tables),
        "figures_dir": str(staging / "figures"),
        "metrics_dir": str(staging / "metrics"),
        "reports_dir": str(staging),
        "seed": int(seed),
        "data_source": data_source,
        "raw_dir": str(raw_dir),
        "engine": str(engine),
        "spark_master": spark_master,
        "snapshot_file": None if checked is None else str(checked),
    }
    timings: dict[str, float] = {}
    rows = []
    used_params: dict[str, dict] = {}
    jobs = []  # (book, language, stem, parameters): notebook 06 once per edition
    for book in books:
        declared = notebook_parameters(book)
        p = {k: v for k, v in common.items() if k in declared}
        p.update(per_book.get(book.stem, {}))
        used_params[book.stem] = {
            k: v
            for k, v in p.items()
            if (k not in COMMON_PARAMETERS or k == "seed") and k not in RUN_ONLY_PARAMETERS
        }
        for language in _editions(book, declared, per_book.get(book.stem, {})):
            stem = book.stem if language in (None, "en") else f"{book.stem}_{language}"
            q = p if language is None else {**p, "language": language}
            jobs.append((book, language, stem, q))
    bar = tqdm(
        total=len(books), desc="study", unit="notebook", disable=not progress, file=sys.stderr
    )
    # each notebook runs in a fresh kernel of its own, one after another; the next one's
    # kernel is started (and imports its modules) while the current one runs (.kernels)
    # (``ahead``; not above KERNEL_AHEAD_MAX_MEMBERS members, where memory comes first)
    kernels = {}
    if jobs:  # the kernel started during the input checks, if any (``first_kernel``)
        kernels[0] = (
            first_kernel.pop() if first_kernel else start_kernel(jobs[0][0], jobs[0][0].parent)
        )
    exports = BackgroundExports(log)
    try:
        for i, (book, language, stem, p) in enumerate(jobs):
            bar.set_postfix_str(book.stem)
            executed = staging / f"{stem}.ipynb"
            t = time.perf_counter()
            _RUNNING[0] = f" while running {book.name}" + (f" ({language})" if language else "")
            if i not in kernels:  # not started ahead
                kernels[i] = start_kernel(book, book.parent)
            if i + 1 < len(jobs) and ahead:
                kernels[i + 1] = start_kernel(jobs[i + 1][0], jobs[i + 1][0].parent)
            if html and book.name[:2] in MANAGEMENT_NOTEBOOKS:
                exports.start_browser()  # Chromium boots while the report runs (once)
            try:
                pm.execute_notebook(
                    str(book),
                    str(executed),
                    parameters=p,
                    kernel_name="python3",
                    progress_bar=False,
                    cwd=str(book.parent),
                    log_output=False,
                    km=kernels[i],
                )
            except KeyboardInterrupt:
                bar.close()
                raise
            except Exception as exc:
                bar.close()
                if getattr(exc, "ename", None) == "KeyboardInterrupt":
                    raise KeyboardInterrupt from None  # the kernel got the Ctrl-C first
                exports.abort()  # nothing writes into the folder once it is moved
                kept = _keep_partial(staging, out_dir / f"failed-{run_id}")
                raise StudyError(
                    _failure_message(book, kept / executed.name, exc)
                    + "\nthe previous complete report and its tables are untouched"
                ) from None
            finally:
                stop_kernel(kernels.pop(i))
            timings[stem] = round(time.perf_counter() - t, 2)
            row = {"name": stem, "ipynb": executed.name, "seconds": timings[stem]}
            if html:  # rendered while the next notebook runs (.export.BackgroundExports)
                row["html"] = f"{stem}.html"
                exports.submit(export_html, executed, staging / row["html"])
                if book.name[:2] in MANAGEMENT_NOTEBOOKS:  # without code, and its PDF
                    row["html_nocode"] = REPORT_FILES[language or "en"][0]
                    exports.edition(export_html, executed, staging, language or "en")
            rows.append(row)
            log(f"  {stem}: {timings[stem]:.1f} s")
            exports.check()
            if i + 1 == len(jobs) or jobs[i + 1][0] != book:
                bar.update(1)
        status = exports.wait()
        report_status = status if html else {}
    except BaseException:
        exports.abort()
        raise
    finally:
        for km in kernels.values():  # the next notebook's kernel after a failure
            stop_kernel(km)
    bar.close()

    metrics = {}
    for f in sorted((staging / "metrics").glob("*.json")):
        metrics[f.stem] = _io.read_json(f)
    manifest = {
        "run_id": run_id,
        "data": str(data),
        "data_source": data_source,
        "seed": int(seed),
        "members": members,
        "engine": str(engine),
        "finished": datetime.now().isoformat(timespec="seconds"),
        "parameters": used_params,
        "input_fingerprint": fingerprint(inputs),
        "versions": versions(),
        "platform": platform.platform(),
        "git_commit": git_commit(),
        "timings_seconds": timings,
        "metrics": metrics,
        "processed_dir": str(processed),
        "management_report": report_status,
        "data_range": data_range(tables),
    }
    _add_model_checks(manifest)
    _io.write_json(manifest, staging / ARTIFACTS["manifest"])
    if html:
        _io.write_text(_index_html(run_id, staging, rows, manifest), staging / "index.html")
    final = out_dir / run_id
    with _signals_blocked():
        # from here the run is complete: it is moved into place as a whole
        staging.rename(final)
        staging_cell.clear()
        _publish_tables(final / "processed", processed)
        _io.write_text(run_id + "\n", out_dir / "latest.txt")
        latest = out_dir / "latest"
        try:
            tmp_link = out_dir / f".latest-{os.getpid()}"
            if tmp_link.is_symlink() or tmp_link.exists():
                tmp_link.unlink()
            tmp_link.symlink_to(run_id)
            os.replace(tmp_link, latest)
        except OSError:
            pass
    if figures_dir is not None:
        fd = Path(figures_dir)
        fd.mkdir(parents=True, exist_ok=True)
        if starts_at_01:
            # a study from the start replaces the figures of earlier runs (another input
            # may not make the same figures: stale ones would be mistaken for these)
            for old in fd.glob("*.png"):
                old.unlink()
        for f in (final / "figures").glob("*.png"):
            shutil.copy2(f, fd / f.name)
    return RunResult(final, [b.stem for b in books], timings, metrics, manifest)
