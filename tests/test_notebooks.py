"""House rules of the study's notebooks (the design guide), checked on every notebook."""

import ast
import re

import nbformat
import pytest

from crm_research.report import COMMON_PARAMETERS, list_notebooks

BOOKS = list_notebooks()


def test_the_study_has_its_six_notebooks():
    assert [p.name[:2] for p in BOOKS] == ["01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("path", BOOKS, ids=[p.stem for p in BOOKS])
def test_notebook_house_rules(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    # stored without outputs
    assert not any(c.outputs or c.execution_count for c in code), "strip outputs before committing"
    # the first code cell is the parameters cell, literals only
    params = code[0]
    assert "parameters" in params.metadata.get("tags", []), (
        "first code cell must be tagged parameters"
    )
    names = set()
    for node in ast.parse(params.source).body:
        assert isinstance(node, ast.Assign), (
            f"only assignments in the parameters cell: {ast.dump(node)[:60]}"
        )
        ast.literal_eval(node.value)  # raises if the value is not a literal
        names |= {t.id for t in node.targets}
    for common in ("processed_dir", "figures_dir", "metrics_dir", "seed"):
        assert common in names and common in COMMON_PARAMETERS
    # logic lives in the package
    src = "\n".join(c.source for c in code)
    assert not re.search(r"^\s*(def|class)\s", src, re.M), "no def/class in notebooks"
    # a narrative a student can follow
    prose = sum(len(c.source) for c in nb.cells if c.cell_type == "markdown")
    assert prose > 1500, "narrative too thin"
    # the last code cell writes the key metrics
    assert "save_metrics" in code[-1].source
    assert f'"{path.stem}"' in code[-1].source, "metrics file named after the notebook"


#: Longest code cell (non-blank lines): a cell longer than this holds logic that belongs
#: in the package (a decision rule, a table assembly) rather than one step of the story.
MAX_CELL_LINES = 40
#: Every notebook's code together (non-blank lines): the study reads as a story.
MAX_TOTAL_LINES = 700
#: Each notebook's share of the total (the owners slim theirs to these).
BUDGET = {"01": 92, "02": 165, "03": 112, "04": 120, "05": 120, "06": 80}


def _code_lines(path) -> list[int]:
    nb = nbformat.read(path, as_version=4)
    return [
        sum(1 for line in c.source.splitlines() if line.strip())
        for c in nb.cells
        if c.cell_type == "code"
    ]


@pytest.mark.parametrize("path", BOOKS, ids=[p.stem for p in BOOKS])
def test_code_cells_are_short(path):
    lines = _code_lines(path)
    long = {i: n for i, n in enumerate(lines) if n > MAX_CELL_LINES}
    assert not long, f"code cells over {MAX_CELL_LINES} lines (cell index: lines): {long}"


@pytest.mark.parametrize("path", BOOKS, ids=[p.stem for p in BOOKS])
def test_notebook_within_its_budget(path):
    assert sum(_code_lines(path)) <= BUDGET[path.name[:2]]


def test_all_notebooks_within_the_total():
    total = {p.name[:2]: sum(_code_lines(p)) for p in BOOKS}
    assert sum(total.values()) <= MAX_TOTAL_LINES, total
