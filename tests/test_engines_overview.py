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


def test_over_time_panels_and_figures_of_notebook_01(tmp_path):
    import dataclasses

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from crm_research import plots

    d = sources.write_synthetic(tmp_path / "sim", n_members=200, seed=3)
    ds = sources.load_source(str(d), engine="pandas")
    panels, note = ov.over_time_panels(ds)
    assert note is None and [p[1] for p in panels] == [
        "New members by enrolment year",
        "Flights per month",
    ]
    assert panels[0][0].sum() == len(ds.snapshot)
    assert panels[1][0].sum() == len(ds.flights)
    # without a flight log the right panel is the month of each member's last flight
    no_log = dataclasses.replace(ds, flights=None)
    panels, note = ov.over_time_panels(no_log)
    assert panels[1][1] == "Members by month of their last flight" and "no flight log" in note
    assert panels[1][0].sum() == ds.snapshot["LAST_FLIGHT_DATE"].notna().sum()
    fig = plots.plot_over_time_panels(panels)
    assert [a.get_title() for a in fig.axes] == [p[1] for p in panels]
    active, apanels, _ = ov.activity_panels(ds.snapshot)
    fig = plots.plot_activity_panels(active, apanels)
    assert len(fig.axes) == len(apanels) and f"n = {len(active):,}" in fig.get_suptitle()
    conc = ov.concentration(active, 0.2)
    fig = plots.plot_concentration_panels(active, conc, q=0.2)
    assert [a.get_title() for a in fig.axes] == ["Revenue concentration", "Flight concentration"]
    fig = plots.plot_concentration_panels(active, {"flights": conc["flights"]}, q=0.2)
    assert not fig.axes[0].get_visible() and fig.axes[1].get_visible()
    plt.close("all")
