"""Hugging Face Llama interop: configs both ways, and loading weights (chapter 3).

:func:`from_hf_llama_config` reads a Llama ``config.json``, :func:`to_hf_llama_config` writes
``transformers.LlamaConfig`` arguments, and :func:`load_hf_llama_state_dict` (also
``DecoderLM.load_hf_llama_state_dict``) copies a checkpoint's weights in by renaming them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from course_utils.config import ModelConfig

if TYPE_CHECKING:
    from course_utils.model import DecoderLM

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


def _require_llama_style(config: ModelConfig, caller: str) -> None:
    if (config.norm, config.mlp, config.pos_embedding) != ("rmsnorm", "swiglu", "rope"):
        raise ValueError(
            f"{caller} needs a Llama-style config "
            "(norm='rmsnorm', mlp='swiglu', pos_embedding='rope')"
        )


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
    _require_llama_style(config, "to_hf_llama_config")
    return hf_decoder_fields(config) | {
        "intermediate_size": config.d_ff,
        "attention_bias": config.bias,
        "mlp_bias": config.bias,
    }


def hf_decoder_fields(config: ModelConfig) -> dict[str, Any]:
    """The ``transformers`` config fields every Llama-style decoder shares (chapters 3 and 7).

    Sizes, attention heads, context, RMSNorm and rotary settings, tied embeddings and the SiLU
    of SwiGLU; each model's own config adds its MLP's fields.
    """
    return {
        "vocab_size": config.vocab_size,
        "hidden_size": config.d_model,
        "num_hidden_layers": config.n_layers,
        "num_attention_heads": config.n_heads,
        "num_key_value_heads": config.n_kv_heads,
        "head_dim": config.head_dim,
        "max_position_embeddings": config.max_seq_len,
        "rms_norm_eps": config.norm_eps,
        "rope_theta": config.rope_theta,
        "tie_word_embeddings": config.tie_embeddings,
        "hidden_act": "silu",
    }


def load_hf_llama_state_dict(model: DecoderLM, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Copy the weights of a Hugging Face ``LlamaForCausalLM`` state dict into ``model``.

    ``model`` must have been built from the matching config (see
    :func:`from_hf_llama_config`). Hugging Face checkpoints already use the rotate-half
    RoPE convention of :func:`course_utils.layers.apply_rotary` (their conversion script
    permuted Meta's q and k weights), so the weights are copied as they are.
    """
    _require_llama_style(model.config, "load_hf_llama_state_dict")
    renamed = {}
    for name, tensor in state_dict.items():
        if name.endswith("rotary_emb.inv_freq"):  # recomputed, not learned
            continue
        ours = _hf_llama_name(name)
        if ours is None:
            raise ValueError(f"unexpected key in the Llama state dict: {name!r}")
        renamed[ours] = tensor
    if model.lm_head is None and "lm_head.weight" in renamed:
        head, embeddings = renamed.pop("lm_head.weight"), renamed.get("token_embeddings.weight")
        if embeddings is not None and not torch.equal(head, embeddings):
            raise ValueError(
                "the state dict has its own lm_head.weight, but this model ties it to the "
                "token embeddings: build it with tie_embeddings=False"
            )
    load_matching_state_dict(model, renamed)


def load_matching_state_dict(model: DecoderLM, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Load ``state_dict`` (already in our names) into ``model`` if it matches exactly.

    A missing, extra or misshapen tensor is a ``ValueError`` that names it (chapters 3 and 7).
    """
    own = model.state_dict()
    missing, unexpected = sorted(set(own) - set(state_dict)), sorted(set(state_dict) - set(own))
    if missing or unexpected:
        raise ValueError(
            f"state dict does not match this model's config: missing {missing}, "
            f"unexpected {unexpected}"
        )
    for name, tensor in state_dict.items():
        if tensor.shape != own[name].shape:
            raise ValueError(
                f"{name}: the state dict has shape {tuple(tensor.shape)}, this model "
                f"{tuple(own[name].shape)}; build the model from the checkpoint's config"
            )
    model.load_state_dict(state_dict)
