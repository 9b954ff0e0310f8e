"""Chapter 2's scaling laws against the seed, scipy's minimisers and the published constants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize, minimize_scalar

from course_utils.compute import training_flops
from course_utils.presets import PRESETS
from course_utils.scaling import (
    CHINCHILLA,
    EPOCH_2024,
    FRONTIER_MODELS,
    HOFFMANN_TABLE_2,
    KAPLAN_JOINT,
    KAPLAN_PARAMS_EXPONENT,
    KAPLAN_SINGLE_VARIABLE,
    FrontierPosition,
    KaplanLaws,
    ScalingLaws,
    frontier_exponents,
    frontier_positions,
    inference_aware_allocation,
    isoflop_minimum,
    isoflop_profile,
    tokens_for_budget,
)

LAWS = pytest.mark.parametrize("law", [CHINCHILLA, EPOCH_2024], ids=["chinchilla", "epoch"])
BUDGETS = (1e18, 1e21, 1e23, 1e25, 1e27)


# -- the seed's interface ---------------------------------------------------------------------


class SeedScalingLaws:
    """The course seed's class, verbatim in behaviour, to compare against."""

    def __init__(self, E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28):
        self.E, self.A, self.B, self.alpha, self.beta = E, A, B, alpha, beta

    def predict_loss(self, N, D):
        return self.E + self.A / (N**self.alpha) + self.B / (D**self.beta)

    def optimal_tokens(self, N):
        return 20 * N

    def compute_optimal_allocation(self, compute_budget):
        N = np.sqrt(compute_budget / 120)
        D = self.optimal_tokens(N)
        return int(N), int(D)


def seed_table(scaling) -> list[str]:
    lines = []
    for N in [7e9, 13e9, 70e9]:
        optimal_D = scaling.optimal_tokens(N)
        loss = scaling.predict_loss(N, optimal_D)
        lines.append(f"{N / 1e9:.0f}B model: {optimal_D / 1e12:.1f}T tokens, Loss: {loss:.3f}")
    return lines


def test_the_seeds_table_is_reproduced():
    assert seed_table(ScalingLaws()) == seed_table(SeedScalingLaws())
    assert seed_table(ScalingLaws()) == [
        "7B model: 0.1T tokens, Loss: 2.184",
        "13B model: 0.3T tokens, Loss: 2.099",
        "70B model: 1.4T tokens, Loss: 1.937",
    ]


def test_defaults_are_the_chinchilla_preset():
    assert ScalingLaws() == CHINCHILLA
    assert ScalingLaws(1.69, 406.4, 410.7, 0.34, 0.28) == CHINCHILLA


@pytest.mark.parametrize("budget", [1e15, 3.7e20, 1e23, 5.76e23, 1e26])
def test_compute_optimal_allocation_is_the_seeds(budget):
    assert CHINCHILLA.compute_optimal_allocation(budget) == (
        SeedScalingLaws().compute_optimal_allocation(budget)
    )
    N, D = CHINCHILLA.compute_optimal_allocation(budget)
    assert isinstance(N, int) and isinstance(D, int)


