"""How much memory a model takes to store, to train and to serve (chapter 1).

Sizes are in bytes; divide by 1e9 for GB, the unit of accelerator datasheets and of this
course (1 GB = 10⁹ bytes; 1 GiB = 2³⁰ bytes is 7% more).

* **Store**: parameters × bytes per parameter of the number format (:data:`BYTES_PER_PARAMETER`).
* **Train** with Adam: weights, gradients and optimizer states, 16 bytes per parameter in
  mixed precision (Rajbhandari et al. 2020, ZeRO, section 3.1), plus the activations kept for
  the backward pass (Korthikanti et al. 2022, section 4.1).
* **Serve**: the weights plus the KV cache, which grows with batch size × context length.
"""

from __future__ import annotations

from dataclasses import dataclass

from course_utils.checks import choice, instance_of, positive_int
from course_utils.config import ModelConfig
from course_utils.parameters import estimate_parameters

#: Bytes per parameter of each number format. int4 packs two parameters in a byte; real
#: 4-bit schemes (GPTQ, AWQ) add a scale per group of ~128 weights, a few percent more.
BYTES_PER_PARAMETER: dict[str, float] = {
    "fp32": 4.0,
    "fp16": 2.0,
    "bf16": 2.0,
    "int8": 1.0,
    "int4": 0.5,
}

#: Bytes per parameter of Adam training, split into (weights, gradients, optimizer states).
#: "mixed": ZeRO's accounting (Rajbhandari et al. 2020, section 3.1): 16-bit weights (2) and
#: gradients (2); an fp32 master copy of the weights, Adam's momentum and variance (4+4+4).
#: "fp32": everything in fp32: weights (4), gradients (4), momentum and variance (4+4).
ADAM_BYTES_PER_PARAMETER: dict[str, tuple[float, float, float]] = {
    "mixed": (2.0, 2.0, 12.0),
    "fp32": (4.0, 4.0, 8.0),
}

#: Bytes of one logit kept for the loss: the softmax runs in fp32 even in 16-bit training.
LOGIT_BYTES = 4


def _n_params(model: ModelConfig | int) -> int:
    if isinstance(model, ModelConfig):
        return estimate_parameters(model)
    if isinstance(model, bool) or not isinstance(model, int) or model <= 0:
        raise ValueError(f"model must be a ModelConfig or a positive int, got {model!r}")
    return model


def _bytes_per(dtype: str) -> float:
    return BYTES_PER_PARAMETER[choice("dtype", dtype, BYTES_PER_PARAMETER)]


def weight_bytes(model: ModelConfig | int, dtype: str = "bf16") -> float:
    """Bytes to store the weights of ``model`` (a config or a parameter count) (chapter 1)."""
    return _n_params(model) * _bytes_per(dtype)


# ---------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------


