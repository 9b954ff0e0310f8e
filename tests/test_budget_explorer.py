"""The chapter 2 compute-budget explorer, driven by setting its controls as a learner would."""

from __future__ import annotations

import re

import ipywidgets as widgets
import pytest

from course_utils.budget_explorer import (
    ASSUMED_PRICE_PER_HOUR,
    BudgetExplorer,
    budget_summary,
    compute_budget_explorer,
)
from course_utils.compute import ACCELERATORS, training_run
from course_utils.scaling import CHINCHILLA, EPOCH_2024, ScalingLaws


def shown(explorer: BudgetExplorer, label: str) -> float:
    match = re.search(rf"{label} = ([\d.e+]+)", explorer.result.value)
    assert match, explorer.result.value
    return float(match.group(1))


def test_starts_at_1e23_flops_with_chinchilla():
    explorer = compute_budget_explorer()
    assert isinstance(explorer, widgets.VBox)
    N, D = CHINCHILLA.exact_optimal_allocation(1e23)
    assert shown(explorer, "N_opt") == pytest.approx(N, rel=5e-3)
    assert shown(explorer, "D_opt") == pytest.approx(D, rel=5e-3)
    assert explorer.result.value == f"<pre>{explorer.text}</pre>"


def test_controls_have_clear_descriptions():
    explorer = compute_budget_explorer()
    assert "compute" in explorer.compute.description
    assert "FLOPs" in explorer.compute.description
    assert isinstance(explorer.compute, widgets.FloatLogSlider)
    assert explorer.law.description == "scaling law"
    assert explorer.mfu.description == "MFU"
    assert list(explorer.children[:3]) == [explorer.compute, explorer.law, explorer.mfu]


@pytest.mark.parametrize("budget", [1e19, 1e21, 1e25, 1e27])
def test_moving_the_budget_slider_moves_the_optimum(budget):
    explorer = compute_budget_explorer()
    explorer.compute.value = budget
    N, D = CHINCHILLA.exact_optimal_allocation(explorer.compute.value)
    assert f"N_opt = {N:.3g} parameters" in explorer.text
    assert shown(explorer, "N_opt") == pytest.approx(N, rel=5e-3)
    assert shown(explorer, "D_opt") == pytest.approx(D, rel=5e-3)
    assert f"{CHINCHILLA.optimal_loss(explorer.compute.value):.3f} nats" in explorer.text


def test_switching_the_law_changes_the_split():
    explorer = compute_budget_explorer()
    explorer.law.value = EPOCH_2024
    N, _ = EPOCH_2024.exact_optimal_allocation(1e23)
    assert shown(explorer, "N_opt") == pytest.approx(N, rel=5e-3)
    assert "19.2 tokens per parameter" in explorer.text


def test_mfu_changes_the_bill_through_chapter_1s_training_run():
    explorer = compute_budget_explorer()
    explorer.mfu.value = 0.5
    run = training_run(
        1e23,
        n_accelerators=1024,
        peak_flops_per_second=ACCELERATORS["H100-SXM"].peak_bf16_flops_per_second,
        mfu=0.5,
        price_per_accelerator_hour=ASSUMED_PRICE_PER_HOUR,
    )
    assert f"{run.accelerator_hours:.3g} GPU-hours" in explorer.text
    assert "at 50% MFU" in explorer.text


def test_the_summary_compares_the_twenty_x_rule():
    text = budget_summary(CHINCHILLA, 1e25)
    rule_N, rule_D = CHINCHILLA.compute_optimal_allocation(1e25)
    assert f"20x rule: N = {rule_N:.3g}, D = {rule_D:.3g}" in text
    assert "122.1 tokens per parameter" in text


def test_a_fitted_law_joins_the_choices():
    mine = ScalingLaws(E=1.8, A=500.0, B=2000.0, alpha=0.35, beta=0.36)
    explorer = compute_budget_explorer(mine)
    assert explorer.law.value == mine
    assert ("your law", mine) in explorer.law.options
    assert len(compute_budget_explorer().law.options) == 2


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="law must be a ScalingLaws"):
        compute_budget_explorer("chinchilla")
    with pytest.raises(ValueError, match="accelerator must be one of"):
        budget_summary(CHINCHILLA, 1e23, accelerator="TPU")
    with pytest.raises(ValueError, match="C must be positive"):
        budget_summary(CHINCHILLA, -1.0)
    with pytest.raises(ValueError, match="mfu"):
        budget_summary(CHINCHILLA, 1e23, mfu=1.5)
