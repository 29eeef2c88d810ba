"""Tests of crm_research.segmentation (LRFMC features, k-means, naming, value score)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from crm_research import segmentation as sg
from crm_research.ahp import ahp_weights
from crm_research.data.schema import DataValidationError

# ---------------------------------------------------------------------------- fixtures


def _snapshot() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "MEMBER_NO": [101, 102, 103, 104],
            "FFP_DATE": pd.to_datetime(["2013-03-31", "2014-03-01", "2010-01-01", "2012-06-30"]),
            "LOAD_TIME": pd.to_datetime(["2014-03-31"] * 4),
            "LAST_TO_END": [45, 3, 700, 800],
            "FLIGHT_COUNT": [10, 2, 1, 0],
            "SEG_KM_SUM": [15000.0, 1200.0, 900.0, 0.0],
            "avg_discount": [0.8, 1.2, 0.5, np.nan],
            "SUM_YR_1": [5000.0, 0.0, 600.0, 0.0],
            "SUM_YR_2": [6000.0, 900.0, 0.0, 0.0],
            "AGE": [40, 35, 60, 50],
        }
    )


def _blobs(n_per=200, seed=0, k=5):
    """Well separated groups in LRFMC units; the true group of each member."""
    rng = np.random.default_rng(seed)
    centres = np.array(
        [
            [10, 1, 40, 60000, 0.9],
            [60, 2, 5, 5000, 0.6],
            [20, 18, 2, 2000, 0.5],
            [5, 1, 6, 6000, 1.2],
            [90, 12, 20, 25000, 0.7],
        ]
    )[:k]
    sd = np.array([2.0, 0.5, 1.5, 1500, 0.02])
    X = np.vstack([c + rng.normal(0, 1, (n_per, 5)) * sd for c in centres]).clip(min=0)
    truth = np.repeat(np.arange(len(centres)), n_per)
    df = pd.DataFrame(X, columns=list(sg.LRFMC))
    df.insert(0, "MEMBER_NO", np.arange(1, len(df) + 1))
    return df, truth


# ---------------------------------------------------------------------------- features


def test_features_hand_computed():
    snap = _snapshot().iloc[:3]
    X = sg.lrfmc_features(snap)
    # L: 2013-03-31 -> 2014-03-31 is 365 days, 2014-03-01 -> 2014-03-31 is 30 days and
    # 2010-01-01 -> 2014-03-31 is 1550 days; a month is 365.25 / 12 days (config)
    m = 365.25 / 12
    assert sg.DAYS_PER_MONTH == m
    np.testing.assert_allclose(X["L"], [365 / m, 30 / m, 1550 / m])
    np.testing.assert_allclose(X["R"], [45 / m, 3 / m, 700 / m])
    np.testing.assert_allclose(X["F"], [10, 2, 1])
    np.testing.assert_allclose(X["M"], [15000, 1200, 900])
    np.testing.assert_allclose(X["C"], [0.8, 1.2, 0.5])
    assert list(X.columns) == ["MEMBER_NO", *sg.LRFMC]
    assert X["MEMBER_NO"].tolist() == [101, 102, 103]


def test_features_missing_discount_names_the_member():
    with pytest.raises(
        DataValidationError, match=r"avg_discount.*missing values.*104.*clean_members"
    ):
        sg.lrfmc_features(_snapshot())


def test_features_non_numeric_names_member_and_value():
    snap = _snapshot().iloc[:3].copy()
    snap["SEG_KM_SUM"] = snap["SEG_KM_SUM"].astype(object)
    snap.loc[1, "SEG_KM_SUM"] = "lots"
    with pytest.raises(DataValidationError, match=r"SEG_KM_SUM.*non-numeric.*102: 'lots'"):
        sg.lrfmc_features(snap)


def test_features_enrolment_after_observation_end():
    snap = _snapshot().iloc[:3].copy()
    snap.loc[2, "FFP_DATE"] = pd.Timestamp("2015-01-01")
    with pytest.raises(DataValidationError, match=r"FFP_DATE.*after the observation end.*103"):
        sg.lrfmc_features(snap)


def test_features_missing_column():
    with pytest.raises(DataValidationError, match="avg_discount"):
        sg.lrfmc_features(_snapshot().drop(columns="avg_discount"))


def test_feature_summary_has_units_and_ranges():
    X = sg.lrfmc_features(_snapshot().iloc[:3])
    s = sg.feature_summary(X)
    assert list(s.index) == list(sg.LRFMC)
    assert s.loc["M", "unit"] == "km"
    assert s.loc["F", "max"] == 10
    assert s.loc["C", "min"] == 0.5


# ---------------------------------------------------------------------------- cleaning


@pytest.mark.parametrize("rule", ["first_edition", "second_edition", "none"])
def test_clean_members_excludes_members_without_flights(rule):
    kept, report = sg.clean_members(_snapshot(), rule)
    assert 104 not in set(kept["MEMBER_NO"])
    assert report["remaining"].iloc[-1] == len(kept)
    assert report["removed"].sum() == len(_snapshot()) - len(kept)
    sg.lrfmc_features(kept)  # every kept member has all five variables


def test_clean_members_none_rule_reports_the_zero_flight_step():
    kept, report = sg.clean_members(_snapshot(), "none")
    assert len(kept) == 3
    last = report.iloc[-1]
    assert "FLIGHT_COUNT == 0" in last["step"] and last["removed"] == 1


def test_cleaning_rule_unknown():
    with pytest.raises(ValueError, match="cleaning rule"):
        sg.clean_members(_snapshot(), "third_edition")


def test_lrfmc_not_available_without_ffp_columns():
    snap = _snapshot().drop(columns=["SEG_KM_SUM", "avg_discount"])
    ok, why = sg.lrfmc_available(snap)
    assert not ok and "SEG_KM_SUM" in why
    with pytest.raises(DataValidationError, match="SEG_KM_SUM"):
        sg.clean_members(snap)


# ---------------------------------------------------------------------------- bad input to clustering


def test_zero_variance_variable_is_refused():
    X, _ = _blobs(20)
    X["C"] = 0.75
    with pytest.raises(DataValidationError, match=r"column 'C'.*zero variance.*C = 0.75"):
        sg.cluster_lrfmc(X, 3)


def test_missing_and_non_numeric_values_name_members():
    X, _ = _blobs(20)
    X.loc[[3, 7], "R"] = np.nan
    with pytest.raises(DataValidationError, match=r"column 'R'.*missing.*4, 8"):
        sg.cluster_lrfmc(X, 3)
    X, _ = _blobs(20)
    X["F"] = X["F"].astype(object)
    X.loc[5, "F"] = "n/a"
    with pytest.raises(DataValidationError, match=r"column 'F'.*non-numeric.*6: 'n/a'"):
        sg.cluster_lrfmc(X, 3)


def test_missing_lrfmc_column():
    X, _ = _blobs(20)
    with pytest.raises(DataValidationError, match="'M'"):
        sg.cluster_lrfmc(X.drop(columns="M"), 3)


def test_k_larger_than_distinct_members():
    X, _ = _blobs(2)  # 10 rows, but make only 3 distinct
    X[list(sg.LRFMC)] = np.tile(X[list(sg.LRFMC)].to_numpy()[:3], (4, 1))[:10]
    with pytest.raises(ValueError, match=r"k = 5 clusters but only 3 distinct members"):
        sg.cluster_lrfmc(X, 5)
    with pytest.raises(ValueError, match=">= 2"):
        sg.cluster_lrfmc(X, 1)


# ---------------------------------------------------------------------------- clustering


def test_recovers_well_separated_groups():
    X, truth = _blobs(150, seed=1)
    m = sg.cluster_lrfmc(X, 5, n_init=5, seed=3)
    assert adjusted_rand_score(truth, m.labels_.to_numpy()) > 0.99
    assert m.sizes_.sum() == len(X)
    assert sorted(m.sizes_.tolist()) == [150] * 5
    # centres in natural units match the generating centres
    top = m.centers_.loc[m.centers_["M"].idxmax()]
    assert top["M"] == pytest.approx(60000, rel=0.02)
    assert list(m.labels_.index[:3]) == [1, 2, 3]


def test_clustering_is_deterministic_with_a_seed():
    X, _ = _blobs(60, seed=2)
    X[list(sg.LRFMC)] += np.random.default_rng(5).normal(0, 1, (len(X), 5)) * [
        20,
        5,
        10,
        20000,
        0.3,
    ]
    a = sg.cluster_lrfmc(X, 5, n_init=2, seed=11)
    b = sg.cluster_lrfmc(X, 5, n_init=2, seed=11)
    np.testing.assert_array_equal(a.labels_.to_numpy(), b.labels_.to_numpy())
    pd.testing.assert_frame_equal(a.centers_, b.centers_)
    assert a.inertia_ == b.inertia_


@pytest.mark.parametrize("method", ["zscore", "log_zscore", "none"])
def test_standardisation_options(method):
    X, truth = _blobs(50)
    sc = sg.fit_scaler(X, method, ddof=1)
    Z = sc.transform(X)
    if method == "none":
        pd.testing.assert_frame_equal(Z, X[list(sg.LRFMC)].astype(float))
    else:
        np.testing.assert_allclose(Z.mean(), 0, atol=1e-10)
        np.testing.assert_allclose(Z.std(ddof=1), 1)
    assert sg.cluster_lrfmc(X, 5, standardize=method).labels_.nunique() == 5


def test_log_standardisation_refuses_negative_counts():
    X, _ = _blobs(10)
    X.loc[3, "F"] = -1.0
    with pytest.raises(ValueError, match=r"log_zscore.*F.*negative"):
        sg.fit_scaler(X, "log_zscore")


def test_ddof_zero_matches_population_sd():
    X, _ = _blobs(10)
    sc = sg.fit_scaler(X, "zscore", ddof=0)
    np.testing.assert_allclose(
        sc.scale.to_numpy(), X[list(sg.LRFMC)].to_numpy().std(axis=0, ddof=0)
    )
    with pytest.raises(ValueError, match="ddof"):
        sg.fit_scaler(X, "zscore", ddof=2)


def test_k_selection_points_at_the_true_k():
    X, _ = _blobs(80, seed=4, k=4)
    tab = sg.k_selection(X, range(2, 7), n_init=3, seed=0, silhouette_sample=200)
    assert list(tab.index) == [2, 3, 4, 5, 6]
    assert tab["silhouette"].idxmax() == 4
    assert tab["calinski_harabasz"].idxmax() == 4
    assert tab["davies_bouldin"].idxmin() == 4
    assert tab["inertia"].is_monotonic_decreasing


def test_silhouette_from_one_distance_matrix_equals_scikit_learn():
    """k_selection's silhouettes: the sample's distances once for every k, summed by
    cluster in one product (issue 12), give scikit-learn's value on the same members."""
    from sklearn.metrics import silhouette_score

    from crm_research.segmentation.clustering import _kmeans, _silhouette_sample

    Z = np.random.default_rng(2).normal(size=(700, 5))
    rows, D = _silhouette_sample(Z, 250, 3, 1)
    for k in (2, 5, 9):
        lab = _kmeans(Z, k, 2, 0, 1).labels_
        want = silhouette_score(Z, lab, sample_size=250, random_state=3)
        assert sg.silhouette_from_distances(D, lab[rows]) == pytest.approx(want, rel=1e-12)
    lab = lab[rows].copy()
    lab[0] = 99  # a member alone in its cluster scores 0, as in scikit-learn
    want = silhouette_score(D, lab, metric="precomputed")
    assert sg.silhouette_from_distances(D, lab) == pytest.approx(want, rel=1e-12)
    with pytest.raises(ValueError, match="Number of labels is 1"):
        sg.silhouette_from_distances(D, np.zeros(len(rows)))
    rows_all, D_none = _silhouette_sample(Z, None, 3, 1)  # no sample: every member
    assert len(rows_all) == 700 and D_none.shape == (700, 700)