def test_methods_work_elementwise_on_arrays():
    N = np.array([[1e8], [1e10]])
    D = np.array([1e10, 1e11, 1e12])
    losses = EPOCH_2024.predict_loss(N, D)
    assert losses.shape == (2, 3)
    for i, j in np.ndindex(losses.shape):
        expected = EPOCH_2024.predict_loss(float(N[i, 0]), float(D[j]))
        assert losses[i, j] == pytest.approx(expected, rel=1e-14)
    budgets = np.array(BUDGETS)
    N_opt, D_opt = EPOCH_2024.exact_optimal_allocation(budgets)
    for k, budget in enumerate(budgets):
        assert (N_opt[k], D_opt[k]) == pytest.approx(
            EPOCH_2024.exact_optimal_allocation(budget), rel=1e-14
        )
    seed_N, seed_D = CHINCHILLA.compute_optimal_allocation(budgets)
    assert seed_N.dtype == np.int64
    assert [(int(n), int(d)) for n, d in zip(seed_N, seed_D, strict=True)] == [
        CHINCHILLA.compute_optimal_allocation(b) for b in BUDGETS
    ]
    np.testing.assert_array_equal(CHINCHILLA.optimal_tokens(np.array([1e9, 7e9])), [2e10, 1.4e11])


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), [1e9, 0.0]])
def test_non_positive_sizes_and_budgets_are_refused(bad):
    with pytest.raises(ValueError, match="N must be positive"):
        CHINCHILLA.predict_loss(bad, 1e9)
    with pytest.raises(ValueError, match="D must be positive"):
        CHINCHILLA.predict_loss(1e9, bad)
    with pytest.raises(ValueError, match="N must be positive"):
        CHINCHILLA.optimal_tokens(bad)
    with pytest.raises(ValueError, match="compute_budget must be positive"):
        CHINCHILLA.compute_optimal_allocation(bad)
    with pytest.raises(ValueError, match="C must be positive"):
        CHINCHILLA.exact_optimal_allocation(bad)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("E", -0.1, "E must be a finite number >= 0, got -0.1"),
        ("A", 0.0, "A must be a positive, finite number, got 0.0"),
        ("B", float("nan"), "B must be a positive, finite number, got nan"),
        ("alpha", -0.3, "alpha must be a positive, finite number, got -0.3"),
        ("beta", "0.28", "beta must be a positive, finite number, got '0.28'"),
        ("alpha", True, "alpha must be a positive, finite number, got True"),
    ],
)
def test_bad_constants_are_refused(field, value, message):
    constants = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28, field: value}
    with pytest.raises(ValueError, match=message):
        ScalingLaws(**constants)


def test_presets_cannot_be_changed_by_accident():
    with pytest.raises(AttributeError):
        CHINCHILLA.E = 1.0


# -- published constants ---------------------------------------------------------------------


def test_chinchilla_is_the_approach_3_fit_as_printed():
    # Hoffmann et al. 2022, section 3.3 / Appendix D.2.
    assert (CHINCHILLA.E, CHINCHILLA.A, CHINCHILLA.B) == (1.69, 406.4, 410.7)
    assert (CHINCHILLA.alpha, CHINCHILLA.beta) == (0.34, 0.28)


def test_epoch_2024_is_the_replications_table_1():
    # Besiroglu et al. 2024, Table 1.
    assert (EPOCH_2024.E, EPOCH_2024.A, EPOCH_2024.B) == (1.8172, 482.01, 2085.43)
    assert (EPOCH_2024.alpha, EPOCH_2024.beta) == (0.3478, 0.3658)
    # Their text: a = beta/(alpha+beta) = 0.5126, in line with Approaches 1 and 2.
    assert round(EPOCH_2024.params_exponent, 4) == 0.5126
    assert (
        abs(
            EPOCH_2024.params_exponent
            - HOFFMANN_TABLE_2["Approach 1 (minimum over training curves)"][0]
        )
        < 0.02
    )


def test_frontier_exponents_against_hoffmann_table_2():
    a, b = HOFFMANN_TABLE_2["Approach 3 (parametric fit)"]
    # The unrounded exponents of the TeX source (Besiroglu et al. 2024, section 2) give the
    # table's a = 0.46, b = 0.54; the rounded ones printed in the paper give 0.45 and 0.55.
    unrounded = ScalingLaws(E=1.69, A=406.4, B=410.7, alpha=0.3392, beta=0.2849)
    assert (round(unrounded.params_exponent, 2), round(unrounded.tokens_exponent, 2)) == (a, b)
    assert (round(CHINCHILLA.params_exponent, 2), round(CHINCHILLA.tokens_exponent, 2)) == (
        0.45,
        0.55,
    )
    for a, b in HOFFMANN_TABLE_2.values():
        assert a + b == pytest.approx(1.0)
    assert HOFFMANN_TABLE_2["Kaplan et al. (2020)"][0] == KAPLAN_PARAMS_EXPONENT


