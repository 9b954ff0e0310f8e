"""Training and forward FLOPs against published figures and PyTorch's FLOP counter."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from course_utils.compute import (
    ACCELERATORS,
    forward_flops_breakdown,
    forward_flops_per_token,
    training_flops,
    training_run,
)
from course_utils.config import ModelConfig
from course_utils.parameters import estimate_parameters, parameter_breakdown
from course_utils.presets import PRESETS
from tests.strategies import model_configs
from tests.tiny_decoder import TinyDecoder

# ---------------------------------------------------------------------------------------
# 6·N·D
# ---------------------------------------------------------------------------------------


def test_training_flops_is_six_n_d():
    assert training_flops(1e9, 2e10) == 6 * 1e9 * 2e10
    assert isinstance(training_flops(1e9, 2e10), float)


def test_gpt3_175b_training_compute():
    # Brown et al. 2020, Table D.1: GPT-3 175B took 3.14e23 FLOPs (3,640 PF-days).
    preset = PRESETS["gpt3-175b"]
    flops = training_flops(preset.estimated_params, preset.training_tokens)
    assert flops == pytest.approx(3.14e23, rel=0.005)
    assert flops / (1e15 * 86_400) == pytest.approx(3640, rel=0.005)


def test_training_flops_is_vectorised():
    n = np.array([1e8, 1e9, 1e10])
    flops = training_flops(n[:, None], np.array([1e9, 1e10]))
    assert flops.shape == (3, 2)
    np.testing.assert_allclose(flops, 6 * n[:, None] * np.array([1e9, 1e10]))


@pytest.mark.parametrize(
    ("n_params", "n_tokens", "name"),
    [
        (0, 1e9, "n_params"),
        (-1e9, 1e9, "n_params"),
        (1e9, float("nan"), "n_tokens"),
        (1e9, float("inf"), "n_tokens"),
        (np.array([1e9, 0.0]), 1e9, "n_params"),
    ],
)
def test_training_flops_rejects_non_positive_input(n_params, n_tokens, name):
    with pytest.raises(ValueError, match=name):
        training_flops(n_params, n_tokens)


# ---------------------------------------------------------------------------------------
# Time and cost
# ---------------------------------------------------------------------------------------


def test_training_run_by_hand():
    run = training_run(
        1e21, n_accelerators=10, peak_flops_per_second=1e14, mfu=0.5, price_per_accelerator_hour=2
    )
    assert run.seconds == pytest.approx(2e6)
    assert run.days == pytest.approx(2e6 / 86_400)
    assert run.accelerator_hours == pytest.approx(2e7 / 3600)
    assert run.cost == pytest.approx(2 * 2e7 / 3600)


def test_llama_2_7b_gpu_hours_imply_a_plausible_mfu():
    # Touvron et al. 2023 (Llama 2), Table 2: 184,320 A100-80GB hours for the 7B model.
    preset = PRESETS["llama-2-7b"]
    flops = training_flops(preset.published_params, preset.training_tokens)
    peak = ACCELERATORS["A100-80GB"].peak_bf16_flops_per_second
    mfu = flops / (184_320 * 3600 * peak)
    assert 0.3 < mfu < 0.5  # the range large runs report
    run = training_run(
        flops,
        n_accelerators=2048,
        peak_flops_per_second=peak,
        mfu=mfu,
        price_per_accelerator_hour=0,
    )
    assert run.accelerator_hours == pytest.approx(184_320)


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"flops": 0}, "flops"),
        ({"n_accelerators": 0}, "n_accelerators"),
        ({"n_accelerators": 2.0}, "n_accelerators"),
        ({"n_accelerators": True}, "n_accelerators"),
        ({"peak_flops_per_second": -1}, "peak_flops_per_second"),
        ({"mfu": 0}, "mfu"),
        ({"mfu": 1.5}, "mfu"),
        ({"mfu": "40%"}, "mfu"),
        ({"price_per_accelerator_hour": -1}, "price_per_accelerator_hour"),
        ({"price_per_accelerator_hour": float("nan")}, "price_per_accelerator_hour"),
    ],
)
def test_training_run_rejects_bad_input(changes, name):
    arguments = {
        "flops": 1e21,
        "n_accelerators": 8,
        "peak_flops_per_second": 1e15,
        "mfu": 0.4,
        "price_per_accelerator_hour": 2.0,
    }
    arguments.update(changes)
    flops = arguments.pop("flops")
    with pytest.raises(ValueError, match=name):
        training_run(flops, **arguments)


def test_training_run_accepts_numpy_scalars():
    run = training_run(
        np.float64(1e21),
        n_accelerators=1,
        peak_flops_per_second=np.float32(1e15),
        mfu=np.float32(0.5),
        price_per_accelerator_hour=np.float64(1.0),
    )
    assert run.seconds == pytest.approx(2e6)


# ---------------------------------------------------------------------------------------
# Forward FLOPs per token
# ---------------------------------------------------------------------------------------


def measured_forward_flops(config: ModelConfig, batch: int, seq_len: int) -> int:
    model = TinyDecoder(config, flash_attention=False)  # plain matmuls the counter sees
    idx = torch.randint(0, config.vocab_size, (batch, seq_len))
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(idx, idx)
    return counter.get_total_flops()


@settings(max_examples=20, deadline=None)
@given(config=model_configs(), batch=st.integers(1, 3), seq_len=st.integers(1, 32))
def test_forward_flops_equal_pytorchs_flop_counter(config, batch, seq_len):
    # A dense kernel computes the whole s×s score matrix, so compare with causal=False.
    config = config.replace(max_seq_len=max(config.max_seq_len, seq_len))
    expected = batch * seq_len * forward_flops_per_token(config, seq_len, causal=False)
    assert measured_forward_flops(config, batch, seq_len) == expected


@given(
    layers=st.integers(1, 100),
    heads=st.integers(1, 128),
    head_dim=st.sampled_from([32, 64, 128]),
    context=st.integers(1, 100_000),
)
def test_kaplan_table_1(layers, heads, head_dim, context):
    # Kaplan et al. 2020, Table 1: N = 2·d_model·n_layer·(2·d_attn + d_ff) and
    # C_forward = 2N + 2·n_layer·n_ctx·d_attn, without the embedding terms.
    d = heads * head_dim
    config = ModelConfig(
        vocab_size=50_257, d_model=d, n_layers=layers, n_heads=heads, mlp="gelu", bias=False
    )
    n = 2 * d * layers * (2 * d + 4 * d)
    breakdown = forward_flops_breakdown(config, context)
    assert n == parameter_breakdown(config)["attention"] + parameter_breakdown(config)["mlp"]
    non_embedding = sum(value for key, value in breakdown.items() if key != "lm_head")
    assert non_embedding == pytest.approx(2 * n + 2 * layers * context * d, rel=1e-12)
    assert breakdown["lm_head"] == 2 * d * 50_257  # Kaplan's "de-embed" row


def test_causal_halves_only_the_attention_term():
    config = PRESETS["llama-2-7b"].config
    causal = forward_flops_breakdown(config, 4096)
    dense = forward_flops_breakdown(config, 4096, causal=False)
    for key in causal:
        factor = 2 if key == "attention_scores" else 1
        assert dense[key] == factor * causal[key]


def test_forward_is_about_two_n_for_large_models():
    # For Llama-2-7B at its 4096-token context the attention term adds ~8% to 2·N.
    config = PRESETS["llama-2-7b"].config
    n = estimate_parameters(config)
    ratio = forward_flops_per_token(config) / (2 * n)
    assert 1.0 < ratio < 1.1
    assert forward_flops_per_token(config, 1) < 2 * n  # token embeddings are a look-up


@pytest.mark.parametrize("context", [0, -1, 2.5, True])
def test_forward_flops_rejects_a_bad_context(context):
    with pytest.raises(ValueError, match="context_len"):
        forward_flops_per_token(PRESETS["gpt2"].config, context)


def test_forward_flops_needs_a_config():
    with pytest.raises(ValueError, match="config must be a ModelConfig"):
        forward_flops_per_token(124e6)


# ---------------------------------------------------------------------------------------
# Accelerators
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ACCELERATORS))
def test_accelerators_cite_their_datasheets(name):
    accelerator = ACCELERATORS[name]
    assert "datasheet" in accelerator.source
    assert 1e14 <= accelerator.peak_bf16_flops_per_second <= 1e15
    assert 1e10 <= accelerator.memory_bytes <= 2e11
    # Dense BF16 figures are half the "with sparsity" figure the datasheets print.
    assert "sparsity" in accelerator.source


def test_h100_is_about_three_times_an_a100():
    ratio = (
        ACCELERATORS["H100-SXM"].peak_bf16_flops_per_second
        / ACCELERATORS["A100-80GB"].peak_bf16_flops_per_second
    )
    assert ratio == pytest.approx(3.17, rel=0.01)


def test_flop_shares_add_up_and_attention_grows_with_the_context():
    import matplotlib.pyplot as plt

    from course_utils.compute import flop_shares, plot_flop_shares

    config = PRESETS["llama-2-7b"].config
    contexts = [512, 4096, 32768]
    shares = flop_shares(config, contexts)
    totals = np.sum([shares[group] for group in shares], axis=0)
    np.testing.assert_allclose(totals, 1.0)
    attention = shares["attention over the context"]
    assert attention[0] < attention[1] < attention[2]
    flops = forward_flops_breakdown(config, 4096, causal=False)
    assert attention[1] == pytest.approx(flops["attention_scores"] / sum(flops.values()))
    causal = flop_shares(config, [4096], causal=True)["attention over the context"][0]
    assert causal < attention[1]  # the causal half counts half the keys
    ax = plot_flop_shares(config, contexts, name="Llama-2-7B")
    assert len(ax.collections) == 4 and ax.get_title().startswith("Llama-2-7B")
    plt.close(ax.figure)
