"""The parameter registry: it agrees with the notebooks, and checks values before a run."""

from __future__ import annotations

import ast

import nbformat
import pytest

from crm_research import params as P
from crm_research.report import list_notebooks

BOOKS = list_notebooks()


def _cell(book) -> dict[str, object]:
    """``{name: default}`` of a notebook's ``parameters`` cell, read with ast (literals only)."""
    nb = nbformat.read(book, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{book.name}: one cell tagged 'parameters'"
    out = {}
    for node in ast.parse(cells[0].source).body:
        assert isinstance(node, ast.Assign), f"{book.name}: parameters cell holds assignments only"
        out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


@pytest.mark.parametrize("book", BOOKS, ids=lambda b: b.stem)
def test_registry_and_notebook_parameters_agree(book):
    code = book.name[:2]
    cell = _cell(book)
    declared = set(P.names_for(code))
    missing = sorted(set(cell) - declared)
    assert not missing, f"{book.name} has parameters the registry (params.py) lacks: {missing}"
    extra = sorted(declared - set(cell))
    assert not extra, f"params.py declares for {code} parameters the notebook lacks: {extra}"
    for name, default in cell.items():
        p = P.spec(name, code)
        if p.runner or p.kind == "matrix":
            continue
        assert p.default_for(code) == default, f"{book.name}: default of {name!r}"
        # the notebook's own default is an allowed value
        P.check_value(p, default)


def test_every_parameter_is_documented_and_typed():
    for p in P.PARAMETERS:
        assert p.doc and p.kind in {"int", "float", "str", "date", "list", "matrix", "path"}
        assert p.notebooks and all(len(n) == 2 for n in p.notebooks)


def _declared():
    from crm_research.report import notebook_parameters

    return {b.stem: notebook_parameters(b) for b in BOOKS}


@pytest.fixture(scope="module")
def declared():
    return _declared()


def test_section_keys_yaml_reads_as_integers(declared):
    import yaml

    user = yaml.safe_load("04:\n  k: 6\n5:\n  horizon_months: 6\n")
    assert 4 in user  # YAML's reading, the reason for the rule
    res = P.resolve(declared, list(declared), user)
    assert res.per_book["04_lrfmc_segmentation"]["k"] == 6
    assert res.per_book["05_churn_analysis"]["horizon_months"] == 6


def test_section_value_wins_over_top_level(declared):
    res = P.resolve(declared, list(declared), {"margin": 0.2, "05": {"margin": 0.4}})
    assert res.per_book["03_clv_monetary_value"]["margin"] == 0.2
    assert res.per_book["05_churn_analysis"]["margin"] == 0.4


def test_dates_are_normalised(declared):
    import datetime as dt

    res = P.resolve(declared, ["01_data_exploration"], {"obs_end": dt.date(2014, 3, 31)})
    assert res.per_book["01_data_exploration"]["obs_end"] == "2014-03-31"


def test_all_errors_are_listed_at_once(declared):
    with pytest.raises(P.ParameterError) as e:
        P.resolve(declared, list(declared), {"seed": 7.9, "k": 1, "top_share_q": 1.5})
    msg = str(e.value)
    assert "3 parameters refused" in msg
    assert "'seed' = 7.9" in msg and "'k' = 1" in msg and "'top_share_q' = 1.5" in msg


def test_close_names_are_suggested(declared):
    with pytest.raises(P.ParameterError, match="did you mean 'horizon_months'"):
        P.resolve(declared, list(declared), {"horizon_month": 3})


def test_unregistered_notebook_parameter_falls_back_to_the_default_type(declared):
    d = {k: dict(v) for k, v in declared.items()}
    d["02_clv_purchase_models"]["new_knob"] = {"default": "3", "name": "new_knob"}
    res = P.resolve(d, ["02_clv_purchase_models"], {"new_knob": 5})
    assert res.per_book["02_clv_purchase_models"]["new_knob"] == 5
    with pytest.raises(P.ParameterError, match="'new_knob' = 'x'"):
        P.resolve(d, ["02_clv_purchase_models"], {"new_knob": "x"})