def test_twenty_tokens_per_parameter_fits_the_refit_not_the_rounded_law():
    chinchilla_budget = training_flops(70e9, 1.4e12)
    # Besiroglu et al.'s point: their refit agrees with the 20 tokens/parameter Chinchilla
    # was trained with; the rounded printed constants put the optimum near 93.
    assert 15 < EPOCH_2024.tokens_per_parameter(chinchilla_budget) < 25
    assert round(CHINCHILLA.tokens_per_parameter(chinchilla_budget)) == 93


# -- the exact optimum against numerical minimisers -------------------------------------------


@LAWS
@pytest.mark.parametrize("budget", BUDGETS)
def test_exact_optimum_matches_scipys_minimum_on_the_isoflop_curve(law, budget):
    def loss_at(log_n):
        n = math.exp(log_n)
        return law.E + law.A / n**law.alpha + law.B / (budget / (6 * n)) ** law.beta

    found = minimize_scalar(loss_at, bracket=(10.0, 20.0), tol=1e-12)
    n_opt, d_opt = law.exact_optimal_allocation(budget)
    assert n_opt == pytest.approx(math.exp(found.x), rel=1e-5)
    assert 6 * n_opt * d_opt == pytest.approx(budget, rel=1e-12)


@LAWS
@pytest.mark.parametrize("budget", [1e20, 1e24])
def test_exact_optimum_matches_a_constrained_minimiser(law, budget):
    """SLSQP on (log N, log D) with the constraint 6·N·D = C, from a far-off start."""
    scale = math.log(budget / 6)

    def loss(x):
        return law.E + law.A * math.exp(-law.alpha * x[0]) + law.B * math.exp(-law.beta * x[1])

    constraint = {"type": "eq", "fun": lambda x: (x[0] + x[1] - scale) / scale}
    found = minimize(
        loss,
        x0=[scale * 0.2, scale * 0.8],
        constraints=[constraint],
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 500},
    )
    N, D = law.exact_optimal_allocation(budget)
    assert found.success, found.message
    assert math.log(N) == pytest.approx(found.x[0], abs=1e-4)
    assert math.log(D) == pytest.approx(found.x[1], abs=1e-4)


@LAWS
def test_the_first_order_condition_holds_at_the_optimum(law):
    """Section 3.3: at the optimum alpha·A/N^alpha = beta·B/D^beta."""
    N, D = law.exact_optimal_allocation(np.array(BUDGETS))
    np.testing.assert_allclose(law.alpha * law.A / N**law.alpha, law.beta * law.B / D**law.beta)


@settings(max_examples=60, deadline=None)
@given(
    E=st.floats(0.0, 3.0),
    A=st.floats(1.0, 1e4),
    B=st.floats(1.0, 1e4),
    alpha=st.floats(0.1, 0.8),
    beta=st.floats(0.1, 0.8),
    log_budget=st.floats(15.0, 28.0),
    shift=st.sampled_from([0.5, 0.9, 0.99, 1.01, 1.1, 2.0]),
)
def test_no_other_split_of_the_budget_does_better(E, A, B, alpha, beta, log_budget, shift):
    law = ScalingLaws(E, A, B, alpha, beta)
    budget = 10.0**log_budget
    N, D = law.exact_optimal_allocation(budget)
    assert law.predict_loss(N, D) <= law.predict_loss(N * shift, D / shift)


@LAWS
def test_tokens_per_parameter_closed_form(law):
    budgets = np.array(BUDGETS)
    exponent = (law.alpha - law.beta) / (law.alpha + law.beta)
    np.testing.assert_allclose(
        law.tokens_per_parameter(budgets), law.G**-2 * (budgets / 6) ** exponent, rtol=1e-12
    )


