"""The managers' editions of a run: notebook 06 exported without code, printed to PDF."""

from __future__ import annotations

import contextlib
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


class PdfPrinter:
    """Print the managers' editions to PDF in one headless Chromium session.

    Starting Chromium and loading its first page takes 1 to 2 s: one browser for both
    editions (instead of one per edition) halves the printing time (issue 12). A missing
    browser or a failed print is not an error of the run (the HTML reports are complete):
    it is a stated omission, printed to the log, recorded in :attr:`status` (the
    manifest's ``management_report``) and shown on the landing page. After a failure the
    next edition gets a fresh browser.
    """

    def __init__(self, log=print) -> None:
        self.log = log
        self.status: dict = {"html": {}, "pdf": {}}
        self._browser = None
        self._executable: str | None = None
        self._looked = False

    def start(self) -> None:
        """Start Chromium now (it boots while the caller works on); never raises: a
        browser that fails to start is said when an edition is printed."""
        from .browser import Browser, find_browser

        if not self._looked:
            self._executable, self._looked = find_browser(), True
        if self._executable is not None and self._browser is None:
            with contextlib.suppress(Exception):
                self._browser = Browser(self._executable).__enter__()

    def print_edition(self, staging: Path, language: str) -> None:
        """Print ``staging``'s managers' edition in ``language`` (if its HTML exists)."""
        from .browser import Browser, BrowserError, print_with

        html_name, pdf_name = REPORT_FILES[language]
        if not (Path(staging) / html_name).exists():
            return
        self.status["html"][language] = html_name
        self.start()
        if self._executable is None:
            why = "not printed: no Chromium found (Debian: apt-get install chromium)"
        else:
            try:
                if self._browser is None:  # it failed to start: say why
                    self._browser = Browser(self._executable).__enter__()
                print_with(self._browser, Path(staging) / html_name, Path(staging) / pdf_name)
                self.status["pdf"][language] = pdf_name
                return
            except (BrowserError, OSError) as exc:
                self.close()
                why = f"not printed: Chromium failed ({exc})"
        self.status["pdf"][language] = why
        self.log(f"  {pdf_name}: {why}")

    def close(self) -> dict:
        """Close the browser (never raises); return the status in the editions' order."""
        b, self._browser = self._browser, None
        if b is not None:
            with contextlib.suppress(Exception):
                b.__exit__(None, None, None)
        order = list(REPORT_FILES)
        return {
            part: {k: v[k] for k in sorted(v, key=order.index)} for part, v in self.status.items()
        }


def _print_reports(staging: Path, log) -> dict:
    """Print every managers' edition of the run to PDF with headless Chromium (one
    browser session, :class:`PdfPrinter`); return what was printed or why not."""
    printer = PdfPrinter(log)
    try:
        for language in REPORT_FILES:
            printer.print_edition(staging, language)
    finally:
        status = printer.close()
    return status


class BackgroundExports:
    """The run's HTML exports and PDF printing, in two threads beside the notebooks.

    Rendering an executed notebook to HTML takes 0.5 to 5 s and printing the managers'
    editions a few more; nothing of it needs the next notebook, so it runs while the next
    notebook executes (on the second core) instead of between notebooks (issue 12). One
    thread renders the notebooks with code, in order; the other the managers' editions
    (without code) and their PDFs (:class:`PdfPrinter`, one Chromium for both), so that
    after the last notebook the two remaining pieces run side by side. :meth:`check`
    raises the error of a finished task (a full disk stops the run early), :meth:`wait`
    waits for every task and raises the first error; :meth:`abort` (a failed or
    interrupted run) drops the tasks not started and waits for the running ones, so that
    nothing writes into the staging folder after it is moved or removed.
    """

    def __init__(self, log=print) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pools = {
            name: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"crm-{name}")
            for name in ("html", "edition")
        }
        self._futures: list = []
        self.printer = PdfPrinter(log)

    def submit(self, fn, *args, **kwargs) -> None:
        """Run ``fn(*args, **kwargs)`` after the HTML exports already submitted."""
        self._futures.append(self._pools["html"].submit(fn, *args, **kwargs))

    def start_browser(self) -> None:
        """Start Chromium in the editions' thread (it boots while a notebook runs)."""
        self._futures.append(self._pools["edition"].submit(self.printer.start))

    def edition(self, export, executed: Path, staging: Path, language: str) -> None:
        """The managers' edition in ``language``: ``export(executed, html, with_code=False,
        language=language)`` (:func:`export_html`), then its PDF."""

        def job() -> None:
            html = Path(staging) / REPORT_FILES[language][0]
            export(executed, html, with_code=False, language=language)
            self.printer.print_edition(staging, language)

        self._futures.append(self._pools["edition"].submit(job))

    def check(self) -> None:
        """Raise the error of a task already finished."""
        for f in self._futures:
            if f.done() and not f.cancelled() and f.exception() is not None:
                raise f.exception()

    def wait(self) -> dict:
        """Wait for every task; raise the first error; return the PDF status."""
        try:
            for f in self._futures:
                f.result()
        finally:
            for pool in self._pools.values():
                pool.shutdown(wait=True)
            status = self.printer.close()
        return status

    def abort(self) -> None:
        """Drop the tasks not started, wait for the running ones, close the browser."""
        for pool in self._pools.values():
            pool.shutdown(wait=True, cancel_futures=True)
        self.printer.close()
