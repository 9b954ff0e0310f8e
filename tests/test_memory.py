"""Memory estimates against published formulas and against what PyTorch actually allocates."""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.config import ModelConfig
from course_utils.memory import (
    ADAM_BYTES_PER_PARAMETER,
    BYTES_PER_PARAMETER,
    activation_bytes,
    activation_bytes_per_layer,
    kv_cache_bytes,
    serving_memory,
    training_memory,
    weight_bytes,
)
from course_utils.parameters import estimate_parameters
from course_utils.presets import PRESETS
from tests.hf_reference import hf_model
from tests.tiny_decoder import TinyDecoder, saved_activation_bytes

GPT_STYLE = {
    "norm": "layernorm",
    "mlp": "gelu",
    "pos_embedding": "learned",
    "tie_embeddings": True,
    "bias": True,
}


def tiny(**changes) -> ModelConfig:
    values = {"vocab_size": 256, "d_model": 64, "n_layers": 2, "n_heads": 4, "max_seq_len": 64}
    return ModelConfig(**{**values, **changes})


def tensor_bytes(tensors) -> int:
    """Bytes of distinct storages (a tied weight counts once)."""
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}
    return sum(storages.values())


# ---------------------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------------------


def test_bytes_per_parameter():
    assert BYTES_PER_PARAMETER == {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1, "int4": 0.5}


def test_weight_bytes_of_llama_2_7b():
    config = PRESETS["llama-2-7b"].config
    assert weight_bytes(config, "fp32") == 4 * 6_738_415_616
    assert weight_bytes(config, "bf16") == weight_bytes(6_738_415_616, "fp16") == 13_476_831_232
    assert weight_bytes(config, "int4") == 3_369_207_808


@pytest.mark.parametrize(
    ("dtype", "torch_dtype"),
    [
        ("fp32", torch.float32),
        ("bf16", torch.bfloat16),
        ("fp16", torch.float16),
        ("int8", torch.int8),
    ],
)
@pytest.mark.parametrize("config", [tiny(**GPT_STYLE), tiny(n_kv_heads=2), tiny(bias=True)])
def test_weight_bytes_equal_the_state_dict(config, dtype, torch_dtype):
    state = TinyDecoder(config).state_dict()
    # A tied weight appears under two names in the state dict but is stored once.
    distinct = {t.untyped_storage().data_ptr(): t for t in state.values()}
    assert len(state) == len(distinct) + config.tie_embeddings
    stored = [t.to(torch_dtype) for t in distinct.values()]
    assert sum(t.numel() * t.element_size() for t in stored) == weight_bytes(config, dtype)


def test_int4_packs_two_parameters_per_byte():
    config = tiny(n_kv_heads=2)
    n = estimate_parameters(config)
    nibbles = torch.randint(0, 16, (n,), dtype=torch.uint8)
    packed = nibbles[0::2] | (nibbles[1::2] << 4)  # n is even here
    assert packed.numel() * packed.element_size() == weight_bytes(config, "int4")


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "7B", None])
def test_weight_bytes_rejects_a_bad_model(bad):
    with pytest.raises(ValueError, match="model"):
        weight_bytes(bad)


def test_weight_bytes_rejects_an_unknown_dtype():
    with pytest.raises(ValueError, match="dtype must be one of"):
        weight_bytes(10, "fp8")


# ---------------------------------------------------------------------------------------
# Training: model states
# ---------------------------------------------------------------------------------------


def test_adam_needs_16_bytes_per_parameter_either_way():
    # Rajbhandari et al. 2020 (ZeRO), section 3.1: 2 + 2 + 12 = 16 bytes per parameter.
    assert ADAM_BYTES_PER_PARAMETER["mixed"] == (2, 2, 12)
    assert sum(ADAM_BYTES_PER_PARAMETER["mixed"]) == sum(ADAM_BYTES_PER_PARAMETER["fp32"]) == 16


def test_zeros_gpt2_example():
    # ZeRO section 3.1: a 1.5B-parameter GPT-2 needs at least 24 GB for its model states,
    # while its 16-bit weights alone are 3 GB.
    config = PRESETS["gpt2-xl"].config
    memory = training_memory(config)
    assert memory.model_states / 1e9 == pytest.approx(24, rel=0.04)
    assert memory.weights / 1e9 == pytest.approx(3, rel=0.04)
    assert memory.model_states == 16 * estimate_parameters(config)


