"""Hugging Face Mixtral interop: its config and its weight names for a MoE DecoderLM (chapter 7).

``MixtralForCausalLM`` is Mistral 7B's decoder (Llama's attention with grouped-query heads)
with each MLP replaced by a sparse mixture of experts (Jiang et al. 2024, section 2). Its
checkpoint stores every layer's experts as two stacked tensors, ``gate_up_proj``
(n_experts, 2·d_expert, d_model: the gate rows first, then the up rows) and ``down_proj``
(n_experts, d_model, d_expert), and the router as ``mlp.gate.weight``; chapter 7's
:class:`~course_utils.moe.MoEFeedForward` keeps one SwiGLU module per expert, so loading
splits the stacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from course_utils.config import ModelConfig
from course_utils.hf_llama import hf_decoder_fields, load_matching_state_dict
from course_utils.model import DecoderLM

_LAYER_NAMES = {
    "input_layernorm": "norm1",
    "post_attention_layernorm": "norm2",
    "self_attn": "attention",
}
_TOP_NAMES = {
    "model.embed_tokens.weight": "token_embeddings.weight",
    "model.norm.weight": "final_norm.weight",
    "lm_head.weight": "lm_head.weight",
}


def _require_mixtral_shape(config: ModelConfig) -> None:
    mixtral = (
        config.is_moe
        and (config.norm, config.mlp, config.pos_embedding) == ("rmsnorm", "swiglu", "rope")
        and config.n_shared_experts == 0
        and config.normalize_top_k
        and not config.bias
    )
    if not mixtral:
        raise ValueError(
            "a Mixtral config has experts (n_experts), rmsnorm, swiglu, rope, no shared "
            "experts, normalize_top_k=True and bias=False"
        )


def to_hf_mixtral_config(config: ModelConfig) -> dict[str, Any]:
    """Keyword arguments for ``transformers.MixtralConfig`` describing ``config`` (chapter 7).

    No sliding window (Mixtral's default has none) and no router jitter, so that the reference
    computes exactly what :class:`DecoderLM` does.
    """
    _require_mixtral_shape(config)
    return hf_decoder_fields(config) | {
        "intermediate_size": config.d_expert,
        "num_local_experts": config.n_experts,
        "num_experts_per_tok": config.experts_per_token,
        "sliding_window": None,
        "router_jitter_noise": 0.0,
    }


def mixtral_state_dict(
    state_dict: Mapping[str, torch.Tensor], config: ModelConfig
) -> dict[str, torch.Tensor]:
    """A ``MixtralForCausalLM`` state dict renamed (and its expert stacks split) for ours."""
    _require_mixtral_shape(config)
    width = config.d_expert
    renamed: dict[str, torch.Tensor] = {}
    for name, tensor in state_dict.items():
        if name.endswith("rotary_emb.inv_freq"):  # recomputed, not learned
            continue
        if name in _TOP_NAMES:
            renamed[_TOP_NAMES[name]] = tensor
            continue
        parts = name.split(".")
        if len(parts) < 5 or parts[:2] != ["model", "layers"]:
            raise ValueError(f"unexpected key in the Mixtral state dict: {name!r}")
        prefix, rest = f"blocks.{parts[2]}", parts[3:]
        if rest[0] in _LAYER_NAMES:
            renamed[".".join([prefix, _LAYER_NAMES[rest[0]], *rest[1:]])] = tensor
        elif rest == ["mlp", "gate", "weight"]:
            renamed[f"{prefix}.mlp.router.weight"] = tensor
        elif rest == ["mlp", "experts", "gate_up_proj"]:
            for expert, stacked in enumerate(tensor):
                renamed[f"{prefix}.mlp.experts.{expert}.gate_proj.weight"] = stacked[:width]
                renamed[f"{prefix}.mlp.experts.{expert}.up_proj.weight"] = stacked[width:]
        elif rest == ["mlp", "experts", "down_proj"]:
            for expert, matrix in enumerate(tensor):
                renamed[f"{prefix}.mlp.experts.{expert}.down_proj.weight"] = matrix
        else:
            raise ValueError(f"unexpected key in the Mixtral state dict: {name!r}")
    if config.tie_embeddings:
        renamed.pop("lm_head.weight", None)
    return renamed


def load_hf_mixtral_state_dict(model: DecoderLM, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Copy a Hugging Face ``MixtralForCausalLM`` state dict into a MoE :class:`DecoderLM`.

    The model must have been built from the matching config (:func:`to_hf_mixtral_config`'s
    inverse); a missing, extra or misshapen tensor is a ``ValueError`` (chapter 7).
    """
    renamed = mixtral_state_dict(state_dict, model.config)
    load_matching_state_dict(model, renamed)
