"""The manager's files of a whole run in headless Chromium and as printed PDFs.

The session's shared small study (conftest's ``synthetic_study``) is read; the landing page
and both editions of the management report are opened in headless Chromium over the
DevTools pipe (:class:`crm_research.report.browser.Browser`): every image and script
comes from the file itself (no network), the page logs no error, the retention table
sorts. The PDFs are read with ``pdftotext`` (poppler-utils): A4, page numbers, the key
figures. No ``PosixPath``, ``nan`` or Python repr anywhere a manager looks.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from crm_research.report import REPORT_FILES, run_study
from crm_research.report.browser import Browser, find_browser

pytestmark = pytest.mark.slow

MANAGER_FILES = (
    "index.html",
    "management_report.html",
    "management_report_zh.html",
    "management_report.pdf",
    "management_report_zh.pdf",
    "retention_list.csv",
    "manifest.json",
)
#: What must never reach a manager: Python objects printed instead of numbers or words.
LEAKS = re.compile(
    r"PosixPath|WindowsPath|object at 0x|\bnan\b|\bNone\b|\bNaT\b|<NA>|dtype:|"
    r"<Axes|<Figure|Styler object|Traceback",
    re.I,
)
LOCAL = ("file:", "data:", "blob:", "about:")


@pytest.fixture(scope="module")
def run(synthetic_study):
    """The session's shared study (conftest: 2,500 simulated members, seed 5)."""
    if find_browser() is None:
        pytest.skip("Chromium not installed: apt-get install chromium (.ci/run installs it)")
    return synthetic_study


def _need_pdftotext() -> str:
    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.skip("pdftotext not installed: apt-get install poppler-utils (.ci/run does)")
    return exe


