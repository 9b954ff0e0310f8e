"""Hugging Face models with a ModelConfig's shape, to count parameters against (tests only)."""

from __future__ import annotations

import torch

from course_utils.config import ModelConfig
from course_utils.model import to_hf_llama_config


def hf_parameter_count(config: ModelConfig) -> int:
    """Parameters of the `transformers` model with ``config``'s shape, built without memory.

    GPT-2 for LayerNorm + GELU + learned positions (it always has biases), Llama otherwise.
    """
    import transformers

    if (config.norm, config.mlp, config.pos_embedding) == ("layernorm", "gelu", "learned"):
        hf_config = transformers.GPT2Config(
            vocab_size=config.vocab_size,
            n_positions=config.max_seq_len,
            n_embd=config.d_model,
            n_layer=config.n_layers,
            n_head=config.n_heads,
            n_inner=config.d_ff,
            tie_word_embeddings=config.tie_embeddings,
        )
        model_class = transformers.GPT2LMHeadModel
    else:
        hf_config = transformers.LlamaConfig(**to_hf_llama_config(config))
        model_class = transformers.LlamaForCausalLM
    with torch.device("meta"):
        model = model_class(hf_config)
    return sum(p.numel() for p in model.parameters())


def hf_moe_model(config: ModelConfig, family: str):
    """The `transformers` mixture of experts with ``config``'s shape, on the meta device.

    ``family``: "mixtral" (MixtralForCausalLM), "qwen3_moe" (Qwen3MoeForCausalLM: QK-norm per
    head) or "olmoe" (OlmoeForCausalLM: QK-norm over the whole projections).
    """
    import transformers

    from course_utils.hf_mixtral import to_hf_mixtral_config

    if family == "mixtral":
        hf_config, model_class = (
            transformers.MixtralConfig(**to_hf_mixtral_config(config)),
            transformers.MixtralForCausalLM,
        )
    else:
        common = dict(
            vocab_size=config.vocab_size,
            hidden_size=config.d_model,
            num_hidden_layers=config.n_layers,
            num_attention_heads=config.n_heads,
            num_key_value_heads=config.n_kv_heads,
            max_position_embeddings=config.max_seq_len,
            tie_word_embeddings=config.tie_embeddings,
            num_experts=config.n_experts,
            num_experts_per_tok=config.experts_per_token,
            norm_topk_prob=config.normalize_top_k,
            pad_token_id=None,
            bos_token_id=None,
            eos_token_id=None,
        )
        if family == "qwen3_moe":
            hf_config = transformers.Qwen3MoeConfig(
                **common, head_dim=config.head_dim, moe_intermediate_size=config.d_expert
            )
            model_class = transformers.Qwen3MoeForCausalLM
        elif family == "olmoe":
            hf_config = transformers.OlmoeConfig(**common, intermediate_size=config.d_expert)
            model_class = transformers.OlmoeForCausalLM
        else:
            raise ValueError(f"family must be mixtral, qwen3_moe or olmoe; got {family!r}")
    with torch.device("meta"):
        return model_class(hf_config)
