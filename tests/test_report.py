"""The papermill runner: a real run of notebook 01, failures, parameters files."""

import functools
import json
import re
from pathlib import Path

import nbformat
import pytest

from crm_research.params import ParameterError
from crm_research.report import StudyError, resolve_parameters, run_study, select_notebooks


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, study_in):
    root = tmp_path_factory.mktemp("study")
    (root / "figures").mkdir()
    (root / "figures" / "stale_from_another_input.png").write_bytes(b"old")
    res = study_in(root, only="01", figures_dir=root / "figures", members=1500, seed=3)
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


def _tiny_study(tmp_path, study_in, first_cells):
    """A study of one small notebook ``01_ok`` in ``tmp_path/nbs`` (300 simulated members,
    no seed given) and the function that runs it, taking more of run_study's options."""
    books = tmp_path / "nbs"
    books.mkdir()
    _write_nb(books / "01_ok.ipynb", first_cells)
    options = dict(seed=None, members=300, notebook_dir=books)
    return books, functools.partial(study_in, tmp_path, "synthetic", **options)


@pytest.mark.slow
def test_failing_notebook_names_notebook_and_cell_and_keeps_previous_report(tmp_path, study_in):
    books, run = _tiny_study(tmp_path, study_in, ["x = 1"])
    good = run()
    _write_nb(books / "02_bad.ipynb", ["y = 2", "raise ValueError('boom in the model')"])
    with pytest.raises(StudyError) as e:
        run()
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
def test_interrupted_run_keeps_previous_report(tmp_path, study_in, monkeypatch):
    import papermill

    books, run = _tiny_study(tmp_path, study_in, ["x = 1"])
    good = run()

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(papermill, "execute_notebook", interrupt)
    with pytest.raises(StudyError, match="interrupted by .* while running 01_ok.ipynb"):
        run()
    assert (tmp_path / "reports" / "latest.txt").read_text().strip() == good.run_dir.name
    assert (tmp_path / "reports" / "latest").resolve() == good.run_dir.resolve()
    assert not list((tmp_path / "reports").glob(".staging-*")), "the staging folder is removed"


def test_sigterm_leaves_one_message_not_papermills_kernel_died(
    tmp_path, study_in, monkeypatch, caplog
):
    import logging
    import os
    import signal
    import time

    import papermill

    books, run = _tiny_study(tmp_path, study_in, ["x = 1"])
    run()

    def sigterm_then_nbclient_logs(*args, **kwargs):
        # as nbclient does: its wait for the cell resumes while the kernel is shut down
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        finally:
            logging.getLogger("papermill").error("Kernel died while waiting for execute reply.")

    monkeypatch.setattr(papermill, "execute_notebook", sigterm_then_nbclient_logs)
    with caplog.at_level(logging.INFO), pytest.raises(StudyError, match="interrupted by SIGTERM"):
        run()
    assert "Kernel died" not in caplog.text
    assert not logging.getLogger("papermill").disabled  # quiet only while interrupted


@pytest.mark.slow
def test_no_kernel_started_ahead_above_the_member_limit(tmp_path, study_in, monkeypatch):
    """Above ``KERNEL_AHEAD_MAX_MEMBERS`` one kernel lives at a time (memory first);
    below it the next notebook's kernel is started while the current one runs."""
    from crm_research.report import runner

    books, run = _tiny_study(tmp_path, study_in, ["x = 1"])
    _write_nb(books / "02_ok.ipynb", ["y = 2"])
    alive, most = [0], [0]
    start, stop = runner.start_kernel, runner.stop_kernel

    def counted_start(*a, **k):
        alive[0] += 1
        most[0] = max(most[0], alive[0])
        return start(*a, **k)

    def counted_stop(km):
        alive[0] -= 1
        return stop(km)

    monkeypatch.setattr(runner, "start_kernel", counted_start)
    monkeypatch.setattr(runner, "stop_kernel", counted_stop)
    for limit, expected in ((100, 1), (10_000, 2)):  # the study has 300 members
        monkeypatch.setattr(runner, "KERNEL_AHEAD_MAX_MEMBERS", limit)
        most[0] = 0
        res = run()
        assert list(res.manifest["timings_seconds"]) == ["01_ok", "02_ok"]
        assert most[0] == expected and alive[0] == 0


