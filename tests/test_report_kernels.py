"""The kernel started one notebook ahead (report.kernels): it imports the notebook's
modules as it boots, yet the notebook starts with an empty namespace and its cells are
numbered from 1, as in a kernel papermill starts itself."""

from __future__ import annotations

import json

import nbformat
import papermill as pm
from jupyter_core.utils import run_sync

from crm_research.report.kernels import notebook_imports, start_kernel, stop_kernel


def _notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(path))
    return path


def test_notebook_imports_reads_import_statements(tmp_path):
    book = _notebook(
        tmp_path / "a.ipynb",
        ["import json\nfrom os import path as p", "x = 1\nfrom email import message"],
    )
    mods = notebook_imports(book)
    assert mods[:3] == ["json", "os", "os.path"] and "email.message" in mods


def test_warm_kernel_runs_the_notebook_with_a_clean_namespace(tmp_path):
    book = _notebook(
        tmp_path / "b.ipynb",
        [
            "import sys\nwarm = 'email.message' in sys.modules",
            "names = sorted(k for k in globals() if not k.startswith('_'))",
            "import json, pathlib\n"
            "pathlib.Path('out.json').write_text(json.dumps({'warm': warm, 'names': names}))",
            "from email import message",
        ],
    )
    km = start_kernel(book, tmp_path)
    try:
        pm.execute_notebook(str(book), str(tmp_path / "done.ipynb"), km=km, progress_bar=False)
    finally:
        stop_kernel(km)
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["warm"], "the kernel imported the notebook's modules before its first cell"
    # only the notebook's own names and IPython's: no 'importlib' or loop variable left
    assert not {"importlib", "m"} & set(out["names"])
    done = nbformat.read(str(tmp_path / "done.ipynb"), as_version=4)
    assert [c.execution_count for c in done.cells] == [1, 2, 3, 4]
    assert not run_sync(km.is_alive)(), "the kernel is shut down with the notebook"
