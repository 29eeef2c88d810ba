"""The papermill runner: executes the numbered notebooks into a report folder.

Each run writes into a staging folder under ``reports/`` and renames it to
``reports/<run-id>/`` only when every notebook has run, so a run that fails or is
interrupted never touches the previous complete report; ``reports/latest`` then points
to the newest complete run. A run folder holds each executed notebook, its HTML with
code, an HTML without code for the management report, ``index.html`` linking them, the
figures, the notebooks' metrics and ``manifest.json`` (parameters, input fingerprint,
versions, git commit, run times, metrics).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from . import DEFAULT_SEED
from . import io as _io

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
MANAGEMENT_NOTEBOOKS = ("06",)  # rendered without code for managers
COMMON_PARAMETERS = ("processed_dir", "figures_dir", "metrics_dir", "reports_dir", "seed")
MAIN_PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "statsmodels",
    "lifetimes",
    "lifelines",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
    "pyarrow",
)


class StudyError(RuntimeError):
    """A notebook of the study failed; the message names the notebook and the cell."""


@dataclass
class RunResult:
    run_dir: Path
    notebooks: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)


def list_notebooks(notebook_dir: Path = NOTEBOOK_DIR) -> list[Path]:
    """The study's notebooks ``NN_name.ipynb`` in order."""
    return sorted(p for p in Path(notebook_dir).glob("[0-9][0-9]_*.ipynb"))


def select_notebooks(only: str | list[str] | None, notebook_dir: Path = NOTEBOOK_DIR) -> list[Path]:
    """Notebooks selected by ``--only`` (``"01"``, ``"01,02"`` or ``"02-04"``)."""
    books = list_notebooks(notebook_dir)
    if not books:
        raise StudyError(f"no notebooks found in {notebook_dir}")
    if not only:
        return books
    wanted: set[str] = set()
    items = only if isinstance(only, list) else str(only).split(",")
    for item in items:
        item = item.strip()
        if "-" in item:
            a, b = (int(x) for x in item.split("-", 1))
            wanted |= {f"{i:02d}" for i in range(a, b + 1)}
        elif item:
            wanted.add(f"{int(item):02d}" if item.isdigit() else item)
    chosen = [p for p in books if p.name[:2] in wanted or p.stem in wanted]
    known = {p.name[:2] for p in books} | {p.stem for p in books}
    unknown = sorted(w for w in wanted if w not in known)
    if unknown:
        raise StudyError(f"unknown notebook(s) {unknown}; the study has {[p.stem for p in books]}")
    return chosen


def notebook_parameters(path: Path) -> dict[str, dict]:
    """Parameters declared in a notebook's ``parameters`` cell (papermill's inspection)."""
    import papermill as pm

    return pm.inspect_notebook(str(path))


