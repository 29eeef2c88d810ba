"""Run a snippet in a fresh Python process and report its wall time and peak memory.

Each measured step runs in its own process so that its peak resident memory
(``ru_maxrss``) is its own, not that of earlier steps.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

WRAPPER = """
import json, resource, time
{setup}
t0 = time.perf_counter()
{body}
elapsed = time.perf_counter() - t0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("__RESULT__" + json.dumps({{"seconds": elapsed, "peak_mb": peak_mb, **extra}}))
"""


def measure(body: str, setup: str = "", extra: str = "extra = {}") -> dict:
    code = WRAPPER.format(
        setup=textwrap.dedent(setup), body=textwrap.dedent(body) + "\n" + textwrap.dedent(extra)
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("__RESULT__"))
    return json.loads(line[len("__RESULT__") :])
