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
    isoflop_minima,
    measurements,
    model_family,
    plan_isoflop_runs,
    run_isoflop_study,
    runs_table,
)
from course_utils.parameters import estimate_parameters
from course_utils.scaling import CHINCHILLA, isoflop_minimum
from course_utils.training import TrainingConfig, split_tokens


def test_model_family_grows_in_width_with_llama_proportions():
    family = model_family(vocab_size=50, widths=[16, 32, 64], n_layers=2)
    sizes = [estimate_parameters(config) for config in family]
    assert sizes == sorted(sizes) and len(set(sizes)) == 3
    for config in family:
        assert config.head_dim == 16 and config.tie_embeddings and config.n_layers == 2
        assert config.d_ff % 16 == 0 and 8 / 3 * config.d_model <= config.d_ff
    with pytest.raises(ValueError, match="multiple of 16"):
        model_family(50, [24])
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


def test_an_unbracketed_profile_says_so():
    # All far below the optimum: the loss still falls with size at the largest one.
    (minimum,) = isoflop_minima(law_runs(CHINCHILLA, 1e21, [1e6, 2e6, 4e6]))
    assert not minimum.bracketed and minimum.n_params == 4e6


def test_a_tiny_study_runs_end_to_end():
    train, val = split_tokens(torch.arange(3000) % 11)
    training = TrainingConfig(batch_size=4, context_len=16, warmup_steps=2, eval_windows=4)
    family = model_family(11, [16, 32], n_layers=1, max_seq_len=16)
    plans = plan_isoflop_runs(family, [4e7, 8e7], training, min_steps=5)
    runs = run_isoflop_study(plans, train, val, training, device="cpu", progress=False)
    assert len(runs) == len(plans) == 4
    N, D, loss = measurements(runs)
    assert N.shape == D.shape == loss.shape == (4,)
    assert np.all(loss > 0) and np.all(np.isfinite(loss))
    assert np.all(loss < np.log(11))  # every run learned something about the cycle
    table = runs_table(runs)
    assert table.count("\n") == 5 and "D/N" in table
    with pytest.raises(ValueError, match="plans must not be empty"):
        run_isoflop_study([], train, val, training)
