"""Per-device memory and communication of parallel layouts (chapter 6), checked against the
ZeRO paper's Figure 1, chapter 1's single-device model, and hand counts."""

from __future__ import annotations

import math

import pytest

from course_utils.memory import training_memory
from course_utils.parallelism import (
    INTERCONNECTS,
    LARGE_MODELS,
    Layout,
    check_layout,
    device_memory,
    pipeline_bubble,
    plan_layouts,
    plan_table,
    ring_all_reduce_bytes,
    ring_gather_bytes,
    step_communication,
)
from course_utils.parameters import estimate_parameters
from course_utils.presets import PRESETS

LLAMA_7B = PRESETS["llama-2-7b"].config
LLAMA_405B = LARGE_MODELS["llama-3-405b"]


@pytest.mark.parametrize(("stage", "published_gb"), [(0, 120), (1, 31.4), (2, 16.6), (3, 1.9)])
def test_zero_figure_1(stage, published_gb):
    # Rajbhandari et al. 2020, Figure 1: Ψ = 7.5B, K = 12, N_d = 64.
    memory = device_memory(7_500_000_000, Layout(data_parallel=64, zero_stage=stage))
    assert round(memory.model_states / 1e9, 1 if stage else 0) == published_gb
    assert memory.activations == 0


def test_one_device_is_chapter_1s_model():
    for config, seq_len in ((LLAMA_7B, 4096), (LLAMA_405B, 8192)):
        alone = device_memory(config, seq_len=seq_len)
        total = training_memory(config, seq_len=seq_len)
        assert alone == pytest.approx(
            type(alone)(total.weights, total.gradients, total.optimizer_states, total.activations)
        )


def test_tensor_and_pipeline_parallelism_divide_the_weights():
    n = estimate_parameters(LLAMA_7B)
    for t in (2, 8):  # norm gains are replicated: a hair above 2Ψ/t
        weights = device_memory(LLAMA_7B, Layout(1, 0, t)).weights
        assert 2 * n / t < weights < 1.001 * 2 * n / t
    # TP 2 × PP 8: the busiest device is the last stage, 4 layers and the output layer.
    d, vocab, layers = 4096, 32_000, 32
    layer = 4 * d * d + 3 * d * 11_008  # attention and SwiGLU matrices of one layer
    by_hand = 4 * (layer / 2 + 2 * d) + vocab * d / 2 + d
    assert device_memory(LLAMA_7B, Layout(1, 0, 2, 8)).weights == 2 * by_hand
    # All stages together hold every parameter once (untied model, no copies).
    from course_utils.parallelism import _stages

    assert sum(s.params for s in _stages(LLAMA_7B, Layout(1, 0, 1, 4))) == n
    assert layers == LLAMA_7B.n_layers


def test_llama_3_layout_splits_126_layers_into_16_stages():
    # Dubey et al. 2024, section 3.3.2: first and last stages hold one layer fewer.
    from course_utils.parallelism import _stage_split

    assert _stage_split(126, 16) == [7] + [8] * 14 + [7]
    check_layout(LLAMA_405B, Layout(64, 3, 8, 16), n_devices=8192)


def test_checkpointing_and_micro_batches_move_activations_only():
    plain = device_memory(LLAMA_7B, Layout(8, 1), seq_len=4096)
    kept = device_memory(LLAMA_7B, Layout(8, 1, activation_checkpointing=True), seq_len=4096)
    assert kept.model_states == plain.model_states and kept.activations < plain.activations / 5
    one = device_memory(LLAMA_7B, Layout(1, 0, 1, 4), seq_len=1024, micro_batches=1)
    four = device_memory(LLAMA_7B, Layout(1, 0, 1, 4), seq_len=1024, micro_batches=8)
    assert four.activations > 3 * one.activations  # 1F1B: the first stage holds p in flight


def test_ring_collectives_send_the_textbook_bytes():
    assert ring_all_reduce_bytes(1000, 1) == 0
    assert ring_all_reduce_bytes(1000, 2) == 1000
    assert ring_all_reduce_bytes(1000, 64) == pytest.approx(2 * 63 / 64 * 1000)
    assert ring_gather_bytes(1000, 4) == 750


def test_step_communication_matches_zero_section_7():
    n = 1_000_000_000
    dp = step_communication(n, Layout(64, 0)).data_parallel
    assert dp == pytest.approx(2 * 63 / 64 * 2 * n)  # all-reduce of 16-bit gradients
    assert step_communication(n, Layout(64, 2)).data_parallel == dp  # same volume
    assert step_communication(n, Layout(64, 3)).data_parallel == pytest.approx(1.5 * dp)
    tp = step_communication(LLAMA_7B, Layout(1, 0, 8, 1), seq_len=4096)
    activation = 2 * 4096 * 4096  # 16-bit b·s·h for one sequence
    assert tp.tensor_parallel == pytest.approx(32 * 4 * 2 * 7 / 8 * activation)
    link = INTERCONNECTS["NVLink 4 (H100)"]
    assert tp.seconds(link, INTERCONNECTS["InfiniBand NDR"]) == pytest.approx(
        tp.tensor_parallel / 450e9
    )