def _pdf_text(pdf: Path) -> str:
    exe = _need_pdftotext()
    return subprocess.run(
        [exe, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_run_folder_has_the_managers_files(run):
    for name in MANAGER_FILES:
        assert (run.run_dir / name).is_file(), name
    m = json.loads((run.run_dir / "manifest.json").read_text())
    assert m["management_report"]["pdf"] == {
        "en": "management_report.pdf",
        "zh": "management_report_zh.pdf",
    }


@pytest.mark.parametrize("name", ["index.html", *[v[0] for v in REPORT_FILES.values()]])
def test_page_loads_offline_without_errors(run, name):
    with Browser() as b:
        s = b.open((run.run_dir / name).as_uri())
        assert b.problems() == []
        remote = [u for u in b.requests() if not u.startswith(LOCAL)]
        assert remote == [], "the page loads something from the network"
        # every image is embedded or a file of the run, and has loaded
        images = b.evaluate(
            "Array.from(document.images).map(i => [i.src.slice(0, 5), i.complete && "
            "i.naturalWidth > 0])",
            s,
        )
        assert all(src in ("data:", "file:") and ok for src, ok in images), images
        scripts = b.evaluate("Array.from(document.scripts).map(x => x.src).filter(x => x)", s)
        assert all(u.startswith(LOCAL) for u in scripts), scripts
        text = b.evaluate("document.body.innerText", s)
    assert not LEAKS.search(text), LEAKS.search(text).group(0)
    if name == "index.html":
        assert "Start here" in text and "Customer equity" in text and "CNY" in text
        assert re.search(r"Model checks: (all \d+ model fits are clean|\d+ warnings?)", text)
    else:
        assert len(images) >= 3  # the figures
        assert ("CNY" in text) if "_zh" not in name else ("元" in text)


@pytest.mark.parametrize("name", [v[0] for v in REPORT_FILES.values()])
def test_retention_table_sorts_and_searches(run, name):
    col = (
        "Array.from(document.querySelectorAll('table.dataTable tbody tr'))"
        ".map(tr => parseFloat(tr.children[4].textContent))"
    )
    click = (
        "(async () => { document.querySelectorAll('table.dataTable thead th')[4]"
        ".querySelector('.dt-column-order').click(); "
        "await new Promise(r => setTimeout(r, 300)); return 1; })()"
    )
    with Browser() as b:
        s = b.open((run.run_dir / name).as_uri())
        assert b.evaluate("document.querySelectorAll('table.dataTable').length", s) == 1
        b.evaluate(click, s)
        up = b.evaluate(col, s)
        b.evaluate(click, s)
        down = b.evaluate(col, s)
        assert len(up) > 5 and up == sorted(up) and down == sorted(down, reverse=True)
        assert down[0] > up[0]
        # the search box filters the rows (a member number of the list)
        member = b.evaluate(
            "document.querySelector('table.dataTable tbody tr').children[1].textContent", s
        )
        n = b.evaluate(
            "(async () => { const i = document.querySelector('.dt-search input'); "
            f"i.value = {json.dumps(member)}; i.dispatchEvent(new Event('input')); "
            "await new Promise(r => setTimeout(r, 300)); "
            "return document.querySelectorAll('table.dataTable tbody tr').length; })()",
            s,
        )
        assert 1 <= n < len(down)
        assert b.problems() == []


def test_pdfs_are_a4_with_page_numbers_and_the_key_figures(run):
    m = json.loads((run.run_dir / "manifest.json").read_text())["metrics"]["06_management_report"]
    for lang in ("en", "zh"):
        pdf = run.run_dir / REPORT_FILES[lang][1]
        assert pdf.read_bytes().startswith(b"%PDF")
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
        assert "(A4)" in info and pages >= 3
        text = _pdf_text(pdf)
        for page in range(1, pages + 1):
            assert re.search(rf"\b{page}\s*/\s*{pages}\b", text), f"page number {page}/{pages}"
        assert f"{m['customer_equity']:,.0f}" in text
        assert f"{m['campaign_expected_net']:,.0f}" in text
        assert f"{m['n_members']:,}" in text
        assert not LEAKS.search(text), LEAKS.search(text).group(0)
    assert "重要保持客户" in _pdf_text(run.run_dir / "management_report_zh.pdf")


def test_no_python_repr_in_the_managers_files(run):
    csv = (run.run_dir / "retention_list.csv").read_text(encoding="utf-8")
    assert not re.search(r"\bnan\b|\bNone\b|PosixPath", csv)
    for name in ("management_report.html", "management_report_zh.html", "index.html"):
        html = (run.run_dir / name).read_text(encoding="utf-8")
        assert "PosixPath" not in html and "object at 0x" not in html
        assert not re.search(r">\s*(nan|None)\s*<", html)
        assert "hl-ipython3" not in html or name == "index.html"  # no code


def test_chinese_edition_uses_the_textbook_names(run):
    html = (run.run_dir / "management_report_zh.html").read_text(encoding="utf-8")
    assert '<html lang="zh">' in html
    for name in ("重要保持客户", "执行摘要", "关系投入水平"):
        assert name in html
    assert "Executive summary" not in html and "For researchers" not in html


def test_chinese_edition_without_a_cjk_font(run, tmp_path, monkeypatch):
    """No CJK font: the zh report still renders, with English figure labels and a note."""
    from crm_research.plots.fonts import cjk_font

    monkeypatch.setenv("CRM_RESEARCH_CJK_FONTS", "none")
    res = run_study(
        "synthetic",
        only="06",
        out_dir=tmp_path / "reports",
        processed_dir=run.run_dir.parent.parent / "processed",
        raw_dir=run.run_dir.parent.parent / "raw",
        figures_dir=None,
        progress=False,
        log=lambda *a: None,
        params={"language": "zh"},
        seed=run.manifest["seed"],
    )
    html = (res.run_dir / "management_report_zh.html").read_text(encoding="utf-8")
    assert "未安装中文字体" in html and "重要保持客户" in html
    assert not (res.run_dir / "management_report.html").exists()  # one edition asked for
    if cjk_font() is not None:  # with the font, the same edition has no such note
        assert "未安装中文字体" not in (run.run_dir / "management_report_zh.html").read_text(
            encoding="utf-8"
        )
