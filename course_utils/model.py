"""A decoder-only language model assembled from :mod:`course_utils.layers` (chapter 3).

:class:`LLMBlock` is one pre-norm residual block; :class:`DecoderLM` stacks them between
token embeddings and a language-model head, all sized by a :class:`ModelConfig`. Loading a
Hugging Face Llama checkpoint lives in :mod:`course_utils.hf_llama`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.checks import instance_of, positive_int, positive_number
from course_utils.config import ModelConfig, swiglu_hidden_dim
from course_utils.hf_llama import load_hf_llama_state_dict
from course_utils.layers import (
    CausalSelfAttention,
    KVCache,
    RMSNorm,
    RotaryEmbedding,
    make_mlp,
    make_norm,
    make_rotary,
)
from course_utils.moe import MoEFeedForward

#: Standard deviation of the initial weights, N(0, 0.02²): from GPT-1 (Radford et al. 2018,
#: section 4.1) and OpenAI's released GPT-2 code, not stated in the GPT-2 paper; Hugging Face's
#: ``initializer_range`` default for GPT-2 and Llama.
INIT_STD = 0.02


def block_config(embed_dim: int, num_heads: int, ff_mult: float = 4) -> ModelConfig:
    """The config the starter code's ``LLMBlock(embed_dim, num_heads, ff_mult)`` describes.

    The starter code sized its SwiGLU ``int(ff_mult · embed_dim · 2/3)`` wide; Llama also
    rounds that up to a multiple of 256 (:func:`swiglu_hidden_dim`). Its RMSNorm used
    eps=1e-6. A block has no vocabulary, so ``vocab_size`` is a placeholder 1.
    """
    ff_mult = positive_number("ff_mult", ff_mult)
    return ModelConfig(
        vocab_size=1,
        d_model=positive_int("embed_dim", embed_dim),
        n_layers=1,
        n_heads=num_heads,
        d_ff=swiglu_hidden_dim(embed_dim, ffn_dim_multiplier=ff_mult / 4),
        norm_eps=1e-6,
    )


class LLMBlock(nn.Module):
    """One pre-norm transformer block: ``x + attention(norm1(x))``, then ``+ mlp(norm2(x))``.

    Built either the starter code's way, ``LLMBlock(embed_dim, num_heads, ff_mult=4)``
    (RMSNorm, RoPE, SwiGLU), or from a config, ``LLMBlock(config=config)``. Unlike the
    starter code's block it is causal by default: ``forward(x)`` applies the causal mask and
    ``forward(x, mask)`` uses ``mask`` instead (``True`` = blocked, the starter code's
    convention) (chapter 3).
    """

    def __init__(
        self,
        embed_dim: int | None = None,
        num_heads: int | None = None,
        ff_mult: float = 4,
        *,
        config: ModelConfig | None = None,
        rotary: RotaryEmbedding | None = None,
    ) -> None:
        super().__init__()
        if config is None:
            if embed_dim is None or num_heads is None:
                raise ValueError("LLMBlock needs embed_dim and num_heads, or config=")
            config = block_config(embed_dim, num_heads, ff_mult)
        elif embed_dim is not None or num_heads is not None:
            raise ValueError("give LLMBlock either embed_dim and num_heads or config=, not both")
        if rotary is None:
            rotary = make_rotary(config)
        self.embed_dim, self.num_heads = config.d_model, config.n_heads
        self.head_dim = config.head_dim
        self.norm1 = make_norm(config)
        self.attention = CausalSelfAttention(config, rotary)
        self.norm2 = make_norm(config)
        self.mlp = MoEFeedForward(config) if config.is_moe else make_mlp(config)  # chapter 7

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, cache: KVCache | None = None
    ) -> torch.Tensor:
        """``x`` (batch, seq, d_model) → the same shape, through attention and the MLP."""
        x = x + self.attention(self.norm1(x), mask=mask, cache=cache)  # (batch, seq, d_model)
        return x + self.mlp(self.norm2(x))  # (batch, seq, d_model)


class DecoderLM(nn.Module):
    """A decoder-only language model built from a :class:`ModelConfig` (chapter 3).

    ``model(idx)`` maps token ids (batch, seq) to next-token logits (batch, seq, vocab):
    token embeddings (plus learned position embeddings if configured), ``n_layers``
    :class:`LLMBlock` s, a final norm and the LM head (the token embeddings themselves when
    ``tie_embeddings``). It has exactly ``estimate_parameters(config)`` parameters.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = instance_of("config", config, ModelConfig)
        self.token_embeddings = nn.Embedding(config.vocab_size, config.d_model)
        self.position_embeddings = (
            nn.Embedding(config.max_seq_len, config.d_model)
            if config.pos_embedding == "learned"
            else None
        )
        rotary = make_rotary(config)  # one table of RoPE angles, shared by every block
        self.blocks = nn.ModuleList(
            LLMBlock(config=config, rotary=rotary) for _ in range(config.n_layers)
        )
        self.final_norm = make_norm(config)
        self.lm_head = (
            None
            if config.tie_embeddings
            else nn.Linear(config.d_model, config.vocab_size, bias=False)
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """GPT-2's initialisation, as in OpenAI's released code.

        Weights ~ N(0, 0.02²) (:data:`INIT_STD`), biases 0, norms 1; the two projections that
        write into the residual stream (``o_proj``, ``down_proj``) get std 0.02/√(2·n_layers)
        so the stream's variance does not grow with depth (Radford et al. 2019, section 2.3:
        residual weights scaled by 1/√N for N residual layers). nanoGPT's ``_init_weights``
        does the same to its ``c_proj`` weights.

        With ``config.zero_init_projections`` (chapter 8) those two projections start at zero
        instead, so each block starts as the identity (modded-nanogpt; nanochat).
        """
        residual_std = INIT_STD / math.sqrt(2 * self.config.n_layers)
        for name, module in self.named_modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                is_residual = name.endswith(("o_proj", "down_proj"))
                nn.init.normal_(module.weight, std=residual_std if is_residual else INIT_STD)
                if is_residual and self.config.zero_init_projections:
                    # drawn first, so the other weights are the same draws as without the option
                    nn.init.zeros_(module.weight)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.LayerNorm, RMSNorm)):
                nn.init.ones_(module.weight)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)

    @property
    def output_weight(self) -> torch.Tensor:
        """The (vocab, d_model) matrix that turns hidden states into logits."""
        return self.token_embeddings.weight if self.lm_head is None else self.lm_head.weight

    def new_cache(self) -> list[KVCache]:
        """An empty key/value cache, one per block, for :func:`course_utils.generation.generate`."""
        return [KVCache() for _ in self.blocks]

    def forward(
        self,
        idx: torch.Tensor,
        mask: torch.Tensor | None = None,
        cache: list[KVCache] | None = None,
    ) -> torch.Tensor:
        """Logits (batch, seq, vocab) for token ids ``idx`` (batch, seq).

        ``mask`` (seq, seq), ``True`` where attention is blocked, replaces the causal mask
        (chapter 3 uses it to show what goes wrong without one). ``cache`` (from
        :meth:`new_cache`) holds earlier positions' keys and values; ``idx`` then holds only
        the new tokens.
        """
        if idx.ndim != 2 or idx.dtype not in (torch.int64, torch.int32):
            raise ValueError(
                f"idx must be integer token ids of shape (batch, seq), got {idx.dtype} "
                f"of shape {tuple(idx.shape)}"
            )
        if cache is not None and len(cache) != len(self.blocks):
            raise ValueError(f"cache must hold one KVCache per block ({len(self.blocks)})")
        start = 0 if cache is None else cache[0].length
        end = start + idx.shape[1]
        if end > self.config.max_seq_len:
            raise ValueError(
                f"sequence of {end} tokens is longer than max_seq_len={self.config.max_seq_len}"
            )
        x = self.token_embeddings(idx)  # (batch, seq, d_model)
        if self.position_embeddings is not None:
            x = x + self.position_embeddings.weight[start:end]  # (seq, d_model), broadcast
        for layer, block in enumerate(self.blocks):
            x = block(x, mask=mask, cache=None if cache is None else cache[layer])
        logits = F.linear(self.final_norm(x), self.output_weight)  # (batch, seq, vocab)
        if self.config.logit_softcap is not None:  # chapter 8: |logits| < cap, smoothly
            cap = self.config.logit_softcap
            logits = cap * torch.tanh(logits / cap)
        return logits

    def load_hf_llama_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Copy a Hugging Face ``LlamaForCausalLM`` state dict into this model (chapter 3).

        See :func:`course_utils.hf_llama.load_hf_llama_state_dict`.
        """
        load_hf_llama_state_dict(self, state_dict)


def next_token_loss(
    model: DecoderLM, idx: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean cross-entropy of predicting ``idx[:, t+1]`` from ``idx[:, :t+1]`` (chapter 3).

    The training objective of a decoder language model: position t's logits are scored
    against the token at t+1; the last position has nothing to predict. ``mask`` is passed
    to the model (chapter 3 uses it to train a model that can see the future).
    """
    if idx.ndim != 2 or idx.shape[1] < 2:
        raise ValueError(f"idx must have shape (batch, seq>=2), got {tuple(idx.shape)}")
    logits = model(idx[:, :-1], mask=mask)
    return F.cross_entropy(logits.flatten(0, 1), idx[:, 1:].flatten())
