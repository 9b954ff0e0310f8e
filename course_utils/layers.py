"""The pieces of a modern decoder-only transformer, one small module each (chapter 3).

RMSNorm, rotary position embeddings, causal self-attention with grouped-query heads, and the
feed-forward networks (GELU, SwiGLU and chapter 8's ReLU²). :mod:`course_utils.model`
assembles them.

Shapes follow one convention: activations are ``(batch, seq, d_model)``; inside attention,
per-head tensors are ``(batch, heads, seq, head_dim)``.

Each layer states its formula first (:func:`rms_norm`, :func:`apply_rotary`, …). RMSNorm and
RoPE then run it through a kernel of :mod:`course_utils.kernels`, the same values with a
shorter backward pass.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.checks import choice, positive_int, positive_number
from course_utils.config import GELU_APPROXIMATIONS, ModelConfig
from course_utils.kernels import RMSNormFunction, RotaryFunction

# ---------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """RMSNorm's formula, ``x / sqrt(mean(x²) + eps) * weight``, over the last dimension.

    ``rsqrt(mean + eps)`` is the starter code's ``1 / sqrt(mean + eps)`` as one operation.
    Autograd differentiates it through six recorded operations;
    :class:`~course_utils.kernels.RMSNormFunction` computes the same values with a written-out
    gradient (chapter 3; chapter 5 measures the difference).
    """
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * weight


class RMSNorm(nn.Module):
    """Root-mean-square normalisation (Zhang & Sennrich 2019, eq. 4) (chapter 3).

    ``x / sqrt(mean(x²) + eps) * weight``: LayerNorm without subtracting the mean and
    without a bias, so one reduction instead of two and ``dim`` parameters instead of
    ``2·dim``. Equal to ``torch.nn.RMSNorm(dim, eps=eps)``.
    """

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = positive_number("eps", eps)
        self.weight = nn.Parameter(torch.ones(positive_int("dim", dim)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # rms_norm(x, self.weight, self.eps), through the kernel with a shorter backward.
        return RMSNormFunction.apply(x, self.weight, self.eps)  # (..., dim)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}"


def make_norm(config: ModelConfig) -> nn.Module:
    """The normalisation ``config.norm`` asks for: :class:`RMSNorm` or LayerNorm (chapter 3)."""
    if config.norm == "rmsnorm":
        return RMSNorm(config.d_model, eps=config.norm_eps)
    # weight and bias: 2·d parameters (d without the bias, nanoGPT's bias=False)
    return nn.LayerNorm(config.d_model, eps=config.norm_eps, bias=config.norm_bias)


# ---------------------------------------------------------------------------------------
# Rotary position embeddings
# ---------------------------------------------------------------------------------------


def rope_frequencies(head_dim: int, theta: float = 10_000.0) -> torch.Tensor:
    """The ``head_dim / 2`` rotation speeds θ_i = theta^(-2i/head_dim) (Su et al. 2021, eq. 15).

    Pair 0 turns by one radian per position; the last pair almost not at all, so
    different pairs measure distance at different scales (like the hands of a clock).
    """
    if positive_int("head_dim", head_dim) % 2:
        raise ValueError(f"head_dim must be even for rotary embeddings, got {head_dim}")
    positive_number("theta", theta)
    return 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """``(x1, x2) → (-x2, x1)`` on the two halves of the last dimension."""
    first, second = x.chunk(2, dim=-1)
    return torch.cat((-second, first), dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate ``x`` (…, seq, head_dim) by the angles in ``cos``/``sin`` (seq, head_dim).

    The rotate-half convention of Hugging Face's Llama: dimension ``i`` is paired with
    ``i + head_dim/2``. Each pair (a, b) becomes (a·cos − b·sin, b·cos + a·sin).
    """
    return x * cos + rotate_half(x) * sin


def apply_rotary_interleaved(x: torch.Tensor, positions: torch.Tensor, theta: float = 10_000.0):
    """RoPE in the original convention: dimensions (0, 1), (2, 3), … are the pairs.

    As in the RoFormer paper (Su et al. 2021, section 3.4.2) and Meta's Llama reference code,
    which treats each pair as a complex number and multiplies it by e^(i·position·θ_k).
    Used in chapter 3 to compare the two conventions; the model uses :func:`apply_rotary`.
    """
    angles = torch.outer(positions.to(torch.float32), rope_frequencies(x.shape[-1], theta))
    rotations = torch.polar(torch.ones_like(angles), angles)  # e^(i·angle), (seq, head_dim/2)
    pairs = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
    return torch.view_as_real(pairs * rotations).flatten(-2).type_as(x)


