"""DecoderLM against chapter 1's parameter formula, transformers' Llama and GPT-2, and causality."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from course_utils.compute import forward_flops_breakdown
from course_utils.config import ModelConfig
from course_utils.hf_llama import from_hf_llama_config, to_hf_llama_config
from course_utils.layers import causal_mask, explicit_attention
from course_utils.model import DecoderLM, LLMBlock, next_token_loss
from course_utils.parameters import count_parameters, estimate_parameters, parameter_breakdown
from tests.hf_reference import hf_model, llama_config

transformers = pytest.importorskip("transformers")


@st.composite
def model_configs(draw) -> ModelConfig:
    """Small configs covering every option ModelConfig has."""
    n_kv_heads = draw(st.integers(1, 3))
    n_heads = n_kv_heads * draw(st.integers(1, 3))  # multi-head, grouped-query, multi-query
    pos_embedding = draw(st.sampled_from(["learned", "rope"]))
    head_dim = 2 * draw(st.integers(1, 4))
    explicit_head_dim = draw(st.booleans())
    d_model = draw(st.integers(2, 24)) if explicit_head_dim else n_heads * head_dim
    norm = draw(st.sampled_from(["layernorm", "rmsnorm"]))
    return ModelConfig(
        vocab_size=draw(st.integers(2, 40)),
        d_model=d_model,
        n_layers=draw(st.integers(1, 3)),
        n_heads=n_heads,
        n_kv_heads=n_kv_heads,
        d_ff=draw(st.one_of(st.none(), st.integers(1, 40))),
        max_seq_len=draw(st.integers(4, 16)),
        norm=norm,
        mlp=draw(st.sampled_from(["gelu", "swiglu", "relu2"])),
        pos_embedding=pos_embedding,
        tie_embeddings=draw(st.booleans()),
        bias=draw(st.booleans()),
        head_dim=head_dim if explicit_head_dim else None,
        gelu_approximation=draw(st.sampled_from(["tanh", "none"])),
        norm_bias=norm == "rmsnorm" or draw(st.booleans()),
        qk_norm=draw(st.booleans()),
        logit_softcap=draw(st.one_of(st.none(), st.floats(1.0, 50.0))),
        zero_init_projections=draw(st.booleans()),
    )


@settings(max_examples=60, deadline=None)
@given(model_configs())
def test_parameter_count_equals_chapter_1_formula(config):
    model = DecoderLM(config)
    assert count_parameters(model, verbose=False) == estimate_parameters(config)
    breakdown = parameter_breakdown(config)
    lm_head = 0 if model.lm_head is None else model.lm_head.weight.numel()
    assert lm_head == breakdown["lm_head"]
    attention = sum(p.numel() for b in model.blocks for p in b.attention.parameters())
    assert attention == breakdown["attention"]
    assert sum(p.numel() for b in model.blocks for p in b.mlp.parameters()) == breakdown["mlp"]


@settings(max_examples=25, deadline=None)
@given(model_configs(), st.data())
def test_changing_future_tokens_never_changes_earlier_logits(config, data):
    torch.manual_seed(0)
    model = DecoderLM(config).eval()
    length = config.max_seq_len
    t = data.draw(st.integers(0, length - 2), label="last unchanged position")
    idx = torch.randint(0, config.vocab_size, (2, length))
    changed = idx.clone()
    changed[:, t + 1 :] = (idx[:, t + 1 :] + 1) % config.vocab_size
    with torch.no_grad():
        before, after = model(idx), model(changed)
    torch.testing.assert_close(before[:, : t + 1], after[:, : t + 1], rtol=0, atol=1e-6)
    # The check can fail: the changed positions' own logits do change.
    assert not torch.allclose(before[:, t + 1 :], after[:, t + 1 :])


def test_logits_shape_and_tied_head():
    config = ModelConfig(vocab_size=11, d_model=16, n_layers=2, n_heads=2, tie_embeddings=True)
    model = DecoderLM(config)
    assert model(torch.zeros(3, 5, dtype=torch.long)).shape == (3, 5, 11)
    assert model.lm_head is None
    assert model.output_weight is model.token_embeddings.weight


def test_initialisation_follows_gpt2():
    config = ModelConfig(vocab_size=64, d_model=64, n_layers=8, n_heads=4, bias=True)
    torch.manual_seed(0)
    model = DecoderLM(config)
    block = model.blocks[0]
    assert block.attention.q_proj.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert block.mlp.down_proj.weight.std().item() == pytest.approx(0.02 / 4, rel=0.05)
    assert torch.all(block.attention.q_proj.bias == 0)
    assert torch.all(block.norm1.weight == 1)
    with torch.no_grad():
        block.norm1.weight.mul_(3)
        block.attention.q_proj.bias.add_(1)
    model.reset_parameters()
    assert torch.all(block.norm1.weight == 1) and torch.all(block.attention.q_proj.bias == 0)


@pytest.mark.parametrize(
    ("idx", "message"),
    [
        (torch.zeros(2, 3), "integer token ids"),
        (torch.zeros(3, dtype=torch.long), "shape"),
        (torch.zeros(1, 9, dtype=torch.long), "max_seq_len=8"),
    ],
)
def test_bad_input_is_a_clear_error(idx, message):
    model = DecoderLM(ModelConfig(vocab_size=5, d_model=8, n_layers=1, n_heads=2, max_seq_len=8))
    with pytest.raises(ValueError, match=message):
        model(idx)


def test_decoder_needs_a_model_config():
    with pytest.raises(ValueError, match="ModelConfig"):
        DecoderLM({"d_model": 8})


# --- The seed's block ------------------------------------------------------------------


def test_seed_constructor_builds_a_llama_block():
    block = LLMBlock(64, 4)
    assert (block.embed_dim, block.num_heads, block.head_dim) == (64, 4, 16)
    # The seed's int(4 · 64 · 2/3) = 170, rounded up to Llama's multiple of 256.
    assert block.mlp.gate_proj.out_features == 256
    assert block.norm1.eps == 1e-6
    assert block.attention.rotary is not None
    assert LLMBlock(64, 4, ff_mult=8).mlp.gate_proj.out_features == 512  # int(341.3·2) → 512


def test_seed_rule_with_rounding_gives_llama_2_7b_width():
    """Llama-2-7B: d_model 4096 → intermediate_size 11008 (its config.json)."""
    with torch.device("meta"):
        block = LLMBlock(4096, 32)
    assert block.mlp.gate_proj.out_features == 11008


def test_seed_block_is_causal_by_default_and_leaks_without_a_mask():
    torch.manual_seed(0)
    block = LLMBlock(32, 4).eval()
    x = torch.randn(1, 6, 32)
    future_changed = x.clone()
    future_changed[:, 3] += 1.0  # change position 3 only
    with torch.no_grad():
        causal, causal_changed = block(x), block(future_changed)
        torch.testing.assert_close(block(x, causal_mask(6)), causal)
        nothing_blocked = torch.zeros(6, 6, dtype=torch.bool)
        seed, seed_changed = block(x, nothing_blocked), block(future_changed, nothing_blocked)
    torch.testing.assert_close(causal[:, :3], causal_changed[:, :3], rtol=0, atol=1e-6)
    assert (seed[:, 2] - seed_changed[:, 2]).abs().max() > 1e-3  # position 2 saw position 3


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "embed_dim and num_heads"),
        (
            (64, 4),
            {"config": ModelConfig(vocab_size=2, d_model=8, n_layers=1, n_heads=2)},
            "not both",
        ),
        ((64, 5), {}, "divisible"),
        ((64, 4, 0), {}, "ff_mult"),
    ],
)
def test_block_constructor_errors(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        LLMBlock(*args, **kwargs)


# --- Against transformers' Llama ------------------------------------------------------

LLAMA_CASES = {
    "multi-head": dict(n_heads=4, n_kv_heads=4),
    "grouped-query": dict(n_heads=4, n_kv_heads=2),
    "multi-query": dict(n_heads=4, n_kv_heads=1),
    "tied": dict(n_heads=4, n_kv_heads=2, tie_embeddings=True),
    "bias, head_dim, theta": dict(n_heads=6, n_kv_heads=3, bias=True, head_dim=8, rope_theta=5e5),
}


def randomise(model: torch.nn.Module, seed: int = 0) -> None:
    """Weights large enough that every one of them visibly changes the logits."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if "norm" in name:
                parameter.copy_(1 + 0.2 * noise)
            elif parameter.ndim == 1:
                parameter.copy_(0.2 * noise)
            elif "wte" in name or "wpe" in name or "embed" in name:
                parameter.copy_(noise)
            else:
                parameter.copy_(noise / parameter.shape[-1] ** 0.5)


