"""Headless Chromium through the DevTools protocol over a pipe: PDF printing and checks.

Chromium (Debian's ``chromium``, installed by ``.ci/run``; the tests use the same) is
started with ``--remote-debugging-pipe``: commands go to its file descriptor 3 and
answers come from descriptor 4, as NUL-terminated JSON. No websocket library and no
network port are needed. :func:`print_pdf` prints an HTML file to an A4 PDF with page
numbers in the footer (``Page.printToPDF``); :class:`Browser` is also what the browser
tests use to load a page, read its console errors and network requests and run
JavaScript in it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Chromium without a screen, a sandbox, a GPU or network chatter (CI containers).
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: A4 in inches, the unit of ``Page.printToPDF``.
A4 = (8.27, 11.69)
FOOTER = (
    '<div style="font-size:8px;width:100%;text-align:center;color:#555">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
)


class BrowserError(RuntimeError):
    """Chromium is missing, did not start or did not answer."""


def find_browser() -> str | None:
    """Path of a Chromium on ``PATH`` (``CRM_RESEARCH_BROWSER`` overrides), else None."""
    env = os.environ.get("CRM_RESEARCH_BROWSER")
    if env:
        return shutil.which(env) or (env if Path(env).exists() else None)
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """A headless Chromium driven over ``--remote-debugging-pipe`` (a context manager)."""

    def __init__(self, executable: str | None = None, timeout: float = 60.0) -> None:
        self.executable = executable or find_browser()
        if self.executable is None:
            raise BrowserError(
                "no Chromium found (chromium / chromium-browser on PATH, or "
                "CRM_RESEARCH_BROWSER); on Debian: apt-get install chromium"
            )
        self.timeout = timeout
        self.events: list[dict] = []
        self._id = 0
        self._buf = b""

    def __enter__(self) -> Browser:
        self._profile = tempfile.mkdtemp(prefix="crm-chromium-")
        import fcntl

        def high(fd: int) -> int:  # out of the way of fds 3 and 4 of the child
            new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
            os.close(fd)
            return new

        to_child_r, self._to_child = map(high, os.pipe())
        self._from_child, from_child_w = map(high, os.pipe())

        def fds() -> None:  # in the child: the pipe ends become fds 3 and 4
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        flags = [
            *HEADLESS_FLAGS,
            "--remote-debugging-pipe",
            f"--user-data-dir={self._profile}",
            "about:blank",
        ]
        self._proc = subprocess.Popen(  # noqa: S603 - our own browser, fixed flags
            [self.executable, *flags],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=fds,  # noqa: PLW1509 - dup2 only
            pass_fds=(3, 4),
        )
        os.close(to_child_r)
        os.close(from_child_w)
        return self

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(Exception):
            self.send("Browser.close")
        with contextlib.suppress(OSError):
            os.close(self._to_child)
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        with contextlib.suppress(OSError):
            os.close(self._from_child)
        shutil.rmtree(self._profile, ignore_errors=True)

    def _read_message(self, deadline: float) -> dict:
        import select

        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"Chromium did not answer within {self.timeout:.0f} s")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise BrowserError("Chromium closed its DevTools pipe (did it crash?)")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and return its result (events seen meanwhile are kept)."""
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error'].get('message')}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, method: str, session: str | None = None) -> dict:
        """Wait for the event ``method`` (already seen or coming)."""
        deadline = time.monotonic() + self.timeout
        seen = 0
        while True:
            for ev in self.events[seen:]:
                if ev.get("method") == method and (
                    session is None or ev.get("sessionId") == session
                ):
                    return ev
            seen = len(self.events)
            self.events.append(self._read_message(deadline))

    def open(self, url: str) -> str:
        """Open ``url`` in a new tab, wait until it has loaded; return the session id.

        Console messages, exceptions, log entries and network requests are recorded
        from the start (see :meth:`problems` and :meth:`requests`).
        """
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired", session)
        self.evaluate("new Promise(r => setTimeout(r, 300))", session)  # module scripts settle
        return session

    def evaluate(self, expression: str, session: str):
        """Run JavaScript in the page and return its value (promises awaited)."""
        r = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=session,
        )
        if "exceptionDetails" in r:
            raise BrowserError(f"JavaScript error: {r['exceptionDetails'].get('text')}")
        return r.get("result", {}).get("value")

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries seen so far."""
        out = []
        for ev in self.events:
            m, p = ev.get("method"), ev.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append("exception: " + str(p.get("exceptionDetails", {}).get("text")))
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console: " + " ".join(str(a.get("value")) for a in p.get("args", [])))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append("log: " + str(p["entry"].get("text")))
        return out

    def requests(self) -> list[str]:
        """URLs of every network request the page made."""
        return [
            ev["params"]["request"]["url"]
            for ev in self.events
            if ev.get("method") == "Network.requestWillBeSent"
        ]

    def print_pdf(self, session: str) -> bytes:
        """Print the open page: A4, backgrounds, page numbers ``n / N`` in the footer."""
        r = self.send(
            "Page.printToPDF",
            {
                "paperWidth": A4[0],
                "paperHeight": A4[1],
                "marginTop": 0.5,
                "marginBottom": 0.6,
                "marginLeft": 0.5,
                "marginRight": 0.5,
                "printBackground": True,
                "displayHeaderFooter": True,
                "headerTemplate": "<span></span>",
                "footerTemplate": FOOTER,
                "preferCSSPageSize": False,
            },
            session=session,
        )
        return base64.b64decode(r["data"])


def print_pdf(html: Path, pdf: Path, executable: str | None = None) -> Path:
    """Print ``html`` to ``pdf`` (A4, page numbers) with headless Chromium.

    Raises :class:`BrowserError` when no Chromium is found or it fails; the caller
    decides what a missing PDF means (the runner records it in the manifest and says so).
    """
    with Browser(executable) as b:
        return print_with(b, html, pdf)


def print_with(browser: Browser, html: Path, pdf: Path) -> Path:
    """Print ``html`` to ``pdf`` in an open :class:`Browser` session (written atomically):
    one browser can print several editions."""
    from .. import io as _io

    session = browser.open(Path(html).absolute().as_uri())
    return _io.write_bytes(browser.print_pdf(session), pdf)