@LAWS
def test_optimal_loss_and_compute_for_loss_are_inverse(law):
    budgets = np.array(BUDGETS)
    np.testing.assert_allclose(law.compute_for_loss(law.optimal_loss(budgets)), budgets, rtol=1e-9)
    with pytest.raises(ValueError, match="greater than the irreducible loss"):
        law.compute_for_loss(law.E)


@LAWS
def test_isoflop_minima_agree_with_the_closed_form(law):
    budgets = np.geomspace(1e18, 1e26, 9)
    N, D = isoflop_minimum(law, budgets)
    expected_N, expected_D = law.exact_optimal_allocation(budgets)
    np.testing.assert_allclose(N, expected_N, rtol=1e-6)
    np.testing.assert_allclose(D, expected_D, rtol=1e-6)
    a, b = frontier_exponents(budgets, N, D)
    assert a == pytest.approx(law.params_exponent, abs=1e-6)
    assert b == pytest.approx(law.tokens_exponent, abs=1e-6)


def test_isoflop_profile_spends_the_budget():
    N = np.geomspace(1e8, 1e11, 5)
    D = tokens_for_budget(1e22, N)
    np.testing.assert_allclose(training_flops(N, D), 1e22)
    np.testing.assert_array_equal(
        isoflop_profile(CHINCHILLA, 1e22, N), CHINCHILLA.predict_loss(N, D)
    )


def test_frontier_exponents_read_a_slope_and_refuse_bad_input():
    budgets = np.geomspace(1e18, 1e24, 7)
    assert frontier_exponents(budgets, 3 * budgets**0.6, budgets**0.4 / 18) == pytest.approx(
        (0.6, 0.4)
    )
    with pytest.raises(ValueError, match="at least two"):
        frontier_exponents([1e20], [1e9], [1e10])
    with pytest.raises(ValueError, match="same shape"):
        frontier_exponents(budgets, budgets[:3], budgets)


def test_describe_shows_the_constants():
    text = EPOCH_2024.describe()
    for part in ("E=1.817", "A=482", "B=2085", "alpha=0.3478", "beta=0.3658", "a=0.513"):
        assert part in text


# -- Kaplan et al. 2020 -------------------------------------------------------------------------


def test_kaplan_constants_are_the_papers():
    # Eqs. 1.1-1.2 (section 1.2) and the joint fit of eq. 1.5 (Table 2).
    assert (KAPLAN_SINGLE_VARIABLE.alpha_N, KAPLAN_SINGLE_VARIABLE.N_c) == (0.076, 8.8e13)
    assert (KAPLAN_SINGLE_VARIABLE.alpha_D, KAPLAN_SINGLE_VARIABLE.D_c) == (0.095, 5.4e13)
    assert (KAPLAN_JOINT.alpha_N, KAPLAN_JOINT.alpha_D) == (0.076, 0.103)
    assert (KAPLAN_JOINT.N_c, KAPLAN_JOINT.D_c) == (6.4e13, 1.8e13)


def test_kaplan_single_variable_laws():
    assert KAPLAN_SINGLE_VARIABLE.loss_from_parameters(1e9) == pytest.approx(88_000**0.076)
    assert KAPLAN_SINGLE_VARIABLE.loss_from_tokens(5.4e10) == pytest.approx(1000**0.095)


