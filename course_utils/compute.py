"""How much compute, time and money training takes (chapter 1; reused by chapters 2 and 5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from course_utils.checks import (
    instance_of,
    number_at_least,
    number_in_range,
    positive_array,
    positive_int,
    scalar_or_array,
)
from course_utils.config import ModelConfig

SECONDS_PER_HOUR = 3600.0


def training_flops(n_params, n_tokens):
    """Training compute C ≈ 6·N·D FLOPs (Kaplan et al. 2020, section 2.1) (chapter 1).

    Each token costs about 2·N FLOPs forward and 4·N backward. Works elementwise on arrays.
    """
    return scalar_or_array(
        6.0 * positive_array("n_params", n_params) * positive_array("n_tokens", n_tokens)
    )


def forward_flops_breakdown(
    config: ModelConfig, context_len: int | None = None, *, causal: bool = True
) -> dict[str, float]:
    """Forward-pass FLOPs per token, by component, after Kaplan et al. 2020, Table 1 (chapter 1).

    Every weight matrix costs 2 FLOPs per weight and token (a multiply and an add). On top,
    attention compares each token with the tokens before it: QKᵀ and the weighted sum of V
    cost 2·context·d_attn FLOPs each per layer. With ``causal=True`` (Kaplan's count) a token
    attends to half the context on average, giving Kaplan's 2·n_layer·n_ctx·d_attn; with
    ``causal=False`` the full context, which is what a kernel that computes the whole s×s
    matrix and then masks it does. ``context_len`` defaults to ``config.max_seq_len``.
    Embedding look-ups, norms, softmax and biases are left out (Kaplan et al. note they are
    negligible). For a mixture of experts (chapter 7) "mlp" counts the router and the experts
    a token uses (``experts_per_token`` routed plus the shared ones): the active weights.
    """
    instance_of("config", config, ModelConfig)
    context_len = config.max_seq_len if context_len is None else context_len
    positive_int("context_len", context_len)
    d, layers = config.d_model, config.n_layers
    q_width = config.n_heads * config.head_dim
    kv_width = config.n_kv_heads * config.head_dim
    mlp_matrices = 3 if config.mlp == "swiglu" else 2
    if config.is_moe:
        used = config.experts_per_token + config.n_shared_experts
        mlp = 2.0 * layers * (d * config.n_experts + used * 3 * d * config.d_expert)
    else:
        mlp = 2.0 * layers * mlp_matrices * d * config.d_ff
    attended = context_len / 2 if causal else context_len
    return {
        "attention_qkv": 2.0 * layers * d * (q_width + 2 * kv_width),
        "attention_scores": 2.0 * 2 * layers * attended * q_width,  # QKᵀ and weights·V
        "attention_output": 2.0 * layers * q_width * d,
        "mlp": mlp,
        "lm_head": 2.0 * d * config.vocab_size,
    }


def forward_flops_per_token(
    config: ModelConfig, context_len: int | None = None, *, causal: bool = True
) -> float:
    """Forward FLOPs per token: ≈ 2·N plus the attention term (chapter 1).

    The sum of :func:`forward_flops_breakdown`. A training step costs about three times as
    much (the backward pass computes gradients for activations and for weights), which is
    where 6·N·D comes from.
    """
    return sum(forward_flops_breakdown(config, context_len, causal=causal).values())


@dataclass(frozen=True)
class Accelerator:
    """Datasheet figures of one accelerator (chapter 1)."""

    name: str
    peak_bf16_flops_per_second: float  # dense, without structured sparsity
    memory_bytes: float
    memory_bandwidth_bytes_per_second: float
    source: str


#: Peak dense BF16 tensor-core throughput, memory and memory bandwidth from NVIDIA's
#: datasheets. Datasheets print BF16 "with sparsity" (2:4 structured sparsity doubles it);
#: the dense figure, which training sees, is half of that. Memory is in GB (10⁹ bytes).
ACCELERATORS: Mapping[str, Accelerator] = MappingProxyType(
    {
        "A100-80GB": Accelerator(
            "NVIDIA A100 80GB SXM",
            312e12,
            80e9,
            2.039e12,
            "NVIDIA A100 Tensor Core GPU datasheet: BF16 Tensor Core 312 TFLOPS (624 with "
            "sparsity), 80GB HBM2e, 2,039 GB/s.",
        ),
        "H100-SXM": Accelerator(
            "NVIDIA H100 SXM",
            989e12,
            80e9,
            3.35e12,
            "NVIDIA H100 Tensor Core GPU datasheet: BF16 Tensor Core 1,979 TFLOPS with "
            "sparsity (989 dense), 80GB HBM3, 3.35 TB/s.",
        ),
        "H200-SXM": Accelerator(
            "NVIDIA H200 SXM",
            989e12,
            141e9,
            4.8e12,
            "NVIDIA H200 Tensor Core GPU datasheet: BF16 Tensor Core 1,979 TFLOPS with "
            "sparsity (989 dense), 141GB HBM3e, 4.8 TB/s.",
        ),
        "L4": Accelerator(
            "NVIDIA L4",
            121e12,
            24e9,
            300e9,
            "NVIDIA L4 Tensor Core GPU datasheet: BF16 Tensor Core 242 TFLOPS with sparsity "
            "(121 dense), 24GB GDDR6, 300 GB/s.",
        ),
    }
)


@dataclass(frozen=True)
class TrainingRun:
    """Wall-clock time, accelerator-hours and cost of a training run (chapter 1)."""

    flops: float
    seconds: float
    accelerator_hours: float
    cost: float

    @property
    def days(self) -> float:
        return self.seconds / 86_400


def training_run(
    flops: float,
    *,
    n_accelerators: int,
    peak_flops_per_second: float,
    mfu: float,
    price_per_accelerator_hour: float,
) -> TrainingRun:
    """Time and cost to spend ``flops`` on ``n_accelerators`` running at ``mfu`` of peak.

    MFU (model FLOPs utilisation) is the fraction of the hardware's peak that goes into the
    model's own 6·N·D FLOPs; large runs report roughly 0.3–0.55 (PaLM, section 4.1: 46.2%).
    """
    flops = float(positive_array("flops", flops))
    n_accelerators = positive_int("n_accelerators", n_accelerators)
    peak = float(positive_array("peak_flops_per_second", peak_flops_per_second))
    mfu = number_in_range("mfu", mfu, 0, 1, include_low=False)
    price = number_at_least("price_per_accelerator_hour", price_per_accelerator_hour, 0)
    seconds = flops / (n_accelerators * peak * mfu)
    hours = seconds * n_accelerators / SECONDS_PER_HOUR
    return TrainingRun(flops, seconds, hours, hours * price)
