"""A decoder-only language model assembled from :mod:`course_utils.layers` (chapter 3).

:class:`LLMBlock` is one pre-norm residual block; :class:`DecoderLM` stacks them between
token embeddings and a language-model head, all sized by a :class:`ModelConfig`, and can load
the weights of a Hugging Face Llama checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.config import ModelConfig, swiglu_hidden_dim
from course_utils.layers import (
    CausalSelfAttention,
    KVCache,
    RMSNorm,
    RotaryEmbedding,
    make_mlp,
    make_norm,
)
from course_utils.moe import MoEFeedForward

#: Standard deviation of the initial weights: GPT-2's and Llama's ``initializer_range``
#: (Hugging Face ``LlamaConfig`` default, 0.02).
INIT_STD = 0.02


def block_config(embed_dim: int, num_heads: int, ff_mult: float = 4) -> ModelConfig:
    """The config the seed's ``LLMBlock(embed_dim, num_heads, ff_mult)`` describes.

    The seed sized its SwiGLU ``int(ff_mult · embed_dim · 2/3)`` wide; Llama also rounds that
    up to a multiple of 256 (:func:`swiglu_hidden_dim`). The seed's RMSNorm used eps=1e-6.
    A block has no vocabulary, so ``vocab_size`` is a placeholder 1.
    """
    if isinstance(ff_mult, bool) or not isinstance(ff_mult, (int, float)) or ff_mult <= 0:
        raise ValueError(f"ff_mult must be a positive number, got {ff_mult!r}")
    if isinstance(embed_dim, bool) or not isinstance(embed_dim, int) or embed_dim <= 0:
        raise ValueError(f"embed_dim must be a positive integer, got {embed_dim!r}")
    return ModelConfig(
        vocab_size=1,
        d_model=embed_dim,
        n_layers=1,
        n_heads=num_heads,
        d_ff=swiglu_hidden_dim(embed_dim, ffn_dim_multiplier=ff_mult / 4),
        norm_eps=1e-6,
    )


class LLMBlock(nn.Module):
    """One pre-norm transformer block: ``x + attention(norm1(x))``, then ``+ mlp(norm2(x))``.

    Built either the seed's way, ``LLMBlock(embed_dim, num_heads, ff_mult=4)`` (RMSNorm,
    RoPE, SwiGLU), or from a config, ``LLMBlock(config=config)``. Unlike the seed's block it
    is causal by default: ``forward(x)`` applies the causal mask and ``forward(x, mask)``
    uses ``mask`` instead (``True`` = blocked, the seed's convention) (chapter 3).
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
        if rotary is None and config.pos_embedding == "rope":
            rotary = RotaryEmbedding(config.head_dim, config.max_seq_len, config.rope_theta)
        self.embed_dim, self.num_heads, self.head_dim = (
            config.d_model,
            config.n_heads,
            config.head_dim,
        )
        self.norm1 = make_norm(config)
        self.attention = CausalSelfAttention(config, rotary)
        self.norm2 = make_norm(config)
        self.mlp = MoEFeedForward(config) if config.is_moe else make_mlp(config)  # chapter 8

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, cache: KVCache | None = None
    ) -> torch.Tensor:
        x = x + self.attention(self.norm1(x), mask=mask, cache=cache)
        return x + self.mlp(self.norm2(x))


class DecoderLM(nn.Module):
    """A decoder-only language model built from a :class:`ModelConfig` (chapter 3).

    ``model(idx)`` maps token ids (batch, seq) to next-token logits (batch, seq, vocab):
    token embeddings (plus learned position embeddings if configured), ``n_layers``
    :class:`LLMBlock` s, a final norm and the LM head (the token embeddings themselves when
    ``tie_embeddings``). It has exactly ``estimate_parameters(config)`` parameters.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if not isinstance(config, ModelConfig):
            raise ValueError(f"config must be a ModelConfig, got {type(config).__name__}")
        self.config = config
        self.token_embeddings = nn.Embedding(config.vocab_size, config.d_model)
        self.position_embeddings = (
            nn.Embedding(config.max_seq_len, config.d_model)
            if config.pos_embedding == "learned"
            else None
        )
        # One table of RoPE angles, shared by every block.
        rotary = (
            RotaryEmbedding(config.head_dim, config.max_seq_len, config.rope_theta)
            if config.pos_embedding == "rope"
            else None
        )
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
        """GPT-2's initialisation (Radford et al. 2019, section 2.3).

        Weights ~ N(0, 0.02²), biases 0, norms 1; the two projections that write into the
        residual stream (``o_proj``, ``down_proj``) get std 0.02/√(2·n_layers) so the
        stream's variance does not grow with depth.
        """
        residual_std = INIT_STD / math.sqrt(2 * self.config.n_layers)
        for name, module in self.named_modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                is_residual = name.endswith(("o_proj", "down_proj"))
                nn.init.normal_(module.weight, std=residual_std if is_residual else INIT_STD)
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
        x = self.token_embeddings(idx)
        if self.position_embeddings is not None:
            x = x + self.position_embeddings.weight[start:end]
        for layer, block in enumerate(self.blocks):
            x = block(x, mask=mask, cache=None if cache is None else cache[layer])
        return F.linear(self.final_norm(x), self.output_weight)

    def load_hf_llama_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Copy the weights of a Hugging Face ``LlamaForCausalLM`` state dict into this model.

        The model must have been built from the matching config (see
        :func:`from_hf_llama_config`). Hugging Face checkpoints already use the rotate-half
        RoPE convention of :func:`course_utils.layers.apply_rotary` (their conversion script
        permuted Meta's q and k weights), so the weights are copied as they are.
        """
        if (self.config.norm, self.config.mlp, self.config.pos_embedding) != (
            "rmsnorm",
            "swiglu",
            "rope",
        ):
            raise ValueError(
                "load_hf_llama_state_dict needs a Llama-style config "
                "(norm='rmsnorm', mlp='swiglu', pos_embedding='rope')"
            )
        renamed = {}
        for name, tensor in state_dict.items():
            if name.endswith("rotary_emb.inv_freq"):  # recomputed, not learned
                continue
            ours = _hf_llama_name(name)
            if ours is None:
                raise ValueError(f"unexpected key in the Llama state dict: {name!r}")
            renamed[ours] = tensor
        if self.lm_head is None and "lm_head.weight" in renamed:
            head, embeddings = renamed.pop("lm_head.weight"), renamed.get("token_embeddings.weight")
            if embeddings is not None and not torch.equal(head, embeddings):
                raise ValueError(
                    "the state dict has its own lm_head.weight, but this model ties it to the "
                    "token embeddings: build it with tie_embeddings=False"
                )
        own = self.state_dict()
        missing, unexpected = sorted(set(own) - set(renamed)), sorted(set(renamed) - set(own))
        if missing or unexpected:
            raise ValueError(
                f"state dict does not match this model's config: missing {missing}, "
                f"unexpected {unexpected}"
            )
        for name, tensor in renamed.items():
            if tensor.shape != own[name].shape:
                raise ValueError(
                    f"{name}: the state dict has shape {tuple(tensor.shape)}, this model "
                    f"{tuple(own[name].shape)}; build the model from the checkpoint's config"
                )
        self.load_state_dict(renamed)


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


