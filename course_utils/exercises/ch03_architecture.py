"""Chapter 3's exercises: inside the decoder-only transformer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from course_utils.config import ModelConfig
from course_utils.exercises.framework import Exercise, exact_count, register
from course_utils.layers import RMSNorm, causal_mask
from course_utils.memory import kv_cache_bytes
from course_utils.parameters import parameter_breakdown


def _is_function(answer: Any) -> str | None:
    return None if callable(answer) else f"expected a function, got {type(answer).__name__}."


def _judge_rms_norm(answer: Callable[..., torch.Tensor]) -> str | None:
    problem = _is_function(answer)
    if problem:
        return problem
    generator = torch.Generator().manual_seed(3)
    cases = [  # (input, eps): an ordinary input, one whose mean is far from 0, a tiny one
        (torch.randn(2, 5, 8, generator=generator), 1e-6),
        (torch.randn(3, 16, generator=generator) + 4.0, 1e-6),
        (0.01 * torch.randn(4, 6, generator=generator), 0.5),
    ]
    for x, eps in cases:
        weight = torch.randn(x.shape[-1], generator=generator)
        reference = RMSNorm(x.shape[-1], eps=eps)
        with torch.no_grad():
            reference.weight.copy_(weight)
            expected = reference(x)
        result = answer(x.clone(), weight.clone(), eps)
        if not isinstance(result, torch.Tensor) or result.shape != x.shape:
            return f"for an input of shape {tuple(x.shape)} return a tensor of the same shape."
        if not torch.allclose(result, expected, rtol=1e-4, atol=1e-5):
            gap = (result - expected).abs().max().item()
            shape = tuple(x.shape)
            return f"for an input of shape {shape} and eps={eps} you are off by up to {gap:.3g}."
    return None


register(
    Exercise(
        id="3.1",
        prompt="Write rms_norm(x, weight, eps): RMSNorm over the last dimension of x.",
        hint="divide x by the square root of (the mean of x² over the last dimension + eps), "
        "then multiply by weight. Do not subtract the mean.",
        judge=_judge_rms_norm,
        example_solution=lambda: (
            lambda x, weight, eps: x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight
        ),
        example_mistake=lambda: (
            lambda x, weight, eps: x / x.pow(2).mean(-1, keepdim=True).sqrt() * weight
        ),
        explanation="One reduction (the mean of squares) instead of LayerNorm's two, and no bias.",
    )
)


def _judge_causal_mask(answer: Callable[[int], torch.Tensor]) -> str | None:
    problem = _is_function(answer)
    if problem:
        return problem
    for length in (4, 7, 1):
        mask = answer(length)
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            return "return a boolean tensor (dtype=torch.bool)."
        if mask.shape != (length, length):
            shape = tuple(mask.shape)
            return f"for seq_len={length} the mask should be {length} x {length}, got {shape}."
        expected = causal_mask(length)
        if torch.equal(mask, expected):
            continue
        if torch.equal(mask, ~expected):
            return "True and False are swapped: here True means 'blocked' (the seed's masked_fill)."
        if mask.diagonal().any():
            return "a token must be allowed to attend to itself: keep the diagonal False."
        if mask.tril(-1).any():
            return "the past is blocked somewhere: a token may look at every earlier position."
        return f"for seq_len={length} some future positions are not blocked."
    return None


register(
    Exercise(
        id="3.2",
        prompt="Write build_causal_mask(seq_len): a (seq_len, seq_len) bool tensor, True where "
        "query i may NOT look at key j.",
        hint="query i may look at keys 0..i; the blocked keys j > i lie strictly above the "
        "diagonal (torch.triu with diagonal=1).",
        judge=_judge_causal_mask,
        example_solution=lambda: (
            lambda seq_len: torch.ones(seq_len, seq_len, dtype=torch.bool).triu(diagonal=1)
        ),
        example_mistake=lambda: (
            lambda seq_len: torch.ones(seq_len, seq_len, dtype=torch.bool).tril()
        ),
        explanation="Everything strictly above the diagonal is the future.",
    )
)

# Llama-2-7B's shape (Touvron et al. 2023, Table 1; meta-llama/Llama-2-7b-hf config.json):
# d_model 4096, 32 heads, SwiGLU width 11008, 32 layers, vocabulary 32000.
_LLAMA_2_7B = ModelConfig(vocab_size=32_000, d_model=4096, n_layers=32, n_heads=32, d_ff=11008)
_BLOCK = parameter_breakdown(_LLAMA_2_7B.replace(n_layers=1))

register(
    Exercise(
        id="3.3",
        prompt="How many parameters does one block LLMBlock(4096, 32) of Llama-2-7B have?",
        hint="four 4096 x 4096 attention projections, three SwiGLU matrices 4096 wide on one "
        "side and swiglu_hidden_dim(4096) on the other, and two RMSNorm weight vectors.",
        judge=exact_count(_BLOCK["attention"] + _BLOCK["mlp"] + 2 * 4096),
        example_solution=lambda: 4 * 4096**2 + 3 * 4096 * 11008 + 2 * 4096,
        example_mistake=lambda: 4 * 4096**2 + 2 * 4096 * 4 * 4096 + 4 * 4096,
        explanation="67,108,864 (attention) + 135,266,304 (SwiGLU) + 8,192 (norms) = "
        "202,383,360; 32 of them are 96% of Llama-2-7B.",
    )
)

# Exercise 3.4: the model its prompt describes.
_GROUPED = ModelConfig(vocab_size=100, d_model=128, n_layers=4, n_heads=8, n_kv_heads=2)

register(
    Exercise(
        id="3.4",
        prompt="A model has 4 layers, 8 query heads and 2 key/value heads of head_dim 16. How "
        "many numbers does its KV cache hold once it holds 120 tokens: a 100-token prompt and 20 "
        "tokens fed back after it, one at a time (batch size 1)?",
        hint="each layer stores one key and one value vector per key/value head per token; "
        "query heads are never cached.",
        judge=exact_count(kv_cache_bytes(_GROUPED, context_len=120, dtype="int8")),
        example_solution=lambda: 2 * 4 * 2 * 16 * 120,
        example_mistake=lambda: 2 * 4 * 8 * 16 * 120,
        explanation="2 x 4 layers x 2 KV heads x 16 x 120 tokens = 30,720; with 8 KV heads "
        "(no grouping) it would be 4x as much.",
    )
)
