"""Tests of crm_research.ahp: weights, consistency ratio, bad matrices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_research.ahp import (
    RANDOM_INDEX,
    AHPInconsistentError,
    ahp_weights,
    pairwise_matrix,
)


def test_golden_three_by_three_leader_example():
    # Published worked example: Wikipedia, "Analytic hierarchy process - leader example",
    # pairwise comparisons of the three candidates on "experience" (Tom, Dick, Harry):
    #     [[1, 1/4, 4], [4, 1, 9], [1/4, 1/9, 1]],
    # reported priorities 0.217, 0.717, 0.066 (Saaty's eigenvector method).
    #
    # Hand check. For any 3 x 3 reciprocal matrix [[1, a, b], [1/a, 1, c], [1/b, 1/c, 1]]
    # the vector of row geometric means w = ((ab)^(1/3), (c/a)^(1/3), (1/(bc))^(1/3)) is
    # the principal eigenvector: (A w)_i / w_i = 1 + (ac/b)^(1/3) + (b/(ac))^(1/3) for
    # every row i. Here a = 1/4, b = 4, c = 9:
    #   w = (1, 36^(1/3), 36^(-1/3)) = (1, 3.30193, 0.30285), sum 4.60478
    #   -> (0.21717, 0.71707, 0.06577), i.e. 0.217, 0.717, 0.066 as published;
    #   lambda_max = 1 + 0.5625^(1/3) + 1.77778^(1/3) = 1 + 0.82548 + 1.21141 = 3.03689;
    #   CI = (3.03689 - 3) / 2 = 0.018445; CR = CI / RI(3) = 0.018445 / 0.58 = 0.0318.
    m = [[1, "1/4", 4], [4, 1, 9], ["1/4", "1/9", 1]]
    res = ahp_weights(m, ["Tom", "Dick", "Harry"])
    np.testing.assert_allclose(res.weights.round(3).to_numpy(), [0.217, 0.717, 0.066])
    g = np.array([1.0, 36 ** (1 / 3), 36 ** (-1 / 3)])
    np.testing.assert_allclose(res.weights.to_numpy(), g / g.sum(), rtol=1e-10)
    lam = 1 + (0.25 * 9 / 4) ** (1 / 3) + (4 / (0.25 * 9)) ** (1 / 3)
    assert res.lambda_max == pytest.approx(lam, rel=1e-10)
    assert res.lambda_max == pytest.approx(3.03689, abs=1e-5)
    assert res.consistency_index == pytest.approx((lam - 3) / 2, rel=1e-8)
    assert res.random_index == 0.58
    assert res.consistency_ratio == pytest.approx(0.0318, abs=1e-4)
    assert res.acceptable
    assert list(res.weights.index) == ["Tom", "Dick", "Harry"]


def test_saaty_brightness_example_recovers_inverse_square_law():
    # Saaty (1977), J. Math. Psychol. 15, 234-281 (also Saaty 1980, ch. 2): judgements of
    # the relative brightness of four chairs at 9, 15, 21 and 28 yards from a light source.
    # Saaty reports lambda_max = 4.39 for this matrix and shows that the eigenvector comes
    # close to the physical truth, relative brightness proportional to 1 / distance^2
    # (normalised: 0.607, 0.219, 0.112, 0.063). We check lambda_max to two decimals and
    # the weights against the physics, computed here from the distances.
    m = [
        [1, 5, 6, 7],
        ["1/5", 1, 4, 6],
        ["1/6", "1/4", 1, 4],
        ["1/7", "1/6", "1/4", 1],
    ]
    res = ahp_weights(m, max_cr=None)
    assert round(res.lambda_max, 2) == 4.39
    d = np.array([9.0, 15.0, 21.0, 28.0])
    physics = (1 / d**2) / (1 / d**2).sum()
    assert np.max(np.abs(res.weights.to_numpy() - physics)) < 0.02
    assert res.consistency_ratio == pytest.approx((res.lambda_max - 4) / 3 / 0.90)


def test_consistent_matrix_gives_its_weights_exactly():
    w = np.array([0.4, 0.3, 0.15, 0.1, 0.05])
    m = w[:, None] / w[None, :]
    res = ahp_weights(m, list("LRFMC"))
    np.testing.assert_allclose(res.weights.to_numpy(), w, rtol=1e-10)
    assert res.lambda_max == pytest.approx(5.0, abs=1e-10)
    assert res.consistency_ratio == pytest.approx(0.0, abs=1e-10)
    assert res.random_index == RANDOM_INDEX[5] == 1.12


def test_inconsistent_matrix_is_refused_with_the_ratio():
    # a cycle: 1 >> 2, 2 >> 3, but 3 >> 1
    m = [[1, 9, "1/9"], ["1/9", 1, 9], [9, "1/9", 1]]
    with pytest.raises(AHPInconsistentError, match=r"consistency ratio CR = .* >= 0.1"):
        ahp_weights(m)
    res = ahp_weights(m, max_cr=None)
    assert not res.acceptable
    assert res.consistency_ratio > 1


def test_two_criteria_always_consistent():
    res = ahp_weights([[1, 3], ["1/3", 1]], ["a", "b"])
    np.testing.assert_allclose(res.weights.to_numpy(), [0.75, 0.25])
    assert res.consistency_ratio == 0.0


def test_dataframe_input_keeps_labels_and_rounded_reciprocals_pass():
    df = pd.DataFrame([[1, 3], [0.33, 1]], index=["x", "y"], columns=["x", "y"])
    res = ahp_weights(df)
    assert list(res.weights.index) == ["x", "y"]


@pytest.mark.parametrize(
    ("matrix", "pattern"),
    [
        ([[1, 2, 3], [0.5, 1]], "not square"),
        ([[1, 2], [0.5, 1], [1, 1]], "not square"),
        ([[1, 0], [0, 1]], "positive"),
        ([[1, -2], ["-1/2", 1]], "positive"),
        ([[1, 3], [3, 1]], "not reciprocal"),
        ([[1, 3], [0.3, 1]], "not reciprocal"),
        ([[2, 3], ["1/3", 1]], "diagonal"),
        ([[1, "three"], ["1/3", 1]], "not a number"),
        ([[1, None], ["1/3", 1]], "not a number"),
        ([[1, float("nan")], ["1/3", 1]], "positive"),
        ("abc", "square matrix"),
    ],
)
def test_bad_matrices_raise_clear_errors(matrix, pattern):
    with pytest.raises(ValueError, match=pattern):
        pairwise_matrix(matrix)


def test_error_names_the_offending_entries():
    with pytest.raises(ValueError, match=r"\[L, R\] = 3 but \[R, L\] = 3"):
        pairwise_matrix([[1, 3], [3, 1]], ["L", "R"])


def test_label_count_must_match():
    with pytest.raises(ValueError, match="labels"):
        pairwise_matrix([[1, 3], ["1/3", 1]], ["a", "b", "c"])


def test_too_many_criteria_for_the_random_index_table():
    n = max(RANDOM_INDEX) + 1
    with pytest.raises(ValueError, match="random index"):
        ahp_weights(np.ones((n, n)))


def test_ahp_score_ranks_true_next_year_value_on_the_simulator(ds_small, ahp_matrix_04):
    """The paper's AHP score ranks the simulator's true next-year value (Spearman > 0.3),
    and better than equal weights do (the AHP weights favour F and M, which drive value)."""
    from scipy.stats import spearmanr

    from crm_research import segmentation as sg

    matrix = ahp_matrix_04  # notebook 04's default
    kept, _ = sg.clean_members(ds_small.snapshot, "first_edition")
    X = sg.lrfmc_features(kept)
    truth = sg.true_future_value(ds_small.truth, 52).set_index("MEMBER_NO")["true_value"]
    rho = {}
    for name, m in (("ahp", matrix), ("equal", [["1"] * 5] * 5)):
        score = sg.value_score(X, ahp_weights(m, sg.LRFMC), "minmax")
        rho[name] = spearmanr(score.to_numpy(), truth.reindex(score.index).to_numpy())[0]
    assert rho["ahp"] > 0.3
    assert rho["ahp"] > rho["equal"]
