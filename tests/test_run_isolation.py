"""Runs that must not touch each other: a real study on a hostile flight log, SIGTERM in
the middle of notebook 02, two runs at once. These run notebooks (slow)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from crm_research.data.simulate import simulate_programme
from crm_research.report import REPO_ROOT, RunLock

pytestmark = pytest.mark.slow

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example","click")'
LONG_ID = "98765432109876543210"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "crm_research.cli", *args]


def _run_until(root, log, out, only: str, notebook: str, **popen) -> subprocess.Popen:
    """Start ``run --only only`` in the background; return once papermill has written
    ``notebook`` into the staging folder (or the run ended, or 10 minutes passed)."""
    proc = subprocess.Popen(
        _cli("run", "--data", str(log), "--out", str(out), "--only", only, "--no-progress"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=root,
        **popen,
    )
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if list(out.glob(f".staging-*/{notebook}")):
            break
        time.sleep(0.1)
    return proc


def _tree(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.name == RunLock.NAME:
            continue
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _repo_outputs() -> dict[str, str]:
    """What a run must not touch in the repository when given --out."""
    out = {}
    for d in ("figures", "data/processed", "reports"):
        folder = REPO_ROOT / d
        if folder.exists():
            out.update({f"{d}/{k}": v for k, v in _tree(folder).items()})
    return out


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """A complete study on a flight log whose member ids are hostile or 20 digits long."""
    root = tmp_path_factory.mktemp("hostile")
    sim = simulate_programme(n_members=400, seed=3)
    ids = {m: f"M{m:05d}" for m in sim.members["MEMBER_NO"]}
    first = list(ids)[:3]
    ids[first[0]], ids[first[1]], ids[first[2]] = SCRIPT, FORMULA, LONG_ID
    log = root / "log"
    log.mkdir()
    for name in ("flights", "members", "complaints", "noshows"):
        t = getattr(sim, name).copy()
        t["MEMBER_NO"] = t["MEMBER_NO"].map(ids)
        t.to_csv(log / f"{name}.csv", index=False)
    params = root / "p.yml"
    params.write_text("06:\n  retention_rows: 1000\n", encoding="utf-8")
    out = root / "reports"
    repo_before = _repo_outputs()
    r = subprocess.run(
        _cli(
            "run", "--data", str(log), "--out", str(out), "--params", str(params), "--no-progress"
        ),
        capture_output=True,
        text=True,
        cwd=root,
        timeout=1200,
    )
    assert r.returncode == 0, r.stderr
    return root, log, out, r, repo_before


def test_hostile_ids_are_escaped_in_html_and_neutralised_in_csv(hostile_run):
    root, log, out, r, _ = hostile_run
    run = (out / "latest").resolve()
    for html in run.glob("*.html"):
        assert SCRIPT not in html.read_text(encoding="utf-8"), html.name
    report = (run / "management_report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report
    csv = pd.read_csv(run / "retention_list.csv", dtype={"MEMBER_NO": str})
    ids = set(csv["MEMBER_NO"])
    assert "'" + FORMULA in ids and FORMULA not in ids
    assert LONG_ID in ids  # kept as text: no wrap, no float


def test_run_folder_holds_its_tables_and_index_names_the_run(hostile_run):
    root, log, out, r, _ = hostile_run
    run = (out / "latest").resolve()
    assert (run / "processed" / "snapshot.parquet").exists()
    assert (out / "processed" / "snapshot.parquet").exists()  # published after success
    index = (run / "index.html").read_text(encoding="utf-8")
    assert run.name in index and ".staging" not in index
    assert not list(out.glob(".staging-*"))


def test_run_with_out_leaves_the_repository_alone(hostile_run):
    *_, repo_before = hostile_run
    assert _repo_outputs() == repo_before


def test_sigterm_in_notebook_02_keeps_the_previous_run(hostile_run):
    root, log, out, _, _ = hostile_run
    before = _tree(out)
    proc = _run_until(root, log, out, "01-03", "02_clv_purchase_models.ipynb")
    assert proc.poll() is None, proc.communicate()
    # papermill writes the output notebook as 02 starts; its kernel takes longer than this
    # to start, so the signal lands while notebook 02 runs (on a busy or an idle machine)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "interrupted (SIGTERM)" in stderr and "02_clv_purchase_models" in stderr
    assert "Traceback" not in stderr and "asyncio" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert not list(out.glob(".staging-*")), "the staging folder is removed"
    assert _tree(out) == before, "the previous complete run and its tables are untouched"


def test_two_runs_at_once_in_one_folder(hostile_run, tmp_path):
    root, log, _, _, _ = hostile_run
    out = tmp_path / "shared"
    args = _cli("run", "--data", str(log), "--out", str(out), "--only", "01", "--no-progress")
    first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and not list(out.glob(".staging-*")):
        time.sleep(0.2)
    second = subprocess.run(args, capture_output=True, text=True, timeout=300)
    o1, e1 = first.communicate(timeout=600)
    assert first.returncode == 0, e1
    assert second.returncode != 0
    assert "another run is using the reports folder" in second.stderr
    assert "Traceback" not in second.stderr
    runs = [p for p in out.iterdir() if p.is_dir() and p.name[:2] == "20"]
    assert len(runs) == 1  # one complete run, nothing mixed in


def test_ctrl_c_to_the_process_group_is_one_line(hostile_run):
    """Ctrl-C in a terminal signals the runner *and* its kernel: still one line, no noise."""
    root, log, out, _, _ = hostile_run
    before = _tree(out)
    proc = _run_until(root, log, out, "01-02", "01_data_exploration.ipynb", start_new_session=True)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGINT, stderr
    assert stderr.startswith("interrupted (Ctrl-C)") and len(stderr.strip().splitlines()) == 1
    assert not list(out.glob(".staging-*"))
    assert _tree(out) == before
