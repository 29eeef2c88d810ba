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
