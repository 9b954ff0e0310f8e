"""The Approach 3 fitter recovers known constants from synthetic training runs.

Recovery tolerances (checked below):

* without noise, all five constants to a relative 1e-6;
* from 90 runs on 9 isoFLOP profiles with 0.5% relative noise, for both presets and four noise
  seeds: |ΔE| ≤ 0.1, |Δalpha| and |Δbeta| ≤ 0.05, |Δa| ≤ 0.05 (a = beta/(alpha+beta)), and
  the fitted law predicts the true loss within 1.5% on the runs and within 2% at Chinchilla's
  scale (100x the largest budget). The worst cases we measured were 0.051, 0.024, 0.023, 0.64%
  and 0.9%: the individual constants are much less certain than the predictions, because A
  and alpha (and B and beta) trade off against each other.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from scipy.special import huber as scipy_huber

from course_utils.compute import training_flops
from course_utils.scaling import CHINCHILLA, EPOCH_2024, ScalingLaws
from course_utils.scaling_fit import (
    HOFFMANN_GRID,
    HOFFMANN_ISOFLOP_BUDGETS,
    HUBER_DELTA,
    bootstrap_scaling_law,
    fit_objective,
    fit_scaling_law,
    huber,
    huber_objective,
    initial_grid,
    law_to_theta,
    synthetic_measurements,
)

LAWS = pytest.mark.parametrize("law", [CHINCHILLA, EPOCH_2024], ids=["chinchilla", "epoch"])
NOISE = 0.005


def constants(law: ScalingLaws) -> np.ndarray:
    return np.array([law.E, law.A, law.B, law.alpha, law.beta])


# -- the pieces --------------------------------------------------------------------------------


def test_huber_is_scipys():
    residuals = np.linspace(-0.01, 0.01, 101)
    np.testing.assert_allclose(huber(residuals), scipy_huber(HUBER_DELTA, residuals))
    np.testing.assert_allclose(huber(residuals, 0.004), scipy_huber(0.004, residuals))


def test_the_objective_is_zero_at_the_truth_and_its_gradient_is_right():
    N, D, loss = synthetic_measurements(EPOCH_2024, noise=0.0)
    log_n, log_d, log_loss = np.log(N), np.log(D), np.log(loss)
    value, gradient = huber_objective(law_to_theta(EPOCH_2024), log_n, log_d, log_loss)
    assert value == pytest.approx(0.0, abs=1e-20)
    np.testing.assert_allclose(gradient, 0.0, atol=1e-10)
    rng = np.random.default_rng(1)
    for _ in range(5):
        theta = law_to_theta(EPOCH_2024) + rng.normal(0, 0.05, 5)
        numeric = approx_fprime(
            theta, lambda t: huber_objective(t, log_n, log_d, log_loss)[0], 1e-7
        )
        analytic = huber_objective(theta, log_n, log_d, log_loss)[1]
        np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-4)


def test_the_log_sum_exp_form_predicts_the_law():
    """exp(LSE(a - alpha log N, b - beta log D, e)) is E + A/N^alpha + B/D^beta."""
    N, D, loss = synthetic_measurements(CHINCHILLA, noise=0.0)
    np.testing.assert_allclose(loss, CHINCHILLA.predict_loss(N, D), rtol=1e-12)
    assert fit_objective(CHINCHILLA, N, D, loss) == pytest.approx(0.0, abs=1e-20)
    assert fit_objective(EPOCH_2024, N, D, loss) > 1.0


def test_the_default_grid_is_hoffmanns():
    starts = initial_grid()
    assert starts.shape == (4500, 5)
    for column, name in enumerate(("a", "b", "e", "alpha", "beta")):
        assert sorted(set(starts[:, column])) == list(HOFFMANN_GRID[name])
    assert len({tuple(row) for row in starts}) == 4500
    with pytest.raises(ValueError, match="grid must give"):
        initial_grid({"a": (0.0,)})


def test_synthetic_measurements_lie_on_isoflop_profiles():
    N, D, loss = synthetic_measurements(CHINCHILLA, models_per_budget=7, noise=0.0)
    assert N.shape == D.shape == loss.shape == (9 * 7,)
    budgets = training_flops(N, D).reshape(9, 7)
    np.testing.assert_allclose(budgets, np.repeat(HOFFMANN_ISOFLOP_BUDGETS, 7).reshape(9, 7))
    ratios = (D / N).reshape(9, 7)
    np.testing.assert_allclose(ratios[:, 0], 2.0)
    np.testing.assert_allclose(ratios[:, -1], 500.0)
    noisy = synthetic_measurements(CHINCHILLA, models_per_budget=7, noise=0.01, seed=3)[2]
    scatter = np.log(noisy / loss)
    assert 0.005 < scatter.std() < 0.015
    again = synthetic_measurements(CHINCHILLA, models_per_budget=7, noise=0.01, seed=3)[2]
    np.testing.assert_array_equal(noisy, again)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"noise": -0.1}, "noise must be a finite number >= 0"),
        ({"models_per_budget": 1}, "models_per_budget must be an integer >= 2"),
        ({"tokens_per_parameter": (50.0, 5.0)}, "low < high"),
        ({"budgets": [1e20, -1.0]}, "budgets must be positive"),
    ],
)
def test_synthetic_measurements_refuse_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        synthetic_measurements(CHINCHILLA, **kwargs)


# -- recovery ----------------------------------------------------------------------------------


@LAWS
def test_noise_free_measurements_give_back_the_constants(law):
    N, D, loss = synthetic_measurements(law, noise=0.0)
    fitted = fit_scaling_law(N, D, loss)
    np.testing.assert_allclose(constants(fitted), constants(law), rtol=1e-6)


@pytest.fixture(scope="module")
def noisy_fits():
    fits = []
    for law in (CHINCHILLA, EPOCH_2024):
        for seed in range(4):
            N, D, loss = synthetic_measurements(law, noise=NOISE, seed=seed)
            fits.append((law, (N, D, loss), fit_scaling_law(N, D, loss)))
    return fits


def test_noisy_measurements_recover_the_constants_within_tolerance(noisy_fits):
    for law, (N, D, _), fitted in noisy_fits:
        assert abs(fitted.E - law.E) <= 0.1
        assert abs(fitted.alpha - law.alpha) <= 0.05
        assert abs(fitted.beta - law.beta) <= 0.05
        assert abs(fitted.params_exponent - law.params_exponent) <= 0.05
        on_runs = fitted.predict_loss(N, D) / law.predict_loss(N, D) - 1
        assert np.max(np.abs(on_runs)) <= 0.015
        at_scale = fitted.predict_loss(70e9, 1.4e12) / law.predict_loss(70e9, 1.4e12) - 1
        assert abs(at_scale) <= 0.02


def test_the_fit_is_at_least_as_good_as_the_truth(noisy_fits):
    """The optimiser found the minimum: no worse on its own objective than the true law."""
    for law, (N, D, loss), fitted in noisy_fits:
        assert fit_objective(fitted, N, D, loss) <= fit_objective(law, N, D, loss) + 1e-9


def test_screening_the_grid_finds_the_same_minimum_as_starting_everywhere():
    N, D, loss = synthetic_measurements(EPOCH_2024, noise=0.01, seed=7)
    small_grid = {"a": (0.0, 10.0), "b": (0.0, 10.0), "e": (-1.0, 1.0), "alpha": (0.0, 1.0)}
    small_grid["beta"] = (0.0, 1.0)
    everywhere = fit_scaling_law(N, D, loss, grid=small_grid, n_starts=None)
    screened = fit_scaling_law(N, D, loss)
    np.testing.assert_allclose(constants(screened), constants(everywhere), rtol=1e-4)


def test_the_huber_loss_shrugs_off_broken_runs():
    """Six runs with a 30% worse loss (say, a bad learning rate) barely move the Huber fit;
    a least-squares fit (a huge delta) is pulled away."""
    N, D, loss = synthetic_measurements(EPOCH_2024, noise=0.002, seed=1)
    broken = loss.copy()
    broken[np.random.default_rng(101).choice(loss.size, 6, replace=False)] *= 1.3
    robust = fit_scaling_law(N, D, broken)
    least_squares = fit_scaling_law(N, D, broken, delta=1.0)

    def worst_error(law):
        return np.max(np.abs(law.predict_loss(N, D) / EPOCH_2024.predict_loss(N, D) - 1))

    assert worst_error(robust) < 0.005
    assert worst_error(least_squares) > 0.02


# -- uncertainty -------------------------------------------------------------------------------


def test_bootstrap_spread_reflects_the_noise():
    N, D, loss = synthetic_measurements(EPOCH_2024, noise=0.0)
    exact = bootstrap_scaling_law(N, D, loss, n_resamples=5, seed=0)
    np.testing.assert_allclose(exact, np.tile(constants(EPOCH_2024), (5, 1)), rtol=1e-5)

    N, D, loss = synthetic_measurements(EPOCH_2024, noise=NOISE, seed=2)
    fits = bootstrap_scaling_law(N, D, loss, n_resamples=40, seed=0)
    assert fits.shape == (40, 5)
    alpha_low, alpha_high = np.percentile(fits[:, 3], [2.5, 97.5])
    beta_low, beta_high = np.percentile(fits[:, 4], [2.5, 97.5])
    assert alpha_low < EPOCH_2024.alpha < alpha_high
    assert beta_low < EPOCH_2024.beta < beta_high
    assert 0.005 < alpha_high - alpha_low < 0.2
    np.testing.assert_array_equal(fits, bootstrap_scaling_law(N, D, loss, n_resamples=40, seed=0))


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (([1e9] * 5, [1e10] * 5, [2.0] * 4), {}, "same length"),
        (([1e9] * 4, [1e10] * 4, [2.0] * 4), {}, "at least 5 measurements"),
        (([1e9] * 5, [1e10] * 5, [2.0, 2.0, 2.0, 2.0, -1.0]), {}, "loss must be positive"),
        (([1e9] * 5, [0.0] * 5, [2.0] * 5), {}, "D must be positive"),
        (([1e9] * 5, [1e10] * 5, [2.0] * 5), {"delta": 0.0}, "delta must be a positive"),
        (([1e9] * 5, [1e10] * 5, [2.0] * 5), {"n_starts": 0}, "n_starts must be"),
    ],
)
def test_fit_refuses_bad_input(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit_scaling_law(*args, **kwargs)


def test_bootstrap_refuses_too_few_resamples():
    N, D, loss = synthetic_measurements(CHINCHILLA, noise=0.0, models_per_budget=3)
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_scaling_law(N, D, loss, n_resamples=1)


def test_plot_fitted_runs_draws_the_runs_and_a_profile_per_budget():
    import matplotlib

    matplotlib.use("Agg")
    from course_utils.scaling_fit import HOFFMANN_ISOFLOP_BUDGETS, plot_fitted_runs

    N, D, loss = synthetic_measurements(EPOCH_2024, noise=0.0, seed=0)
    ax = plot_fitted_runs(EPOCH_2024, N, D, loss)
    assert ax.get_title() and ax.get_xlabel() and "loss" in ax.get_ylabel()
    assert len(ax.lines) == 2 * len(HOFFMANN_ISOFLOP_BUDGETS)  # runs and profile per budget
    dots = np.concatenate([line.get_ydata() for line in ax.lines[::2]])
    assert sorted(dots) == pytest.approx(sorted(loss))
    with pytest.raises(ValueError, match="budgets"):
        plot_fitted_runs(EPOCH_2024, N, D, loss, budgets=[1e30])


def test_plot_bootstrap_optimum_counts_every_refit():
    import matplotlib

    matplotlib.use("Agg")
    from course_utils.scaling_fit import plot_bootstrap_optimum

    resampled = np.array([_constants(law) for law in (EPOCH_2024, CHINCHILLA, EPOCH_2024)])
    ax = plot_bootstrap_optimum(resampled, 1e24, truth=EPOCH_2024, fitted=CHINCHILLA)
    assert "$10^{24}$" in ax.get_xlabel() and ax.get_ylabel() and "3 bootstrap" in ax.get_title()
    assert sum(p.get_height() for p in ax.patches) == 3  # one count per refit
    truth_line, fit_line = ax.lines
    assert truth_line.get_xdata()[0] == pytest.approx(
        EPOCH_2024.exact_optimal_allocation(1e24)[0] / 1e9
    )
    assert fit_line.get_xdata()[0] == pytest.approx(
        CHINCHILLA.exact_optimal_allocation(1e24)[0] / 1e9
    )
    with pytest.raises(ValueError, match="resampled"):
        plot_bootstrap_optimum(resampled[:, :4], 1e24, truth=EPOCH_2024, fitted=CHINCHILLA)


def _constants(law):
    return (law.E, law.A, law.B, law.alpha, law.beta)
