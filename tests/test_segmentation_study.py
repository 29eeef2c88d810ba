"""Notebook 04's steps and metric assembly (crm_research.segmentation.study)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_research import segmentation as sg
from crm_research.ahp import ahp_weights
from crm_research.segmentation import study as st


@pytest.fixture(scope="module")
def fitted(ds_small, ahp_matrix_04):
    kept, _ = sg.clean_members(ds_small.snapshot, "first_edition")
    X = sg.lrfmc_features(kept)
    model = sg.cluster_lrfmc(X, 5, n_init=3, seed=1)
    names = sg.name_clusters(model.centers_z_)
    ahp = ahp_weights(ahp_matrix_04, sg.LRFMC)
    segments = sg.segments_table(X, model, names, sg.value_score(X, ahp))
    return X, model, names, ahp, segments


def test_selection_counts_add_up(ds_small, fitted):
    X = fitted[0]
    c = st.selection_counts(ds_small.snapshot, X)
    assert c["n_segmented"] + c["n_excluded"] == len(ds_small.snapshot)
    assert c["n_no_flight_in_window"] <= c["n_excluded"]
    assert "members segmented" in st.selection_notes(ds_small.snapshot, X)[1]


def test_comparison_with_the_truth_and_the_important_classes(ds_small, fitted, tmp_path):
    X, model, names, ahp, segments = fitted
    compare, has_clv, m, notes = st.comparison_table(
        segments, X, ahp, processed_dir=tmp_path, truth=ds_small.truth
    )
    assert not has_clv and any("not found" in n for n in notes)
    assert 0 < m["excluded_members_true_value_share"] < 0.5  # the excluded are worth little
    tabs, notes = st.agreement(compare, has_clv)
    assert set(tabs) == {"truth"}
    assert tabs["truth"].loc["value_score", "spearman"] > 0.3
    assert st.value_target(compare, has_clv) == "true_value"
    assert st.value_target(None, True) == "clv" and st.value_target(None, False) is None
    _, rates, vm, note = st.class_values(compare, "true_value")
    # the important classes hold more of the top 20% by true value than of the members
    assert vm["important_share_of_top20_true_value"] > vm["important_member_share"]
    assert rates is not None and "true_flights_per_year_while_active" in rates.columns


def test_clv_file_is_used_when_it_has_the_columns(fitted, tmp_path):
    X, model, names, ahp, segments = fitted
    pd.DataFrame({"MEMBER_NO": segments["MEMBER_NO"], "clv": np.arange(len(segments))}).to_parquet(
        tmp_path / "clv.parquet"
    )
    compare, has_clv, _, notes = st.comparison_table(segments, X, ahp, processed_dir=tmp_path)
    assert has_clv and "clv" in compare.columns and "no ground truth" in notes[-1]
    pd.DataFrame({"MEMBER_NO": [1]}).to_parquet(tmp_path / "clv.parquet")
    _, has_clv, _, notes = st.comparison_table(segments, X, ahp, processed_dir=tmp_path)
    assert not has_clv and "no MEMBER_NO/clv" in notes[0]


def test_metrics_of_a_segmentation(fitted):
    X, model, names, ahp, segments = fitted
    ksel = sg.k_selection(X, [4, 5], n_init=2, seed=1)
    runs, summary, notes = st.stability_runs(X, 5, n_seeds=2, n_boot=1, n_init=2, seed=1)
    assert set(summary.index) == {"seed", "bootstrap", "seed, n_init = 1"} and len(notes) == 3
    m = st.segmentation_metrics(model, ksel, runs, summary, names, ahp, segments, {})
    assert m["silhouette_at_k"] == ksel.loc[5, "silhouette"]
    assert sum(m[f"share_{s}"] for s in sg.SEGMENTS.index) == pytest.approx(1.0)
    assert m["ahp_consistency_ratio"] < 0.1
    assert st.value_label("clv", 52) == ("CLV (notebook 03)", "lrfmc_segments_vs_clv")
    e = st.empty_metrics(5, "no LRFMC")
    assert e["n_segmented"] == 0 and np.isnan(e["silhouette_at_k"])
