"""The run's folders: locks, the tables a run exchanges and publishes, writability checks."""

from __future__ import annotations

import contextlib
import os
import shutil
from datetime import datetime
from pathlib import Path

from .notebooks import StudyError


class RunLock:
    """An exclusive, non-blocking lock on a folder (``<folder>/.crm-research.lock``).

    Two runs that share an output or a tables folder cannot mix: the second one is
    refused with a message naming the folder and the process holding it. The lock is
    released by the operating system when the process ends, even if killed.
    """

    NAME = ".crm-research.lock"

    def __init__(self, folder: Path, what: str) -> None:
        self.folder = Path(folder)
        self.what = what
        self._fh = None

    def acquire(self) -> RunLock:
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / self.NAME
        fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the run
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise StudyError(
                f"another run is using the {self.what} {self.folder} ({holder}); wait for "
                "it to finish or give another --out / --processed folder"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}, started {datetime.now().isoformat(timespec='seconds')}")
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            import fcntl

            with contextlib.suppress(OSError):
                self._fh.seek(0)
                self._fh.truncate()
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


TABLE_SUFFIXES = (".parquet", ".json", ".csv")


def _table_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(f for f in folder.iterdir() if f.is_file() and f.suffix in TABLE_SUFFIXES)


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (tables are never modified in place), else copy."""
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copy2(src, tmp)
    os.replace(tmp, dst)


def _publish_tables(run_tables: Path, processed: Path) -> None:
    """Make ``processed`` hold exactly the complete run's tables (file by file, atomically)."""
    processed.mkdir(parents=True, exist_ok=True)
    new = {f.name for f in _table_files(run_tables)}
    for f in _table_files(run_tables):
        _link_or_copy(f, processed / f.name)
    for old in _table_files(processed):
        if old.name not in new:
            old.unlink()


def _writable_folder(path: Path, what: str, option: str) -> None:
    """Refuse a folder that is a file, or that cannot be created or written."""
    from ..params import ParameterError

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ParameterError(f"{option} {p}: is a file, not a folder ({what})")
    probe = p
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ParameterError(f"{option} {p}: {probe} is a file, not a folder ({what})")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise ParameterError(f"{option} {p}: permission denied: cannot write to {probe} ({what})")