def activation_bytes_per_layer(
    config: ModelConfig,
    batch_size: int,
    seq_len: int,
    *,
    flash_attention: bool = True,
    dropout: bool = False,
) -> int:
    """Bytes one transformer layer keeps for the backward pass in 16-bit training (chapter 1).

    Korthikanti et al. (2022), section 4.1, count for a GPT layer (s tokens, batch b, width h,
    a heads) s·b·h·34 + 5·a·s²·b bytes: every tensor a matmul, norm or activation function
    needs again in the backward pass, 2 bytes per value, 1 byte per dropout-mask entry. This
    function itemises the same list for any :class:`ModelConfig`, so that grouped-query
    attention (smaller K, V), SwiGLU (three hidden tensors instead of two) and other widths
    are counted; for GPT's shape with dropout and without flash attention it equals their
    formula exactly.

    ``flash_attention`` (Dao et al. 2022): the s×s attention matrix is recomputed in the
    backward pass instead of stored, leaving one fp32 log-sum-exp per head and token; this
    is what Korthikanti et al. call selective recomputation (section 5). Norms are assumed
    fused (keeping only their input); biases and norm statistics are negligible.
    """
    instance_of("config", config, ModelConfig)
    positive_int("batch_size", batch_size)
    positive_int("seq_len", seq_len)
    tokens = batch_size * seq_len
    value = 2  # bytes of a bf16/fp16 activation
    q_width = config.n_heads * config.head_dim
    kv_width = config.n_kv_heads * config.head_dim
    d = config.d_model

    attention = (
        value * tokens * d  # input of the attention norm
        + value * tokens * d  # input of the Q, K, V projections (the norm's output)
        + value * tokens * (q_width + 2 * kv_width)  # Q, K, V for the attention products
        + value * tokens * q_width  # attention output, input of the output projection
    )
    scores = config.n_heads * seq_len * tokens  # entries of the s×s matrices of all heads
    if flash_attention:
        attention += 4 * config.n_heads * tokens  # fp32 log-sum-exp per head and token
    else:
        attention += value * scores  # softmax output
        if dropout:
            attention += scores + value * scores  # dropout mask, dropped-out probabilities

    mlp = value * tokens * d + value * tokens * d  # input of the MLP norm, input of the MLP
    if config.is_moe:  # each token's k routed and the shared experts keep their hidden tensors
        used = config.experts_per_token + config.n_shared_experts
        mlp += 4 * value * tokens * used * config.d_expert
        mlp += 4 * tokens * config.n_experts  # fp32 router logits for the softmax (chapter 7)
    elif config.mlp in ("gelu", "relu2"):
        mlp += 2 * value * tokens * config.d_ff  # GELU (ReLU²) input, down-projection input
    else:
        mlp += 4 * value * tokens * config.d_ff  # gate, SiLU(gate), up, their product
    masks = 2 * tokens * d if dropout else 0  # dropout masks after attention and MLP
    return attention + mlp + masks


