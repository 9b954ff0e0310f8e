"""Fitting a scaling law to measurements the way Chinchilla's Approach 3 does (chapter 2).

Hoffmann et al. (2022), section 3.3 and Appendix D.2: write A = exp(a), B = exp(b),
E = exp(e) and predict the log-loss with a log-sum-exp,

    log L(N, D) = LSE(a - alpha·log N, b - beta·log D, e),

minimise the Huber loss (delta = 1e-3) between predicted and observed log-losses with L-BFGS,
starting from a grid of initialisations, and keep the best fit. The Huber loss makes the fit
robust to a few bad runs; fitting log-losses makes every run count the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize

from course_utils.checks import (
    int_at_least,
    number_at_least,
    positive_array,
    positive_int,
    positive_number,
)
from course_utils.scaling import FLOPS_PER_PARAMETER_TOKEN, ScalingLaws

#: Hoffmann et al. 2022, Appendix D.2: the Huber loss threshold on log-loss residuals.
HUBER_DELTA = 1e-3

#: Hoffmann et al. 2022, Appendix D.2: the grid of initialisations, alpha and beta in
#: {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1}, a and b in {0, 5, ..., 25} (4,500 starts).
#: Besiroglu et al. 2024 (section 3) refit with the same grid.
HOFFMANN_GRID: dict[str, tuple[float, ...]] = {
    "a": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    "b": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    "e": (-1.0, -0.5, 0.0, 0.5, 1.0),
    "alpha": (0.0, 0.5, 1.0, 1.5, 2.0),
    "beta": (0.0, 0.5, 1.0, 1.5, 2.0),
}

#: The isoFLOP budgets of Hoffmann et al. 2022, Figure 3 (Approach 2), in FLOPs.
HOFFMANN_ISOFLOP_BUDGETS = (6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21)

_PARAMETERS = ("a", "b", "e", "alpha", "beta")  # the order of the optimiser's vector theta


def _log_sum_exp(terms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log(sum(exp(terms), axis=0)) without overflow, and the softmax weights over axis 0.

    Written out rather than scipy.special.logsumexp: the fit calls it thousands of times on
    small arrays, where scipy's input checks cost more than the arithmetic.
    """
    peak = terms.max(axis=0)
    exps = np.exp(terms - peak)
    total = exps.sum(axis=0)
    return peak + np.log(total), exps / total


def huber(residual, delta: float = HUBER_DELTA):
    """Huber's loss: quadratic for |r| <= delta, linear beyond (Huber 1964)."""
    r = np.asarray(residual, dtype=float)
    size = np.abs(r)
    return np.where(size <= delta, 0.5 * r**2, delta * (size - 0.5 * delta))


def huber_objective(theta, log_N, log_D, log_loss, delta: float = HUBER_DELTA):
    """Sum of Huber losses of the log-loss residuals and its gradient, divided by delta.

    ``theta`` = (a, b, e, alpha, beta). Dividing by delta keeps the objective near 1 so the
    optimiser's stopping rule does not end the search early, the problem Besiroglu et al.
    (2024, section 4) found in the original fit. It does not move the minimum.
    """
    a, b, e, alpha, beta = theta
    terms = np.stack([a - alpha * log_N, b - beta * log_D, np.full_like(log_N, e)])
    log_prediction, shares = _log_sum_exp(terms)
    residual = log_prediction - log_loss
    slope = np.clip(residual, -delta, delta)  # d huber / d residual
    weights = shares * slope  # d residual / d term, times the slope
    gradient = np.array(
        [
            weights[0].sum(),
            weights[1].sum(),
            weights[2].sum(),
            -(weights[0] * log_N).sum(),
            -(weights[1] * log_D).sum(),
        ]
    )
    return float(huber(residual, delta).sum() / delta), gradient / delta


def initial_grid(grid: dict[str, tuple[float, ...]] | None = None) -> np.ndarray:
    """Every combination of the grid's values as rows (a, b, e, alpha, beta)."""
    grid = HOFFMANN_GRID if grid is None else grid
    if set(grid) != set(_PARAMETERS) or not all(len(grid[name]) for name in _PARAMETERS):
        raise ValueError(f"grid must give a non-empty list of values for each of {_PARAMETERS}")
    axes = np.meshgrid(*(np.asarray(grid[name], dtype=float) for name in _PARAMETERS))
    return np.stack([axis.ravel() for axis in axes], axis=1)


def _measurements(N, D, loss) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    log_n, log_d = np.log(positive_array("N", N)), np.log(positive_array("D", D))
    log_loss = np.log(positive_array("loss", loss))
    if log_n.ndim != 1 or log_n.shape != log_d.shape or log_n.shape != log_loss.shape:
        raise ValueError("N, D and loss must be 1-D arrays of the same length")
    if log_n.size < 5:
        raise ValueError(f"need at least 5 measurements to fit 5 constants, got {log_n.size}")
    return log_n, log_d, log_loss