def optimizer_state_bytes(optimizer: torch.optim.Optimizer) -> tuple[int, int]:
    """Bytes of Adam's moment tensors, and of its per-tensor step counters."""
    moments = steps = 0
    for state in optimizer.state.values():
        for key, value in state.items():
            size = value.numel() * value.element_size()
            if key == "step":
                steps += size
            else:
                moments += size
    return moments, steps


@pytest.mark.parametrize("config", [tiny(**GPT_STYLE), tiny(n_kv_heads=2, d_ff=96)])
def test_mixed_precision_adam_measured_after_one_step(config):
    torch.manual_seed(0)
    master = TinyDecoder(config)  # fp32 master weights, updated by Adam
    working = copy.deepcopy(master).to(torch.bfloat16)  # 16-bit copy for forward/backward
    idx = torch.randint(0, config.vocab_size, (2, 16))
    working(idx, idx).backward()
    for master_param, working_param in zip(master.parameters(), working.parameters(), strict=True):
        master_param.grad = working_param.grad.float()
    optimizer = torch.optim.AdamW(master.parameters())
    optimizer.step()
    for master_param in master.parameters():  # ZeRO's accounting keeps no fp32 gradients
        master_param.grad = None

    estimate = training_memory(config)
    moments, step_counters = optimizer_state_bytes(optimizer)
    n_tensors = len(list(master.parameters()))
    assert tensor_bytes(working.parameters()) == estimate.weights
    assert tensor_bytes(p.grad for p in working.parameters()) == estimate.gradients
    assert tensor_bytes(master.parameters()) + moments == estimate.optimizer_states
    assert step_counters == 4 * n_tensors  # one fp32 scalar per tensor, not per parameter


def test_fp32_adam_measured_after_one_step():
    torch.manual_seed(0)
    config = tiny(**GPT_STYLE)
    model = TinyDecoder(config)
    idx = torch.randint(0, config.vocab_size, (2, 16))
    model(idx, idx).backward()
    optimizer = torch.optim.Adam(model.parameters())
    optimizer.step()
    n = estimate_parameters(config)
    weights, gradients, states = ADAM_BYTES_PER_PARAMETER["fp32"]
    assert tensor_bytes(model.parameters()) == weights * n
    assert tensor_bytes(p.grad for p in model.parameters()) == gradients * n
    assert optimizer_state_bytes(optimizer)[0] == states * n


# ---------------------------------------------------------------------------------------
# Training: activations
# ---------------------------------------------------------------------------------------


@given(
    batch=st.integers(1, 8),
    seq_len=st.integers(1, 4096),
    layers=st.integers(1, 4),
    heads=st.sampled_from([1, 2, 4, 8, 16]),
    head_dim=st.sampled_from([8, 16, 64, 128]),
)
def test_korthikanti_formula_for_gpt_layers(batch, seq_len, layers, heads, head_dim):
    # Korthikanti et al. 2022, section 4.1, equation (1): s·b·h·(34 + 5·a·s/h) bytes per layer.
    h = heads * head_dim
    config = ModelConfig(vocab_size=100, d_model=h, n_layers=layers, n_heads=heads, **GPT_STYLE)
    expected = seq_len * batch * h * 34 + 5 * heads * seq_len**2 * batch
    per_layer = activation_bytes_per_layer(
        config, batch, seq_len, flash_attention=False, dropout=True
    )
    assert per_layer == expected


def test_flash_attention_removes_the_quadratic_term():
    # Korthikanti et al. 2022, section 5: with the attention matrix recomputed, 34·s·b·h
    # (plus flash attention's fp32 log-sum-exp, 4 bytes per head and token).
    config = ModelConfig(vocab_size=100, d_model=1024, n_layers=1, n_heads=16, **GPT_STYLE)
    s, b, h, a = 2048, 2, 1024, 16
    flash = activation_bytes_per_layer(config, b, s, flash_attention=True, dropout=True)
    assert flash == 34 * s * b * h + 4 * a * s * b


def test_activations_grow_linearly_with_batch_and_layers():
    config = PRESETS["llama-2-7b"].config
    one = activation_bytes(config, 1, 4096)
    assert activation_bytes(config, 8, 4096) == 8 * one
    deeper = config.replace(n_layers=64)
    per_layer = activation_bytes_per_layer(config, 1, 4096)
    assert activation_bytes(deeper, 1, 4096) - one == 32 * per_layer


