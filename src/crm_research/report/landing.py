"""The landing page ``index.html`` of a run: what a manager opens first.

Title, data and date range, run time, five key figures with units and currency, the
model checks' status line, prominent links to the management report (HTML, PDF,
Chinese edition), then the researchers' notebooks, the figures and the parameters
(collapsed). Every text that comes from the data, the user or the file system is
HTML-escaped (a file named ``<img src=x onerror=...>.csv`` stays text).
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

#: The files of the management report in a run folder (see the README).
REPORT_FILES = {
    "en": ("management_report.html", "management_report.pdf"),
    "zh": ("management_report_zh.html", "management_report_zh.pdf"),
}
SOURCE_NAMES = {
    "synthetic": "a simulated frequent-flyer programme (known truth)",
    "cdnow": "the CDNOW benchmark (a music retailer, not an airline)",
    "textbook": "the textbook member table",
    "flightlog": "the airline's flight log",
}


def e(x: Any) -> str:
    """HTML-escape any value (quotes too)."""
    return escape(str(x), quote=True)


def href(name: str) -> str:
    """A relative link to a file of the run folder, URL-quoted and escaped."""
    return e(quote(str(name)))


def _money(x, cur: str) -> str | None:
    return None if x is None else f"{float(x):,.0f} {cur}"


def key_figures(manifest: dict) -> list[tuple[str, str, str]]:
    """Five key figures ``(label, value with unit, explanation)`` from the run's metrics.

    A figure the run could not compute is shown as "not available" with the reason,
    never as ``nan`` or ``None``.
    """
    from ..vocabulary import currency

    m = manifest.get("metrics", {})
    m06 = m.get("06_management_report", {}) or {}
    m01 = m.get("01_data_exploration", {}) or {}
    source = m01.get("source") or m06.get("source")
    cur = m06.get("currency") or currency(source)
    na = "not available"
    n = m06.get("n_members", m01.get("n_members"))
    top = m06.get("revenue_top_share", m01.get("revenue_top20_share"))
    eq = m06.get("customer_equity")
    hi = m06.get("members_high_risk")
    net = m06.get("campaign_expected_net")
    contacts = m06.get("campaign_contacts")
    return [
        ("Members", f"{int(n):,} members" if n is not None else na, "in the programme's data"),
        (
            "Customer equity",
            _money(eq, cur) or na,
            "discounted future profit of all current members",
        ),
        (
            "Top 20% of members",
            f"{float(top):.0%} of revenue" if top is not None else na,
            "revenue of the last two years (rule of thumb: 80%)",
        ),
        (
            "High churn risk",
            f"{int(hi):,} members" if hi is not None else na,
            _money(m06.get("clv_high_risk"), cur) + " of lifetime value at stake"
            if m06.get("clv_high_risk") is not None
            else "members likely to leave",
        ),
        (
            "Retention campaign",
            _money(net, cur) or na,
            f"expected net return of contacting {int(contacts):,} members"
            if contacts is not None
            else "expected net return after contact costs",
        ),
    ]


def status_line(manifest: dict) -> str:
    """ "Model checks: all N clean" or "N warnings", linked to the checks' table (HTML)."""
    checks = manifest.get("model_checks", []) or []
    warn = [c for c in checks if c.get("status") != "converged"]
    if not checks:
        text, colour = "no model checks were recorded in this run", "#57606a"
    elif not warn:
        text, colour = f"all {len(checks)} model fits are clean", "#1a7f37"
    else:
        s = "s" if len(warn) != 1 else ""
        text, colour = f"{len(warn)} warning{s} in {len(checks)} model fits", "#9a6700"
    return (
        f'<p class="status" style="border-color:{colour}">Model checks: '
        f'<a href="#model-checks" style="color:{colour}"><b>{e(text)}</b></a></p>'
    )


def _report_links(run_dir: Path, manifest: dict) -> str:
    pdf = manifest.get("management_report", {}) or {}
    cells = []
    for lang, (html_name, pdf_name) in REPORT_FILES.items():
        title = "Management report" if lang == "en" else "管理报告 (Chinese edition)"
        if not (run_dir / html_name).exists():
            cells.append(
                f'<div class="card"><h3>{e(title)}</h3><p>not written in this run</p></div>'
            )
            continue
        links = [f'<a class="big" href="{href(html_name)}">HTML</a>']
        if (run_dir / pdf_name).exists():
            links.append(f'<a class="big" href="{href(pdf_name)}">PDF</a>')
        else:
            why = (pdf.get("pdf") or {}).get(lang) or "not printed"
            links.append(f'<span class="note">PDF: {e(why)}</span>')
        cells.append(f'<div class="card"><h3>{e(title)}</h3>{" ".join(links)}</div>')
    csv = ""
    if (run_dir / "retention_list.csv").exists():
        csv = '<p>Full retention list: <a href="retention_list.csv">retention_list.csv</a></p>'
    return f'<div class="cards">{"".join(cells)}</div>{csv}'