def test_interconnects_cite_their_datasheets():
    for link in INTERCONNECTS.values():
        assert "datasheet" in link.source and link.bytes_per_second > 0
    assert INTERCONNECTS["InfiniBand NDR"].bytes_per_second == 50e9


def test_pipeline_bubble():
    assert pipeline_bubble(1, 8) == 0
    assert pipeline_bubble(4, 8) == pytest.approx(3 / 8)
    assert pipeline_bubble(16, 32, interleaving=2) == pytest.approx(15 / 64)


def test_the_planner_finds_what_fits_and_orders_by_throughput():
    plans = plan_layouts(LLAMA_7B, 8, 80e9, seq_len=4096)
    assert plans and all(plan.fits and plan.memory.total <= 80e9 for plan in plans)
    assert all(plan.layout.n_devices == 8 for plan in plans)
    speeds = [plan.tokens_per_second for plan in plans]
    assert speeds == sorted(speeds, reverse=True)
    fsdp = next(plan for plan in plans if plan.layout == Layout(8, 3))
    n = estimate_parameters(LLAMA_7B)
    assert fsdp.tokens_per_step == 8 * 4096
    assert fsdp.compute_seconds == pytest.approx(6 * n * 8 * 4096 / (8 * 989e12 * 0.4))
    assert fsdp.step_seconds == fsdp.compute_seconds + fsdp.communication_seconds
    piped = plan_layouts(LLAMA_7B, 8, 80e9, seq_len=4096, micro_batches=4)
    stage = next(plan for plan in piped if plan.layout == Layout(1, 0, 1, 8))
    assert stage.compute_seconds == pytest.approx(6 * n * 4 * 4096 / (8 * 989e12 * 0.4) * 11 / 4)
    # Plain data parallelism keeps 16 bytes per parameter on every GPU: it cannot fit 7B.
    assert Layout(8, 0) not in {plan.layout for plan in plans}
    assert Layout(8, 3) in {plan.layout for plan in plans}
    everything = plan_layouts(LLAMA_7B, 8, 80e9, seq_len=4096, only_fitting=False)
    assert len(everything) > len(plans) and not all(p.fits for p in everything)
    assert "DP 8 (ZeRO-3/FSDP)" in plan_table(plans, limit=100)
    assert "no layout fits" in plan_table(plan_layouts(LLAMA_405B, 8, 80e9))


def test_llama_3_405b_layout_is_at_the_edge_of_an_h100():
    # Dubey et al. 2024, Table 4: 8,192 GPUs, TP 8, PP 16, DP 64, 8,192-token sequences,
    # 32 sequences per DP group per step, without activation checkpointing (section 3.3.2).
    memory = device_memory(LLAMA_405B, Layout(64, 3, 8, 16), seq_len=8192, micro_batches=32)
    assert 70e9 < memory.total < 90e9


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Layout(0), "data_parallel must be a positive integer"),
        (lambda: Layout(2, 4), "zero_stage must be one of 0, 1, 2, 3"),
        (lambda: check_layout(LLAMA_7B, Layout(1, 0, 3)), "tensor_parallel=3 must divide"),
        (lambda: check_layout(LLAMA_7B, Layout(1, 0, 1, 5)), "pipeline_parallel=5 must divide"),
        (lambda: check_layout(LLAMA_7B, Layout(4), n_devices=8), "must use all n_devices=8"),
        (lambda: device_memory(10**9, Layout(1, 0, 2)), "need the model's shape"),
        (lambda: device_memory(LLAMA_7B, recipe="fp8"), "recipe must be one of"),
        (lambda: device_memory(0), "model must be a ModelConfig"),
        (lambda: plan_layouts(LLAMA_7B, 0, 80e9), "n_gpus must be a positive integer"),
        (lambda: plan_layouts(LLAMA_7B, 8, 80e9, slow_link="ethernet"), "slow_link must be"),
        (lambda: pipeline_bubble(4, 0), "micro_batches"),
    ],
)
def test_bad_input_names_what_is_allowed(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_allowed_degrees_are_listed():
    with pytest.raises(ValueError, match=r"allowed degrees for this model: \[1, 2, 4, 8"):
        check_layout(LARGE_MODELS["llama-2-70b"], Layout(1, 0, 3))
    assert math.isclose(device_memory(LLAMA_7B).total, training_memory(LLAMA_7B).total)


def test_the_planner_widget_shows_the_planners_table():
    import ipywidgets as widgets

    from course_utils.planner import layout_planner, planner_text

    planner = layout_planner()
    assert isinstance(planner, widgets.VBox)
    assert "llama-2-70b on 64 GPUs of 80 GB" in planner.result.value
    assert planner.text == planner_text("llama-2-70b", 64, 80)
    planner.n_gpus.value = 8
    planner.gpu_memory.value = 24
    assert "no layout fits" in planner.result.value  # 70B needs over 1 TB of model states
    planner.model.value = "llama-2-7b"
    planner.gpu_memory.value = 80
    assert "layouts fit" in planner.result.value and "ZeRO" in planner.result.value
    with pytest.raises(ValueError, match="model must be one of"):
        layout_planner("gpt-5")
    with pytest.raises(ValueError, match="n_gpus must be one of"):
        layout_planner(n_gpus=3)