def test_stability_of_separated_groups_and_moved_count():
    X, _ = _blobs(60, seed=6)
    st = sg.stability(X, 5, n_seeds=2, n_boot=2, n_init=3, seed=1)
    assert set(st["kind"]) == {"seed", "bootstrap"}
    assert (st["ari"] > 0.99).all()
    assert (st["moved"] == 0).all()


def test_matched_disagreement_ignores_label_names():
    a = np.array([0, 0, 1, 1, 2, 2])
    assert sg.matched_disagreement(a, np.array([2, 2, 0, 0, 1, 1])) == 0
    assert sg.matched_disagreement(a, np.array([2, 2, 0, 1, 1, 1])) == 1


# ---------------------------------------------------------------------------- naming


ARCHETYPES = pd.DataFrame(
    {
        #            L     R     F     M     C
        "retain": [0.4, -0.8, 2.5, 2.4, 0.3],
        "develop": [-0.6, -0.4, -0.2, -0.2, 2.2],
        "winback": [1.1, 1.2, 0.1, 0.0, -0.1],
        "low": [-0.3, 1.7, -0.6, -0.5, -0.2],
        "general": [-0.7, -0.4, -0.1, -0.1, -0.3],
    },
    index=list(sg.LRFMC),
).T

EXPECTED = {
    "retain": "important_retain",
    "develop": "important_develop",
    "winback": "important_winback",
    "low": "low_value",
    "general": "general",
}


