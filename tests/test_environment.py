"""environment.yml (conda users) carries the same pins as requirements.txt (pip)."""

import re
import tomllib
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


def test_pyproject_ranges_admit_the_pins_and_python_3_11_to_3_13():
    # `pip install .` into an environment that already has today's releases (pandas 3)
    # must not downgrade anything: the ranges of pyproject.toml admit every exact pin.
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    python = SpecifierSet(project["requires-python"])
    assert all(v in python for v in ("3.11.7", "3.12.1", "3.13.0", "3.14.0")), python
    pins = pins_from_requirements()
    ranges = [Requirement(r) for r in project["dependencies"]]
    assert {r.name.lower() for r in ranges} <= set(pins), "a dependency without an exact pin"
    outside = {r.name: (str(r.specifier), pins[r.name.lower()]) for r in ranges}
    outside = {k: v for k, v in outside.items() if v[1] not in SpecifierSet(v[0])}
    assert not outside, outside
    assert int(pins["pandas"].split(".")[0]) >= 3


def test_pinned_packages_accept_each_other():
    # every pinned package installed here declares requirements that the other pins meet
    # (lifelines 0.30.1-0.30.3 declare pandas<3, so pip would refuse them beside pandas 3)
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    pins = pins_from_requirements()
    conflicts = []
    for name, version in pins.items():
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        assert dist.version == version, f"{name} {dist.version} installed, {version} pinned"
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            other = req.name.lower().replace("_", "-")
            if other in pins and pins[other] not in req.specifier:
                conflicts.append(f"{name} {version} requires {text}; pinned {pins[other]}")
    assert not conflicts, conflicts
