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

    GPT-2 always has biases and uses the tanh GELU ("gelu_new"); a config with the exact GELU
    (``gelu_approximation="none"``, nanoGPT's) gets transformers' erf "gelu". Dropout is off and
    there are no special tokens, so the model is deterministic and sized by ``config`` alone.
    """
    import transformers

    return transformers.GPT2Config(
        vocab_size=config.vocab_size, n_positions=config.max_seq_len, n_embd=config.d_model,
        n_layer=config.n_layers, n_head=config.n_heads, n_inner=config.d_ff,
        activation_function="gelu_new" if config.gelu_approximation == "tanh" else "gelu",
        layer_norm_epsilon=config.norm_eps,
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
