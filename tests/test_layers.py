"""The transformer's pieces against PyTorch's own implementations and the RoPE papers."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_utils.config import ModelConfig
from course_utils.kernels import RMSNormFunction, RotaryFunction
from course_utils.layers import (
    CausalSelfAttention,
    GeluMLP,
    KVCache,
    ReLUSquaredMLP,
    RMSNorm,
    RotaryEmbedding,
    apply_rotary,
    apply_rotary_interleaved,
    causal_mask,
    explicit_attention,
    fast_attention,
    interleaved_to_half_permutation,
    make_mlp,
    make_norm,
    make_rotary,
    permute_for_rotate_half,
    rms_norm,
    rope_frequencies,
    rotate_half,
)


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- RMSNorm ---------------------------------------------------------------------------


@pytest.mark.parametrize(("dim", "eps"), [(8, 1e-6), (64, 1e-5), (3, 0.1)])
def test_rmsnorm_equals_torch_rmsnorm(dim, eps):
    x = torch.randn(4, 5, dim, generator=generator()) * 3
    ours, reference = RMSNorm(dim, eps=eps), torch.nn.RMSNorm(dim, eps=eps)
    weight = torch.randn(dim, generator=generator(1))
    with torch.no_grad():
        ours.weight.copy_(weight)
        reference.weight.copy_(weight)
    torch.testing.assert_close(ours(x), reference(x), rtol=1e-6, atol=1e-6)


def test_rmsnorm_keeps_the_seed_signature_and_default_eps():
    norm = RMSNorm(16)
    assert norm.eps == 1e-6
    assert [name for name, _ in norm.named_parameters()] == ["weight"]
    assert torch.equal(norm.weight, torch.ones(16))


def test_rmsnorm_is_layernorm_on_zero_mean_inputs():
    """LayerNorm subtracts the mean first; when the mean is already 0 the two agree."""
    x = torch.randn(6, 32, generator=generator())
    x = x - x.mean(dim=-1, keepdim=True)
    layer_norm = torch.nn.LayerNorm(32, eps=1e-5, elementwise_affine=False)
    torch.testing.assert_close(RMSNorm(32, eps=1e-5)(x), layer_norm(x), rtol=1e-5, atol=1e-5)
    shifted = x + 1.0
    assert not torch.allclose(RMSNorm(32, eps=1e-5)(shifted), layer_norm(shifted), atol=1e-2)


def test_make_norm_follows_the_config():
    rms = make_norm(ModelConfig(vocab_size=8, d_model=16, n_layers=1, n_heads=2, norm_eps=1e-4))
    layer = make_norm(
        ModelConfig(vocab_size=8, d_model=16, n_layers=1, n_heads=2, norm="layernorm")
    )
    assert isinstance(rms, RMSNorm) and rms.eps == 1e-4
    assert isinstance(layer, torch.nn.LayerNorm) and layer.bias is not None


@pytest.mark.parametrize(("dim", "eps"), [(0, 1e-6), (4, 0.0), (2.5, 1e-6)])
def test_rmsnorm_rejects_bad_arguments(dim, eps):
    with pytest.raises(ValueError, match="dim|eps"):
        RMSNorm(dim, eps=eps)


def test_rmsnorm_module_computes_exactly_the_formula():
    x = torch.randn(3, 7, 16, generator=generator()) * 2
    norm = RMSNorm(16, eps=1e-5)
    with torch.no_grad():
        norm.weight.copy_(torch.randn(16, generator=generator(1)))
    assert torch.equal(norm(x), rms_norm(x, norm.weight, 1e-5))


def test_rmsnorm_function_gradient_passes_gradcheck():
    x = torch.randn(2, 3, 6, dtype=torch.float64, generator=generator(), requires_grad=True)
    weight = torch.randn(6, dtype=torch.float64, generator=generator(1), requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w: RMSNormFunction.apply(x, w, 0.1), (x, weight))


@pytest.mark.parametrize("eps", [1e-6, 0.5])
def test_rmsnorm_function_gradients_equal_autograd_through_the_formula(eps):
    x = torch.randn(4, 5, 12, dtype=torch.float64, generator=generator(), requires_grad=True)
    weight = torch.randn(12, dtype=torch.float64, generator=generator(1), requires_grad=True)
    upstream = torch.randn(4, 5, 12, dtype=torch.float64, generator=generator(2))
    by_hand = torch.autograd.grad(RMSNormFunction.apply(x, weight, eps), (x, weight), upstream)
    by_autograd = torch.autograd.grad(rms_norm(x, weight, eps), (x, weight), upstream)
    for ours, reference in zip(by_hand, by_autograd, strict=True):
        torch.testing.assert_close(ours, reference, rtol=1e-12, atol=1e-12)


def test_hand_written_backwards_refuse_double_backward():
    x = torch.randn(2, 4, requires_grad=True)
    (grad,) = torch.autograd.grad(RMSNorm(4)(x).pow(2).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|twice"):
        grad.sum().backward()


# --- Rotary position embeddings --------------------------------------------------------


def test_rope_frequencies_follow_the_paper():
    """θ_i = 10000^(-2i/d) (Su et al. 2021, eq. 15)."""
    frequencies = rope_frequencies(8)
    expected = torch.tensor([10_000 ** (-2 * i / 8) for i in range(4)], dtype=torch.float32)
    torch.testing.assert_close(frequencies, expected)
    with pytest.raises(ValueError, match="even"):
        rope_frequencies(7)


def test_interleaved_rope_of_one_pair_is_a_2d_rotation_matrix():
    """head_dim=2: one pair turning by position·1 radian, as a plain rotation matrix."""
    vector = torch.tensor([0.3, -1.2])
    for position in range(5):
        angle = float(position)
        rotation = torch.tensor(
            [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
        )
        rotated = apply_rotary_interleaved(vector[None], torch.tensor([position]))[0]
        torch.testing.assert_close(rotated, rotation @ vector)


def rotary_scores(rotate, q: torch.Tensor, k: torch.Tensor, length: int) -> torch.Tensor:
    """score[m, n] = <rotate(q, position m), rotate(k, position n)> for one q and one k."""
    q_rotated = rotate(q.expand(length, -1))
    k_rotated = rotate(k.expand(length, -1))
    return q_rotated @ k_rotated.T


@pytest.mark.parametrize("convention", ["rotate_half", "interleaved"])
def test_rope_scores_depend_only_on_relative_position(convention):
    head_dim, length = 16, 24
    q = torch.randn(1, head_dim, generator=generator(1), dtype=torch.float64)
    k = torch.randn(1, head_dim, generator=generator(2), dtype=torch.float64)
    if convention == "rotate_half":
        rotary = RotaryEmbedding(head_dim, length).double()
        scores = rotary_scores(lambda x: rotary(x[None, None])[0, 0], q, k, length)
    else:
        positions = torch.arange(length)
        scores = rotary_scores(lambda x: apply_rotary_interleaved(x, positions), q, k, length)
    # score[m, n] is the same along every diagonal m - n = const ...
    for offset in range(-length + 1, length):
        diagonal = torch.diagonal(scores, offset=offset)
        # (the angle tables are float32: equal to float32 precision)
        expected = diagonal[:1].expand_as(diagonal)
        torch.testing.assert_close(diagonal, expected, rtol=1e-5, atol=1e-5)
    # ... and really changes with the offset (a constant would pass the check above).
    assert torch.diagonal(scores, 0)[0] != pytest.approx(torch.diagonal(scores, 3)[0].item())
    # Position 0 is not rotated at all.
    torch.testing.assert_close(scores[0, 0], (q @ k.T)[0, 0])


def test_rope_preserves_vector_length():
    x = torch.randn(2, 3, 10, 8, generator=generator())
    rotated = RotaryEmbedding(8, 10)(x)
    torch.testing.assert_close(rotated.norm(dim=-1), x.norm(dim=-1))


def test_rotate_half_pairs_dimension_i_with_i_plus_half():
    x = torch.arange(6.0)
    assert rotate_half(x).tolist() == [-3.0, -4.0, -5.0, 0.0, 1.0, 2.0]
    assert interleaved_to_half_permutation(6).tolist() == [0, 2, 4, 1, 3, 5]


def test_permuted_weights_make_rotate_half_compute_the_interleaved_rope():
    """What Hugging Face's conversion of Meta's Llama checkpoints relies on."""
    n_heads, head_dim, d_model, length = 3, 8, 12, 7
    weight = torch.randn(n_heads * head_dim, d_model, generator=generator())
    x = torch.randn(length, d_model, generator=generator(1))
    positions = torch.arange(length)
    meta = apply_rotary_interleaved(
        (x @ weight.T).view(length, n_heads, head_dim).transpose(0, 1), positions
    )
    rotary = RotaryEmbedding(head_dim, length)
    converted = permute_for_rotate_half(weight, n_heads)
    hugging_face = rotary((x @ converted.T).view(length, n_heads, head_dim).transpose(0, 1))
    # Same rotation, stored in a different order within each head: the scores are equal.
    torch.testing.assert_close(meta @ meta.mT, hugging_face @ hugging_face.mT, rtol=1e-5, atol=1e-5)
    order = interleaved_to_half_permutation(head_dim)
    torch.testing.assert_close(meta[..., order], hugging_face, rtol=1e-5, atol=1e-5)
    # Without the permutation the two conventions disagree.
    unconverted = rotary((x @ weight.T).view(length, n_heads, head_dim).transpose(0, 1))
    assert not torch.allclose(meta @ meta.mT, unconverted @ unconverted.mT)


def test_rotary_tables_are_non_persistent_buffers():
    rotary = RotaryEmbedding(8, 32)
    assert dict(rotary.named_parameters()) == {}
    assert rotary.state_dict() == {}
    assert {name for name, _ in rotary.named_buffers()} == {"cos", "sin"}


def test_rotary_refuses_positions_past_max_seq_len():
    rotary = RotaryEmbedding(8, 4)
    with pytest.raises(ValueError, match="max_seq_len=4"):
        rotary(torch.zeros(1, 1, 3, 8), start=2)


def test_apply_rotary_with_start_equals_slicing_a_longer_sequence():
    x = torch.randn(1, 2, 9, 8, generator=generator())
    rotary = RotaryEmbedding(8, 16)
    torch.testing.assert_close(rotary(x)[:, :, 5:], rotary(x[:, :, 5:], start=5))
    cos, sin = rotary.cos[5:9], rotary.sin[5:9]
    torch.testing.assert_close(rotary(x[:, :, 5:], start=5), apply_rotary(x[:, :, 5:], cos, sin))


def test_rotary_module_computes_exactly_the_rotate_half_formula():
    rotary = RotaryEmbedding(8, 16)
    # A transposed view, as the attention passes it: the output is contiguous either way.
    x = torch.randn(2, 9, 3, 8, generator=generator()).transpose(1, 2)
    rotated = rotary(x)
    assert rotated.is_contiguous()
    assert torch.equal(rotated, apply_rotary(x, rotary.cos[:9], rotary.sin[:9]))


def test_rotary_function_gradient_is_the_inverse_rotation_and_passes_gradcheck():
    rotary = RotaryEmbedding(6, 8).double()
    cos, sin = rotary.cos[:5, :3], rotary.sin[:5, :3]
    x = torch.randn(2, 5, 6, dtype=torch.float64, generator=generator(), requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: RotaryFunction.apply(x, cos, sin), (x,))
    upstream = torch.randn(2, 5, 6, dtype=torch.float64, generator=generator(1))
    (by_hand,) = torch.autograd.grad(RotaryFunction.apply(x, cos, sin), x, upstream)
    (by_autograd,) = torch.autograd.grad(
        apply_rotary(x, rotary.cos[:5], rotary.sin[:5]), x, upstream
    )
    torch.testing.assert_close(by_hand, by_autograd, rtol=1e-12, atol=1e-12)
    # Rotating the gradient forward again gives back the upstream gradient.
    torch.testing.assert_close(RotaryFunction.apply(by_hand, cos, sin), upstream)


# --- Attention -------------------------------------------------------------------------


def test_causal_mask_blocks_the_future():
    assert causal_mask(3).tolist() == [
        [False, True, True],
        [False, False, True],
        [False, False, False],
    ]
    # Two new queries at positions 3 and 4 against five keys.
    assert causal_mask(2, 5).tolist() == [
        [False, False, False, False, True],
        [False, False, False, False, False],
    ]
    with pytest.raises(ValueError, match="n_queries"):
        causal_mask(4, 2)


def qkv(n_heads: int, n_kv_heads: int, n_queries: int = 7, n_keys: int = 7, head_dim: int = 8):
    q = torch.randn(2, n_heads, n_queries, head_dim, generator=generator(1))
    k = torch.randn(2, n_kv_heads, n_keys, head_dim, generator=generator(2))
    v = torch.randn(2, n_kv_heads, n_keys, head_dim, generator=generator(3))
    return q, k, v


HEAD_LAYOUTS = {"multi-head": (4, 4), "grouped-query": (6, 2), "multi-query": (4, 1)}


def sdpa_reference(q, k, v, **kwargs):
    """PyTorch's attention with every key/value head copied for its query heads."""
    group = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
    return F.scaled_dot_product_attention(q, k, v, **kwargs)


