"""The papermill runner and the manager's report of a run.

``crm_research.report`` keeps every public name of the former ``report.py``:

- :mod:`.runner`: :func:`run_study` executes the numbered notebooks into a run folder
  (staging folder, locks, signals, manifest);
- :mod:`.notebooks`: notebook selection, parameters, fingerprints, versions;
- :mod:`.folders`: run locks and the tables a run publishes;
- :mod:`.landing`: the landing page ``index.html``;
- :mod:`.summary`: the management report's sentences (key figures, decisions,
  uncertainty, caveats) in English and Chinese;
- :mod:`.browser`: headless Chromium (PDF printing, browser checks).
"""

# private names kept importable from here (tests and the CLI use them)
# ruff: noqa: F401
from .browser import Browser, BrowserError, find_browser, print_pdf
from .folders import RunLock, _link_or_copy, _publish_tables, _table_files, _writable_folder
from .landing import REPORT_FILES, _index_html, key_figures, status_line
from .notebooks import (
    MAIN_PACKAGES,
    NOTEBOOK_DIR,
    REPO_ROOT,
    StudyError,
    fingerprint,
    git_commit,
    list_notebooks,
    load_params_file,
    notebook_parameters,
    resolve_parameters,
    select_notebooks,
    versions,
)
from .runner import (
    _LAST_SIGNAL,
    COMMON_PARAMETERS,
    DEFAULT,
    ENGINES,
    MANAGEMENT_NOTEBOOKS,
    MAX_MEMBERS,
    MIN_MEMBERS,
    RunResult,
    StudyInterrupted,
    _signals_as_interrupts,
    _stop_kernels,
    export_html,
    run_study,
)

__all__ = [
    "COMMON_PARAMETERS",
    "DEFAULT",
    "ENGINES",
    "MAIN_PACKAGES",
    "MANAGEMENT_NOTEBOOKS",
    "MAX_MEMBERS",
    "MIN_MEMBERS",
    "NOTEBOOK_DIR",
    "REPORT_FILES",
    "REPO_ROOT",
    "Browser",
    "BrowserError",
    "RunLock",
    "RunResult",
    "StudyError",
    "StudyInterrupted",
    "export_html",
    "find_browser",
    "fingerprint",
    "git_commit",
    "key_figures",
    "list_notebooks",
    "load_params_file",
    "notebook_parameters",
    "print_pdf",
    "resolve_parameters",
    "run_study",
    "select_notebooks",
    "status_line",
    "versions",
]
