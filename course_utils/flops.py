"""Where a forward pass spends its floating-point operations (chapter 3).

Chapter 1 counts parameters per component (:func:`parameter_breakdown`); here each component's
matrix multiplications are counted per token. A matrix of N weights costs 2·N FLOPs per
token (a multiply and an add per weight), which is where chapter 1's 6·N·D comes from
(2·N forward, 4·N backward); attention adds a term that grows with the context length.
"""

from __future__ import annotations

from course_utils.config import ModelConfig


def forward_flops_per_token(config: ModelConfig, context_length: int) -> dict[str, int]:
    """Matrix-multiply FLOPs per token of one forward pass, by component (chapter 3).

    * ``attention``: the q, k, v and o projections, 2 FLOPs per weight;
    * ``attention_scores``: q·kᵀ and weights·v against ``context_length`` keys,
      2 · 2 · n_layers · context_length · n_heads · head_dim, counting every key as
      Hoffmann et al. (2022, appendix F) do (a causal kernel can skip about half);
    * ``mlp``: 2 FLOPs per weight;
    * ``lm_head``: 2 · vocab_size · d_model, also when tied to the embeddings (the
      multiplication still happens; only the storage is shared).

    Embedding lookups, norms, biases, activations and the softmax are not matrix
    multiplications and are left out. Without biases, every entry but ``attention_scores``
    is twice the matching entry of :func:`parameter_breakdown`.
    """
    if not isinstance(config, ModelConfig):
        raise ValueError(f"config must be a ModelConfig, got {type(config).__name__}")
    if isinstance(context_length, bool) or not isinstance(context_length, int):
        raise ValueError(f"context_length must be a positive integer, got {context_length!r}")
    if context_length <= 0:
        raise ValueError(f"context_length must be a positive integer, got {context_length!r}")
    d, layers = config.d_model, config.n_layers
    q_width = config.n_heads * config.head_dim
    kv_width = config.n_kv_heads * config.head_dim
    mlp_matrices = 3 if config.mlp == "swiglu" else 2
    return {
        "attention": 2 * layers * (2 * d * q_width + 2 * d * kv_width),
        "attention_scores": 2 * 2 * layers * context_length * q_width,
        "mlp": 2 * layers * mlp_matrices * d * config.d_ff,
        "lm_head": 2 * config.vocab_size * d,
    }