def test_naming_rules_on_constructed_centres():
    names = sg.name_clusters(ARCHETYPES)
    assert names["segment"].to_dict() == EXPECTED
    assert names.loc["retain", "segment_zh"] == "重要保持客户"
    assert names.loc["develop", "lifecycle_stage"] == "development"
    assert names.loc["winback", "lifecycle_stage"] == "decline"
    assert names.loc["retain", "lifecycle_stage"] == "stability"
    assert "R high" in names.loc["low", "reason"]


@pytest.mark.parametrize("perm_seed", [0, 1, 2])
def test_naming_does_not_depend_on_cluster_order(perm_seed):
    order = np.random.default_rng(perm_seed).permutation(len(ARCHETYPES))
    centres = ARCHETYPES.iloc[order].reset_index()
    kinds = centres.pop("index")
    names = sg.name_clusters(centres)  # clusters now numbered 0..4 in a shuffled order
    for cl, kind in kinds.items():
        assert names.loc[cl, "segment"] == EXPECTED[kind]


def test_naming_says_so_when_a_cluster_fits_no_class():
    # flies a lot and recently but at the cheapest fares: none of the five profiles
    centres = pd.DataFrame([[0.0, -0.5, 2.0, 2.0, -1.0]], columns=list(sg.LRFMC))
    names = sg.name_clusters(centres)
    assert names.loc[0, "segment"] == "unassigned"
    assert "fits none" in names.loc[0, "reason"]