def test_grouped_query_attention_saves_activation_memory():
    mha = PRESETS["llama-3-8b"].config.replace(n_kv_heads=32)
    gqa = PRESETS["llama-3-8b"].config
    saved = activation_bytes_per_layer(mha, 1, 8192) - activation_bytes_per_layer(gqa, 1, 8192)
    assert saved == 2 * 2 * 8192 * (32 - 8) * 128  # K and V, 2 bytes, 24 fewer heads


def measured_and_estimated(config, *, flash_attention, dropout=0.0):
    torch.manual_seed(0)
    model = TinyDecoder(config, dropout=dropout, flash_attention=flash_attention)
    model = model.to(torch.bfloat16).train()
    idx = torch.randint(0, config.vocab_size, (2, config.max_seq_len))
    measured = saved_activation_bytes(model, idx, idx)
    estimated = activation_bytes(
        config, 2, config.max_seq_len, flash_attention=flash_attention, dropout=dropout > 0
    )
    return measured, estimated


@pytest.mark.parametrize(
    "config",
    [
        tiny(**GPT_STYLE),
        tiny(norm="layernorm", mlp="swiglu", n_kv_heads=2),
        tiny(norm="layernorm", n_kv_heads=1),
    ],
)
def test_activations_measured_with_flash_attention(config):
    # The LayerNorm stands in for a fused RMSNorm: PyTorch's CPU RMSNorm is not fused and
    # keeps fp32 copies. What the estimate leaves out (norm statistics, token ids) is <1%.
    measured, estimated = measured_and_estimated(config, flash_attention=True)
    assert measured == pytest.approx(estimated, rel=0.01)


@pytest.mark.parametrize("config", [tiny(**GPT_STYLE), tiny(norm="layernorm", mlp="swiglu")])
def test_activations_measured_with_the_attention_matrix_stored(config):
    # Left out of the estimate: the causal mask and the norm statistics (<2% here).
    measured, estimated = measured_and_estimated(config, flash_attention=False)
    assert measured == pytest.approx(estimated, rel=0.02)


def test_activations_measured_with_dropout():
    # On the CPU, PyTorch keeps a dropout mask in the activations' dtype (2 bytes) where
    # Korthikanti et al. count 1 byte (a CUDA bool mask): add that byte per mask entry.
    config = tiny(**GPT_STYLE)
    measured, estimated = measured_and_estimated(config, flash_attention=False, dropout=0.1)
    tokens, d, s, a = 2 * 64, config.d_model, 64, config.n_heads
    mask_entries = config.n_layers * (a * s * tokens + 2 * tokens * d) + tokens * d
    assert measured == pytest.approx(estimated + mask_entries, rel=0.02)


def test_training_memory_adds_up():
    config = PRESETS["llama-2-7b"].config
    memory = training_memory(config, batch_size=2, seq_len=1024)
    n = 6_738_415_616
    assert (memory.weights, memory.gradients, memory.optimizer_states) == (2 * n, 2 * n, 12 * n)
    assert memory.activations == activation_bytes(config, 2, 1024)
    assert memory.total == memory.model_states + memory.activations == 16 * n + memory.activations
    assert training_memory(config).activations == activation_bytes(config, 1, 4096)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"seq_len": -1}, "seq_len"),
        ({"batch_size": 1.5}, "batch_size"),
    ],
)
def test_training_memory_rejects_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        training_memory(tiny(), **kwargs)


def test_memory_functions_need_a_config():
    for function in (training_memory, kv_cache_bytes, serving_memory):
        with pytest.raises(ValueError, match="config must be a ModelConfig"):
            function(7_000_000_000)
    with pytest.raises(ValueError, match="config must be a ModelConfig"):
        activation_bytes(7_000_000_000, 1, 1)


# ---------------------------------------------------------------------------------------
# Serving: the KV cache
# ---------------------------------------------------------------------------------------