def load_params_file(path: str | os.PathLike | None) -> dict:
    """Read a YAML parameters file: ``{name: value}`` for every notebook that has the
    parameter, and/or ``{"NN" or notebook stem: {name: value}}`` for one notebook."""
    if not path:
        return {}
    import yaml

    p = Path(path)
    if not p.exists():
        raise StudyError(f"{p}: parameters file not found")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise StudyError(f"{p}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise StudyError(f"{p}: expected a mapping of parameter names to values")
    return data


_TYPES = {
    int: (int,),
    float: (int, float),
    str: (str,),
    bool: (bool,),
    list: (list,),
    dict: (dict,),
}


def _literal(text: str) -> Any:
    """The default of a parameter as a Python value (None when not a plain literal)."""
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


def resolve_parameters(
    books: list[Path], user: dict, source: str = "parameters"
) -> dict[str, dict[str, Any]]:
    """Split user parameters by notebook, refusing unknown names and wrong types."""
    declared = {b.stem: notebook_parameters(b) for b in books}
    all_books = {b.stem: b for b in list_notebooks(books[0].parent)} if books else {}
    per_book: dict[str, dict[str, Any]] = {b.stem: {} for b in books}
    errors = []

    def check(book: str, name: str, value: Any) -> None:
        spec = declared[book].get(name)
        if spec is None:
            return
        default = _literal(spec.get("default", "None"))
        if default is not None and value is not None:
            expected = _TYPES.get(type(default))
            ok = expected is None or (
                isinstance(value, expected)
                and not (isinstance(value, bool) and expected != (bool,))
            )
            if not ok:
                errors.append(
                    f"{book}: parameter {name!r} expects {type(default).__name__} "
                    f"(default {spec.get('default')}), got {type(value).__name__} {value!r}"
                )
                return
        per_book[book][name] = value

    for key, value in user.items():
        key_s = str(key)
        target = [b for b in declared if b == key_s or b[:2] == key_s.zfill(2)]
        if isinstance(value, dict) and (
            target or key_s in all_books or key_s[:2] in {s[:2] for s in all_books}
        ):
            for name, v in value.items():
                for book in target:
                    if name not in declared[book]:
                        errors.append(
                            f"{book}: unknown parameter {name!r}; it has {sorted(declared[book])}"
                        )
                    else:
                        check(book, name, v)
            continue
        holders = [b for b in declared if key_s in declared[b]]
        known_anywhere = holders or any(
            key_s in notebook_parameters(p) for s, p in all_books.items() if s not in declared
        )
        if not known_anywhere:
            names = sorted({n for d in declared.values() for n in d})
            errors.append(f"unknown parameter {key_s!r}; the notebooks take {names}")
            continue
        for book in holders:
            check(book, key_s, value)
    if errors:
        raise StudyError(f"{source}: " + "; ".join(errors))
    return per_book


def fingerprint(paths: list[Path]) -> dict[str, str]:
    """SHA-256 of each input file (or of every file in an input folder)."""
    out = {}
    for p in paths:
        files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for f in files:
            h = hashlib.sha256()
            with open(f, "rb") as fh:
                for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    h.update(chunk)
            out[str(f)] = h.hexdigest()
    return out


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in MAIN_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    from . import __version__

    out["crm-research"] = __version__
    return out


def git_commit() -> str | None:
    try:
        r = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        commit = r.stdout.strip() or None
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return f"{commit}{'+dirty' if dirty and commit else ''}" if commit else None
    except (OSError, subprocess.SubprocessError):
        return None


def _lifetimes_datasets_dir() -> Path:
    from importlib.util import find_spec

    spec = find_spec("lifetimes")
    return Path(spec.origin).parent / "datasets"


def export_html(executed: Path, out: Path, *, with_code: bool = True) -> Path:
    """Render an executed notebook to self-contained HTML (figures embedded)."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(executed), as_version=4)
    exporter = HTMLExporter(template_name="lab")
    if not with_code:
        exporter.exclude_input = True
        exporter.exclude_input_prompt = True
        exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb)
    return _io.write_text(body, out)


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
    """Move a run's staging folder aside (``failed-`` / ``interrupted-``), never over ``latest``."""
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return target


def _index_html(run_dir: Path, rows: list[dict], manifest: dict) -> str:
    items = []
    for r in rows:
        links = [f'<a href="{r["html"]}">with code</a>', f'<a href="{r["ipynb"]}">notebook</a>']
        if r.get("html_nocode"):
            links.insert(0, f'<a href="{r["html_nocode"]}"><b>report (no code)</b></a>')
        items.append(
            f"<tr><td>{r['name']}</td><td>{' · '.join(links)}</td><td>{r['seconds']:.1f} s</td></tr>"
        )
    figs = sorted((run_dir / "figures").glob("*.png"))
    fig_list = "".join(f'<li><a href="figures/{f.name}">{f.stem}</a></li>' for f in figs)
    params = json.dumps(manifest.get("parameters", {}), indent=2, ensure_ascii=False)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>crm-research study: {run_dir.name}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}}
table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ddd;padding:.3em 1em;text-align:left}}</style>
</head><body>
<h1>Customer value of the frequent-flyer programme</h1>
<p>Run <code>{run_dir.name}</code> on <b>{manifest.get("data")}</b> data,
finished {manifest.get("finished")}, seed {manifest.get("seed")}, commit
<code>{manifest.get("git_commit")}</code>.</p>
<h2>Notebooks</h2>
<table><tr><th>notebook</th><th>outputs</th><th>run time</th></tr>{"".join(items)}</table>
<h2>Model checks</h2>{_model_checks_section(manifest)}
<h2>Figures</h2><ul>{fig_list}</ul>
<h2>Parameters</h2><pre>{params}</pre>
<p>Everything here is in <code>manifest.json</code>.</p>
</body></html>
"""


def _add_model_checks(manifest: dict) -> None:
    """Gather every notebook's ``model_checks`` (fit verdicts) into the manifest."""
    from .modelchecks import collect_model_checks

    manifest["model_checks"] = collect_model_checks(manifest.get("metrics", {}))