@pytest.mark.slow
def test_seed_from_parameters_file_reaches_simulation_and_notebooks(tmp_path, study_in):
    books, run = _tiny_study(tmp_path, study_in, ["x = seed"])
    params = tmp_path / "p.yml"
    params.write_text("seed: 7\n", encoding="utf-8")
    res = run(params_file=params)
    assert res.manifest["seed"] == 7
    assert res.manifest["parameters"]["01_ok"]["seed"] == 7
    sim = tmp_path / "raw" / "synthetic-300-seed7" / "simulation.json"
    assert json.loads(sim.read_text())["seed"] == 7
    with pytest.raises(ParameterError, match="two seeds given"):
        run(params_file=params, seed=8)


@pytest.mark.slow
def test_disk_full_after_a_notebook_keeps_previous_run_and_no_staging(
    tmp_path, study_in, monkeypatch
):
    import errno

    from crm_research.report import runner as report

    books, run = _tiny_study(tmp_path, study_in, ["x = 1"])
    good = run()
    before = sorted(p.name for p in (tmp_path / "reports").iterdir())

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(report, "export_html", full)
    with pytest.raises(OSError, match="No space left"):
        run()
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


# --- the landing page, the PDF omission, the fonts (no notebook runs) ----------------


def _manifest(**m06):
    return {
        "data": "synthetic",
        "seed": 1,
        "finished": "2026-01-01T00:00:00",
        "timings_seconds": {"01": 1.5, "06": 2.0},
        "metrics": {"01_data_exploration": {"source": "synthetic", "obs_end": "2014-03-31"},
                    "06_management_report": m06},
        "model_checks": [],
    }  # fmt: skip


def test_landing_key_figures_with_units_and_missing_values():
    from crm_research.report.landing import key_figures

    figs = dict(
        (k, v)
        for k, v, _ in key_figures(
            _manifest(n_members=3000, customer_equity=2017241.3, campaign_expected_net=None)
        )
    )
    assert figs["Members"] == "3,000 members"
    assert figs["Customer equity"] == "2,017,241 CNY"
    assert figs["Retention campaign"] == "not available"
    assert figs["Top 20% of members"] == "not available"
    m = _manifest(customer_equity=10.0)
    m["metrics"]["01_data_exploration"]["source"] = "cdnow"
    assert dict((k, v) for k, v, _ in key_figures(m))["Customer equity"] == "10 USD"


def test_landing_status_line_counts_warnings():
    from crm_research.report.landing import status_line

    m = _manifest()
    assert "no model checks" in status_line(m)
    m["model_checks"] = [{"status": "converged"}] * 3
    assert "all 3 model fits are clean" in status_line(m)
    m["model_checks"] += [{"status": "penalized"}, {"status": "at_bound"}]
    line = status_line(m)
    assert "2 warnings in 5 model fits" in line and 'href="#model-checks"' in line


def test_landing_page_links_the_reports_and_states_a_missing_pdf(tmp_path):
    from crm_research.report import _index_html

    (tmp_path / "figures").mkdir()
    (tmp_path / "management_report.html").write_text("x")
    (tmp_path / "management_report.pdf").write_bytes(b"%PDF")
    (tmp_path / "management_report_zh.html").write_text("x")
    m = _manifest(n_members=5)
    m["management_report"] = {"pdf": {"zh": "not printed: no Chromium found"}}
    page = _index_html("20260101-000000-x", tmp_path, [], m)
    assert page.index("Start here") < page.index("Key figures") < page.index("Notebooks")
    assert 'href="management_report.pdf"' in page and 'href="management_report_zh.html"' in page
    assert "not printed: no Chromium found" in page
    assert "<details><summary>Parameters" in page
    assert not re.search(r"\bNone\b|\bnan\b", page)