def activation_bytes(
    config: ModelConfig,
    batch_size: int,
    seq_len: int,
    *,
    flash_attention: bool = True,
    dropout: bool = False,
) -> int:
    """Bytes of activations a whole model keeps for the backward pass (chapter 1).

    All layers (:func:`activation_bytes_per_layer`), plus the final norm's and LM head's
    inputs and the fp32 logits the loss needs (4 bytes × tokens × vocabulary: for a large
    vocabulary this rivals a layer), plus the embedding dropout mask when ``dropout``.
    Without activation recomputation; grows linearly with ``batch_size``.
    """
    per_layer = activation_bytes_per_layer(
        config, batch_size, seq_len, flash_attention=flash_attention, dropout=dropout
    )
    tokens = batch_size * seq_len
    head = 2 * 2 * tokens * config.d_model + LOGIT_BYTES * tokens * config.vocab_size
    embedding_mask = tokens * config.d_model if dropout else 0
    return config.n_layers * per_layer + head + embedding_mask


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes to train a model with Adam, by kind (chapter 1; on one device, chapter 6)."""

    weights: float
    gradients: float
    optimizer_states: float
    activations: float

    @property
    def model_states(self) -> float:
        """Weights, gradients and optimizer states: what ZeRO partitions."""
        return self.weights + self.gradients + self.optimizer_states

    @property
    def total(self) -> float:
        return self.model_states + self.activations


def training_memory(
    config: ModelConfig,
    *,
    batch_size: int = 1,
    seq_len: int | None = None,
    flash_attention: bool = True,
) -> TrainingMemory:
    """Memory to train ``config`` with mixed-precision Adam on ``batch_size`` sequences (chapter 1).

    Model states: 16 bytes per parameter (:data:`ADAM_BYTES_PER_PARAMETER` ``"mixed"``).
    Activations: :func:`activation_bytes` for sequences of ``seq_len`` tokens (default
    ``config.max_seq_len``), without dropout as in modern pretraining. Temporary buffers,
    framework overhead and memory fragmentation come on top.
    """
    instance_of("config", config, ModelConfig)
    seq_len = config.max_seq_len if seq_len is None else seq_len
    n = estimate_parameters(config)
    weights, gradients, states = ADAM_BYTES_PER_PARAMETER["mixed"]
    activations = activation_bytes(config, batch_size, seq_len, flash_attention=flash_attention)
    return TrainingMemory(n * weights, n * gradients, n * states, activations)


# ---------------------------------------------------------------------------------------
# Serving
# ---------------------------------------------------------------------------------------


def kv_cache_bytes(
    config: ModelConfig,
    *,
    batch_size: int = 1,
    context_len: int | None = None,
    dtype: str = "bf16",
    attention_window: int | None = None,
) -> float:
    """Bytes of the key/value cache for ``batch_size`` sequences of ``context_len`` tokens.

    Every layer keeps a key and a value vector per key/value head and token:
    2 × n_layers × n_kv_heads × head_dim × batch × context × bytes. Grouped-query attention
    (Ainslie et al. 2023) shrinks it by n_heads / n_kv_heads. ``context_len`` defaults to
    ``config.max_seq_len`` (chapter 1). With sliding-window attention of ``attention_window``
    tokens (Mistral 7B: 4,096, Jiang et al. 2023, section 2, "rolling buffer cache") no token
    attends further back, so the cache keeps at most that many tokens per sequence.
    """
    instance_of("config", config, ModelConfig)
    context_len = config.max_seq_len if context_len is None else context_len
    positive_int("batch_size", batch_size)
    positive_int("context_len", context_len)
    if attention_window is not None:
        context_len = min(context_len, positive_int("attention_window", attention_window))
    per_token = 2 * config.n_layers * config.n_kv_heads * config.head_dim
    return per_token * batch_size * context_len * _bytes_per(dtype)


@dataclass(frozen=True)
class ServingMemory:
    """Bytes to serve a model: weights plus KV cache (chapter 1)."""

    weights: float
    kv_cache: float

    @property
    def total(self) -> float:
        return self.weights + self.kv_cache


def serving_memory(
    config: ModelConfig,
    *,
    batch_size: int = 1,
    context_len: int | None = None,
    dtype: str = "bf16",
) -> ServingMemory:
    """Weights in ``dtype`` plus the KV cache (16-bit) for a batch and context (chapter 1)."""
    return ServingMemory(
        weights=weight_bytes(config, dtype),
        kv_cache=kv_cache_bytes(config, batch_size=batch_size, context_len=context_len),
    )


def plot_memory(configs: dict[str, ModelConfig], *, serving_batch: int = 8, line=None, ax=None):
    """Grouped bars: GB to store, serve and train each model (chapter 1).

    Store: bf16 weights. Serve: bf16 weights plus the KV cache of ``serving_batch`` sequences
    at each model's full context. Train: mixed-precision Adam plus the activations of one
    full-context sequence (flash attention). ``line``: an optional (label, bytes) drawn
    across, such as one accelerator's memory.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.2))
    names = list(configs)
    bars = {
        "store (bf16 weights)": [weight_bytes(configs[n]) for n in names],
        f"serve (+ KV cache, {serving_batch} full contexts)": [
            serving_memory(configs[n], batch_size=serving_batch).total for n in names
        ],
        "train (Adam + activations, 1 context)": [training_memory(configs[n]).total for n in names],
    }
    x = np.arange(len(names))
    width = 0.8 / len(bars)
    for i, (label, values) in enumerate(bars.items()):
        ax.bar(x + (i - 1) * width, np.array(values) / 1e9, width, label=label)
    if line is not None:
        label, size = line
        ax.axhline(size / 1e9, color="black", linestyle="--", linewidth=1, label=label)
    ax.set_yscale("log")
    ax.set_xticks(x, names)
    ax.set_xlabel("model")
    ax.set_ylabel("memory (GB, log scale)")
    ax.set_title("Memory to store, serve and train")
    ax.legend(fontsize="small")
    return ax