def test_kv_cache_by_hand():
    # Llama-3-8B: 32 layers × 8 KV heads × 128 dims × (K and V) × 2 bytes = 128 KiB per token.
    config = PRESETS["llama-3-8b"].config
    assert kv_cache_bytes(config, context_len=1) == 131_072
    assert kv_cache_bytes(config, batch_size=1, context_len=32_768) == 2**32
    mha = config.replace(n_kv_heads=32)
    assert kv_cache_bytes(mha, context_len=32_768) == 4 * kv_cache_bytes(config, context_len=32_768)
    assert kv_cache_bytes(config) == kv_cache_bytes(config, context_len=8192)
    assert kv_cache_bytes(config, context_len=10, dtype="fp32") == 2 * kv_cache_bytes(
        config, context_len=10
    )


@settings(max_examples=10, deadline=None)
@given(
    n_kv_heads=st.sampled_from([1, 2, 4]),
    batch=st.integers(1, 3),
    seq_len=st.integers(1, 24),
    layers=st.integers(1, 3),
)
def test_kv_cache_equals_transformers_cache(n_kv_heads, batch, seq_len, layers):
    config = ModelConfig(
        vocab_size=97, d_model=64, n_layers=layers, n_heads=4, n_kv_heads=n_kv_heads, d_ff=96
    )
    model = hf_model(config).to(torch.bfloat16).eval()
    with torch.no_grad():
        output = model(torch.randint(0, 97, (batch, seq_len)), use_cache=True)
    cache = getattr(output, "cache", None) or output.past_key_values
    measured = sum(
        t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values)
    )
    assert measured == kv_cache_bytes(config, batch_size=batch, context_len=seq_len)


def test_serving_memory():
    config = PRESETS["mistral-7b"].config
    memory = serving_memory(config, batch_size=4, context_len=8192, dtype="int8")
    assert memory.weights == 7_241_732_096
    assert memory.kv_cache == kv_cache_bytes(config, batch_size=4, context_len=8192)
    assert memory.total == memory.weights + memory.kv_cache


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"context_len": 0}, "context_len"),
        ({"context_len": 2.5}, "context_len"),
        ({"dtype": "fp64"}, "dtype"),
    ],
)
def test_kv_cache_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        kv_cache_bytes(tiny(), **kwargs)


def test_plot_memory():
    import matplotlib

    matplotlib.use("Agg")
    from course_utils.memory import plot_memory

    configs = {name: PRESETS[name].config for name in ("gpt2", "llama-2-7b", "llama-3-8b")}
    ax = plot_memory(configs, line=("one H100 (80 GB)", 80e9))
    assert ax.get_yscale() == "log"
    assert "GB" in ax.get_ylabel() and ax.get_title()
    assert len(ax.patches) == 3 * 3
    heights = [p.get_height() for p in ax.patches]
    assert heights[:3] == pytest.approx([weight_bytes(c) / 1e9 for c in configs.values()])
    assert len(ax.get_legend().get_texts()) == 4


def test_a_sliding_window_caps_the_kv_cache_like_mistral_s_rolling_buffer():
    config = PRESETS["mistral-7b"].config
    full = kv_cache_bytes(config)
    windowed = kv_cache_bytes(config, attention_window=4096)
    assert full == 8 * windowed == 8 * kv_cache_bytes(config, context_len=4096)
    assert kv_cache_bytes(config, context_len=1000, attention_window=4096) == kv_cache_bytes(
        config, context_len=1000
    )
    with pytest.raises(ValueError, match="attention_window must be a positive integer"):
        kv_cache_bytes(config, attention_window=0)


def test_sliding_window_cache_equals_transformers_mistral_cache():
    import transformers

    window, seq_len = 4, 11
    hf_config = transformers.MistralConfig(
        vocab_size=97,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        sliding_window=window,
    )
    model = transformers.MistralForCausalLM(hf_config).eval()
    cache = transformers.DynamicCache(config=hf_config)
    with torch.no_grad():
        for token in torch.randint(0, 97, (seq_len,)):
            model(token.view(1, 1), cache=cache, use_cache=True)
    measured = sum(
        t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values)
    )
    config = ModelConfig(vocab_size=97, d_model=64, n_layers=2, n_heads=4, n_kv_heads=2, d_ff=96)
    # Between steps transformers keeps window - 1 tokens: the next token attends to them and to
    # itself, window tokens in all (the paper's rolling buffer of size window holds it too).
    kept = kv_cache_bytes(config, context_len=seq_len, attention_window=window - 1, dtype="fp32")
    assert measured == kept < kv_cache_bytes(config, context_len=seq_len, dtype="fp32")