def interleaved_to_half_permutation(head_dim: int) -> torch.Tensor:
    """Index order that turns interleaved pairs (0,1),(2,3),… into halves (0,h),(1,h+1),….

    Hugging Face's conversion script applies this order to the rows of each head of the
    q and k projection weights of Meta's checkpoints, so that :func:`apply_rotary` on the
    converted weights computes exactly what :func:`apply_rotary_interleaved` did on the
    originals.
    """
    if head_dim % 2:
        raise ValueError(f"head_dim must be even, got {head_dim}")
    return torch.cat((torch.arange(0, head_dim, 2), torch.arange(1, head_dim, 2)))


def permute_for_rotate_half(weight: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Reorder a Meta-layout q or k projection ``weight`` (n_heads·head_dim, d) for rotate-half."""
    rows, columns = weight.shape
    if rows % n_heads:
        raise ValueError(f"weight has {rows} rows, not divisible by n_heads={n_heads}")
    order = interleaved_to_half_permutation(rows // n_heads)
    return weight.reshape(n_heads, rows // n_heads, columns)[:, order].reshape(rows, columns)


class RotaryEmbedding(nn.Module):
    """Precomputed RoPE angles for positions ``0 … max_seq_len-1`` (chapter 3).

    The cos/sin tables are buffers that are not saved (``persistent=False``): they follow
    the model to its device with ``.to(device)`` but are not part of the state dict, and
    being buffers, not parameters, they do not count as parameters.
    """

    def __init__(self, head_dim: int, max_seq_len: int, theta: float = 10_000.0) -> None:
        super().__init__()
        positions = torch.arange(positive_int("max_seq_len", max_seq_len), dtype=torch.float32)
        angles = torch.outer(positions, rope_frequencies(head_dim, theta))  # (seq, head_dim/2)
        angles = torch.cat((angles, angles), dim=-1)  # (seq, head_dim): pair i with i + h/2
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    @property
    def max_seq_len(self) -> int:
        return self.cos.shape[0]

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Rotate ``x`` (batch, heads, seq, head_dim) whose first position is ``start``."""
        end = start + x.shape[-2]
        if end > self.max_seq_len:
            raise ValueError(
                f"positions up to {end - 1} need max_seq_len > {end - 1}; "
                f"this model was built with max_seq_len={self.max_seq_len}"
            )
        half = x.shape[-1] // 2  # the tables repeat each angle in both halves
        cos = self.cos[start:end, :half].to(x.dtype)
        sin = self.sin[start:end, :half].to(x.dtype)
        # apply_rotary(x, cos, sin), through the kernel with a shorter backward.
        return RotaryFunction.apply(x, cos, sin)


def make_rotary(config: ModelConfig) -> RotaryEmbedding | None:
    """The RoPE table ``config`` asks for, or ``None`` for learned positions (chapter 3)."""
    if config.pos_embedding != "rope":
        return None
    return RotaryEmbedding(config.head_dim, config.max_seq_len, config.rope_theta)


# ---------------------------------------------------------------------------------------
# Attention
# ---------------------------------------------------------------------------------------


def causal_mask(n_queries: int, n_keys: int | None = None, device=None) -> torch.Tensor:
    """Boolean (n_queries, n_keys) mask, ``True`` where attention is *blocked* (chapter 3).

    ``True`` means "may not look", the convention of the starter code's ``masked_fill(mask, -inf)``
    (PyTorch's ``scaled_dot_product_attention`` uses the opposite). The queries are the last
    ``n_queries`` positions, so query ``i`` sits at position ``n_keys - n_queries + i`` and
    may look at keys up to and including its own position.
    """
    n_keys = n_queries if n_keys is None else n_keys
    if n_queries <= 0 or n_keys < n_queries:
        raise ValueError(f"need 0 < n_queries <= n_keys, got {n_queries} and {n_keys}")
    blocked = torch.ones(n_queries, n_keys, dtype=torch.bool, device=device)
    return blocked.triu(diagonal=n_keys - n_queries + 1)


def explicit_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention written out: softmax(q·kᵀ/√d, blocked → −∞)·v; returns (output, weights).

    ``q`` is (batch, n_heads, Tq, head_dim); ``k`` and ``v`` are (batch, n_kv_heads, Tk,
    head_dim) with ``n_kv_heads`` dividing ``n_heads``: each group of ``n_heads / n_kv_heads``
    query heads shares one key/value head, by broadcasting rather than copying. ``mask`` is
    ``True`` where attention is blocked; ``None`` means causal (:func:`causal_mask`).
    ``weights`` is (batch, n_heads, Tq, Tk). Chapter 3 draws them; the model uses
    :func:`fast_attention`, which computes the same output without storing them.
    """
    batch, n_heads, n_queries, head_dim = q.shape
    n_kv_heads, n_keys = k.shape[1], k.shape[2]
    group = n_heads // n_kv_heads
    # (batch, n_kv_heads, group, Tq, head_dim) @ (batch, n_kv_heads, 1, head_dim, Tk)
    grouped_q = q.reshape(batch, n_kv_heads, group, n_queries, head_dim)
    scores = (grouped_q @ k.unsqueeze(2).transpose(-2, -1)).flatten(1, 2) / math.sqrt(head_dim)
    if mask is None:
        mask = causal_mask(n_queries, n_keys, device=q.device)
    weights = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
    grouped_weights = weights.reshape(batch, n_kv_heads, group, n_queries, n_keys)
    return (grouped_weights @ v.unsqueeze(2)).flatten(1, 2), weights


def fast_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """:func:`explicit_attention`'s output from PyTorch's fused kernel (chapter 3).

    ``scaled_dot_product_attention`` never stores the (Tq, Tk) weights, builds the causal
    mask itself (``is_causal``) and shares key/value heads without copying them
    (``enable_gqa``). Same arguments and ``mask`` convention as :func:`explicit_attention`.
    """
    enable_gqa = k.shape[1] != q.shape[1]
    n_queries, n_keys = q.shape[-2], k.shape[-2]
    if mask is None and n_queries == n_keys:  # training and the first step of generation
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=enable_gqa)
    if mask is None and n_queries == 1:  # one new token: it may see every cached key
        return F.scaled_dot_product_attention(q, k, v, enable_gqa=enable_gqa)
    if mask is None:
        mask = causal_mask(n_queries, n_keys, device=q.device)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=~mask, enable_gqa=enable_gqa)


class KVCache:
    """The keys and values one attention layer has already computed (chapter 3).

    During generation each new token only needs its own query, key and value; the keys and
    values of earlier tokens never change (causality), so they are kept here instead of being
    recomputed. Shapes: (batch, n_kv_heads, length, head_dim), so grouped-query attention
    shrinks the cache by ``n_heads / n_kv_heads``.
    """

    def __init__(self) -> None:
        self.keys: torch.Tensor | None = None
        self.values: torch.Tensor | None = None

    @property
    def length(self) -> int:
        """How many positions are cached: the position of the next token."""
        return 0 if self.keys is None else self.keys.shape[-2]

    def update(self, keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append the new positions' keys and values; return everything cached so far."""
        if self.keys is None:
            self.keys, self.values = keys, values
        else:
            self.keys = torch.cat((self.keys, keys), dim=-2)
            self.values = torch.cat((self.values, values), dim=-2)
        return self.keys, self.values


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with ``n_kv_heads`` key/value heads (chapter 3).

    ``n_kv_heads == n_heads`` is multi-head attention (Vaswani et al. 2017), fewer is
    grouped-query attention (Ainslie et al. 2023), one is multi-query attention (Shazeer
    2019). Queries and keys are rotated by ``rotary`` (RoPE) when given. Projection names
    follow Hugging Face's Llama (``q_proj``, ``k_proj``, ``v_proj``, ``o_proj``).

    With ``config.qk_norm`` each head's queries and keys pass through an RMSNorm over
    ``head_dim`` (``q_norm``, ``k_norm``, gains shared by the heads, as in Qwen3) before RoPE,
    which bounds the attention logits (Dehghani et al. 2023, section 2) (chapter 8).
    """

    def __init__(self, config: ModelConfig, rotary: RotaryEmbedding | None = None) -> None:
        super().__init__()
        if (config.pos_embedding == "rope") != (rotary is not None):
            raise ValueError("rotary must be given exactly when config.pos_embedding is 'rope'")
        self.n_heads, self.n_kv_heads = config.n_heads, config.n_kv_heads
        self.head_dim = config.head_dim
        d = config.d_model
        q_width, kv_width = config.n_heads * config.head_dim, config.n_kv_heads * config.head_dim
        self.q_proj = nn.Linear(d, q_width, bias=config.bias)
        self.k_proj = nn.Linear(d, kv_width, bias=config.bias)
        self.v_proj = nn.Linear(d, kv_width, bias=config.bias)
        self.o_proj = nn.Linear(q_width, d, bias=config.bias)
        self.rotary = rotary
        self.q_norm = RMSNorm(config.head_dim, eps=config.norm_eps) if config.qk_norm else None
        self.k_norm = RMSNorm(config.head_dim, eps=config.norm_eps) if config.qk_norm else None

    def heads(
        self, x: torch.Tensor, start: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries, keys and values (batch, heads, seq, head_dim) of ``x`` (batch, seq, d_model).

        ``start`` is the position of ``x``'s first token (non-zero when a cache holds the
        earlier ones); RoPE rotates queries and keys by their positions.
        """
        batch, length, _ = x.shape
        q = self.q_proj(x).view(batch, length, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(batch, length, self.n_kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(batch, length, self.n_kv_heads, self.head_dim).transpose(1, 2)
        if self.q_norm is not None:  # QK-norm (chapter 8), before the rotation
            q, k = self.q_norm(q), self.k_norm(k)
        if self.rotary is not None:
            q, k = self.rotary(q, start), self.rotary(k, start)
        return q, k, v

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, cache: KVCache | None = None
    ) -> torch.Tensor:
        """Attend causally (or as ``mask`` says, ``True`` = blocked) and project back to d_model."""
        q, k, v = self.heads(x, start=0 if cache is None else cache.length)
        if cache is not None:
            k, v = cache.update(k, v)
        out = fast_attention(q, k, v, mask)  # (batch, n_heads, seq, head_dim)
        return self.o_proj(out.transpose(1, 2).flatten(2))

    def attention_weights(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Softmax weights (batch, n_heads, seq, seq) for ``x``, by :func:`explicit_attention`."""
        q, k, v = self.heads(x)
        return explicit_attention(q, k, v, mask)[1]


# ---------------------------------------------------------------------------------------
# Feed-forward networks
# ---------------------------------------------------------------------------------------


class GeluMLP(nn.Module):
    """GPT-2's feed-forward network: up-project, GELU, down-project (chapter 3).

    GELU in its tanh approximation by default, as GPT-2 uses it (Hendrycks & Gimpel 2016,
    section 2); ``approximate="none"`` is the exact erf form (nanoGPT's ``nn.GELU()``).
    """

    def __init__(
        self, d_model: int, d_ff: int, bias: bool = False, approximate: str = "tanh"
    ) -> None:
        super().__init__()
        self.up_proj = nn.Linear(d_model, d_ff, bias=bias)
        self.down_proj = nn.Linear(d_ff, d_model, bias=bias)
        self.approximate = choice("approximate", approximate, GELU_APPROXIMATIONS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.gelu(self.up_proj(x), approximate=self.approximate))


class ReLUSquaredMLP(nn.Module):
    """Primer's feed-forward network, ``down(relu(up(x))²)`` (So et al. 2021) (chapter 8).

    Two matrices like GPT-2's (``d_ff`` = 4·d by default), with GELU replaced by a squared
    ReLU: cheaper than SwiGLU's three matrices at equal width, and what modded-nanogpt and
    nanochat train with.
    """

    def __init__(self, d_model: int, d_ff: int, bias: bool = False) -> None:
        super().__init__()
        self.up_proj = nn.Linear(d_model, d_ff, bias=bias)
        self.down_proj = nn.Linear(d_ff, d_model, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.relu(self.up_proj(x)).square())


class SwiGLU(nn.Module):
    """Llama's feed-forward network: down(SiLU(gate(x)) · up(x)) (Shazeer 2020, eq. 6) (chapter 3).

    Three matrices instead of two, so the hidden width is 2/3 of GELU's 4·d to keep the
    parameter count; :func:`course_utils.config.swiglu_hidden_dim` adds Llama's rounding.
    """

    def __init__(self, d_model: int, d_ff: int, bias: bool = False) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(d_model, d_ff, bias=bias)
        self.up_proj = nn.Linear(d_model, d_ff, bias=bias)
        self.down_proj = nn.Linear(d_ff, d_model, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


def make_mlp(config: ModelConfig) -> nn.Module:
    """The feed-forward network ``config.mlp`` asks for, ``config.d_ff`` wide (chapter 3)."""
    if config.mlp == "swiglu":
        return SwiGLU(config.d_model, config.d_ff, bias=config.bias)
    if config.mlp == "relu2":
        return ReLUSquaredMLP(config.d_model, config.d_ff, bias=config.bias)
    return GeluMLP(
        config.d_model, config.d_ff, bias=config.bias, approximate=config.gelu_approximation
    )