# Hugging Face Llama name pieces → ours (chapter 3's loading section lists them).
_HF_LLAMA_LAYER_NAMES = {
    "input_layernorm": "norm1",
    "post_attention_layernorm": "norm2",
    "self_attn": "attention",
    "mlp": "mlp",
}
_HF_LLAMA_TOP_NAMES = {
    "model.embed_tokens.weight": "token_embeddings.weight",
    "model.norm.weight": "final_norm.weight",
    "lm_head.weight": "lm_head.weight",
}


def _hf_llama_name(name: str) -> str | None:
    if name in _HF_LLAMA_TOP_NAMES:
        return _HF_LLAMA_TOP_NAMES[name]
    parts = name.split(".")
    if len(parts) < 5 or parts[:2] != ["model", "layers"] or parts[3] not in _HF_LLAMA_LAYER_NAMES:
        return None
    return ".".join(["blocks", parts[2], _HF_LLAMA_LAYER_NAMES[parts[3]], *parts[4:]])


def from_hf_llama_config(values: Mapping[str, Any]) -> ModelConfig:
    """The :class:`ModelConfig` of a Hugging Face Llama ``config.json`` (as a dict) (chapter 3).

    Accepts ``LlamaConfig.to_dict()`` too. RoPE scaling variants (Llama 3.1's "llama3" and
    others) are not implemented and raise ``ValueError``.
    """
    rope = values.get("rope_parameters") or values.get("rope_scaling") or {}
    rope_type = rope.get("rope_type", rope.get("type", "default"))
    if rope_type != "default":
        raise ValueError(f"RoPE scaling {rope_type!r} is not supported; only plain RoPE")
    if values.get("hidden_act", "silu") != "silu":
        raise ValueError(f"hidden_act must be 'silu' (SwiGLU), got {values['hidden_act']!r}")
    attention_bias, mlp_bias = values.get("attention_bias", False), values.get("mlp_bias", False)
    if attention_bias != mlp_bias:
        raise ValueError("attention_bias and mlp_bias must agree: ModelConfig has one bias flag")
    return ModelConfig(
        vocab_size=values["vocab_size"],
        d_model=values["hidden_size"],
        n_layers=values["num_hidden_layers"],
        n_heads=values["num_attention_heads"],
        n_kv_heads=values.get("num_key_value_heads") or values["num_attention_heads"],
        d_ff=values["intermediate_size"],
        max_seq_len=values["max_position_embeddings"],
        norm="rmsnorm",
        mlp="swiglu",
        pos_embedding="rope",
        tie_embeddings=bool(values.get("tie_word_embeddings", False)),
        bias=bool(attention_bias),
        norm_eps=values.get("rms_norm_eps", 1e-6),
        rope_theta=float(rope.get("rope_theta", values.get("rope_theta", 10_000.0))),
        head_dim=values.get("head_dim"),
    )


def to_hf_llama_config(config: ModelConfig) -> dict[str, Any]:
    """Keyword arguments for ``transformers.LlamaConfig`` describing ``config`` (chapter 3).

    The inverse of :func:`from_hf_llama_config`, for Llama-style configs only; the tests and
    chapter 5's benchmark build the reference model from it.
    """
    if (config.norm, config.mlp, config.pos_embedding) != ("rmsnorm", "swiglu", "rope"):
        raise ValueError("only a config with rmsnorm, swiglu and rope is a Llama config")
    return {
        "vocab_size": config.vocab_size,
        "hidden_size": config.d_model,
        "intermediate_size": config.d_ff,
        "num_hidden_layers": config.n_layers,
        "num_attention_heads": config.n_heads,
        "num_key_value_heads": config.n_kv_heads,
        "head_dim": config.head_dim,
        "max_position_embeddings": config.max_seq_len,
        "rms_norm_eps": config.norm_eps,
        "rope_theta": config.rope_theta,
        "tie_word_embeddings": config.tie_embeddings,
        "attention_bias": config.bias,
        "mlp_bias": config.bias,
        "hidden_act": "silu",
    }