def _screen(starts: np.ndarray, log_n, log_d, log_loss, delta: float) -> np.ndarray:
    """The objective at every start at once (one array operation per term)."""
    a, b, e, alpha, beta = (starts[:, [i]] for i in range(5))
    shape = (len(starts), log_n.size)
    terms = np.stack([a - alpha * log_n, b - beta * log_d, np.broadcast_to(e, shape)])
    residual = _log_sum_exp(terms)[0] - log_loss
    return huber(residual, delta).sum(axis=1)


def _minimise(start, log_n, log_d, log_loss, delta):
    return minimize(
        huber_objective,
        np.asarray(start, dtype=float),
        args=(log_n, log_d, log_loss, delta),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10},
    )


def _law(theta) -> ScalingLaws:
    a, b, e, alpha, beta = (float(value) for value in theta)
    return ScalingLaws(E=math.exp(e), A=math.exp(a), B=math.exp(b), alpha=alpha, beta=beta)


def fit_scaling_law(
    N,
    D,
    loss,
    *,
    delta: float = HUBER_DELTA,
    grid: dict[str, tuple[float, ...]] | None = None,
    n_starts: int | None = 10,
) -> ScalingLaws:
    """Fit L = E + A/N^alpha + B/D^beta to measured (N, D, loss) (chapter 2).

    Chinchilla's Approach 3 (module docstring). ``grid`` defaults to Hoffmann et al.'s 4,500
    starts; the objective is evaluated at all of them and L-BFGS runs from the ``n_starts``
    best (``None``: from every start, as in the paper; slower, and on the course's data sets
    it finds the same minimum). Returns the best fit as a :class:`ScalingLaws`.
    """
    log_n, log_d, log_loss = _measurements(N, D, loss)
    positive_number("delta", delta)
    starts = initial_grid(grid)
    if n_starts is not None:
        positive_int("n_starts", n_starts)
        order = np.argsort(_screen(starts, log_n, log_d, log_loss, delta), kind="stable")
        starts = starts[order[:n_starts]]
    best = min(
        (_minimise(start, log_n, log_d, log_loss, delta) for start in starts),
        key=lambda result: result.fun,
    )
    return _law(best.x)


def law_to_theta(law: ScalingLaws) -> np.ndarray:
    """The optimiser's parameters (a, b, e, alpha, beta) = (log A, log B, log E, alpha, beta)."""
    return np.array([np.log(law.A), np.log(law.B), np.log(law.E), law.alpha, law.beta])


def fit_objective(law: ScalingLaws, N, D, loss, *, delta: float = HUBER_DELTA) -> float:
    """The Huber objective :func:`fit_scaling_law` minimises, evaluated at ``law``."""
    log_n, log_d, log_loss = _measurements(N, D, loss)
    return huber_objective(law_to_theta(law), log_n, log_d, log_loss, delta)[0]


def bootstrap_scaling_law(
    N,
    D,
    loss,
    *,
    n_resamples: int = 100,
    seed: int = 0,
    delta: float = HUBER_DELTA,
) -> np.ndarray:
    """Refit on ``n_resamples`` resamples of the measurements (drawn with replacement).

    Returns an array of shape (n_resamples, 5) with columns E, A, B, alpha, beta: its spread
    shows how well the data pin each constant down. Each refit starts from the fit to all the
    data (a full grid per resample is what a real study would afford: Besiroglu et al. 2024
    use 4,000 resamples).
    """
    log_n, log_d, log_loss = _measurements(N, D, loss)
    int_at_least("n_resamples", n_resamples, 2)
    start = law_to_theta(fit_scaling_law(N, D, loss, delta=delta))
    rng = np.random.default_rng(seed)
    fits = np.empty((n_resamples, 5))
    for row in range(n_resamples):
        pick = rng.integers(0, log_n.size, size=log_n.size)
        result = _minimise(start, log_n[pick], log_d[pick], log_loss[pick], delta)
        law = _law(result.x)
        fits[row] = (law.E, law.A, law.B, law.alpha, law.beta)
    return fits


def refit_scaling_law(law: ScalingLaws, N, D, loss, *, delta: float = HUBER_DELTA) -> ScalingLaws:
    """The fit to (N, D, loss) found by L-BFGS from ``law`` instead of from the whole grid.

    The quick refit a bootstrap needs when the measurements change a little (chapter 5).
    """
    log_n, log_d, log_loss = _measurements(N, D, loss)
    return _law(_minimise(law_to_theta(law), log_n, log_d, log_loss, delta).x)


