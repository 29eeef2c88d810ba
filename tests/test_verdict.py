import pytest

from crm_research.clv.verdict import FitVerdict


def test_round_trip_and_sentence():
    v = FitVerdict("BG/NBD", "penalized", penalizer=0.001, detail="b ran to a bound without")
    assert FitVerdict.from_dict(v.to_dict()) == v
    assert "penalizer 0.001" in v.sentence() and "b ran to a bound" in v.sentence()
    assert v.usable and not v.ok


def test_at_bound_names_parameters():
    v = FitVerdict("Pareto/NBD", "at_bound", parameters=("beta", "s"))
    assert "beta, s at a bound" in v.sentence()
    assert not v.usable


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(status="fine"),
        dict(status="penalized", penalizer=0.0),
        dict(status="converged", penalizer=-1),
    ],
)
def test_invalid(kwargs):
    with pytest.raises(ValueError):
        FitVerdict("X", **kwargs)
