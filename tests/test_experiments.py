"""The mini isoFLOP study: planning against C = 6ND, minima against chapter 2's exact law."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from course_utils.compute import training_flops
from course_utils.experiments import (
    IsoFlopRun,
    PlannedRun,
    compute_exponents,
    fit_isoflop_study,
    isoflop_minima,
    measurements,
    model_family,
    plan_isoflop_runs,
    run_isoflop_study,
    runs_table,
)
from course_utils.parameters import estimate_parameters, non_embedding_parameters
from course_utils.scaling import CHINCHILLA, ScalingLaws, isoflop_minimum
from course_utils.training import TrainingConfig, split_tokens


def test_model_family_grows_in_width_with_llama_proportions():
    family = model_family(vocab_size=50, widths=[16, 32, 64], n_layers=2)
    sizes = [estimate_parameters(config) for config in family]
    assert sizes == sorted(sizes) and len(set(sizes)) == 3
    for config in family:
        assert config.head_dim == 4 and config.tie_embeddings and config.n_layers == 2
        assert config.d_ff % 16 == 0 and 8 / 3 * config.d_model <= config.d_ff
    with pytest.raises(ValueError, match="multiple of 4"):
        model_family(50, [18])
    with pytest.raises(ValueError, match="at least one"):
        model_family(50, [])


def test_plans_spend_each_budget_within_half_a_step():
    training = TrainingConfig(batch_size=8, context_len=16)
    family = model_family(50, [16, 32, 48, 64])
    plans = plan_isoflop_runs(family, [1e9, 3e9], training, min_steps=1)
    assert len(plans) == 8 and [p.budget for p in plans] == [1e9] * 4 + [3e9] * 4
    for plan in plans:
        half_step = training_flops(plan.n_params, training.tokens_per_step) / 2
        assert abs(plan.flops - plan.budget) <= half_step
        assert plan.tokens == plan.steps * 128


def test_plans_leave_out_too_few_steps_and_out_of_range_ratios():
    training = TrainingConfig(batch_size=8, context_len=16)
    family = model_family(50, [16, 128])
    big = estimate_parameters(family[1])
    budget = training_flops(big, 10 * 128)  # 10 steps for the big model
    kept = plan_isoflop_runs(family, [budget], training, min_steps=20)
    assert [plan.config.d_model for plan in kept] == [16]
    ratios = plan_isoflop_runs(family, [budget], training, min_steps=1, tokens_per_parameter=(1, 5))
    assert all(1 <= plan.tokens / plan.n_params <= 5 for plan in ratios)
    with pytest.raises(ValueError, match="tokens_per_parameter"):
        plan_isoflop_runs(family, [budget], training, tokens_per_parameter=(5, 1))


@dataclass(frozen=True)
class LawRun(IsoFlopRun):
    """A run of ``size`` parameters whose loss follows a known law (the config is a label)."""

    size: float = 0.0

    @property
    def n_params(self) -> float:
        return self.size

    @property
    def non_embedding_params(self) -> float:
        return self.size - 1000.0  # a fixed embedding of 1,000 parameters

    @property
    def tokens(self) -> float:
        return self.budget / (6 * self.size)


def law_runs(law, budget: float, sizes) -> list[LawRun]:
    label = PlannedRun(budget, model_family(50, [16])[0], steps=1, tokens_per_step=1)
    return [
        LawRun(label, float(law.predict_loss(n, budget / (6 * n))), 0.0, size=float(n))
        for n in sizes
    ]


def test_parabola_minima_find_chapter_2s_exact_optimum():
    budgets = [1e19, 1e20, 1e21]
    runs = []
    for budget in budgets:
        optimum = CHINCHILLA.exact_optimal_allocation(budget)[0]
        runs += law_runs(CHINCHILLA, budget, optimum * np.geomspace(0.3, 3, 7))
    minima = isoflop_minima(runs)
    assert [m.budget for m in minima] == budgets
    for minimum in minima:
        exact_n, exact_d = isoflop_minimum(CHINCHILLA, minimum.budget)
        assert minimum.bracketed
        assert minimum.n_params == pytest.approx(exact_n, rel=0.05)
        assert minimum.tokens_per_parameter == pytest.approx(exact_d / exact_n, rel=0.1)


def test_minima_count_the_same_model_both_ways():
    runs = law_runs(
        CHINCHILLA, 1e19, CHINCHILLA.exact_optimal_allocation(1e19)[0] * np.geomspace(0.3, 3, 7)
    )
    (minimum,) = isoflop_minima(runs)
    assert minimum.non_embedding_params == pytest.approx(minimum.n_params - 1000, rel=1e-3)
    assert minimum.tokens_per_non_embedding_parameter > minimum.tokens_per_parameter


def test_a_minimum_on_the_edge_of_the_sizes_is_not_bracketed():
    optimum = CHINCHILLA.exact_optimal_allocation(1e21)[0]
    (inside,) = isoflop_minima(law_runs(CHINCHILLA, 1e21, optimum * np.array([0.5, 1, 2])))
    (edge,) = isoflop_minima(law_runs(CHINCHILLA, 1e21, optimum * np.array([1, 2, 4])))
    assert inside.bracketed and not edge.bracketed and edge.n_params == optimum


def test_approach_2_exponents_recover_the_law_s_own():
    runs = []
    for budget in (1e19, 1e20, 1e21):
        optimum = CHINCHILLA.exact_optimal_allocation(budget)[0]
        runs += law_runs(CHINCHILLA, budget, optimum * np.geomspace(0.3, 3, 9))
    a, b = compute_exponents(isoflop_minima(runs))
    assert a == pytest.approx(CHINCHILLA.params_exponent, abs=0.01) and a + b == pytest.approx(1)
    with pytest.raises(ValueError, match="at least two budgets"):
        compute_exponents(isoflop_minima(runs)[:1])


def test_a_study_fit_recovers_a_known_law_with_honest_intervals():
    """Runs on a known law with 0.3% noise: every interval contains the truth, and is narrow."""
    truth = ScalingLaws(E=1.2, A=40.0, B=60.0, alpha=0.4, beta=0.35)
    rng = np.random.default_rng(1)
    runs = []
    for budget in (1e10, 3e10, 1e11):
        optimum = truth.exact_optimal_allocation(budget)[0]
        for run in law_runs(truth, budget, optimum * np.geomspace(0.25, 4, 5)):
            noisy = run.loss * float(np.exp(0.003 * rng.standard_normal()))
            runs.append(LawRun(run.plan, noisy, 0.0, size=run.size))
    fit = fit_isoflop_study(runs, n_resamples=60, seed=0)
    for name, true in (
        ("E", truth.E),
        ("alpha", truth.alpha),
        ("a3", truth.params_exponent),
        ("a2", truth.params_exponent),
    ):
        low, high = fit.interval(name)
        assert low <= true <= high, (name, low, true, high)
        assert low <= fit.estimates[name] <= high
    assert fit.interval("a2")[1] - fit.interval("a2")[0] < 0.3
    assert set(fit.resamples) >= {"tokens_per_parameter@1e+10", "tokens_per_non_embedding@1e+11"}
    assert all(len(values) == 60 for values in fit.resamples.values())


def test_non_embedding_parameters_leave_out_every_embedding():
    family = model_family(50, [16, 32], n_layers=2)
    for config in family:
        assert non_embedding_parameters(config) == estimate_parameters(config) - 50 * config.d_model
    untied = family[0].replace(tie_embeddings=False)
    assert non_embedding_parameters(untied) == non_embedding_parameters(family[0])


def test_an_unbracketed_profile_says_so():
    # All far below the optimum: the loss still falls with size at the largest one.
    (minimum,) = isoflop_minima(law_runs(CHINCHILLA, 1e21, [1e6, 2e6, 4e6]))
    assert not minimum.bracketed and minimum.n_params == 4e6


def test_a_tiny_study_runs_end_to_end():
    train, val = split_tokens(torch.arange(3000) % 11)
    training = TrainingConfig(batch_size=4, context_len=16, warmup_steps=2, eval_windows=4)
    family = model_family(11, [16, 32], n_layers=1, max_seq_len=16)
    plans = plan_isoflop_runs(family, [4e7, 8e7], training, min_steps=5)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each of two workers on two cores will
    try:
        runs = run_isoflop_study(plans, train, val, training, "cpu", progress=False, workers=1)
    finally:
        torch.set_num_threads(threads)
    assert len(runs) == len(plans) == 4
    # Shared out between two processes, every run computes exactly the same, in plan order.
    shared = run_isoflop_study(plans, train, val, training, device="cpu", progress=False, workers=2)
    assert [run.plan for run in shared] == list(plans)
    assert [run.loss for run in shared] == [run.loss for run in runs]
    N, D, loss = measurements(runs)
    assert N.shape == D.shape == loss.shape == (4,)
    assert np.all(loss > 0) and np.all(np.isfinite(loss))
    assert np.all(loss < np.log(11))  # every run learned something about the cycle
    table = runs_table(runs)
    assert table.count("\n") == 5 and "D/N" in table
    with pytest.raises(ValueError, match="plans must not be empty"):
        run_isoflop_study([], train, val, training)
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        run_isoflop_study(plans, train, val, training, device="cpu", workers=0)


def test_loss_curves_plot_the_smoothed_training_loss_and_every_evaluation():
    import matplotlib.pyplot as plt

    from course_utils.experiments import plot_loss_curves
    from course_utils.training import TrainingHistory

    history = TrainingHistory(
        train_loss=[5.0 - 0.01 * step for step in range(100)],
        eval_steps=[0, 50, 100],
        val_loss=[5.0, 4.6, 4.1],
    )
    ax = plot_loss_curves(history, tokens_per_step=1000, baselines={"uniform": 5.1, "x": 4.5})
    train, val = ax.lines[:2]
    assert len(train.get_xdata()) == 99  # a window of two steps
    assert train.get_ydata()[0] == pytest.approx(4.995)
    assert list(val.get_xdata()) == pytest.approx([0, 0.05, 0.1])  # millions of tokens
    assert [line.get_ydata()[0] for line in ax.lines[2:]] == [5.1, 4.5]
    assert ax.get_legend().get_texts()[2].get_text() == "uniform (5.10)"
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="tokens_per_step"):
        plot_loss_curves(history, tokens_per_step=0)