def llama_pair(config: ModelConfig):
    torch.manual_seed(0)
    reference = hf_model(config).eval()
    randomise(reference)
    model = DecoderLM(config).eval()
    model.load_hf_llama_state_dict(reference.state_dict())
    return model, reference


@pytest.mark.parametrize("case", LLAMA_CASES)
def test_logits_equal_transformers_llama(case):
    config = ModelConfig(
        vocab_size=97, d_model=48, n_layers=2, d_ff=80, max_seq_len=64, **LLAMA_CASES[case]
    )
    model, reference = llama_pair(config)
    assert count_parameters(model, verbose=False) == reference.num_parameters()
    idx = torch.randint(0, 97, (3, 40), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, theirs = model(idx), reference(idx).logits
    assert theirs.abs().max() > 1.0  # logits big enough for 1e-5 to be a strict test
    assert (ours - theirs).abs().max().item() <= 1e-5


def test_next_token_loss_equals_transformers_causal_lm_loss():
    config = ModelConfig(vocab_size=61, d_model=32, n_layers=2, n_heads=4, n_kv_heads=2)
    model, reference = llama_pair(config)
    idx = torch.randint(0, 61, (2, 20), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference(idx, labels=idx).loss
        torch.testing.assert_close(next_token_loss(model, idx), expected)
    with pytest.raises(ValueError, match="seq>=2"):
        next_token_loss(model, idx[:, :1])


def test_loading_real_checkpoint_names_round_trips_the_config():
    config = ModelConfig(vocab_size=50, d_model=32, n_layers=2, n_heads=4, n_kv_heads=2)
    assert from_hf_llama_config(llama_config(config).to_dict()) == config


def test_from_hf_llama_config_reads_a_llama_2_7b_config_json():
    """meta-llama/Llama-2-7b-hf config.json (the fields that matter); 6,738,415,616 parameters."""
    values = {
        "hidden_act": "silu",
        "hidden_size": 4096,
        "intermediate_size": 11008,
        "max_position_embeddings": 4096,
        "num_attention_heads": 32,
        "num_hidden_layers": 32,
        "num_key_value_heads": 32,
        "rms_norm_eps": 1e-05,
        "rope_scaling": None,
        "tie_word_embeddings": False,
        "vocab_size": 32000,
    }
    config = from_hf_llama_config(values)
    assert config.rope_theta == 10_000.0 and config.head_dim == 128
    assert estimate_parameters(config) == 6_738_415_616


def test_from_hf_llama_config_refuses_what_it_cannot_build():
    base = dict(
        vocab_size=8, hidden_size=8, intermediate_size=8, num_hidden_layers=1,
        num_attention_heads=2, max_position_embeddings=8,
    )  # fmt: skip
    with pytest.raises(ValueError, match="llama3"):
        from_hf_llama_config({**base, "rope_scaling": {"rope_type": "llama3", "factor": 8.0}})
    with pytest.raises(ValueError, match="hidden_act"):
        from_hf_llama_config({**base, "hidden_act": "gelu"})
    with pytest.raises(ValueError, match="bias"):
        from_hf_llama_config({**base, "attention_bias": True})


def test_loading_refuses_mismatched_state_dicts():
    config = ModelConfig(vocab_size=20, d_model=16, n_layers=1, n_heads=2)
    model, reference = llama_pair(config)
    state = reference.state_dict()
    with pytest.raises(ValueError, match="unexpected key"):
        model.load_hf_llama_state_dict({**state, "model.extra.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="missing"):
        model.load_hf_llama_state_dict({k: v for k, v in state.items() if "k_proj" not in k})
    bigger = DecoderLM(config.replace(d_ff=config.d_ff * 2))
    with pytest.raises(ValueError, match="shape"):
        bigger.load_hf_llama_state_dict(state)
    tied = DecoderLM(config.replace(tie_embeddings=True))
    with pytest.raises(ValueError, match="tie_embeddings=False"):
        tied.load_hf_llama_state_dict(state)
    with pytest.raises(ValueError, match="Llama-style"):
        DecoderLM(config.replace(mlp="gelu")).load_hf_llama_state_dict(state)
    with pytest.raises(ValueError, match="rmsnorm"):
        to_hf_llama_config(config.replace(norm="layernorm"))


# --- Against transformers' GPT-2: LayerNorm, GELU, learned positions, biases, tied head ---


def load_gpt2_weights(model: DecoderLM, reference) -> None:
    """GPT-2 stores q, k, v in one Conv1D (weights transposed); split and transpose them."""
    source = reference.state_dict()
    d = model.config.d_model
    state = {
        "token_embeddings.weight": source["transformer.wte.weight"],
        "position_embeddings.weight": source["transformer.wpe.weight"],
        "final_norm.weight": source["transformer.ln_f.weight"],
        "final_norm.bias": source["transformer.ln_f.bias"],
    }
    for i in range(model.config.n_layers):
        prefix, ours = f"transformer.h.{i}.", f"blocks.{i}."
        for part in ("weight", "bias"):
            state[f"{ours}norm1.{part}"] = source[f"{prefix}ln_1.{part}"]
            state[f"{ours}norm2.{part}"] = source[f"{prefix}ln_2.{part}"]
        qkv_weight = source[f"{prefix}attn.c_attn.weight"].T
        qkv_bias = source[f"{prefix}attn.c_attn.bias"]
        for j, name in enumerate(("q_proj", "k_proj", "v_proj")):
            state[f"{ours}attention.{name}.weight"] = qkv_weight[j * d : (j + 1) * d]
            state[f"{ours}attention.{name}.bias"] = qkv_bias[j * d : (j + 1) * d]
        for theirs, name in (("attn.c_proj", "attention.o_proj"), ("mlp.c_fc", "mlp.up_proj"),
                             ("mlp.c_proj", "mlp.down_proj")):  # fmt: skip
            state[f"{ours}{name}.weight"] = source[f"{prefix}{theirs}.weight"].T
            state[f"{ours}{name}.bias"] = source[f"{prefix}{theirs}.bias"]
    model.load_state_dict(state)


@pytest.mark.parametrize("gelu", ["tanh", "none"])  # GPT-2's GELU; nanoGPT's exact one
def test_gpt2_style_config_equals_transformers_gpt2(gelu):
    config = ModelConfig(
        vocab_size=89, d_model=48, n_layers=2, n_heads=4, max_seq_len=32,
        norm="layernorm", mlp="gelu", pos_embedding="learned", tie_embeddings=True, bias=True,
        gelu_approximation=gelu,
    )  # fmt: skip
    torch.manual_seed(0)
    reference = hf_model(config).eval()
    randomise(reference)
    model = DecoderLM(config).eval()
    load_gpt2_weights(model, reference)
    assert count_parameters(model, verbose=False) == reference.num_parameters()
    idx = torch.randint(0, 89, (2, 32), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, theirs = model(idx), reference(idx).logits
    assert theirs.abs().max() > 1.0
    assert (ours - theirs).abs().max().item() <= 1e-5


# --- FLOPs ----------------------------------------------------------------------------


@pytest.mark.parametrize("mlp", ["gelu", "swiglu", "relu2"])
def test_forward_flops_match_pytorch_flop_counter(mlp):
    config = ModelConfig(
        vocab_size=50, d_model=32, n_layers=2, n_heads=4, n_kv_heads=2, mlp=mlp, bias=True
    )
    model, length = DecoderLM(config), 10
    flops = forward_flops_breakdown(config, length, causal=False)
    projections = flops["attention_qkv"] + flops["attention_output"]
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(2, length, dtype=torch.long))
    # PyTorch counts the projections' and the head's matrix multiplies here (fused CPU
    # attention kernels are not counted), so compare those ...
    counted = sum(
        n
        for op, n in counter.get_flop_counts()["Global"].items()
        if str(op) in ("aten.mm", "aten.addmm")
    )
    assert counted == 2 * length * (projections + flops["mlp"] + flops["lm_head"])
    # ... and count the attention scores on the explicit path, one layer.
    q = torch.zeros(2, config.n_heads, length, config.head_dim)
    k = torch.zeros(2, config.n_kv_heads, length, config.head_dim)
    with FlopCounterMode(display=False) as counter:
        explicit_attention(q, k, k)
    assert counter.get_total_flops() * config.n_layers == 2 * length * flops["attention_scores"]


def test_projection_flops_are_twice_chapter_1_parameters():
    config = ModelConfig(vocab_size=1000, d_model=64, n_layers=3, n_heads=8, n_kv_heads=2)
    flops = forward_flops_breakdown(config, 128)
    params = parameter_breakdown(config)
    assert flops["attention_qkv"] + flops["attention_output"] == 2 * params["attention"]
    for component in ("mlp", "lm_head"):
        assert flops[component] == 2 * params[component]
