"""environment.yml (conda users) carries the same pins as requirements.txt (pip)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pins_from_requirements():
    out = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, ver = line.split("==")
            out[name.lower()] = ver
    return out


def pins_from_environment():
    out = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.match(r"^\s*-\s*([A-Za-z0-9_.\-]+)\s*(==|=)\s*([0-9][^\s#]*)", line)
        if m and m.group(1) != "python":
            out[m.group(1).lower()] = m.group(3)
    return out


def test_same_pins():
    req, env = pins_from_requirements(), pins_from_environment()
    assert req == env, {
        k: (req.get(k), env.get(k)) for k in set(req) | set(env) if req.get(k) != env.get(k)
    }


def test_pandas_below_3_for_lifetimes():
    # lifetimes 0.11.3 breaks under pandas 3 (see README, "Why these pins")
    assert int(pins_from_requirements()["pandas"].split(".")[0]) < 3
