"""The study's notebooks and the run's provenance: selection (``--only``), parameters
(papermill's inspection, the YAML file), input fingerprints, versions and git commit."""

from __future__ import annotations

import hashlib
import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from ..config import project_dir

REPO_ROOT = project_dir()  # config: $CRM_RESEARCH_HOME or the clone around the cwd
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
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
    "itables",
)


class StudyError(RuntimeError):
    """A notebook of the study failed; the message names the notebook and the cell."""


def list_notebooks(notebook_dir: Path = NOTEBOOK_DIR) -> list[Path]:
    """The study's notebooks ``NN_name.ipynb`` in order."""
    return sorted(p for p in Path(notebook_dir).glob("[0-9][0-9]_*.ipynb"))


def select_notebooks(only: str | list[str] | None, notebook_dir: Path = NOTEBOOK_DIR) -> list[Path]:
    """Notebooks selected by ``--only`` (``"01"``, ``"01,02"`` or ``"02-04"``).

    Raises :class:`~crm_research.params.ParameterError` for a selection that names no
    notebook or is malformed (``1-``, ``04-02``, ``x``).
    """
    from ..params import ParameterError

    books = list_notebooks(notebook_dir)
    if not books:
        raise StudyError(f"no notebooks found in {notebook_dir}")
    if only is None:
        return books
    codes = [p.name[:2] for p in books]
    allowed = "notebook numbers like 01 | 01,03 | 02-04 from " + ", ".join(codes)
    items = only if isinstance(only, list) else str(only).split(",")
    if not any(str(i).strip() for i in items):
        raise ParameterError(f"option --only = {only!r} is not allowed: {allowed}")
    wanted: set[str] = set()
    singles: set[str] = set()
    for item in items:
        item = str(item).strip()
        m = re.fullmatch(r"(\d{1,2})\s*-\s*(\d{1,2})", item)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            if a > b:
                raise ParameterError(
                    f"option --only = {only!r} is not allowed: the range {item!r} runs "
                    f"backwards; {allowed}"
                )
            wanted |= {f"{i:02d}" for i in range(a, b + 1)}
        elif item.isdigit() and len(item) <= 2:
            singles.add(f"{int(item):02d}")
        elif item in {p.stem for p in books}:
            singles.add(item[:2])
        else:
            raise ParameterError(f"option --only = {only!r} is not allowed: {allowed}")
    unknown = sorted(w for w in singles if w not in codes)
    chosen = [p for p in books if p.name[:2] in wanted | singles]
    if unknown or not chosen:
        raise ParameterError(
            f"option --only = {only!r} is not allowed: unknown notebook(s) "
            f"{unknown or sorted(wanted)}; the study has {[p.stem for p in books]}"
        )
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

    from ..params import ParameterError

    _ParamsLoader = _params_loader()
    p = Path(path)
    if not p.exists():
        raise ParameterError(f"{p}: parameters file not found")
    if p.is_dir():
        raise ParameterError(f"{p}: parameters file is a folder, not a YAML file")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ParameterError(f"{p}: parameters file is not UTF-8 text ({exc.reason})") from None
    try:
        data = yaml.load(text, Loader=_ParamsLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ParameterError(f"{p}: not valid YAML{at}: {what}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(
            f"{p}: expected a mapping of parameter names to values, got a {type(data).__name__}"
        )
    return data


def _params_loader():
    """YAML's safe loader without its date conversion: dates stay text and are checked by
    :mod:`crm_research.params` (``2014-02-30`` is then refused by name, not a crash)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return Loader


def resolve_parameters(
    books: list[Path], user: dict, source: str = "parameters", seed: int | None = None
) -> dict[str, dict[str, Any]]:
    """Split user parameters by notebook, refusing unknown names, wrong types and values
    out of range (see :mod:`crm_research.params`)."""
    from ..params import resolve

    folder = books[0].parent if books else NOTEBOOK_DIR
    declared = {b.stem: notebook_parameters(b) for b in list_notebooks(folder)}
    for b in books:
        declared.setdefault(b.stem, notebook_parameters(b))
    res = resolve(declared, [b.stem for b in books], user, source=source, seed=seed)
    out = res.per_book
    if seed is None and "seed" not in user:
        for d in out.values():
            d.pop("seed", None)
    return out


def fingerprint(paths: list[Path]) -> dict[str, str]:
    """SHA-256 of each input file (or of every file in an input folder)."""
    out = {}
    for p in paths:
        if not p.exists():
            out[str(p)] = "missing"
            continue
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
    from .. import __version__

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