def test_naming_low_value_by_low_fares_and_the_threshold():
    centres = pd.DataFrame(
        [[0.0, 0.0, -0.5, -0.6, -0.9], [0.0, 0.0, 0.2, 0.2, 0.2]], columns=list(sg.LRFMC)
    )
    names = sg.name_clusters(centres, threshold=0.25)
    assert names["segment"].tolist() == ["low_value", "general"]
    # with a wider "mid" band, the second cluster's activity 0.2 stays mid; with a narrow
    # one it is high activity at fares not below average: important retain
    assert sg.name_clusters(centres, threshold=0.1).loc[1, "segment"] == "important_retain"
    with pytest.raises(ValueError, match="threshold"):
        sg.name_clusters(centres, threshold=0)


def test_naming_of_recovered_blobs_end_to_end():
    X, truth = _blobs(100, seed=7)
    m = sg.cluster_lrfmc(X, 5, n_init=5, seed=0)
    names = sg.name_clusters(m.centers_z_)
    # the blob with 40 flights and 60,000 km, recent, is important retain
    top = m.centers_["F"].idxmax()
    assert names.loc[top, "segment"] == "important_retain"
    # the blob last seen 18 months ago with 2 flights is low value
    lapsed = m.centers_["R"].idxmax()
    assert names.loc[lapsed, "segment"] == "low_value"


# ---------------------------------------------------------------------------- value score


def test_value_score_hand_computed():
    X = pd.DataFrame(
        {
            "MEMBER_NO": [1, 2, 3],
            "L": [0.0, 5.0, 10.0],
            "R": [10.0, 5.0, 0.0],
            "F": [1.0, 3.0, 5.0],
            "M": [100.0, 100.0, 300.0],
            "C": [0.5, 1.0, 0.5],
        }
    )
    w = pd.Series({"L": 0.1, "R": 0.2, "F": 0.3, "M": 0.3, "C": 0.1})
    s = sg.value_score(X, w)
    # min-max, R reversed: member 1 -> 0 everywhere except C = 0 -> 0;
    # member 2 -> L .5, R .5, F .5, M 0, C 1 -> .05 + .1 + .15 + 0 + .1 = .4;
    # member 3 -> 1, 1, 1, 1, 0 -> .9
    np.testing.assert_allclose(s.to_numpy(), [0.0, 0.4, 0.9])
    assert s.index.tolist() == [1, 2, 3]
    # rank normalisation: mid-ranks (r - 0.5) / n
    r = sg.value_score(X, w, "rank")
    # member 2: L 1.5/3, R 1.5/3, F 1.5/3, M (1.5-0.5)/3, C 2.5/3
    assert r.loc[2] == pytest.approx(
        0.1 * 0.5 + 0.2 * 0.5 + 0.3 * 0.5 + 0.3 * (1 / 3) + 0.1 * (2.5 / 3)
    )


