"""One description of a decoder-only transformer, shared by chapters 1, 3 and 5.

Chapter 1 counts the parameters, memory and compute of a :class:`ModelConfig`; chapter 3
builds a PyTorch model from the same object; chapter 5 trains one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from course_utils.checks import choice, int_at_least, positive_int, positive_number

NORMS = ("layernorm", "rmsnorm")
MLPS = ("gelu", "swiglu", "relu2")
POSITION_EMBEDDINGS = ("learned", "rope")
#: ``torch.nn.functional.gelu``'s ``approximate`` argument: GPT-2's tanh form, or the exact erf.
GELU_APPROXIMATIONS = ("tanh", "none")


def swiglu_hidden_dim(
    d_model: int, multiple_of: int = 256, ffn_dim_multiplier: float | None = None
) -> int:
    """Hidden width of a SwiGLU MLP the way Llama sizes it (chapters 1 and 3).

    A GELU MLP of width 4·d has 8·d² weights. SwiGLU has three matrices instead of two, so
    Shazeer (2020) shrinks the width to 2/3 · 4·d to keep the count the same; Llama then
    optionally scales it (``ffn_dim_multiplier``) and rounds *up* to a multiple of
    ``multiple_of`` for fast matrix kernels. Llama-2-7B: d=4096 → 11008.
    """
    hidden = int(2 * 4 * positive_int("d_model", d_model) / 3)
    if ffn_dim_multiplier is not None:
        hidden = int(positive_number("ffn_dim_multiplier", ffn_dim_multiplier) * hidden)
    multiple_of = positive_int("multiple_of", multiple_of)
    return multiple_of * math.ceil(hidden / multiple_of)


@dataclass(frozen=True)
class ModelConfig:
    """The shape of a decoder-only transformer language model (chapter 1).

    ``n_kv_heads`` below ``n_heads`` gives grouped-query attention (1 = multi-query);
    ``d_ff`` defaults to 4·d_model for a GELU MLP and to :func:`swiglu_hidden_dim` for
    SwiGLU; ``head_dim`` defaults to d_model // n_heads.

    Change a config with :meth:`replace`, not ``dataclasses.replace``: the method derives
    the defaulted widths again (``d_model`` 64 → 128 with 4 heads: ``head_dim`` 16 → 32),
    while ``dataclasses.replace`` copies the old widths as if they had been given (16).

    Mixture of experts (chapter 7): ``n_experts`` SwiGLU experts per block replace the MLP
    (``None``, the default, is the dense model). Each token goes to ``experts_per_token`` of
    them (top-k); ``n_shared_experts`` more see every token (DeepSeekMoE's shared experts);
    every expert is ``d_expert`` wide (default ``d_ff``). ``normalize_top_k`` rescales the k
    chosen router probabilities to sum to 1 (Mixtral, and Qwen3-MoE's ``norm_topk_prob``);
    OLMoE keeps them as they are.

    Training-recipe options (chapter 8), all off by default so that the defaults compute what
    chapters 3, 5 and 7 stored:

    * ``mlp="relu2"``: ``down(relu(up(x))²)``, two matrices 4·d wide (So et al. 2021,
      "Primer: Searching for Efficient Transformers for Language Modeling"; modded-nanogpt's
      record #5 of 14 Oct 2024, with QK-norm and zero-initialised projections).
    * ``gelu_approximation``: ``"tanh"`` is GPT-2's GELU, ``"none"`` the exact erf form that
      nanoGPT's ``nn.GELU()`` computes.
    * ``norm_bias=False``: LayerNorm without its bias, as nanoGPT builds it with ``bias=False``.
    * ``qk_norm``: RMSNorm (with a gain per dimension) on each head's queries and keys, before
      RoPE (Dehghani et al. 2023, "Scaling Vision Transformers to 22 Billion Parameters",
      section 2, "QK normalization"; OLMo 2, Qwen3; modded-nanogpt's record #5).
    * ``logit_softcap``: logits become ``cap · tanh(logits / cap)``, bounded by ``cap`` (Gemma 2
      report, Gemma Team 2024, section 2: cap 30 for the final logits; modded-nanogpt's records
      #9 and #18, cap 30 then 15).
    * ``zero_init_projections``: the attention output and MLP down projections start at zero,
      so every block starts as the identity (modded-nanogpt's record #5; nanochat).
    """

    vocab_size: int
    d_model: int
    n_layers: int
    n_heads: int
    n_kv_heads: int | None = None
    d_ff: int | None = None
    max_seq_len: int = 1024
    norm: str = "rmsnorm"
    mlp: str = "swiglu"
    pos_embedding: str = "rope"
    tie_embeddings: bool = False
    bias: bool = False
    norm_eps: float = 1e-5
    rope_theta: float = 10_000.0
    head_dim: int | None = None
    n_experts: int | None = None
    experts_per_token: int | None = None
    n_shared_experts: int = 0
    d_expert: int | None = None
    normalize_top_k: bool = True
    gelu_approximation: str = "tanh"
    norm_bias: bool = True
    qk_norm: bool = False
    logit_softcap: float | None = None
    zero_init_projections: bool = False
    # Which of n_kv_heads, head_dim, d_ff and d_expert were filled in from their defaults, so that
    # replace(d_model=...) derives them again instead of keeping the old widths.
    _derived: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        derived = tuple(
            n for n in ("n_kv_heads", "head_dim", "d_ff", "d_expert") if getattr(self, n) is None
        )
        object.__setattr__(self, "_derived", derived)
        for name in ("vocab_size", "d_model", "n_layers", "n_heads", "max_seq_len"):
            positive_int(name, getattr(self, name))
        if self.n_kv_heads is None:
            object.__setattr__(self, "n_kv_heads", self.n_heads)
        positive_int("n_kv_heads", self.n_kv_heads)
        if self.n_heads % self.n_kv_heads != 0:
            raise ValueError(
                f"n_heads ({self.n_heads}) must be divisible by n_kv_heads ({self.n_kv_heads})"
            )
        if self.head_dim is None:
            if self.d_model % self.n_heads != 0:
                raise ValueError(
                    f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})"
                )
            object.__setattr__(self, "head_dim", self.d_model // self.n_heads)
        positive_int("head_dim", self.head_dim)
        choice("norm", self.norm, NORMS)
        choice("mlp", self.mlp, MLPS)
        choice("pos_embedding", self.pos_embedding, POSITION_EMBEDDINGS)
        choice("gelu_approximation", self.gelu_approximation, GELU_APPROXIMATIONS)
        if self.d_ff is None:
            default = swiglu_hidden_dim(self.d_model) if self.mlp == "swiglu" else 4 * self.d_model
            object.__setattr__(self, "d_ff", default)
        positive_int("d_ff", self.d_ff)
        for name in ("tie_embeddings", "bias", "norm_bias", "qk_norm", "zero_init_projections"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if not self.norm_bias and self.norm != "layernorm":
            raise ValueError("norm_bias=False needs norm='layernorm' (RMSNorm has no bias)")
        if self.logit_softcap is not None:
            positive_number("logit_softcap", self.logit_softcap)
        for name in ("norm_eps", "rope_theta"):
            positive_number(name, getattr(self, name))
        if self.pos_embedding == "rope" and self.head_dim % 2 != 0:
            raise ValueError(f"head_dim must be even for rotary embeddings, got {self.head_dim}")
        self._check_experts()

    def _check_experts(self) -> None:
        if not isinstance(self.normalize_top_k, bool):
            raise ValueError(f"normalize_top_k must be True or False, got {self.normalize_top_k!r}")
        int_at_least("n_shared_experts", self.n_shared_experts, 0)
        if self.n_experts is None:
            for name in ("experts_per_token", "d_expert"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name} needs n_experts (a mixture of experts); got None")
            if self.n_shared_experts:
                raise ValueError(
                    "n_shared_experts needs n_experts (shared experts sit beside routed ones); "
                    "a dense model has n_shared_experts=0"
                )
            return
        positive_int("n_experts", self.n_experts)
        if self.experts_per_token is None:
            raise ValueError("experts_per_token (top-k) must be given with n_experts")
        positive_int("experts_per_token", self.experts_per_token)
        if self.experts_per_token > self.n_experts:
            raise ValueError(
                f"experts_per_token must be at most n_experts={self.n_experts}, "
                f"got {self.experts_per_token}"
            )
        choice("mlp", self.mlp, ("swiglu",))  # the experts are SwiGLU networks
        if self.d_expert is None:
            object.__setattr__(self, "d_expert", self.d_ff)
        positive_int("d_expert", self.d_expert)

    @property
    def is_moe(self) -> bool:
        """Whether the blocks hold a mixture of experts instead of one MLP (chapter 7)."""
        return self.n_experts is not None

    @property
    def n_query_groups(self) -> int:
        """How many query heads share each key/value head."""
        return self.n_heads // self.n_kv_heads

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready fields (used by checkpoints)."""
        values = asdict(self)
        values.pop("_derived")
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        """Rebuild a config from :meth:`to_dict`'s output; unknown keys are an error."""
        known = {f.name for f in fields(cls) if f.init}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown ModelConfig fields: {sorted(unknown)}")
        return cls(**values)

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with some fields changed, validated again.

        Widths that were derived from defaults (``d_ff``, ``head_dim``, ``n_kv_heads``,
        ``d_expert``) are
        derived again from the new values unless given.
        """
        rederive = {name: None for name in self._derived if name not in changes}
        return replace(self, **rederive, **changes)
