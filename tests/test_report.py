"""The papermill runner: a real run of notebook 01, failures, parameters files."""

import json
from pathlib import Path

import nbformat
import pytest

from crm_research.params import ParameterError
from crm_research.report import StudyError, resolve_parameters, run_study, select_notebooks


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    (root / "figures").mkdir()
    (root / "figures" / "stale_from_another_input.png").write_bytes(b"old")
    res = run_study(
        "synthetic",
        only="01",
        out_dir=root / "reports",
        raw_dir=root / "raw",
        processed_dir=root / "processed",
        figures_dir=root / "figures",
        members=1500,
        seed=3,
        progress=False,
        log=lambda *a: None,
    )
    return root, res


@pytest.mark.slow
def test_run_only_01_writes_report_tables_figures_and_metrics(small_run):
    root, res = small_run
    run = res.run_dir
    assert (run / "01_data_exploration.ipynb").exists()
    assert (run / "01_data_exploration.html").stat().st_size > 10_000
    assert (run / "index.html").exists()
    manifest = json.loads((run / "manifest.json").read_text())
    m = manifest["metrics"]["01_data_exploration"]
    assert m["n_members"] == 1500 and m["source"] == "synthetic"
    assert 0 < m["revenue_gini"] < 1 and 0.2 < m["revenue_top20_share"] < 1
    assert manifest["seed"] == 3 and manifest["versions"]["lifetimes"] == "0.11.3"
    assert manifest["input_fingerprint"]
    for t in ("snapshot", "flights", "members", "truth"):
        assert (root / "processed" / f"{t}.parquet").exists()
    figs = {p.name for p in (root / "figures").glob("*.png")}
    assert "value_concentration_lorenz.png" in figs
    assert "stale_from_another_input.png" not in figs
    assert (root / "reports" / "latest.txt").read_text().strip() == run.name
    # executed notebook carries outputs and no error
    nb = nbformat.read(run / "01_data_exploration.ipynb", as_version=4)
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))


def _write_nb(path: Path, sources: list[str]) -> None:
    cells = [
        nbformat.v4.new_code_cell(
            "seed = 1\nprocessed_dir = ''\nmetrics_dir = ''", metadata={"tags": ["parameters"]}
        )
    ]
    cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def _tiny_study(tmp_path, first_cells):
    """A study of one small notebook ``01_ok`` in ``tmp_path/nbs``, and run_study's arguments."""
    books = tmp_path / "nbs"
    books.mkdir()
    _write_nb(books / "01_ok.ipynb", first_cells)
    kw = dict(
        out_dir=tmp_path / "reports",
        raw_dir=tmp_path / "raw",
        processed_dir=tmp_path / "p",
        figures_dir=None,
        members=300,
        notebook_dir=books,
        progress=False,
        log=lambda *a: None,
    )
    return books, kw


@pytest.mark.slow
def test_failing_notebook_names_notebook_and_cell_and_keeps_previous_report(tmp_path):
    books, kw = _tiny_study(tmp_path, ["x = 1"])
    good = run_study("synthetic", **kw)
    _write_nb(books / "02_bad.ipynb", ["y = 2", "raise ValueError('boom in the model')"])
    with pytest.raises(StudyError) as e:
        run_study("synthetic", **kw)
    msg = str(e.value)
    assert (
        "02_bad.ipynb" in msg and "cell 3 (`raise ValueError" in msg and "boom in the model" in msg
    )
    assert "previous complete report and its tables are untouched" in msg
    assert good.run_dir.exists()
    assert (tmp_path / "reports" / "latest.txt").read_text().strip() == good.run_dir.name
    partial = [p for p in (tmp_path / "reports").glob("failed-*/02_bad.ipynb")]
    assert partial, "the partial executed notebook is kept"


def test_parameters_file_rejects_unknown_names_and_wrong_types(tmp_path):
    books = select_notebooks("01")
    with pytest.raises(ParameterError, match="unknown parameter 'no_such_thing'"):
        resolve_parameters(books, {"no_such_thing": 1})
    with pytest.raises(ParameterError, match="'top_share_q' = 'a lot' is not allowed: a number"):
        resolve_parameters(books, {"top_share_q": "a lot"})
    with pytest.raises(ParameterError, match="unknown parameter 'nope'"):
        resolve_parameters(books, {"01": {"nope": 2}})
    ok = resolve_parameters(books, {"top_share_q": 0.1, "01": {"cleaning": "second_edition"}})
    assert ok["01_data_exploration"] == {"top_share_q": 0.1, "cleaning": "second_edition"}


def test_unknown_notebook_selection():
    with pytest.raises(ParameterError, match="unknown notebook"):
        select_notebooks("99")


@pytest.mark.slow
def test_interrupted_run_keeps_previous_report(tmp_path, monkeypatch):
    import papermill

    books, kw = _tiny_study(tmp_path, ["x = 1"])
    good = run_study("synthetic", **kw)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(papermill, "execute_notebook", interrupt)
    with pytest.raises(StudyError, match="interrupted by .* while running 01_ok.ipynb"):
        run_study("synthetic", **kw)
    assert (tmp_path / "reports" / "latest.txt").read_text().strip() == good.run_dir.name
    assert (tmp_path / "reports" / "latest").resolve() == good.run_dir.resolve()
    assert not list((tmp_path / "reports").glob(".staging-*")), "the staging folder is removed"


@pytest.mark.slow
def test_seed_from_parameters_file_reaches_simulation_and_notebooks(tmp_path):
    books, kw = _tiny_study(tmp_path, ["x = seed"])
    params = tmp_path / "p.yml"
    params.write_text("seed: 7\n", encoding="utf-8")
    res = run_study("synthetic", params_file=params, **kw)
    assert res.manifest["seed"] == 7
    assert res.manifest["parameters"]["01_ok"]["seed"] == 7
    sim = tmp_path / "raw" / "synthetic-300-seed7" / "simulation.json"
    assert json.loads(sim.read_text())["seed"] == 7
    with pytest.raises(ParameterError, match="two seeds given"):
        run_study("synthetic", params_file=params, seed=8, **kw)


@pytest.mark.slow
def test_disk_full_after_a_notebook_keeps_previous_run_and_no_staging(tmp_path, monkeypatch):
    import errno

    from crm_research.report import runner as report

    books, kw = _tiny_study(tmp_path, ["x = 1"])
    good = run_study("synthetic", **kw)
    before = sorted(p.name for p in (tmp_path / "reports").iterdir())

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(report, "export_html", full)
    with pytest.raises(OSError, match="No space left"):
        run_study("synthetic", **kw)
    after = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert not [n for n in after if n.startswith(".staging-")]
    assert [n for n in after if n not in before and not n.startswith("failed-")] == []
    assert (tmp_path / "reports" / "latest.txt").read_text().strip() == good.run_dir.name


def test_interrupt_stops_only_kernel_children():
    # an interrupted run stops its own kernels, never other children of the caller's
    # process (a Spark JVM of the caller's session was killed before this rule)
    import subprocess
    import sys

    from crm_research.report import _stop_kernels

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    kernel = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "ipykernel_launcher"]
    )
    try:
        _stop_kernels(wait=5.0)
        assert kernel.poll() is not None
        assert other.poll() is None
    finally:
        for p in (other, kernel):
            p.kill()
            p.wait()
