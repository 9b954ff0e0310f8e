"""Hugging Face models with a ModelConfig's shape, to count parameters against (tests only)."""

from __future__ import annotations

import torch

from course_utils.config import ModelConfig
from course_utils.hf_llama import to_hf_llama_config


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