def test_kaplans_joint_law_tends_to_power_laws_in_each_limit():
    N = np.geomspace(1e6, 1e11, 6)
    np.testing.assert_allclose(
        KAPLAN_JOINT.predict_loss(N, 1e40), KAPLAN_JOINT.loss_from_parameters(N), rtol=1e-9
    )
    D = np.geomspace(1e8, 1e13, 6)
    np.testing.assert_allclose(
        KAPLAN_JOINT.predict_loss(1e40, D), KAPLAN_JOINT.loss_from_tokens(D), rtol=1e-9
    )
    # ...but with the joint fit's constants, not the single-variable fits'.
    assert KAPLAN_JOINT.loss_from_parameters(1e9) / KAPLAN_SINGLE_VARIABLE.loss_from_parameters(
        1e9
    ) == pytest.approx((6.4 / 8.8) ** 0.076)
    # At 10B tokens the two data laws differ by about 0.1 nats (4%).
    joint, single = (
        KAPLAN_JOINT.loss_from_tokens(1e10),
        KAPLAN_SINGLE_VARIABLE.loss_from_tokens(1e10),
    )
    assert single - joint > 0.09


def test_kaplan_refuses_bad_input():
    with pytest.raises(ValueError, match="alpha_N must be a positive, finite number"):
        KaplanLaws(alpha_N=0, alpha_D=0.1, N_c=1e13, D_c=1e13)
    with pytest.raises(ValueError, match="N must be positive"):
        KAPLAN_JOINT.predict_loss(-1, 1e9)


# -- real models on the frontier --------------------------------------------------------------


def test_frontier_positions_use_chapter_1s_presets():
    positions = {p.name: p for p in frontier_positions(EPOCH_2024)}
    assert tuple(positions) == FRONTIER_MODELS
    for name, position in positions.items():
        preset = PRESETS[name]
        assert position.n_params == preset.published_params
        assert position.n_tokens == preset.training_tokens
        assert position.flops == training_flops(preset.published_params, preset.training_tokens)
        N_opt, D_opt = EPOCH_2024.exact_optimal_allocation(position.flops)
        assert (position.optimal_params, position.optimal_tokens) == (N_opt, D_opt)
    verdicts = {name: p.verdict for name, p in positions.items()}
    assert verdicts == {
        "gpt3-175b": "under-trained",
        "gopher-280b": "under-trained",
        "chinchilla-70b": "near compute-optimal",
        "llama-2-7b": "over-trained",
        "llama-3-8b": "over-trained",
    }
    assert positions["llama-3-8b"].training_ratio > 50


def test_frontier_verdict_thresholds():
    def position(ratio):
        return FrontierPosition("x", 1e9, 20e9 * ratio, 1e9, 20e9)

    assert position(2.01).verdict == "over-trained"
    assert position(1.99).verdict == "near compute-optimal"
    assert position(0.51).verdict == "near compute-optimal"
    assert position(0.49).verdict == "under-trained"


def test_frontier_positions_refuse_unknown_models():
    with pytest.raises(ValueError, match="names must be one of .*; got .gpt-5."):
        frontier_positions(CHINCHILLA, ["gpt-5"])
    with pytest.raises(ValueError, match="no published training tokens"):
        frontier_positions(CHINCHILLA, ["gpt2"])


# -- inference-aware allocation -----------------------------------------------------------------


@LAWS
def test_without_inference_the_allocation_is_compute_optimal(law):
    loss = law.optimal_loss(1e23)
    n_found, d_found = inference_aware_allocation(law, loss, 0)
    n_opt, d_opt = law.exact_optimal_allocation(1e23)
    assert n_found == pytest.approx(n_opt, rel=1e-6)
    assert d_found == pytest.approx(d_opt, rel=1e-6)


@LAWS
def test_serving_more_tokens_favours_smaller_models_trained_longer(law):
    loss = law.predict_loss(8e9, 15e12)
    served = [0.0, 1e12, 1e13, 1e14]
    sizes, tokens = zip(*(inference_aware_allocation(law, loss, t) for t in served), strict=True)
    assert list(sizes) == sorted(sizes, reverse=True)
    assert list(tokens) == sorted(tokens)
    for N, D in zip(sizes, tokens, strict=True):
        assert law.predict_loss(N, D) == pytest.approx(loss, rel=1e-9)


