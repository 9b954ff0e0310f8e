"""Hugging Face configs and models with a ModelConfig's shape, the tests' reference (tests only).

Every ``transformers`` config the tests compare against is built here, from a
:class:`ModelConfig`, so a test states the shape once and the reference cannot drift from it.
"""

from __future__ import annotations

import torch

from course_utils.config import ModelConfig
from course_utils.hf_llama import to_hf_llama_config


def is_gpt2_shaped(config: ModelConfig) -> bool:
    return (config.norm, config.mlp, config.pos_embedding) == ("layernorm", "gelu", "learned")


def gpt2_config(config: ModelConfig):
    """``transformers.GPT2Config`` for a LayerNorm + GELU + learned-positions config.

    GPT-2 always has biases and uses the tanh GELU ("gelu_new"); dropout is off and there
    are no special tokens, so the model is deterministic and sized by ``config`` alone.
    """
    import transformers

    return transformers.GPT2Config(
        vocab_size=config.vocab_size, n_positions=config.max_seq_len, n_embd=config.d_model,
        n_layer=config.n_layers, n_head=config.n_heads, n_inner=config.d_ff,
        activation_function="gelu_new", layer_norm_epsilon=config.norm_eps,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        tie_word_embeddings=config.tie_embeddings, bos_token_id=None, eos_token_id=None,
    )  # fmt: skip


def llama_config(config: ModelConfig):
    """``transformers.LlamaConfig`` for a Llama-style config (the package's own conversion)."""
    import transformers

    return transformers.LlamaConfig(**to_hf_llama_config(config))


def mistral_config(config: ModelConfig, sliding_window: int):
    """``transformers.MistralConfig``: a Llama-style config plus sliding-window attention."""
    import transformers

    return transformers.MistralConfig(**to_hf_llama_config(config), sliding_window=sliding_window)


def hf_model(config: ModelConfig, hf_config=None) -> torch.nn.Module:
    """The `transformers` causal LM of ``hf_config`` (default: GPT-2 or Llama, by shape)."""
    import transformers

    if hf_config is None:
        hf_config = gpt2_config(config) if is_gpt2_shaped(config) else llama_config(config)
    return transformers.AutoModelForCausalLM.from_config(hf_config)


def hf_parameter_count(config: ModelConfig, hf_config=None) -> int:
    """Parameters of :func:`hf_model`, built on the meta device (no memory)."""
    with torch.device("meta"):
        model = hf_model(config, hf_config)
    return sum(p.numel() for p in model.parameters())
