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
lt = import_lifetimes()
with lifetimes_guard():
    from lifetimes.datasets import load_cdnow_summary
    s = load_cdnow_summary()
    lt.BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
assert pd.options.mode.chained_assignment == before_opt, pd.options.mode.chained_assignment
assert list(warnings.filters) == before_filters, "warning filters changed"
print("clean")
"""


def test_no_global_side_effects():
    r = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "clean" in r.stdout


def test_unguarded_lifetimes_import_does_change_globals():
    # the guard is needed: a plain import changes the pandas option (so the test above can fail)
    code = "import pandas as pd; import lifetimes; print(pd.options.mode.chained_assignment)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip() == "None"