@pytest.mark.parametrize("layout", HEAD_LAYOUTS)
def test_both_attention_paths_equal_torch_sdpa_causal(layout):
    q, k, v = qkv(*HEAD_LAYOUTS[layout])
    reference = sdpa_reference(q, k, v, is_causal=True)
    output, weights = explicit_attention(q, k, v)
    torch.testing.assert_close(output, reference, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fast_attention(q, k, v), reference, rtol=1e-5, atol=1e-5)
    assert weights.shape == (2, q.shape[1], 7, 7)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, q.shape[1], 7))
    assert torch.all(weights[..., causal_mask(7)] == 0)


@pytest.mark.parametrize("layout", HEAD_LAYOUTS)
def test_attention_paths_agree_with_an_explicit_mask_and_with_cached_keys(layout):
    n_heads, n_kv_heads = HEAD_LAYOUTS[layout]
    q, k, v = qkv(n_heads, n_kv_heads, n_queries=3, n_keys=8)
    # Three new queries at positions 5, 6, 7 against all eight keys.
    allowed = ~causal_mask(3, 8)
    reference = sdpa_reference(q, k, v, attn_mask=allowed)
    torch.testing.assert_close(explicit_attention(q, k, v)[0], reference, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fast_attention(q, k, v), reference, rtol=1e-5, atol=1e-5)
    # One new query sees every key.
    last = q[:, :, -1:]
    reference = sdpa_reference(last, k, v)
    torch.testing.assert_close(fast_attention(last, k, v), reference, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(explicit_attention(last, k, v)[0], reference, rtol=1e-5, atol=1e-5)
    # An all-False mask blocks nothing.
    q, k, v = qkv(n_heads, n_kv_heads)
    nothing = torch.zeros(7, 7, dtype=torch.bool)
    reference = sdpa_reference(q, k, v)
    torch.testing.assert_close(fast_attention(q, k, v, nothing), reference, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(explicit_attention(q, k, v, nothing)[0], reference)


def attention_config(n_heads: int, n_kv_heads: int, **changes) -> ModelConfig:
    values = dict(vocab_size=8, d_model=24, n_layers=1, n_heads=n_heads, n_kv_heads=n_kv_heads)
    values.update(changes)
    return ModelConfig(**values)


@pytest.mark.parametrize("layout", HEAD_LAYOUTS)
def test_attention_module_equals_its_projections_through_torch_sdpa(layout):
    config = attention_config(*HEAD_LAYOUTS[layout], head_dim=6, bias=True)
    rotary = RotaryEmbedding(config.head_dim, config.max_seq_len)
    torch.manual_seed(0)
    attention = CausalSelfAttention(config, rotary)
    x = torch.randn(3, 9, 24, generator=generator())
    q = attention.q_proj(x).view(3, 9, config.n_heads, 6).transpose(1, 2)
    k = attention.k_proj(x).view(3, 9, config.n_kv_heads, 6).transpose(1, 2)
    v = attention.v_proj(x).view(3, 9, config.n_kv_heads, 6).transpose(1, 2)
    heads = sdpa_reference(rotary(q), rotary(k), v, is_causal=True)
    expected = attention.o_proj(heads.transpose(1, 2).reshape(3, 9, config.n_heads * 6))
    torch.testing.assert_close(attention(x), expected, rtol=1e-5, atol=1e-5)
    weights = attention.attention_weights(x)
    scores = rotary(q) @ rotary(k).repeat_interleave(config.n_query_groups, 1).mT / math.sqrt(6)
    reference = torch.softmax(scores.masked_fill(causal_mask(9), float("-inf")), dim=-1)
    torch.testing.assert_close(weights, reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layout", HEAD_LAYOUTS)
def test_attention_with_a_cache_equals_attention_over_the_whole_sequence(layout):
    config = attention_config(*HEAD_LAYOUTS[layout])
    attention = CausalSelfAttention(config, RotaryEmbedding(config.head_dim, 32))
    x = torch.randn(2, 10, 24, generator=generator())
    cache = KVCache()
    pieces = [attention(x[:, :4], cache=cache), attention(x[:, 4:7], cache=cache)]
    pieces += [attention(x[:, t : t + 1], cache=cache) for t in range(7, 10)]
    torch.testing.assert_close(torch.cat(pieces, dim=1), attention(x), rtol=1e-5, atol=1e-5)
    assert cache.length == 10
    assert cache.keys.shape == (2, config.n_kv_heads, 10, config.head_dim)


def test_attention_needs_rotary_exactly_for_rope_configs():
    with pytest.raises(ValueError, match="rotary"):
        CausalSelfAttention(attention_config(4, 2))
    learned = attention_config(4, 2, pos_embedding="learned")
    with pytest.raises(ValueError, match="rotary"):
        CausalSelfAttention(learned, RotaryEmbedding(6, 8))


def test_make_rotary_builds_the_table_the_config_asks_for():
    config = ModelConfig(vocab_size=8, d_model=32, n_layers=1, n_heads=4, max_seq_len=16)
    rotary = make_rotary(config)
    assert rotary.cos.shape == (16, config.head_dim)
    torch.testing.assert_close(
        rotary.cos[:, : config.head_dim // 2],
        torch.outer(torch.arange(16.0), rope_frequencies(config.head_dim)).cos(),
    )
    assert make_rotary(config.replace(pos_embedding="learned")) is None


# --- chapter 8's options: QK-norm, exact GELU, ReLU², LayerNorm without bias -----------


def test_qk_norm_normalises_each_head_before_the_rotation():
    config = attention_config(4, 2, head_dim=6, qk_norm=True)
    rotary = RotaryEmbedding(config.head_dim, config.max_seq_len)
    torch.manual_seed(0)
    attention = CausalSelfAttention(config, rotary)
    with torch.no_grad():
        attention.q_norm.weight.uniform_(0.5, 1.5)
        attention.k_norm.weight.uniform_(0.5, 1.5)
    x = torch.randn(2, 7, 24, generator=generator())
    raw_q = attention.q_proj(x).view(2, 7, 4, 6).transpose(1, 2)
    raw_k = attention.k_proj(x).view(2, 7, 2, 6).transpose(1, 2)
    norm = torch.nn.RMSNorm(6, eps=config.norm_eps)  # torch's own, per head over head_dim
    with torch.no_grad():
        norm.weight.copy_(attention.q_norm.weight)
        expected_q = rotary(norm(raw_q))
        norm.weight.copy_(attention.k_norm.weight)
        expected_k = rotary(norm(raw_k))
    q, k, _ = attention.heads(x)
    torch.testing.assert_close(q, expected_q, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(k, expected_k, rtol=1e-5, atol=1e-6)
    assert CausalSelfAttention(attention_config(4, 2), rotary).q_norm is None


def test_gelu_mlp_uses_the_approximation_the_config_asks_for():
    base = ModelConfig(vocab_size=8, d_model=16, n_layers=1, n_heads=2, mlp="gelu", bias=True)
    x = torch.randn(3, 16, generator=generator()) * 3
    for approximation, module in (("tanh", torch.nn.GELU("tanh")), ("none", torch.nn.GELU())):
        mlp = make_mlp(base.replace(gelu_approximation=approximation))
        assert isinstance(mlp, GeluMLP)
        expected = mlp.down_proj(module(mlp.up_proj(x)))
        torch.testing.assert_close(mlp(x), expected, rtol=0, atol=0)
    exact = make_mlp(base.replace(gelu_approximation="none"))
    tanh = make_mlp(base)
    tanh.load_state_dict(exact.state_dict())
    assert (exact(x) - tanh(x)).abs().max() > 1e-6  # the two forms do differ
    with pytest.raises(ValueError, match="approximate must be one of"):
        GeluMLP(4, 8, approximate="sigmoid")


def test_relu2_mlp_is_primers_squared_relu():
    config = ModelConfig(vocab_size=8, d_model=16, n_layers=1, n_heads=2, mlp="relu2", bias=True)
    mlp = make_mlp(config)
    assert isinstance(mlp, ReLUSquaredMLP) and config.d_ff == 64
    x = torch.randn(3, 16, generator=generator())
    hidden = mlp.up_proj(x)
    torch.testing.assert_close(mlp(x), mlp.down_proj(torch.relu(hidden) ** 2))
    assert sum(p.numel() for p in mlp.parameters()) == 2 * 16 * 64 + 64 + 16


def test_layernorm_without_bias():
    config = ModelConfig(
        vocab_size=8, d_model=16, n_layers=1, n_heads=2, norm="layernorm", norm_bias=False
    )
    norm = make_norm(config)
    assert norm.bias is None and norm.weight.shape == (16,)
    x = torch.randn(4, 16, generator=generator())
    torch.testing.assert_close(norm(x), F.layer_norm(x, (16,), norm.weight, None, 1e-5))
    assert make_norm(config.replace(norm_bias=True)).bias is not None