def test_inference_aware_allocation_against_a_brute_force_search():
    law, served = EPOCH_2024, 3e13
    loss = law.predict_loss(8e9, 15e12)
    n_min = (law.A / (loss - law.E)) ** (1 / law.alpha)
    N = n_min * np.geomspace(1 + 1e-6, 1e6, 200_001)
    D = (law.B / (loss - law.E - law.A / N**law.alpha)) ** (1 / law.beta)
    total = 6 * N * D + 2 * N * served
    best = np.argmin(total)
    found_N, found_D = inference_aware_allocation(law, loss, served)
    assert found_N == pytest.approx(N[best], rel=1e-3)
    assert 6 * found_N * found_D + 2 * found_N * served <= total[best] * (1 + 1e-9)


def test_inference_aware_allocation_refuses_bad_input():
    with pytest.raises(ValueError, match="greater than the irreducible loss"):
        inference_aware_allocation(CHINCHILLA, 1.5, 0)
    with pytest.raises(ValueError, match="inference_tokens must be a finite number >= 0"):
        inference_aware_allocation(CHINCHILLA, 2.0, -1)


@pytest.mark.parametrize(
    "call",
    [
        lambda: isoflop_profile("chinchilla", 1e22, 1e9),
        lambda: isoflop_minimum(None, 1e22),
        lambda: frontier_positions(KAPLAN_JOINT),
        lambda: inference_aware_allocation({"E": 1.69}, 2.0, 0),
    ],
)
def test_functions_of_a_law_refuse_anything_else(call):
    with pytest.raises(ValueError, match="law must be a ScalingLaws"):
        call()


# -- figures ------------------------------------------------------------------------------------


def test_plot_loss_landscape_draws_every_budget_and_the_optimal_path():
    import matplotlib

    matplotlib.use("Agg")
    from course_utils.scaling import CHINCHILLA, plot_loss_landscape

    budgets = [1e21, 1e23, 1e25]
    ax = plot_loss_landscape(CHINCHILLA, budgets=budgets)
    assert ax.get_title() and "N" in ax.get_xlabel() and "D" in ax.get_ylabel()
    assert len(ax.lines) == len(budgets) + 1  # the budget lines and the optimum
    path_n, path_d = ax.lines[-1].get_data()
    assert np.allclose(path_n * path_d * 6, np.geomspace(1e19, 1e27, 50), rtol=1e-9)
    assert len(ax.texts) == len(budgets)


def test_plot_isoflop_profiles_marks_each_minimum():
    import matplotlib

    matplotlib.use("Agg")
    from course_utils.scaling import CHINCHILLA, isoflop_minimum, plot_isoflop_profiles

    budgets = [1e20, 1e22]
    ax = plot_isoflop_profiles(CHINCHILLA, budgets)
    assert ax.get_title() and ax.get_xlabel() and "loss" in ax.get_ylabel()
    assert len(ax.lines) == 2 * len(budgets)  # a profile and its minimum per budget
    assert len(ax.get_legend().get_texts()) == len(budgets)
    best_n, _ = isoflop_minimum(CHINCHILLA, 1e22)
    assert ax.lines[3].get_xdata()[0] == pytest.approx(best_n)


def test_plot_frontier_positions_draws_each_law_and_each_model():
    import matplotlib

    matplotlib.use("Agg")
    from course_utils.scaling import (
        CHINCHILLA,
        EPOCH_2024,
        frontier_positions,
        plot_frontier_positions,
    )

    positions = frontier_positions(EPOCH_2024)
    ax = plot_frontier_positions(positions, {"EPOCH_2024": EPOCH_2024, "CHINCHILLA": CHINCHILLA})
    assert ax.get_title() and "FLOPs" in ax.get_xlabel() and "D/N" in ax.get_ylabel()
    assert len(ax.lines) == 2 + 1 + len(positions)  # two laws, the 20x rule, one dot a model
    assert [t.get_text() for t in ax.texts] == [p.name for p in positions]
