"""The managers' editions of a run: notebook 06 exported without code, printed to PDF."""

from __future__ import annotations

from pathlib import Path

from .. import io as _io
from .landing import REPORT_FILES

#: nbconvert templates of the managers' edition (``manager``: lab without CDN scripts).
TEMPLATES = Path(__file__).parent / "templates"


def export_html(executed: Path, out: Path, *, with_code: bool = True, language: str = "en") -> Path:
    """Render an executed notebook to self-contained HTML (figures embedded).

    Without code (the managers' edition) the cells tagged ``researchers`` go too, the
    page is titled by the report's language and gets the print rules of the PDF (A4,
    no figure or table row cut across a page).
    """
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    nb = nbformat.read(str(executed), as_version=4)
    if with_code:
        exporter = HTMLExporter(template_name="lab")
    else:
        exporter = HTMLExporter(template_name="manager", extra_template_basedirs=[str(TEMPLATES)])
    resources = {}
    if not with_code:
        exporter.exclude_input = True
        exporter.exclude_input_prompt = True
        exporter.exclude_output_prompt = True
        remove = TagRemovePreprocessor(
            remove_cell_tags={"researchers"}, remove_all_outputs_tags={"hide-output"}
        )
        exporter.register_preprocessor(remove, enabled=True)
        resources = {"metadata": {"name": REPORT_TITLES.get(language, REPORT_TITLES["en"])}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    if not with_code and language != "en":
        body = body.replace('<html lang="en">', f'<html lang="{language}">', 1)
    return _io.write_text(body, out)


REPORT_TITLES = {
    "en": "Management report: customer value of the frequent-flyer programme",
    "zh": "管理报告：常旅客计划的客户价值",
}


def _print_reports(staging: Path, log) -> dict:
    """Print every managers' edition of the run to PDF with headless Chromium.

    A missing browser or a failed print is not an error of the run (the HTML reports
    are complete): it is a stated omission, printed to the log, recorded in the manifest
    (``management_report.pdf``) and shown on the landing page.
    """
    from .browser import BrowserError, find_browser, print_pdf

    out: dict = {"html": {}, "pdf": {}}
    browser = find_browser()
    for language, (html_name, pdf_name) in REPORT_FILES.items():
        if not (staging / html_name).exists():
            continue
        out["html"][language] = html_name
        if browser is None:
            why = "not printed: no Chromium found (Debian: apt-get install chromium)"
        else:
            try:
                print_pdf(staging / html_name, staging / pdf_name, browser)
                out["pdf"][language] = pdf_name
                continue
            except (BrowserError, OSError) as exc:
                why = f"not printed: Chromium failed ({exc})"
        out["pdf"][language] = why
        log(f"  {pdf_name}: {why}")
    return out