def test_value_score_accepts_ahp_result_and_checks_weights():
    X, _ = _blobs(10)
    res = ahp_weights(np.ones((5, 5)), sg.LRFMC)
    s = sg.value_score(X, res)
    # equal AHP weights: the mean of the five normalised variables (R reversed)
    np.testing.assert_allclose(s.to_numpy(), sg.normalise_lrfmc(X).mean(axis=1).to_numpy())
    with pytest.raises(ValueError, match=r"no weight for \['C'\]"):
        sg.value_score(X, {"L": 1, "R": 1, "F": 1, "M": 1})
    with pytest.raises(ValueError, match="non-negative"):
        sg.value_score(X, {"L": 1, "R": -1, "F": 1, "M": 1, "C": 1})
    with pytest.raises(ValueError, match="normalisation"):
        sg.value_score(X, res, "zscore")


# ---------------------------------------------------------------------------- truth and comparisons


def test_true_future_value_hand_cases():
    truth = pd.DataFrame(
        {
            "MEMBER_NO": [1, 2, 3, 4],
            "lam": [1.0, 1.0, 0.5, 0.2],
            "p": [0.5, 0.5, np.nan, 0.0],
            "mu": [np.nan, np.nan, 0.1, np.nan],
            "alive": [True, False, True, True],
            "mean_revenue": [100.0, 100.0, 10.0, 50.0],
        }
    )
    tv = sg.true_future_value(truth, horizon_weeks=52)
    expected_flights = [(1 - np.exp(-26)) / 0.5, 0.0, 0.5 / 0.1 * (1 - np.exp(-5.2)), 0.2 * 52]
    np.testing.assert_allclose(tv["true_flights"], expected_flights)
    np.testing.assert_allclose(tv["true_value"], np.array(expected_flights) * [100, 100, 10, 50])


def test_true_future_value_formula_matches_monte_carlo():
    # An active BG/NBD member flies at rate lam and drops out after each flight with
    # probability p: the flights in (0, t] are min(N(t), G), N ~ Poisson(lam t) and
    # G ~ Geometric(p) on {1, 2, ...} (the flight after which the member drops out).
    rng = np.random.default_rng(0)
    lam, p, t, n = 0.3, 0.2, 26.0, 200_000
    sim = np.minimum(rng.poisson(lam * t, n), rng.geometric(p, n)).mean()
    truth = pd.DataFrame(
        {"MEMBER_NO": [1], "lam": [lam], "p": [p], "alive": [True], "mean_revenue": [1.0]}
    )
    est = sg.true_future_value(truth, t)["true_flights"].iloc[0]
    assert est == pytest.approx(sim, rel=0.01)


def test_rank_agreement_perfect_and_reversed():
    rng = np.random.default_rng(1)
    d = pd.DataFrame({"v": rng.gamma(1.0, 1.0, 500)})
    d["same"] = np.log(d["v"])
    d["rev"] = -d["v"]
    tab = sg.rank_agreement(d, "v", ["same", "rev"], top_share=0.2)
    assert tab.loc["same", "spearman"] == pytest.approx(1.0)
    assert tab.loc["same", "top20_hit_rate"] == 1.0
    assert tab.loc["rev", "spearman"] == pytest.approx(-1.0)
    assert tab.loc["rev", "top20_hit_rate"] == 0.0


