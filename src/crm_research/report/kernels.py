"""Kernels started one notebook ahead (issue 12: the study's time).

Starting a Jupyter kernel and importing a notebook's modules (pandas, matplotlib, scipy,
scikit-learn, the package) takes 3 to 6 seconds per notebook, during which nothing else
runs. The runner starts the *next* notebook's kernel while the current one executes:
the kernel process boots and imports the modules the notebook imports (read from its
``import`` statements, imported with :func:`importlib.import_module` inside ``exec`` with
a namespace of its own, so the notebook's namespace starts empty as before), and papermill
then runs the notebook on it. The notebooks still run one after another, each in a fresh
kernel of its own: importing a module earlier changes no result (every random step has
its seed); the cost is one idle kernel's memory (about 0.3 GB) during the previous
notebook. The first notebook's kernel boots while the runner simulates and checks the
input. :func:`_stop_kernels` stops the run's kernels after an interrupt.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import signal
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync

#: The arguments every notebook kernel gets: ipykernel 7 warns about TCP at every start
#: and logs a caught Ctrl-C to our stderr; cell errors reach the report anyway. The
#: history in memory is what nbclient gives the kernels it starts itself.
KERNEL_ARGS = ("--IPKernelApp.log_level=CRITICAL", "--HistoryManager.hist_file=:memory:")


def notebook_imports(book: Path) -> list[str]:
    """Modules a notebook imports (``import x``, ``from x import y``: ``x`` and ``x.y``)."""
    nb = json.loads(Path(book).read_text(encoding="utf-8"))
    mods: list[str] = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse("".join(cell.get("source", "")))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                mods += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return list(dict.fromkeys(mods))


def _warm_line(modules: list[str]) -> str:
    """One line of code importing ``modules`` without binding a name in the notebook's
    namespace (``y`` of ``from x import y`` is tried as a module; a name that is no
    module is skipped)."""
    code = (
        "import importlib\n"
        f"for m in {modules!r}:\n"
        "    try:\n"
        "        importlib.import_module(m)\n"
        "    except Exception:\n"
        "        pass\n"
    )
    return f"exec({code!r}, {{}})"


class _Kernel(AsyncKernelManager):
    """A kernel manager that remembers the clients opened on it (papermill's), so that
    they are closed with the kernel: papermill leaves a kernel it did not start running."""

    def client(self, **kwargs):
        c = super().client(**kwargs)
        self.__dict__.setdefault("_opened", []).append(c)
        return c


def start_kernel(book: Path, cwd: Path, kernel_name: str = "python3") -> AsyncKernelManager:
    """Start the kernel for ``book`` in ``cwd``; it imports the notebook's modules as it
    boots and is ready for ``papermill.execute_notebook(..., km=...)``."""
    km = _Kernel(kernel_name=kernel_name)
    args = [*KERNEL_ARGS, f"--IPKernelApp.exec_lines={_warm_line(notebook_imports(book))}"]
    run_sync(km.start_kernel)(extra_arguments=args, cwd=str(cwd))
    return km


def stop_kernel(km: AsyncKernelManager | None) -> None:
    """Close the clients opened on ``km`` and shut its kernel down (never raises)."""
    if km is None:
        return
    for c in km.__dict__.pop("_opened", []):
        with contextlib.suppress(Exception):
            c.stop_channels()
    with contextlib.suppress(Exception):
        run_sync(km.shutdown_kernel)(now=True)


def _children() -> list[int]:
    """Process ids of this process's kernel children (Linux ``/proc``; empty elsewhere).

    Only Jupyter kernels (``ipykernel_launcher`` on the command line): other children of
    the process, such as a Spark JVM of the caller's own session, are not ours to stop.
    """
    me, kids = os.getpid(), []
    for d in Path("/proc").glob("[0-9]*"):
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid != me:
                continue
            cmdline = (d / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if b"ipykernel" in cmdline:
            kids.append(int(d.name))
    return kids


def _stop_kernels(wait: float = 5.0) -> None:
    """Stop the kernels papermill started for this run (our own child processes) after an
    interrupt: none outlives the run or writes to the terminal after its message."""
    kids = _children()
    for pid in kids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while kids and time.monotonic() < deadline:
        for pid in list(kids):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                kids.remove(pid)
        time.sleep(0.05)
    for pid in kids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
