"""data.overview (notebook 01's rules) gives the same answers for a lazy log and pandas."""

from __future__ import annotations

import pandas as pd

from crm_research.data import overview as ov
from crm_research.data import sources


def test_overview_same_for_lazy_and_pandas(tmp_path):
    d = sources.write_synthetic(tmp_path / "sim", n_members=200, seed=3)
    want = sources.load_source(str(d), engine="pandas")
    got = sources.load_source(str(d), engine="duckdb")
    assert not isinstance(got.flights, pd.DataFrame)
    assert ov.log_span(got.flights) == ov.log_span(want.flights)
    pd.testing.assert_series_equal(
        ov.monthly_flights(got.flights), ov.monthly_flights(want.flights), check_names=False
    )
    assert ov.describe_input(got, "x") == ov.describe_input(want, "x")
    active, panels, skipped = ov.activity_panels(want.snapshot)
    assert [p[0] for p in panels] == [
        "FLIGHT_COUNT",
        "SEG_KM_SUM",
        "avg_discount",
        "window_revenue",
    ]
    assert skipped == []
    conc = ov.concentration(active, 0.2)
    m = ov.exploration_metrics(got, active, conc, 0.2)
    assert m["n_flights"] == len(want.flights) and m["n_members"] == 200
    assert 0 < m["revenue_gini"] < 1 and 0 < m["true_share_alive"] < 1
    assert "of the revenue" in ov.concentration_sentence(conc, 0.2)
    assert ov.concentration_sentence({"flights": conc["flights"]}, 0.2) is None