def test_rank_agreement_kendall_on_a_sample_agrees_with_the_whole():
    """Kendall's tau on a sample of a large table (issue 12): within its standard error
    (at most sqrt(2 (1 - tau^2) / n), Daniels & Kendall 1947) of the whole table's;
    Spearman's rho and the hit rate unchanged; small tables untouched."""
    from crm_research.segmentation.truth import rank_agreement

    rng = np.random.default_rng(5)
    n = 60_000
    t = rng.gamma(0.5, size=n) * (rng.random(n) < 0.7)
    df = pd.DataFrame({"t": t, "a": t + rng.normal(size=n), "f": rng.poisson(3 + t)})
    whole = rank_agreement(df, "t", ["a", "f"], kendall_sample=None)
    part = rank_agreement(df, "t", ["a", "f"], kendall_sample=10_000, seed=1)
    se = np.sqrt(2 * (1 - whole["kendall_tau"] ** 2) / 10_000)
    assert ((part["kendall_tau"] - whole["kendall_tau"]).abs() < 3 * se).all()
    assert part["kendall_tau"].ne(whole["kendall_tau"]).all()  # it is a sample
    pd.testing.assert_frame_equal(
        part.drop(columns="kendall_tau"), whole.drop(columns="kendall_tau")
    )
    assert part.equals(rank_agreement(df, "t", ["a", "f"], kendall_sample=10_000, seed=1))
    assert rank_agreement(df, "t", ["a"], kendall_sample=n).equals(whole.loc[["a"]])


def test_segments_table_and_value_table():
    X, _ = _blobs(40, seed=8)
    m = sg.cluster_lrfmc(X, 5, n_init=3, seed=0)
    names = sg.name_clusters(m.centers_z_)
    seg = sg.segments_table(X, m, names, sg.value_score(X, {v: 1 for v in sg.LRFMC}))
    assert list(seg.columns) == list(sg.SEGMENT_COLUMNS)
    assert seg["value_score"].notna().all()
    assert set(seg["segment"]) <= set(sg.SEGMENTS.index)
    seg["value"] = seg["F"] * 100.0
    vt = sg.segment_value_table(seg, "value")
    assert vt["member_share"].sum() == pytest.approx(1.0)
    assert vt["share_of_top20"].sum() == pytest.approx(1.0)
    assert vt.index[0] == "important_retain"  # the 40-flight blob is worth most
    summ = sg.segment_summary(seg)
    assert summ["n"].sum() == len(seg)


def test_empty_segments_schema():
    e = sg.empty_segments()
    assert list(e.columns) == list(sg.SEGMENT_COLUMNS) and len(e) == 0


# ---------------------------------------------------------------------------- the notebook

NOTEBOOK = (
    __import__("pathlib").Path(__file__).resolve().parents[1]
    / "notebooks"
    / "04_lrfmc_segmentation.ipynb"
)
FAST = {
    "k_max": 6,
    "stability_seeds": 1,
    "stability_bootstrap": 1,
    "silhouette_sample": 500,
    "n_init": 3,
}


def _run_notebook(tmp_path, ds, **extra):
    import papermill as pm

    from crm_research import io as cio

    processed = tmp_path / "processed"
    ds.save(processed)
    for name, table in extra.items():
        cio.write_parquet(table, processed / f"{name}.parquet")
    params = {
        "processed_dir": str(processed),
        "figures_dir": str(tmp_path / "fig"),
        "metrics_dir": str(tmp_path / "metrics"),
        "seed": 7,
        **FAST,
    }
    pm.execute_notebook(
        str(NOTEBOOK), str(tmp_path / "out.ipynb"), parameters=params, progress_bar=False
    )
    from crm_research.io import read_json

    metrics = read_json(tmp_path / "metrics" / "04_lrfmc_segmentation.json")
    segments = pd.read_parquet(processed / "segments.parquet")
    return metrics, segments


@pytest.fixture(scope="module")
def small_sim(sim_small):
    return sim_small  # conftest: 2,000 members, seed 3


@pytest.mark.slow
def test_notebook_on_synthetic_data(tmp_path, small_sim):
    ds = small_sim.to_dataset()
    metrics, seg = _run_notebook(tmp_path, ds)
    assert list(seg.columns) == list(sg.SEGMENT_COLUMNS)
    n_active = int((ds.snapshot["FLIGHT_COUNT"] > 0).sum())
    assert len(seg) == metrics["n_segmented"] == n_active
    assert metrics["n_no_flight_in_window"] == len(ds.snapshot) - n_active
    assert metrics["lrfmc_available"] is True
    assert metrics["ahp_consistency_ratio"] < 0.1
    # the AHP score ranks the true next-year value (rho 0.64 on this simulation)
    assert metrics["spearman_score_vs_truth"] > 0.3
    assert set(seg["segment"]) <= set(sg.SEGMENTS.index)
    assert set(seg["segment_zh"]) <= set(sg.SEGMENTS["segment_zh"])
    figs = {p.stem for p in (tmp_path / "fig").glob("*.png")}
    assert {"lrfmc_k_selection", "lrfmc_cluster_radar", "lrfmc_cluster_distributions"} <= figs
    assert "lrfmc_segments_vs_true_value" in figs