def test_missing_browser_is_a_stated_omission(tmp_path, monkeypatch):
    from crm_research.report import browser, export

    (tmp_path / "management_report.html").write_text("<html></html>")
    monkeypatch.setattr(browser, "find_browser", lambda: None)
    said = []
    status = export._print_reports(tmp_path, said.append)
    assert status["html"] == {"en": "management_report.html"}
    assert status["pdf"]["en"].startswith("not printed: no Chromium found")
    assert said and "management_report.pdf: not printed" in said[0]
    assert not (tmp_path / "management_report.pdf").exists()


def test_both_editions_are_printed_in_one_browser_session(tmp_path, monkeypatch):
    # issue 12: one Chromium for both managers' editions (not one per edition), started
    # ahead; a print that fails is a stated omission and the next edition gets a new one
    from crm_research.report import browser, export

    started, printed, failed = [], [], []

    class FakeBrowser:
        def __init__(self, executable):
            started.append(executable)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

        def open(self, url):
            if "/fail/" in url and not failed:
                failed.append(url)
                raise browser.BrowserError("crashed")
            printed.append(url)
            return "session"

        def print_pdf(self, session):
            return b"%PDF-1.4 " + printed[-1].encode()

    monkeypatch.setattr(browser, "find_browser", lambda: "/usr/bin/chromium")
    monkeypatch.setattr(browser, "Browser", FakeBrowser)
    for language, (html_name, _) in export.REPORT_FILES.items():
        (tmp_path / html_name).write_text(f"<html>{language}</html>")
    said = []
    ex = export.BackgroundExports(said.append)
    ex.start_browser()
    for language in ("en", "zh"):
        ex.edition(lambda src, out, **kw: out, tmp_path / "x.ipynb", tmp_path, language)
    status = ex.wait()
    assert len(started) == 1 and len(printed) == 2 and not said
    assert status["pdf"] == {"en": "management_report.pdf", "zh": "management_report_zh.pdf"}
    assert (tmp_path / "management_report_zh.pdf").read_bytes().endswith(b"_zh.html")
    # a failed print: said, recorded, and the next edition gets a fresh browser
    fail = tmp_path / "fail"
    fail.mkdir()
    for html_name, _ in export.REPORT_FILES.values():
        (fail / html_name).write_text("<html></html>")
    started.clear(), printed.clear()
    status = export._print_reports(fail, said.append)
    assert status["pdf"]["en"].startswith("not printed: Chromium failed (crashed)")
    assert status["pdf"]["zh"] == "management_report_zh.pdf" and len(started) == 2
    assert said and "management_report.pdf: not printed" in said[0]


def test_background_exports_raise_errors_and_abort_drops_what_has_not_started(tmp_path):
    import threading

    from crm_research.report.export import BackgroundExports

    ex = BackgroundExports()
    ex.submit((tmp_path / "a").write_text, "a")

    def full():
        raise OSError(28, "No space left on device")

    ex.submit(full)
    with pytest.raises(OSError, match="No space left"):
        ex.wait()
    assert (tmp_path / "a").read_text() == "a"
    # abort: the running task ends, the ones not started never write into the folder
    go = threading.Event()
    ex = BackgroundExports()
    ex.submit(go.wait, 5)
    ex.submit((tmp_path / "b").write_text, "b")
    threading.Timer(0.2, go.set).start()
    ex.abort()
    assert go.is_set() and not (tmp_path / "b").exists()


