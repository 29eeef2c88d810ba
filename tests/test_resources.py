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


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: p.name)
def test_data_files_read_as_written(path):
    assert resources.read_toml(path.name) == tomllib.loads(path.read_text(encoding="utf-8"))


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