@pytest.mark.slow
def test_notebook_on_textbook_like_data_with_clv(tmp_path, small_sim):
    from crm_research.data import Dataset

    full = small_sim.to_dataset()
    ds = Dataset(
        snapshot=full.snapshot, info={"source": "textbook", "obs_end": full.info["obs_end"]}
    )
    clv = full.snapshot[["MEMBER_NO"]].assign(clv=full.snapshot["SUM_YR_2"] * 1.5)
    metrics, seg = _run_notebook(tmp_path, ds, clv=clv)
    assert len(seg) > 0
    assert "spearman_score_vs_truth" not in metrics
    # the "CLV" here is last-year revenue x 1.5, which F and M (heavy AHP weights) track
    assert metrics["spearman_score_vs_clv"] > 0.3
    assert (tmp_path / "fig" / "lrfmc_segments_vs_clv.png").exists()


@pytest.mark.slow
def test_notebook_on_cdnow_like_data_writes_empty_segments(tmp_path, small_sim):
    from crm_research.data import Dataset
    from crm_research.data.snapshot import build_snapshot

    flights = small_sim.flights[["MEMBER_NO", "FLIGHT_DATE", "REVENUE"]]
    snap = build_snapshot(flights, None, small_sim.obs_end)
    ds = Dataset(
        snapshot=snap,
        flights=flights,
        info={
            "source": "cdnow",
            "obs_end": str(small_sim.obs_end.date()),
            "has_ffp_columns": False,
        },
    )
    metrics, seg = _run_notebook(tmp_path, ds)
    assert metrics["lrfmc_available"] is False
    assert metrics["n_segmented"] == 0
    assert metrics["silhouette_at_k"] is None  # NaN is written as null
    assert len(seg) == 0 and list(seg.columns) == list(sg.SEGMENT_COLUMNS)


def test_k_selection_on_a_subsample_gives_the_same_answer(ds_medium):
    """k selection on a random half of the members: same best k by silhouette and
    Davies-Bouldin, inertia (rescaled to all members) within 5%. On the default
    simulation the 20,000-member default subsample agrees on all three criteria
    (benchmarks/bench_segmentation.py prints both, and the time ratio)."""
    X = sg.lrfmc_features(sg.clean_members(ds_medium.snapshot)[0])
    full = sg.k_selection(X, range(2, 8), n_init=4, seed=1, sample=None)
    half = sg.k_selection(X, range(2, 8), n_init=4, seed=1, sample=1500)
    assert len(X) > 1500
    assert half["silhouette"].idxmax() == full["silhouette"].idxmax()
    assert half["davies_bouldin"].idxmin() == full["davies_bouldin"].idxmin()
    np.testing.assert_allclose(half["inertia"], full["inertia"], rtol=0.05)


def test_lrfmc_kmeans_is_a_sklearn_estimator():
    from sklearn.base import clone

    m = clone(sg.LRFMCKMeans(k=4, n_init=2, seed=3))
    assert m.get_params()["k"] == 4 and m.get_params()["seed"] == 3
    assert not hasattr(m, "labels_")  # a clone is unfitted


def test_stability_on_a_subsample_tells_the_same_story(ds_medium):
    """Stability on a random half of the members: seed ARIs near 1 in both, and the
    bootstrap ARI within 0.15 of the one on every member."""
    X = sg.lrfmc_features(sg.clean_members(ds_medium.snapshot)[0])
    kw = dict(n_seeds=2, n_boot=2, n_init=4, seed=1)
    full = sg.stability(X, 5, sample=None, **kw).groupby("kind")["ari"].mean()
    half = sg.stability(X, 5, sample=1500, **kw).groupby("kind")["ari"].mean()
    assert abs(half["bootstrap"] - full["bootstrap"]) < 0.15
    assert half["seed"] > 0.8 and full["seed"] > 0.8