def test_print_pdf_is_a4_with_page_numbers(tmp_path):
    import shutil
    import subprocess

    from crm_research.report import find_browser, print_pdf

    if find_browser() is None or shutil.which("pdftotext") is None:
        pytest.skip("needs chromium and pdftotext (.ci/run installs both)")
    html = tmp_path / "r.html"
    html.write_text("<h1>重要保持客户</h1>" + "<p>line</p>" * 150, encoding="utf-8")
    pdf = print_pdf(html, tmp_path / "r.pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    n = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert n >= 2 and "(A4)" in info
    assert "重要保持客户" in text and f"1/{n}" in text.replace(" ", "")


def test_figure_language_falls_back_to_english_without_a_cjk_font(monkeypatch):
    from crm_research.plots.fonts import cjk_font, figure_language

    assert figure_language("zh", families=("No Such Font",)) == "en"
    assert figure_language("en") == "en"
    monkeypatch.setenv("CRM_RESEARCH_CJK_FONTS", "none")
    assert cjk_font() is None and figure_language("zh") == "en"
    monkeypatch.delenv("CRM_RESEARCH_CJK_FONTS")
    if cjk_font() is None:
        pytest.skip("no CJK font installed (Debian: fonts-noto-cjk, installed by .ci/run)")
    import matplotlib as mpl

    assert figure_language("zh") == "zh"
    assert mpl.rcParams["font.sans-serif"][0] == cjk_font()


def test_language_option_is_validated():
    from crm_research.params import ParameterError

    with pytest.raises(ParameterError, match="'language' = 'fr' is not allowed: one of"):
        run_study("synthetic", only="06", params={"language": "fr"})


def _hand_report(language="en", equity=None, with_clv=True):
    import pandas as pd

    from crm_research.data import Dataset
    from crm_research.management import (
        StudyResults,
        action_matrix,
        class_table,
        investment_levels,
        member_table,
    )
    from crm_research.report.summary import ManagementReport

    snap = pd.DataFrame({"MEMBER_NO": [1, 2, 3, 4, 5, 6]})
    ds = Dataset(snapshot=snap, info={"source": "synthetic", "obs_end": "2014-03-31"})
    seg = pd.DataFrame(
        {"MEMBER_NO": [1, 2, 3, 4, 5],
         "segment": ["important_retain", "important_develop", "general", "general", "low_value"]}
    )  # fmt: skip
    clv = pd.DataFrame({"MEMBER_NO": [1, 2, 3, 4, 5, 6], "clv": [1000.0, 600, 200, 100, 10, 5]})
    ret = pd.DataFrame(
        {"MEMBER_NO": [1, 2, 3, 4, 5, 6], "p_churn": [0.1, 0.7, 0.5, 0.2, 0.9, 0.95],
         "contact": [True, True, False, False, False, False],
         "expected_net": [50.0, 120.0, 0, 0, 0, 0], "expected_loss": [100.0, 420, 0, 0, 0, 0]}
    )  # fmt: skip
    res = StudyResults(dataset=ds, clv=clv if with_clv else None, segments=seg, retention=ret)
    members = member_table(res)
    classes = class_table(members, language=language)
    return ManagementReport(
        language=language,
        source="synthetic",
        currency="CNY" if language == "en" else "元",
        n_members=6,
        obs_end="2014-03-31",
        members=members,
        classes=classes,
        levels=investment_levels(classes, language=language),
        matrix=action_matrix(members, language=language),
        equity=equity,
        campaign={"n_contact": 2, "expected_net": 170.0, "expected_loss": 520.0},
        has_segments=True,
    )


def test_executive_summary_has_three_to_five_decisions_with_numbers():
    from crm_research.report import summary as rs

    r = _hand_report()
    d = rs.decisions(r)
    assert 3 <= len(d) <= 5
    # 1 of 6 members (17%: a medium number), 3.1 times the average value (high): proactive
    assert d[0].startswith("**Important - retain: invest at the proactive level**")
    assert "1 member (17% of all) hold 1,000 CNY of lifetime value" in d[0]
    assert any("expected net return after contact costs **170 CNY**" in x for x in d)
    zh = rs.decisions(_hand_report("zh"))
    assert zh[0].startswith("**重要保持客户：采用能动型关系投入**") and "1,000 元" in zh[0]
    for text in d + zh + [rs.executive_summary(_hand_report(with_clv=False))]:
        assert not re.search(r"\bnan\b|\bNone\b", text)


def test_uncertainty_in_plain_words():
    from crm_research.report import summary as rs

    eq = {"customer_equity": 1000.0, "equity_lower_95": 990.0, "equity_upper_95": 1010.0,
          "holdout_cumulative_error": -0.12, "equity_holdout_lower": 880.0,
          "equity_holdout_upper": 1120.0}  # fmt: skip
    text = rs.uncertainty(_hand_report(equity=eq))
    assert "between 990 CNY and 1,010 CNY (95% interval, about ±1.0%)" in text
    assert "under-forecast the members' flights by 12.0%" in text and "1,120 CNY" in text
    no_holdout = rs.uncertainty(_hand_report(equity={**eq, "holdout_cumulative_error": None}))
    assert "no holdout period" in no_holdout
    assert "留出期" in rs.uncertainty(_hand_report("zh", equity=eq))
    assert "no interval" in rs.uncertainty(_hand_report())
    assert "sample" not in text  # every member was bootstrapped
    sampled = {**eq, "bootstrap_sample_members": 1_000_000, "n_members": 7_000_000}
    assert "random sample of 1,000,000 of the 7,000,000 members" in rs.uncertainty(
        _hand_report(equity=sampled)
    )
    assert "随机抽取的 1,000,000 名会员" in rs.uncertainty(_hand_report("zh", equity=sampled))


def test_retention_view_names_and_rounds_for_managers():
    import pandas as pd

    from crm_research.report import summary as rs

    r = _hand_report("zh")
    r.retention = pd.DataFrame(
        {"rank": [1], "MEMBER_NO": [7], "segment": ["important_retain"], "p_churn": [0.4567],
         "clv": [12.6], "contact": [True]}
    )  # fmt: skip
    v = rs.retention_view(r, 10)
    assert list(v.columns) == [
        "排名",
        "会员号",
        "客户类别",
        "流失风险 (%)",
        "终身价值（元）",
        "联系",
    ]
    assert v.iloc[0].tolist() == [1, "7", "重要保持客户", 45.7, 13, "是"]
    html = rs.class_view(r).to_html()
    assert "能动型" in html and "nan" not in html


def test_investment_list_names_level_contact_action_and_reason():
    from crm_research.report import summary as rs

    text = rs.investment_list(_hand_report())
    first = text.splitlines()[0]
    assert first.startswith("- **Important - retain: proactive** (regular personal suggestions")
    assert "Action: Priority resources" in first and "Why: 17% of members" in first
    assert "- **重要保持客户：能动型**" in rs.investment_list(_hand_report("zh"))


@pytest.mark.parametrize("option, params", [("zh", {"language": "zh"}), ("both", None)])
def test_cli_language_option(monkeypatch, tmp_path, option, params):
    import crm_research.report as R
    from crm_research.cli import main

    seen = {}

    def fake(data, **kw):
        seen.update(kw)
        return R.RunResult(tmp_path, ["06_management_report"], {"06": 1.0})

    monkeypatch.setattr(R, "run_study", fake)
    assert main(["run", "--only", "06", "--language", option, "--no-progress"]) == 0
    assert seen.get("params") == params


def test_cli_language_option_refuses_other_languages(capsys):
    from crm_research.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["run", "--language", "fr"])
    assert exc.value.code == 2
    assert "invalid choice: 'fr'" in capsys.readouterr().err


def test_value_concentration_figure_in_chinese():
    import matplotlib.pyplot as plt
    import numpy as np

    from crm_research.plots.report import plot_value_concentration

    v = np.random.default_rng(1).pareto(2, 500)
    fig = plot_value_concentration([(v, "近两年收入")], q=0.2, language="zh")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "会员按价值从低到高排序（%）"
    assert ax.texts[0].get_text().startswith("前 20% 的会员")
    assert "完全平均" in [t.get_text() for t in ax.get_legend().get_texts()]
    en = plot_value_concentration([(v, "Revenue")], q=0.2).axes[0]
    assert en.texts[0].get_text().startswith("top 20% of members")
    plt.close("all")