def _model_checks_section(manifest: dict) -> str:
    """The run's model checks (verdict of every fit) as an HTML table for the index."""
    from .modelchecks import model_checks_html

    return model_checks_html(manifest.get("model_checks", []))


def run_study(
    data: str = "synthetic",
    *,
    only: str | list[str] | None = None,
    params_file: str | os.PathLike | None = None,
    params: dict | None = None,
    out_dir: str | os.PathLike = REPO_ROOT / "reports",
    raw_dir: str | os.PathLike = REPO_ROOT / "data" / "raw",
    processed_dir: str | os.PathLike | None = None,
    figures_dir: str | os.PathLike | None = REPO_ROOT / "figures",
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

    Parameters
    ----------
    data : str
        ``"synthetic"`` (default), ``"cdnow"``, a flight-log folder or a textbook file.
    only : str, optional
        Notebooks to run (``"01"``, ``"01,02"``, ``"02-04"``).
    params_file : path, optional
        YAML file of notebook parameters (checked against the notebooks before running).
    params : dict, optional
        Parameters set in code, applied after ``params_file``.
    out_dir : path
        Where run folders go (``reports/``).
    raw_dir : path
        Input folder; the simulated data lives in ``raw_dir/synthetic``. Never modified,
        except that the default simulation is written there when it is missing.
    processed_dir : path, optional
        Where notebooks exchange tables (default ``data/processed`` beside ``raw_dir``).
    figures_dir : path, optional
        A copy of the run's figures is placed here after a successful run.
    members : int, optional
        Size of the default simulation (60,000 unless given).
    seed : int, optional
        The one seed of every random step: ``seed``, else the parameters file's top-level
        ``seed``, else 42. It reaches the simulation and every notebook.
    engine : {"duckdb", "spark", "pandas"}
        What scans the flight log into the member snapshot
        (:mod:`crm_research.data.engines`); ``spark_master`` is Spark's master URL.
    """
    import papermill as pm
    from tqdm.auto import tqdm

    from .data import sources

    notebook_dir = Path(notebook_dir)
    books = select_notebooks(only, notebook_dir)
    user = load_params_file(params_file)
    user.update(params or {})
    if seed is None:
        seed = int(user.get("seed", DEFAULT_SEED))
    elif "seed" in user and user["seed"] != seed:
        raise StudyError(
            f"two seeds given: {seed} (command line) and {user['seed']} (parameters); give one"
        )
    user["seed"] = seed
    per_book = resolve_parameters(books, user, source=str(params_file or "parameters"))

    raw_dir = Path(raw_dir).resolve()
    processed = Path(processed_dir or raw_dir.parent / "processed").resolve()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)

    # the default data: made when missing or made with another size or seed
    if str(data).lower() == "synthetic":
        meta = sources.synthetic_meta(raw_dir)
        want = members or sources.DEFAULT_MEMBERS
        differs = meta is not None and (meta.get("n_members") != want or meta.get("seed") != seed)
        starts_at_01 = bool(books) and books[0].name.startswith("01")
        if differs and not starts_at_01:
            # later notebooks read data/processed, made from the data notebook 01 last saw
            log(
                f"note: data/processed comes from {meta['n_members']:,} members (seed "
                f"{meta['seed']}); include notebook 01 to rerun on {want:,} members (seed {seed})"
            )
        elif meta is None or differs:
            log(
                f"simulating {want:,} members (seed {seed}) into {sources.synthetic_dir(raw_dir)} ..."
            )
            sources.write_synthetic(sources.synthetic_dir(raw_dir), n_members=want, seed=seed)
        inputs = [sources.synthetic_dir(raw_dir)]
    elif str(data).lower().startswith("cdnow"):
        inputs = [
            _lifetimes_datasets_dir() / "CDNOW_sample.txt",
            _lifetimes_datasets_dir() / "CDNOW_master.txt",
        ]
    else:
        inputs = [Path(data).resolve()]
        data = str(Path(data).resolve())

    if books and books[0].name.startswith("01"):
        # validate the input before anything runs: bad input stops here with a clear
        # message naming the file, the column and the rows, and nothing is written
        first = per_book.get(books[0].stem, {})
        sources.load_source(
            data,
            raw_dir=raw_dir,
            obs_end=first.get("obs_end"),
            cleaning=first.get("cleaning", "none"),
        )

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    label = Path(str(data)).stem if str(data) not in ("synthetic", "cdnow") else str(data)
    run_id = f"{stamp}-{label}"
    staging = out_dir / f".staging-{run_id}-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    (staging / "figures").mkdir(parents=True)
    (staging / "metrics").mkdir()

    if books and books[0].name.startswith("01"):
        # a study from the start: clear tables of an earlier run so no stale result is read
        if processed.exists():
            for f in processed.iterdir():
                if f.is_file() and f.suffix in (".parquet", ".json", ".csv"):
                    f.unlink()
    processed.mkdir(parents=True, exist_ok=True)

    common = {
        "processed_dir": str(processed),
        "figures_dir": str(staging / "figures"),
        "metrics_dir": str(staging / "metrics"),
        "reports_dir": str(staging),
        "seed": int(seed),
        "data_source": str(data),
        "raw_dir": str(raw_dir),
        "engine": str(engine),
        "spark_master": spark_master,
    }
    timings: dict[str, float] = {}
    rows = []
    used_params: dict[str, dict] = {}
    bar = tqdm(books, desc="study", unit="notebook", disable=not progress, file=sys.stderr)
    for book in bar:
        bar.set_postfix_str(book.stem)
        declared = notebook_parameters(book)
        p = {k: v for k, v in common.items() if k in declared}
        p.update(per_book.get(book.stem, {}))
        used_params[book.stem] = p
        executed = staging / f"{book.stem}.ipynb"
        t = time.perf_counter()
        try:
            pm.execute_notebook(
                str(book),
                str(executed),
                parameters=p,
                kernel_name="python3",
                progress_bar=False,
                cwd=str(book.parent),
                log_output=False,
            )
        except KeyboardInterrupt:
            bar.close()
            kept = _keep_partial(staging, out_dir / f"interrupted-{run_id}")
            raise StudyError(
                f"interrupted while running {book.name}; what had run is kept in {kept}\n"
                "the previous complete report is untouched"
            ) from None
        except Exception as exc:
            bar.close()
            kept = _keep_partial(staging, out_dir / f"failed-{run_id}")
            raise StudyError(
                _failure_message(book, kept / executed.name, exc)
                + "\nthe previous complete report is untouched"
            ) from None
        timings[book.stem] = round(time.perf_counter() - t, 2)
        row = {"name": book.stem, "ipynb": executed.name, "seconds": timings[book.stem]}
        if html:
            row["html"] = export_html(executed, staging / f"{book.stem}.html").name
            if book.name[:2] in MANAGEMENT_NOTEBOOKS:
                row["html_nocode"] = export_html(
                    executed, staging / f"{book.stem}_report.html", with_code=False
                ).name
        rows.append(row)
        log(f"  {book.stem}: {timings[book.stem]:.1f} s")

    metrics = {}
    for f in sorted((staging / "metrics").glob("*.json")):
        metrics[f.stem] = _io.read_json(f)
    manifest = {
        "run_id": run_id,
        "data": str(data),
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
    }
    _add_model_checks(manifest)
    _io.write_json(manifest, staging / "manifest.json")
    if html:
        _io.write_text(_index_html(staging, rows, manifest), staging / "index.html")
    final = out_dir / run_id
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)
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
        if books and books[0].name.startswith("01"):
            # a study from the start replaces the figures of earlier runs (another input
            # may not make the same figures: stale ones would be mistaken for these)
            for old in fd.glob("*.png"):
                old.unlink()
        for f in (final / "figures").glob("*.png"):
            shutil.copy2(f, fd / f.name)
    return RunResult(final, [b.stem for b in books], timings, metrics, manifest)