def synthetic_measurements(
    law: ScalingLaws,
    *,
    budgets=HOFFMANN_ISOFLOP_BUDGETS,
    models_per_budget: int = 10,
    tokens_per_parameter: tuple[float, float] = (2.0, 500.0),
    noise: float = 0.01,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulated training runs: (N, D, loss) on isoFLOP profiles, with noise (chapter 2).

    At each budget, ``models_per_budget`` model sizes whose D/N spans ``tokens_per_parameter``
    (log-spaced), so every profile brackets its minimum without knowing where it is. The loss
    is ``law``'s, times exp(noise · standard normal): ``noise`` is the relative scatter
    between runs.
    """
    budgets = positive_array("budgets", budgets)
    if budgets.ndim != 1:
        raise ValueError("budgets must be a 1-D list of FLOP budgets")
    int_at_least("models_per_budget", models_per_budget, 2)
    low, high = (float(x) for x in positive_array("tokens_per_parameter", tokens_per_parameter))
    if not low < high:
        raise ValueError(
            f"tokens_per_parameter must be (low, high) with low < high, got {low, high}"
        )
    number_at_least("noise", noise, 0)
    ratios = np.geomspace(low, high, models_per_budget)
    budget_grid, ratio_grid = np.meshgrid(budgets, ratios, indexing="ij")
    N = np.sqrt(budget_grid / (FLOPS_PER_PARAMETER_TOKEN * ratio_grid)).ravel()
    D = (ratio_grid.ravel()) * N
    rng = np.random.default_rng(seed)
    loss = law.predict_loss(N, D) * np.exp(noise * rng.standard_normal(N.size))
    return N, D, loss


def plot_fitted_runs(
    law: ScalingLaws, N, D, loss, budgets: Sequence[float] = HOFFMANN_ISOFLOP_BUDGETS, ax=None
):
    """Training runs (dots) and a fitted law's isoFLOP profiles through them (chapter 2).

    The runs of each budget C (those with 6·N·D = C) are drawn in one colour, with ``law``'s
    profile over the sizes they span.
    """
    import matplotlib.pyplot as plt

    from course_utils.scaling import isoflop_profile

    _measurements(N, D, loss)  # checks the arguments
    N, D, loss = (np.asarray(values, dtype=float) for values in (N, D, loss))
    if ax is None:
        _, ax = plt.subplots()
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(budgets)))
    runs_c = FLOPS_PER_PARAMETER_TOKEN * N * D
    for budget, color in zip(budgets, colors, strict=True):
        mine = np.isclose(runs_c, budget)
        if not mine.any():
            raise ValueError(f"budgets: no run has 6·N·D = {budget:.3g} FLOPs")
        ax.plot(N[mine], loss[mine], "o", color=color, ms=4)
        n_line = np.geomspace(N[mine].min(), N[mine].max(), 100)
        ax.plot(
            n_line, isoflop_profile(law, budget, n_line), color=color, label=f"C = {budget:.0e}"
        )
    ax.set(
        xscale="log",
        xlabel="parameters N",
        ylabel="final loss (nats/token)",
        title="Training runs (dots) and the fitted law (lines)",
    )
    ax.legend(fontsize=8, ncol=2)
    return ax


def plot_bootstrap_optimum(
    resampled: np.ndarray, budget: float, *, truth: ScalingLaws, fitted: ScalingLaws, ax=None
):
    """Histogram of the compute-optimal size at ``budget`` under each bootstrap refit (chapter 2).

    ``resampled`` is :func:`bootstrap_scaling_law`'s array (columns E, A, B, alpha, beta);
    vertical lines mark the optimum of the ``truth`` law and of the fit to all runs.
    """
    import matplotlib.pyplot as plt

    positive_number("budget", budget)
    resampled = np.asarray(resampled, dtype=float)
    if resampled.ndim != 2 or resampled.shape[1] != 5:
        raise ValueError(f"resampled must have shape (n, 5), got {resampled.shape}")
    if ax is None:
        _, ax = plt.subplots()
    sizes = [ScalingLaws(*row).exact_optimal_allocation(budget)[0] / 1e9 for row in resampled]
    ax.hist(sizes, bins=20, color="tab:blue", alpha=0.7, label="bootstrap fits")
    ax.axvline(truth.exact_optimal_allocation(budget)[0] / 1e9, color="black", label="true law")
    ax.axvline(
        fitted.exact_optimal_allocation(budget)[0] / 1e9,
        color="tab:orange",
        ls="--",
        label="fit to all runs",
    )
    exponent = (
        f"$10^{{{np.log10(budget):.3g}}}$" if np.log10(budget).is_integer() else f"{budget:.3g}"
    )
    ax.set(
        xlabel=f"compute-optimal parameters at {exponent} FLOPs (billions)",
        ylabel="number of resamples",
        title=f"How sure is the extrapolation? {len(resampled)} bootstrap refits",
    )
    ax.legend()
    return ax
