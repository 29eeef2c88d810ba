"""Importing the package or using lifetimes through it leaves no global side effects."""

import subprocess
import sys

CODE = """
import warnings
import pandas as pd
before_opt = pd.options.mode.chained_assignment
before_filters = list(warnings.filters)
import crm_research, crm_research.data, crm_research.report
from crm_research._compat import import_lifetimes, lifetimes_guard
from crm_research.data.cdnow import cdnow_path
lt = import_lifetimes()
# read by path: lifetimes.datasets imports pkg_resources, gone from current setuptools
s = pd.read_csv(cdnow_path(True).parent / "cdnow_customers_summary.csv")
with lifetimes_guard():
    lt.BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
assert pd.options.mode.chained_assignment == before_opt, pd.options.mode.chained_assignment
assert list(warnings.filters) == before_filters, "warning filters changed"
print("clean")
"""


def test_no_global_side_effects():
    r = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "clean" in r.stdout


def test_guard_is_silent_under_pandas_3():
    # pandas 3 deprecates mode.chained_assignment and warns when it is set (lifetimes sets
    # it on import); the guard keeps that warning inside and leaves the option as it was
    code = (
        "import warnings; warnings.simplefilter('error')\n"
        "import pandas as pd\n"
        "from crm_research._compat import import_lifetimes, lifetimes_guard\n"
        "import_lifetimes()\n"
        "with lifetimes_guard():\n"
        "    pass\n"
        "print('silent')"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and "silent" in r.stdout, r.stderr


def test_unguarded_lifetimes_import_does_change_globals():
    # the guard is needed: a plain import changes the pandas option (so the test above can fail)
    code = "import pandas as pd; import lifetimes; print(pd.options.mode.chained_assignment)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip() == "None"


def test_no_use_of_lifetimes_parts_broken_under_pandas_3():
    # lifetimes 0.11.3 under pandas 3: calibration_and_holdout_data without a monetary
    # column ("No objects to concatenate"), calculate_alive_path (fillna(method=)),
    # plot_history_alive (sum of datetimes) fail, and lifetimes.datasets imports
    # pkg_resources (gone from current setuptools). The package and notebooks use our
    # own code instead (clv.flight_summary for calibration/holdout, the CDNOW files read
    # by path in crm_research.data.cdnow).
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    broken = (
        "calibration_and_holdout_data",
        "calculate_alive_path",
        "plot_history_alive",
        "lifetimes.datasets",
        "pkg_resources",
    )
    files = [*root.joinpath("src").rglob("*.py"), *root.joinpath("notebooks").glob("*.ipynb")]
    found = {
        f"{f.relative_to(root)}: {name}"
        for f in files
        for name in broken
        if name in f.read_text(encoding="utf-8")
    }
    assert len(files) > 10 and not found, sorted(found)
