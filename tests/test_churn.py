"""Tests of the churn stage: labels, leakage, metrics, models, survival, campaign, notebook."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from crm_research import churn as C
from crm_research.data import Dataset
from crm_research.data.schema import DataValidationError

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "05_churn_analysis.ipynb"


# ---------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim(sim_medium):
    return sim_medium  # conftest: 4,000 members, seed 7


@pytest.fixture(scope="module")
def ds(ds_medium):
    return ds_medium


def _snap(rows):
    """Hand-made members: (MEMBER_NO, FLIGHT_COUNT, P1Y, L1Y)."""
    return pd.DataFrame(
        rows, columns=["MEMBER_NO", "FLIGHT_COUNT", "P1Y_Flight_Count", "L1Y_Flight_Count"]
    )


# ---------------------------------------------------------------------------------------
# definition 1: textbook
# ---------------------------------------------------------------------------------------
def test_textbook_label_hand_made_members():
    snap = _snap(
        [
            (1, 10, 8, 2),  # ratio 0.25 -> churned
            (2, 10, 5, 5),  # ratio 1 -> retained
            (3, 10, 6, 4),  # ratio 0.667 -> at risk
            (4, 10, 0, 10),  # no first-year flights, flew last year -> retained, explicitly
            (5, 5, 4, 1),  # not established (5 <= 6) -> not labelled
            (6, 7, 4, 2),  # ratio exactly 0.5 -> at risk (churned is strictly below)
            (7, 19, 10, 9),  # ratio exactly 0.9 -> retained
            (8, 8, 0, 0),  # inconsistent counts: no flight in either year -> churned
            (9, 6, 3, 3),  # FLIGHT_COUNT == 6 is not above 6 -> not labelled
        ]
    )
    lab = C.textbook_label(snap, min_members=1).set_index("MEMBER_NO")
    assert list(lab.index) == [1, 2, 3, 4, 6, 7, 8]
    assert lab["status"].astype(str).to_dict() == {
        1: "churned",
        2: "retained",
        3: "at_risk",
        4: "retained",
        6: "at_risk",
        7: "retained",
        8: "churned",
    }
    assert lab["churn"].to_dict() == {1: 1, 2: 0, 3: 0, 4: 0, 6: 0, 7: 0, 8: 1}
    assert lab.loc[4, "rule"] == "no first-year flights"
    assert lab.loc[8, "rule"] == "no flights in either year"
    # the zero-first-year member never gets an infinite ratio
    assert np.isfinite(lab["ratio"].dropna()).all()
    assert lab.loc[1, "ratio"] == pytest.approx(0.25)


def test_textbook_label_thresholds_and_bad_input():
    snap = _snap([(i, 10, 5, k) for i, k in enumerate(range(0, 10), start=1)])
    lab = C.textbook_label(snap, min_members=1, churn_below=0.3, retain_from=0.7)
    assert lab["status"].astype(str).tolist()[:3] == ["churned", "churned", "at_risk"]
    with pytest.raises(ValueError, match="churn_below < retain_from"):
        C.textbook_label(snap, min_members=1, churn_below=0.9, retain_from=0.5)
    with pytest.raises(DataValidationError, match="P1Y_Flight_Count"):
        C.textbook_label(snap.drop(columns="P1Y_Flight_Count"))
    neg = snap.copy()
    neg.loc[2, "L1Y_Flight_Count"] = -1
    with pytest.raises(DataValidationError, match="L1Y_Flight_Count.*negative"):
        C.textbook_label(neg, min_members=1)


def test_textbook_label_too_few_established_members():
    snap = _snap([(1, 10, 5, 5), (2, 3, 2, 1), (3, 8, 4, 4)])
    with pytest.raises(DataValidationError) as e:
        C.textbook_label(snap, min_members=30)
    msg = str(e.value)
    assert "FLIGHT_COUNT" in msg and "only 2 established members" in msg


def test_one_class_label_is_a_clear_error():
    with pytest.raises(DataValidationError, match="one class only: all 3 members are churned"):
        C.check_two_classes([1, 1, 1], "textbook")
    with pytest.raises(DataValidationError, match="not churned"):
        C.check_two_classes(np.zeros(5), "forward")
    # a member table where every established member churned
    snap = _snap([(i, 10, 8, 1) for i in range(1, 41)])
    snap["LAST_TO_END"] = 100.0
    ds = Dataset(snapshot=snap, info={"source": "textbook", "obs_end": "2014-03-31"})
    with pytest.raises(DataValidationError, match="'textbook' churn definition leaves one class"):
        C.build_churn_data(ds, "textbook")


# ---------------------------------------------------------------------------------------
# definition 2: forward-looking
# ---------------------------------------------------------------------------------------
def _flights(rows):
    return pd.DataFrame(
        {"MEMBER_NO": [r[0] for r in rows], "FLIGHT_DATE": pd.to_datetime([r[1] for r in rows])}
    )


def test_forward_label_hand_made():
    fl = _flights(
        [
            (1, "2012-05-01"),
            (1, "2013-06-01"),  # flies in the horizon -> retained
            (2, "2012-01-01"),  # never again -> churned
            (3, "2013-04-01"),  # first flight after the observation date -> not labelled
            (4, "2013-03-31"),  # flight on the observation date counts as before
            (4, "2014-03-31"),  # flight on the last day of the horizon counts
            (5, "2013-01-01"),
            (5, "2014-05-01"),  # after the horizon -> churned
        ]
    )
    lab = C.forward_label(fl, "2013-03-31", 12, data_end="2014-06-30").set_index("MEMBER_NO")
    assert lab["churn"].to_dict() == {1: 0, 2: 1, 4: 0, 5: 1}
    assert lab["flights_in_horizon"].to_dict() == {1: 1, 2: 0, 4: 1, 5: 0}
    assert C.observation_date("2014-03-31", 12) == pd.Timestamp("2013-03-31")


def test_forward_label_horizon_longer_than_data():
    fl = _flights([(1, "2012-05-01"), (2, "2013-01-01")])
    with pytest.raises(DataValidationError) as e:
        C.forward_label(fl, "2013-03-31", 13, data_end="2014-03-31")
    msg = str(e.value)
    assert "horizon of 13 months" in msg and "2014-04-30" in msg and "FLIGHT_DATE" in msg
    with pytest.raises(ValueError, match="whole number"):
        C.forward_label(fl, "2013-03-31", 1.5, data_end="2014-03-31")
    with pytest.raises(ValueError, match="at least 1"):
        C.observation_date("2014-03-31", 0)
    with pytest.raises(DataValidationError, match="no member has a flight"):
        C.forward_label(fl, "2011-03-31", 12, data_end="2014-03-31")


def test_forward_features_do_not_leak_the_future(ds):
    """Features at the observation date are the same whether or not the data after it exist.

    Three versions of the input: the full log; every table cut at the observation date with
    the member table's tier scrambled; and a tampered future (extra flights, complaints and
    no-shows after the observation date). The features must be identical, the labels not.
    """
    obs = C.observation_date(ds.obs_end, 12)
    X_full, lab_full, _, _ = C.forward_dataset(ds, obs, 12)

    rng = np.random.default_rng(0)
    members = ds.members.copy()
    members["FFP_TIER"] = rng.permutation(members["FFP_TIER"].to_numpy()) + 1
    cut = Dataset(
        snapshot=ds.snapshot,
        flights=ds.flights[ds.flights["FLIGHT_DATE"] <= obs].reset_index(drop=True),
        members=members,
        complaints=ds.complaints[ds.complaints["COMPLAINT_DATE"] <= obs],
        noshows=ds.noshows[ds.noshows["NOSHOW_DATE"] <= obs],
        info=dict(ds.info),
    )
    X_cut, lab_cut, _, _ = C.forward_dataset(cut, obs, 12)

    ids = lab_full["MEMBER_NO"].to_numpy()[:300]
    after = obs + pd.Timedelta(days=20)
    extra_f = pd.DataFrame({"MEMBER_NO": ids, "FLIGHT_DATE": after})
    for col in ("SEG_KM", "DISCOUNT", "REVENUE"):
        extra_f[col] = 1000.0 if col != "DISCOUNT" else 1.0
    tampered = Dataset(
        snapshot=ds.snapshot,
        flights=pd.concat([ds.flights, extra_f], ignore_index=True),
        members=ds.members,
        complaints=pd.concat(
            [ds.complaints, pd.DataFrame({"MEMBER_NO": ids, "COMPLAINT_DATE": after})]
        ),
        noshows=pd.concat([ds.noshows, pd.DataFrame({"MEMBER_NO": ids, "NOSHOW_DATE": after})]),
        info=dict(ds.info),
    )
    X_tam, lab_tam, _, _ = C.forward_dataset(tampered, obs, 12)

    pd.testing.assert_frame_equal(X_full, X_cut)
    pd.testing.assert_frame_equal(X_full, X_tam)
    assert "FFP_TIER" not in X_full.columns and "Points_Sum" not in X_full.columns
    assert {"LAST_TO_END", "FLIGHT_COUNT", "COMPLAINT_COUNT", "p_alive"} <= set(X_full.columns)
    # the future does change the label: all the tampered members now flew in the horizon
    assert lab_tam.set_index("MEMBER_NO").loc[ids, "churn"].eq(0).all()
    assert lab_full.set_index("MEMBER_NO").loc[ids, "churn"].sum() > 0


# ---------------------------------------------------------------------------------------
# definition 3 and the BG/NBD scores
# ---------------------------------------------------------------------------------------
def test_palive_label_and_checks():
    pa = pd.DataFrame({"MEMBER_NO": [1, 2, 3], "p_alive": [0.2, 0.5, 0.9]})
    assert C.palive_label(pa)["churn"].tolist() == [1, 0, 0]
    assert C.palive_label(pa, 0.95)["churn"].tolist() == [1, 1, 1]
    with pytest.raises(DataValidationError, match="p_alive"):
        C.palive_label(pa.assign(p_alive=[0.2, 1.5, 0.1]))


def test_p_alive_at_uses_the_runs_purchase_model(sim, tmp_path):
    """At the observation end, churn scores with the saved model itself (same P(alive) as
    notebooks 02 and 03); at an earlier date, the same model refitted on the cut log."""
    from crm_research import clv

    ds = sim.to_dataset()
    full = clv.purchase_summary(ds, time_unit="weeks")
    m = clv.fit_ladder("mbgnbd", full)
    path = clv.save_purchase_model(
        m,
        tmp_path / "purchase_model.json",
        time_unit="weeks",
        counting_rule="flights",
        calibration_end=ds.obs_end,
    )
    upstream = {"purchase_model": clv.load_purchase_model(path)}
    cache: dict = {}
    pa, note, verdict = C.p_alive_at(ds, ds.obs_end, upstream, no_flight_weeks=52, cache=cache)
    assert "purchase_model.json" in note and verdict["model"] == "MBG/NBD"
    got = pa.set_index("MEMBER_NO")
    np.testing.assert_array_equal(
        got["p_alive"].reindex(full.index).to_numpy(),
        np.clip(m.p_alive(full["frequency"], full["recency"], full["T"]), 0, 1),
    )
    # P(no flight) is at least 1 - P(alive), and it is not 0 for one-time flyers
    assert (got["p_no_flight"] >= 1 - got["p_alive"] - 1e-12).all()
    # with notebook 02's predictions the histories are read from them, not from the log:
    # the same scores
    pred = full[["frequency", "recency", "T"]].rename_axis("MEMBER_NO").reset_index()
    with_pred = {**upstream, "purchase_predictions": pred.sample(frac=1, random_state=0)}
    pa2, note2, _ = C.p_alive_at(ds, ds.obs_end, with_pred, no_flight_weeks=52, cache={})
    assert "purchase_predictions.parquet" in note2
    pd.testing.assert_frame_equal(
        pa2.set_index("MEMBER_NO").reindex(got.index), got, check_exact=True
    )
    earlier = ds.obs_end - pd.DateOffset(months=12)
    pa0, note0, v0 = C.p_alive_at(ds, earlier, upstream, cache=cache)
    assert "MBG/NBD refitted" in note0 and v0["status"] in ("converged", "penalized")
    assert cache["model_checks"][0]["context"].startswith("notebook 05: MBG/NBD refitted")
    assert len(pa0) < len(pa)  # members who joined after the earlier date are not scored
    # without a model file: the default BG/NBD on the same counting rule
    _, note_d, v_d = C.p_alive_at(ds, earlier, {}, cache={})
    assert v_d["model"] == "BG/NBD" and "counting rule: flights" in note_d


def test_score_below_a_coin_is_flagged():
    ev = pd.DataFrame({"model": ["gbm", "1 - P(alive) baseline"], "roc_auc": [0.8, 0.32]})
    flags = C.score_checks(ev, context="notebook 05: forward label")
    assert len(flags) == 1 and flags[0]["status"] == "failed" and flags[0]["check"] == "score"
    assert "0.32" in flags[0]["sentence"] and "below 0.5" in flags[0]["sentence"]


# ---------------------------------------------------------------------------------------
# metrics against scikit-learn
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    n = 777
    y = (rng.random(n) < 0.3).astype(int)
    p = np.clip(0.3 + 0.3 * (y - 0.3) + rng.normal(0, 0.2, n), 0, 1).round(2)  # many ties
    assert C.roc_auc(y, p) == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    assert C.pr_auc(y, p) == pytest.approx(skm.average_precision_score(y, p), abs=1e-12)
    assert C.brier_score(y, p) == pytest.approx(skm.brier_score_loss(y, p), abs=1e-12)
    for strategy in ("uniform", "quantile"):
        t = C.calibration_table(y, p, n_bins=10, strategy=strategy)
        prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy=strategy)
        np.testing.assert_allclose(t["observed_rate"], prob_true, atol=1e-12)
        np.testing.assert_allclose(t["mean_predicted"], prob_pred, atol=1e-12)
    for thr in (0.3, 0.5):
        cm = C.confusion_at(y, p, thr).to_numpy()
        np.testing.assert_array_equal(cm, skm.confusion_matrix(y, (p >= thr).astype(int)))
    # gains: the churners caught in the top k = recall of "top k flagged"; lift = precision / rate
    g = C.gains_table(y, p, 10)
    order = np.argsort(-p, kind="mergesort")
    for i, k in enumerate(np.cumsum(g["n"])):
        flag = np.zeros(n, int)
        flag[order[:k]] = 1
        assert g["cum_share_churners"].iloc[i] == pytest.approx(skm.recall_score(y, flag))
        assert g["cum_lift"].iloc[i] == pytest.approx(skm.precision_score(y, flag) / y.mean())
    assert C.top_decile_lift(y, p) == pytest.approx(g["lift"].iloc[0])


def test_gains_table_hand_computed():
    y = np.array([1, 0, 1, 0, 0, 0, 1, 0, 0, 0])
    s = np.arange(10, 0, -1).astype(float)
    g = C.gains_table(y, s, 5)
    assert g["churners"].tolist() == [1, 1, 0, 1, 0]
    np.testing.assert_allclose(g["lift"], [0.5 / 0.3, 0.5 / 0.3, 0, 0.5 / 0.3, 0])
    np.testing.assert_allclose(g["cum_share_churners"], [1 / 3, 2 / 3, 2 / 3, 1, 1])
    with pytest.raises(ValueError, match="NaN"):
        C.roc_auc(y, np.r_[s[:-1], np.nan])
    with pytest.raises(ValueError, match="both classes"):
        C.roc_auc(np.zeros(4), np.arange(4.0))


def test_evaluate_scores_rows():
    y = np.array([0, 0, 1, 1, 0, 1])
    ev = C.evaluate_scores(y, {"a": [0.1, 0.2, 0.8, 0.7, 0.6, 0.4], "b": [0.5] * 6})
    a = ev.set_index("model").loc["a"]
    assert a["roc_auc"] == pytest.approx(skm.roc_auc_score(y, [0.1, 0.2, 0.8, 0.7, 0.6, 0.4]))
    assert a["precision"] == pytest.approx(2 / 3) and a["recall"] == pytest.approx(2 / 3)
    assert ev.set_index("model").loc["b", "roc_auc"] == pytest.approx(0.5)


# ---------------------------------------------------------------------------------------
# features and models
# ---------------------------------------------------------------------------------------
def test_imputer_counts_and_training_medians():
    tr = pd.DataFrame({"a": [1.0, np.nan, 3.0, 5.0], "b": [1.0, 2.0, 3.0, 4.0]})
    te = pd.DataFrame({"a": [np.nan, np.nan], "b": [np.nan, 1.0]})
    imp = C.FeatureImputer().fit(tr)
    out_tr = imp.transform(tr, "train")
    out_te = imp.transform(te, "test")
    assert out_tr.loc[1, "a"] == 3.0 and out_te["a"].tolist() == [3.0, 3.0]
    assert out_te.loc[0, "b"] == 2.5
    rep = imp.report_.set_index(["table", "feature"])["n_missing"].to_dict()
    assert rep == {("train", "a"): 1, ("test", "a"): 2, ("test", "b"): 1}
    dropped = C.FeatureImputer("drop").fit(tr).transform(te)
    assert len(dropped) == 0


def test_imputer_medians_are_simple_imputers():
    """FeatureImputer's numpy medians and fill equal SimpleImputer's (median,
    keep_empty_features) bit for bit: even and odd counts, ties, an empty column."""
    from sklearn.impute import SimpleImputer

    rng = np.random.default_rng(3)
    for trial in range(40):
        n = int(rng.integers(2, 300))
        X = rng.normal(size=(n, 4)) * 10 ** rng.uniform(-4, 7)
        X = np.round(X) if trial % 2 else X
        X[rng.random(X.shape) < rng.uniform(0, 0.6)] = np.nan
        X[:, 3] = np.nan if trial % 5 == 0 else X[:, 3]
        df = pd.DataFrame(X, columns=list("abcd"))
        sk = SimpleImputer(strategy="median", keep_empty_features=True).fit(X)
        ours = C.FeatureImputer().fit(df)
        np.testing.assert_array_equal(ours.medians_.to_numpy(), sk.statistics_)
        np.testing.assert_array_equal(ours.transform(df).to_numpy(), sk.transform(X))


def test_logit_recovers_known_odds_ratios():
    rng = np.random.default_rng(3)
    n = 6000
    X = pd.DataFrame({"x1": rng.normal(0, 1, n), "x2": rng.normal(0, 2, n)})
    X["copy"] = X["x1"] * 2 + rng.normal(0, 0.01, n)  # collinear: must be left out
    X["const"] = 1.0
    eta = -1.0 + 0.8 * X["x1"] - 0.3 * X["x2"]
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    lg = C.ChurnLogit().fit(X, y)
    assert set(lg.dropped_) == {"copy", "const"}
    t = lg.odds_ratios().set_index("feature")
    for f, beta in (("x1", 0.8), ("x2", -0.3)):
        true_or = np.exp(beta * X[f].std())
        assert t.loc[f, "ci_low"] < true_or < t.loc[f, "ci_high"]
    assert t.loc["x1", "odds_ratio"] > 1 > t.loc["x2", "odds_ratio"]
    assert "raises the odds" in t.loc["x1", "reading"]
    p = lg.predict_proba(X)
    assert p.mean() == pytest.approx(y.mean(), abs=1e-6)  # logit score equations


@pytest.fixture(scope="module")
def forward_data(ds):
    return C.build_churn_data(ds, "forward", horizon_months=12, seed=11, cache={})


def test_classifiers_beat_random_on_the_simulator(forward_data):
    cd = forward_data
    assert cd.split == "time"
    assert not set(cd.X_train.index) & set(cd.X_test.index)  # disjoint members
    assert cd.X_train.notna().all().all() and cd.X_now.notna().all().all()
    gbm = C.ChurnGBM(seed=1).fit(cd.X_train, cd.y_train)
    logit = C.ChurnLogit().fit(cd.X_train, cd.y_train)
    auc_gbm = C.roc_auc(cd.y_test, gbm.predict_proba(cd.X_test))
    auc_logit = C.roc_auc(cd.y_test, logit.predict_proba(cd.X_test))
    assert auc_gbm > 0.8 and auc_logit > 0.8
    assert C.top_decile_lift(cd.y_test, gbm.predict_proba(cd.X_test)) > 1.5
    imp = gbm.permutation_importance(cd.X_test, cd.y_test, n_repeats=2)
    assert imp["importance_mean"].iloc[0] > 0.01
    assert set(imp["feature"]) == set(cd.X_train.columns)


def test_permutation_importance_on_one_subsample_keeps_the_answer(forward_data):
    """The subsample design of ChurnGBM.permutation_importance (one subsample scored with
    and without each shuffle, 3 repeats) against a reference on all held-out members
    with 10 repeats: the same leading features, and closer to the reference than the
    former design (scikit-learn's max_samples: a subsample per feature, 5 repeats)."""
    from sklearn.inspection import permutation_importance

    cd = forward_data
    gbm = C.ChurnGBM(seed=1).fit(cd.X_train, cd.y_train)
    X, y = cd.X_test, cd.y_test.to_numpy()
    with gbm._threads():
        ref = permutation_importance(gbm.model_, X, y, scoring="roc_auc", n_repeats=10)
    ref = pd.Series(ref.importances_mean, index=X.columns)
    lead = list(ref.sort_values(ascending=False).index[:2])
    err_new, err_old = [], []
    for seed in range(3):
        gbm.seed = seed
        imp = gbm.permutation_importance(X, y, max_members=len(X) // 3)
        new = imp.set_index("feature")["importance_mean"]
        assert list(imp["feature"].iloc[:2]) == lead
        err_new.append((new - ref).abs().mean())
        with gbm._threads():
            old = permutation_importance(
                gbm.model_,
                X,
                y,
                scoring="roc_auc",
                n_repeats=5,
                random_state=seed,
                max_samples=1 / 3,
            )
        err_old.append((pd.Series(old.importances_mean, index=X.columns) - ref).abs().mean())
    assert np.mean(err_new) < np.mean(err_old)


def test_gbm_binning_in_one_pass_is_the_librarys():
    """ChurnGBM's weighted binning (churn/binning.py) gives scikit-learn's thresholds and
    predictions bit for bit, ties and all."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.utils.stats import _weighted_percentile

    from crm_research.churn.binning import _grid_percentiles, weighted_binning_in_one_pass

    rng = np.random.default_rng(4)
    grid = np.linspace(0, 100, 256)[1:-1]
    for a in (rng.normal(size=800), rng.integers(0, 300, 800).astype(float)):
        w = np.where(rng.random(len(a)) < 0.3, 2.5, 0.6)
        for average in (True, False):
            want = [_weighted_percentile(a, w, q, average=average) for q in grid]
            np.testing.assert_array_equal(_grid_percentiles(a, w, grid, average), want)
    X = pd.DataFrame(
        {
            "x": rng.normal(size=4000),
            "k": rng.integers(0, 600, 4000).astype(float),
            "few": rng.integers(0, 5, 4000).astype(float),
        }
    )
    y = (X["x"] + 0.003 * X["k"] + rng.normal(size=4000) > 1).astype(int).to_numpy()

    def fit():
        m = HistGradientBoostingClassifier(max_iter=20, class_weight="balanced", random_state=0)
        return m.fit(X, y)

    plain = fit()
    with weighted_binning_in_one_pass() as active:
        fast = fit()
    assert active
    for t0, t1 in zip(
        plain._bin_mapper.bin_thresholds_, fast._bin_mapper.bin_thresholds_, strict=True
    ):
        np.testing.assert_array_equal(t0, t1)
    np.testing.assert_array_equal(plain.predict_proba(X), fast.predict_proba(X))


def test_gbm_prior_correction_restores_the_churn_rate(ds):
    cd = C.build_churn_data(ds, "textbook", seed=5)
    rate = cd.y_train.mean()
    assert rate < 0.3  # imbalanced
    gbm = C.ChurnGBM(seed=5).fit(cd.X_train, cd.y_train)
    weighted = gbm.predict_proba_weighted(cd.X_train).mean()
    corrected = gbm.predict_proba(cd.X_train).mean()
    assert weighted > rate  # balanced weights inflate the probabilities of the rare class
    assert abs(corrected - rate) < abs(weighted - rate)
    # and the corrected probabilities are better calibrated on held-out members
    b_w = C.brier_score(cd.y_test, gbm.predict_proba_weighted(cd.X_test))
    b_c = C.brier_score(cd.y_test, gbm.predict_proba(cd.X_test))
    assert b_c < b_w
    # the correction is monotone: the ranking does not change
    assert C.roc_auc(cd.y_test, gbm.predict_proba(cd.X_test)) == pytest.approx(
        C.roc_auc(cd.y_test, gbm.predict_proba_weighted(cd.X_test))
    )


def test_definitions_scored_against_the_truth(ds):
    m, summary, notes = C.compare_definitions(ds, horizon_months=12, cache={})
    s = summary.set_index("definition")
    assert list(s.index) == ["textbook", "palive", "forward"]
    # P(alive) ranks the truly dead well above chance
    assert s.loc["palive", "truth_roc_auc"] > 0.85
    # no flight in the horizon catches every member who had truly dropped out
    assert s.loc["forward", "truth_recall"] == pytest.approx(1.0)
    assert s.loc["textbook", "members"] < s.loc["forward", "members"]
    assert {"textbook_churn", "palive_churn", "forward_churn", "truth_dead"} <= set(m.columns)


def test_missing_features_are_imputed_and_counted(forward_data):
    rep = forward_data.imputation
    assert rep is not None and (rep["n_missing"] > 0).any()
    assert set(rep["feature"]) <= {"AVG_INTERVAL", "MAX_INTERVAL", "avg_discount"}
    assert any("imputed with training medians" in n for n in forward_data.notes)


@pytest.mark.parametrize("strategy", ["median", "drop"])
def test_members_with_missing_features_are_counted(ds, strategy):
    snap = ds.snapshot.copy()
    est = snap.index[snap["FLIGHT_COUNT"] > 6][:25]
    snap.loc[est, "AGE"] = np.nan
    tb = Dataset(snapshot=snap, info={"source": "textbook", "obs_end": str(ds.obs_end.date())})
    cd = C.build_churn_data(tb, "textbook", impute=strategy, seed=2)
    rep = cd.imputation.set_index(["table", "feature"])["n_missing"]
    assert rep[("train", "AGE")] + rep[("test", "AGE")] == 25
    n_est = int((snap["FLIGHT_COUNT"] > 6).sum())
    if strategy == "median":
        assert len(cd.X_train) + len(cd.X_test) == n_est
        assert cd.X_train["AGE"].notna().all()
    else:
        assert len(cd.X_train) + len(cd.X_test) == n_est - 25
        assert any("members dropped" in n for n in cd.notes)


def test_available_definitions_by_data_kind(ds):
    cd_like = Dataset(
        snapshot=ds.snapshot.drop(columns=["FFP_TIER"]),
        flights=ds.flights[["MEMBER_NO", "FLIGHT_DATE", "REVENUE"]],
        info={"source": "cdnow", "obs_end": str(ds.obs_end.date()), "has_ffp_columns": False},
    )
    av = C.available_definitions(cd_like).set_index("definition")["available"].to_dict()
    assert av == {"textbook": False, "forward": True, "palive": True}
    d, note = C.resolve_definition("textbook", C.available_definitions(cd_like))
    assert d == "forward" and "not possible" in note
    tb_like = Dataset(snapshot=ds.snapshot, info={"source": "textbook", "obs_end": "2014-03-31"})
    av = C.available_definitions(tb_like).set_index("definition")["available"].to_dict()
    assert av == {"textbook": True, "forward": False, "palive": False}
    with pytest.raises(DataValidationError, match="needs a flight log"):
        C.forward_dataset(tb_like, "2013-03-31", 12)


# ---------------------------------------------------------------------------------------
# survival
# ---------------------------------------------------------------------------------------
def test_survival_data_and_kaplan_meier_hand_case():
    load = pd.Timestamp("2014-03-31")
    first = pd.to_datetime(["2010-01-01"] * 4 + ["2013-01-01"])
    last = pd.to_datetime(["2010-01-31", "2010-03-02", "2010-04-01", "2010-05-01", "2014-03-01"])
    snap = pd.DataFrame(
        {
            "MEMBER_NO": [1, 2, 3, 4, 5],
            "FIRST_FLIGHT_DATE": first,
            "LAST_FLIGHT_DATE": last,
            "LOAD_TIME": load,
        }
    )
    s = C.survival_data(snap, inactive_days=365).set_index("MEMBER_NO")
    assert s["event"].to_dict() == {1: 1, 2: 1, 3: 1, 4: 1, 5: 0}
    assert s.loc[1, "duration_months"] == pytest.approx(30 / C.DAYS_PER_MONTH)
    assert s.loc[5, "duration_months"] == pytest.approx((load - first[4]).days / C.DAYS_PER_MONTH)
    groups = pd.DataFrame({"MEMBER_NO": [1, 2, 3, 4, 5], "segment": ["a"] * 4 + ["b"]})
    km, summary, p = C.kaplan_meier_by_group(s.reset_index(), groups, min_members=1)
    # group a: four lapses at about 1, 2, 3 and 4 months -> half survive past 2.5 months
    assert float(km["a"].predict(2.5)) == pytest.approx(0.5)
    assert summary.set_index("group").loc["b", "lapsed"] == 0
    # log-rank (lifelines): group b never lapses while a does, so the curves differ more
    # than chance would make them with a, b shuffled (same durations, same events)
    from lifelines.statistics import logrank_test

    d = s.reset_index()
    a_, b_ = d[d["MEMBER_NO"] <= 4], d[d["MEMBER_NO"] == 5]
    ref = logrank_test(a_["duration_months"], b_["duration_months"], a_["event"], b_["event"])
    assert p == pytest.approx(ref.p_value)
    assert p < 0.5
    bad = snap.copy()
    bad.loc[0, "LAST_FLIGHT_DATE"] = pd.Timestamp("2009-01-01")
    s2 = C.survival_data(bad)
    assert len(s2) == 4 and s2.attrs["dropped"]["last flight before first flight"] == 1


# ---------------------------------------------------------------------------------------
# who is worth saving
# ---------------------------------------------------------------------------------------
def test_value_if_retained_ranks_a_likely_leaver_first():
    """Hand-computed: expected loss = P(churn) x CLV / P(alive), not P(churn) x CLV.

    Member 1, a likely leaver: P(alive) 0.2, CLV 100 -> value if retained 500; P(churn) 0.8.
    Member 2, a safe member with the same expected CLV: P(alive) 0.95, CLV 100 -> 105.26;
    P(churn) 0.1. Losses: 0.8 x 500 = 400 and 0.1 x 105.26 = 10.53.
    Member 3, safe, higher expected CLV: P(alive) 0.9, CLV 270 -> 300, P(churn) 0.5 (the
    classifier is unsure): loss 150. Member 4, a leaver: P(alive) 0.1, CLV 25 -> 250,
    P(churn) 0.9: loss 225. With P(churn) x CLV member 4 (22.5) would rank below member 3
    (135): dropout counted twice pushes the leaver down.
    """
    p = pd.Series([0.8, 0.1, 0.5, 0.9], index=pd.Index([1, 2, 3, 4], name="MEMBER_NO"))
    clv = pd.DataFrame(
        {
            "MEMBER_NO": [1, 2, 3, 4],
            "clv": [100.0, 100.0, 270.0, 25.0],
            "p_alive": [0.2, 0.95, 0.9, 0.1],
        }
    )
    ranked = C.retention_list(p, clv)
    assert ranked["MEMBER_NO"].tolist() == [1, 4, 3, 2]
    np.testing.assert_allclose(
        ranked.set_index("MEMBER_NO").loc[[1, 2, 3, 4], "value_if_retained"],
        [500.0, 100 / 0.95, 300.0, 250.0],
    )
    np.testing.assert_allclose(
        ranked.set_index("MEMBER_NO").loc[[1, 2, 3, 4], "expected_loss"],
        [400.0, 0.1 * 100 / 0.95, 150.0, 225.0],
    )
    old_rule = (p * clv.set_index("MEMBER_NO")["clv"]).sort_values(ascending=False)
    assert old_rule.index.tolist().index(4) > old_rule.index.tolist().index(3)
    assert "CLV / P(alive)" in ranked.attrs["value_basis"]


def test_campaign_arithmetic_hand_computed():
    p = pd.Series([0.5, 0.1, 0.8], index=pd.Index([11, 12, 13], name="MEMBER_NO"))
    clv = pd.DataFrame({"MEMBER_NO": [11, 12, 13], "clv": [2000.0, 4000.0, 125.0]})
    seg = pd.DataFrame({"MEMBER_NO": [11, 12, 13], "segment": [C.WINBACK, "general", C.WINBACK]})
    ranked = C.retention_list(p, clv, seg)
    assert ranked["MEMBER_NO"].tolist() == [11, 12, 13]
    np.testing.assert_allclose(ranked["expected_loss"], [1000.0, 400.0, 100.0])
    # benefit = 0.2 x 0.5 x loss = 100, 40, 10; net = 90, 30, 0 -> contact the first two
    res = C.campaign(ranked, contact_cost=10.0, acceptance_rate=0.2, margin=0.5)
    s = res.summary
    assert s["n_contact"] == 2
    assert s["cost"] == pytest.approx(20.0)
    assert s["expected_saved_value"] == pytest.approx(140.0)
    assert s["expected_return"] == pytest.approx(120.0)
    assert s["roi"] == pytest.approx(6.0)
    fixed = C.campaign(ranked, contact_cost=10.0, acceptance_rate=0.2, margin=0.5, n_contact=3)
    assert fixed.summary["expected_return"] == pytest.approx(120.0)
    assert fixed.summary["cost"] == pytest.approx(30.0)
    by = C.campaign_by_segment(res).set_index("segment")
    assert by.loc[C.WINBACK, "members"] == 2 and by.loc[C.WINBACK, "contacted"] == 1
    assert by.loc[C.WINBACK, "expected_return"] == pytest.approx(90.0)
    assert by.loc["general", "expected_return"] == pytest.approx(30.0)
    assert bool(by.loc[C.WINBACK, "winback"]) and not bool(by.loc["general", "winback"])


def test_campaign_and_list_bad_input():
    p = pd.Series([0.5, 1.2], index=pd.Index([1, 2], name="MEMBER_NO"))
    clv = pd.DataFrame({"MEMBER_NO": [1, 2], "clv": [1.0, 2.0]})
    with pytest.raises(DataValidationError, match="outside"):
        C.retention_list(p, clv)
    ok = C.retention_list(p.clip(upper=1), clv)
    with pytest.raises(ValueError, match="acceptance_rate"):
        C.campaign(ok, contact_cost=1, acceptance_rate=1.5, margin=0.3)
    with pytest.raises(ValueError, match="n_contact"):
        C.campaign(ok, contact_cost=1, acceptance_rate=0.5, margin=0.3, n_contact=5)
    partial = C.retention_list(p.clip(upper=1), clv.iloc[:1])
    assert partial.attrs["members_without_clv"] == 1


def test_proxy_clv():
    snap = pd.DataFrame({"MEMBER_NO": [1, 2], "SUM_YR_2": [100.0, np.nan]})
    assert C.proxy_clv(snap, years=3)["clv"].tolist() == [300.0, 0.0]
    with pytest.raises(DataValidationError, match="SUM_YR_2"):
        C.proxy_clv(snap.drop(columns="SUM_YR_2"))


# ---------------------------------------------------------------------------------------
# the notebook on the three data kinds
# ---------------------------------------------------------------------------------------
def _run_notebook(tmp: Path, processed: Path) -> dict:
    out = tmp / "out.ipynb"
    cmd = [
        sys.executable,
        "-m",
        "papermill",
        str(NOTEBOOK),
        str(out),
        "-p",
        "processed_dir",
        str(processed),
        "-p",
        "figures_dir",
        str(tmp / "fig"),
        "-p",
        "metrics_dir",
        str(tmp / "metrics"),
        "-p",
        "reports_dir",
        str(tmp / "reports"),
        "--cwd",
        str(NOTEBOOK.parent),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (processed / "retention_list.parquet").exists()
    assert (tmp / "reports" / "retention_list.csv").exists()
    assert (tmp / "fig" / "churn_model_evaluation.png").exists()
    return json.loads((tmp / "metrics" / "05_churn_analysis.json").read_text())


@pytest.mark.slow
def test_notebook_synthetic_with_upstream_outputs(tmp_path, sim_small):
    small = sim_small
    processed = tmp_path / "processed"
    dset = small.to_dataset()
    dset.save(processed)
    ids = dset.snapshot["MEMBER_NO"].to_numpy()
    rng = np.random.default_rng(0)
    keys = np.array(["important_retain", "important_develop", C.WINBACK, "general", "low_value"])
    pd.DataFrame({"MEMBER_NO": ids, "segment": rng.choice(keys, len(ids))}).to_parquet(
        processed / "segments.parquet"
    )
    pd.DataFrame(
        {"MEMBER_NO": ids, "p_alive": rng.random(len(ids)), "clv": 5000 * rng.random(len(ids))}
    ).to_parquet(processed / "clv.parquet")
    m = _run_notebook(tmp_path, processed)
    assert m["source"] == "synthetic" and m["definition"] == "forward" and m["split"] == "time"
    assert m["gbm_roc_auc"] > 0.7
    assert "notebook 03" in m["clv_source"] and m["campaign_margin"] == 1.0
    assert m["winback_members"] > 0
    assert "LRFMC segment" in m["km_groups"]
    lst = pd.read_parquet(processed / "retention_list.parquet")
    assert lst["expected_loss"].is_monotonic_decreasing
    assert set(lst["segment"]) <= set(keys) | {"unassigned"}


@pytest.mark.slow
def test_notebook_textbook_and_cdnow(tmp_path, sim_small):
    from crm_research.data.cdnow import cdnow_dataset
    from crm_research.data.fixtures import write_textbook_csv
    from crm_research.data.textbook import load_textbook

    csv = write_textbook_csv(sim_small.to_dataset().snapshot, tmp_path / "air_data.csv", seed=0)
    tb = tmp_path / "tb"
    load_textbook(csv).save(tb / "processed")
    m = _run_notebook(tb, tb / "processed")
    assert m["source"] == "textbook" and m["definition"] == "textbook"
    assert "proxy CLV" in m["clv_source"] and "baseline_roc_auc" not in m
    assert m["campaign_margin"] == pytest.approx(0.3)
    cd = tmp_path / "cd"
    cdnow_dataset(sample=True).save(cd / "processed")
    m = _run_notebook(cd, cd / "processed")
    assert m["source"] == "cdnow" and m["definition"] == "forward"
    assert "textbook_churn_rate" not in m and "palive_churn_rate" in m


def test_models_are_sklearn_estimators():
    """ChurnLogit, ChurnGBM and FeatureImputer follow scikit-learn's conventions."""
    from sklearn.base import clone

    gbm = clone(C.ChurnGBM(max_iter=7, seed=3))
    assert gbm.get_params()["max_iter"] == 7 and gbm.get_params()["seed"] == 3
    assert clone(C.ChurnLogit(max_corr=0.9)).get_params()["max_corr"] == 0.9
    assert clone(C.FeatureImputer("drop")).strategy == "drop"


def test_sklearn_metrics_agree_with_definitions():
    """The wrapped sklearn metrics keep the definitions the docstrings state."""
    y = np.array([0, 0, 1, 1, 0, 1, 0, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.7, 0.6, 0.9])
    # Mann-Whitney: pairs (churner, non-churner) with churner ranked higher
    pos, neg = s[y == 1], s[y == 0]
    mw = np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])
    assert C.roc_auc(y, s) == pytest.approx(mw)
    assert C.brier_score(y, s) == pytest.approx(np.mean((s - y) ** 2))
    cm = C.confusion_at(y, s, 0.5).to_numpy()
    assert cm.tolist() == [[3, 1], [1, 3]]
    cal = C.calibration_table(y, s, n_bins=2, strategy="uniform")
    assert cal["n"].sum() == len(y)
    assert cal["observed_rate"].is_monotonic_increasing
