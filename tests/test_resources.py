"""The data files of ``crm_research.resources``: read through importlib.resources and
declared as package data, so an installed (non-editable) package finds them too."""

import fnmatch
import tomllib
from pathlib import Path

import pytest

from crm_research import resources

ROOT = Path(__file__).resolve().parents[1]
DATA_FILES = sorted(
    p
    for p in (ROOT / "src" / "crm_research" / "resources").iterdir()
    if p.is_file() and p.suffix != ".py"
)


def test_every_data_file_is_package_data():
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["crm_research"]
    assert DATA_FILES
    for p in DATA_FILES:
        rel = p.relative_to(ROOT / "src" / "crm_research").as_posix()
        assert any(fnmatch.fnmatch(rel, g) for g in globs), f"{rel} is not package data"


def test_every_term_is_named_in_every_language():
    # a name list shorter than ``languages`` or an empty name would print a blank cell in
    # one edition of the report (read through the package, as the modules read it)
    v = resources.read_toml("vocabulary.toml")
    n = len(v["languages"])
    assert v["languages"] == ["en", "zh"]
    lists = {k: t for k, t in v.items() if isinstance(t, dict)}
    named = 0
    for table, terms in lists.items():
        for key, names in terms.items():
            if isinstance(names, list):
                named += 1
                assert len(names) == n, f"[{table}] {key}: {names}"
                assert all(isinstance(x, str) and x.strip() for x in names), f"{table}.{key}"
    assert named >= 30
    stages = set(v["stages"])
    assert set(v["class_stage"].values()) <= stages
    assert set(v["class_stage"]) <= set(v["classes"]) >= set(v["actions"])


def test_report_text_has_both_editions():
    t = resources.read_toml("report_text.toml")
    assert set(t["sections"]["en"]) == set(t["sections"]["zh"])
    for lang in ("en", "zh"):
        for key, (heading, _how) in t["sections"][lang].items():
            assert heading.strip(), f"[sections.{lang}] {key} has no heading"
    # the same columns in both editions, but the class's Chinese name, which the English
    # edition shows beside its own and the Chinese edition shows as the class
    assert set(t["columns"]["en"]) ^ set(t["columns"]["zh"]) == {"segment_zh"}
    assert all(len(names) == 2 for names in t["sources"].values())


def test_a_missing_data_file_is_named():
    with pytest.raises(FileNotFoundError, match="nothing.toml"):
        resources.read_toml("nothing.toml")


def test_parameter_ranges_read_as_intervals():
    from crm_research.params_registry import _interval

    assert _interval("(0.0, 1.0]", "x") == dict(low=0.0, high=1.0, low_open=True, high_open=False)
    got = _interval("[0, 1e9)", "x")
    assert got == dict(low=0, high=1e9, low_open=False, high_open=True)
    assert isinstance(got["low"], int) and isinstance(got["high"], float)
    with pytest.raises(ValueError, match=r"\[x\] range = '0 to 1'"):
        _interval("0 to 1", "x")