def data_range(tables: Path) -> dict:
    """First and last flight date of the run's flight log (from the Parquet statistics,
    nothing is read but the file footer) and the observation end; {} when unknown."""
    out: dict = {}
    meta = Path(tables) / "dataset.json"
    if meta.exists():
        from .. import io as _io

        out["obs_end"] = str(_io.read_json(meta).get("obs_end"))
    flights = Path(tables) / "flights.parquet"
    if flights.exists():
        try:
            import pyarrow.parquet as pq

            f = pq.ParquetFile(flights)
            i = f.schema_arrow.get_field_index("FLIGHT_DATE")
            stats = [f.metadata.row_group(g).column(i).statistics for g in range(f.num_row_groups)]
            if i >= 0 and stats and all(s is not None and s.has_min_max for s in stats):
                out["first_flight"] = str(min(s.min for s in stats))[:10]
                out["last_flight"] = str(max(s.max for s in stats))[:10]
        except Exception:  # a range is a nicety: never fail the run for it
            pass
    return out


def _date_range(manifest: dict) -> str:
    m01 = manifest.get("metrics", {}).get("01_data_exploration", {}) or {}
    rng = manifest.get("data_range", {}) or {}
    end = rng.get("obs_end") or m01.get("obs_end")
    if rng.get("first_flight") and rng.get("last_flight"):
        return f"flights from {rng['first_flight']} to {rng['last_flight']}, observation end {end}"
    return f"observation window ending {end}" if end else "date range not recorded"


def _index_html(run_id: str, run_dir: Path, rows: list[dict], manifest: dict) -> str:
    """The run's landing page (every name and value escaped)."""
    from ..modelchecks import model_checks_html

    run_dir = Path(run_dir)
    m01 = manifest.get("metrics", {}).get("01_data_exploration", {}) or {}
    source = m01.get("source")
    data = SOURCE_NAMES.get(str(source), str(source)) if source else "the study's data"
    total = sum((manifest.get("timings_seconds") or {}).values())
    figures = "".join(
        f"<tr><th>{e(label)}</th><td><b>{e(value)}</b></td><td>{e(note)}</td></tr>"
        for label, value, note in key_figures(manifest)
    )
    items = []
    for r in rows:
        links = [
            f'<a href="{href(r["html"])}">with code</a>' if r.get("html") else "",
            f'<a href="{href(r["ipynb"])}">notebook</a>',
        ]
        items.append(
            f"<tr><td>{e(r['name'])}</td><td>{' · '.join(x for x in links if x)}</td>"
            f"<td>{float(r['seconds']):.1f} s</td></tr>"
        )
    figs = sorted((run_dir / "figures").glob("*.png"))
    fig_list = "".join(f'<li><a href="figures/{href(f.name)}">{e(f.stem)}</a></li>' for f in figs)
    params = json.dumps(manifest.get("parameters", {}), indent=2, ensure_ascii=False)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Customer value of the frequent-flyer programme: run {e(run_id)}</title>
<style>body{{font-family:sans-serif;max-width:62em;margin:2em auto;line-height:1.45;padding:0 1em}}
table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ddd;padding:.3em 1em;text-align:left}}
.cards{{display:flex;gap:1em;flex-wrap:wrap}}.card{{border:2px solid #0969da;border-radius:8px;
padding:.5em 1.5em 1em}}a.big{{font-size:1.3em;font-weight:bold;margin-right:1em}}
.status{{border-left:6px solid;padding:.3em 1em;background:#f6f8fa}}.note{{color:#57606a}}</style>
</head><body>
<h1>Customer value of the frequent-flyer programme</h1>
<p>Data: <b>{e(data)}</b> (<code>{e(manifest.get("data") or "-")}</code>), {e(_date_range(manifest))}.
Run <code>{e(run_id)}</code>, finished {e(manifest.get("finished") or "-")} after {total:,.0f} s;
seed {e(manifest.get("seed"))}, commit <code>{e(manifest.get("git_commit") or "unknown")}</code>.</p>
{status_line(manifest)}
<h2>Start here: the management report</h2>
{_report_links(run_dir, manifest)}
<h2>Key figures</h2>
<table class="key">{figures}</table>
<h2>For researchers</h2>
<h3>Notebooks</h3>
<table><tr><th>notebook</th><th>outputs</th><th>run time</th></tr>{"".join(items)}</table>
<h3 id="model-checks">Model checks</h3>{model_checks_html(manifest.get("model_checks", []))}
<details><summary>Figures ({len(figs)})</summary><ul>{fig_list}</ul></details>
<details><summary>Parameters</summary><pre>{e(params)}</pre></details>
<p>Everything here is in <a href="manifest.json">manifest.json</a>.</p>
</body></html>
"""
