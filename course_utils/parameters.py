"""Where a transformer's parameters live, counted by formula and by PyTorch (chapter 1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from course_utils.checks import instance_of, positive_int
from course_utils.config import ModelConfig

if TYPE_CHECKING:
    import torch

COMPONENTS = ("token_embeddings", "position_embeddings", "attention", "mlp", "norms", "lm_head")


def parameter_breakdown(config: ModelConfig, *, active: bool = False) -> dict[str, int]:
    """Exact parameter count of each component of ``config`` (chapter 1).

    Keys: token_embeddings, position_embeddings, attention, mlp, norms (all layers plus the
    final norm) and lm_head (0 when tied to the token embeddings). Summed over all layers.

    For a mixture of experts (chapter 7) "mlp" holds the router, the routed experts and the
    shared ones; with ``active=True`` it counts only what one token uses: the router, its
    ``experts_per_token`` experts and the shared experts. A dense model's active count is
    its total.
    """
    instance_of("config", config, ModelConfig)
    d, bias = config.d_model, int(config.bias)
    q_width = config.n_heads * config.head_dim
    kv_width = config.n_kv_heads * config.head_dim
    attention = (
        d * q_width  # query projection
        + 2 * d * kv_width  # key and value projections (fewer heads with GQA)
        + q_width * d  # output projection
        + bias * (q_width + 2 * kv_width + d)
        + (2 * config.head_dim if config.qk_norm else 0)  # chapter 8's QK-norm gains
    )
    if config.is_moe:
        mlp = moe_layer_parameters(config, active=active)
    elif config.mlp in ("gelu", "relu2"):  # up, GELU (or ReLU²), down
        mlp = 2 * d * config.d_ff + bias * (config.d_ff + d)
    else:  # SwiGLU: gate and up, SiLU(gate) * up, down
        mlp = 3 * d * config.d_ff + bias * (2 * config.d_ff + d)
    # LayerNorm has a bias (unless norm_bias=False), RMSNorm not
    one_norm = 2 * d if config.norm == "layernorm" and config.norm_bias else d
    return {
        "token_embeddings": config.vocab_size * d,
        "position_embeddings": config.max_seq_len * d if config.pos_embedding == "learned" else 0,
        "attention": config.n_layers * attention,
        "mlp": config.n_layers * mlp,
        "norms": (2 * config.n_layers + 1) * one_norm,
        "lm_head": 0 if config.tie_embeddings else config.vocab_size * d,
    }


def non_embedding_parameters(config: ModelConfig) -> int:
    """Parameters without the embeddings, Kaplan et al.'s N (2020, section 2.1) (chapter 5).

    Leaves out the token and position embeddings and a separate output matrix (the
    embedding's counterpart; tied, it is the embedding itself). Hoffmann et al. (2022) count
    every parameter instead; for small models the two differ a lot (chapter 5).
    """
    parts = parameter_breakdown(config)
    embeddings = parts["token_embeddings"] + parts["position_embeddings"] + parts["lm_head"]
    return sum(parts.values()) - embeddings


def moe_layer_parameters(config: ModelConfig, *, active: bool = False) -> int:
    """Parameters of one mixture-of-experts layer, or those one token uses (chapter 7).

    A linear router (n_experts × d_model, no bias, as in Mixtral), ``n_experts`` SwiGLU
    experts of width ``d_expert`` and the shared experts, built as DeepSeek-V3 builds them: one
    SwiGLU ``n_shared_experts · d_expert`` wide. ``active`` counts the router,
    ``experts_per_token`` routed experts and the shared ones.
    """
    if not config.is_moe:
        raise ValueError("config must be a mixture of experts (set n_experts)")
    d, bias = config.d_model, int(config.bias)

    def swiglu(width: int) -> int:
        return 3 * d * width + bias * (2 * width + d) if width else 0

    routed = config.experts_per_token if active else config.n_experts
    shared = swiglu(config.n_shared_experts * config.d_expert)
    return config.n_experts * d + routed * swiglu(config.d_expert) + shared


def seed_breakdown(
    n_layers: int, embed_dim: int, vocab_size: int = 50_000, ff_mult: int = 4
) -> dict[str, int]:
    """The starter code's back-of-envelope formula, split like :func:`parameter_breakdown`.

    It counts one embedding matrix (reused as the LM head, so the head adds nothing), 4·d²
    attention weights, a 2·d·(ff_mult·d) MLP and 4·d for two LayerNorms per layer, and a
    final d-vector; no biases, no position embeddings (chapter 1).
    """
    for name, value in (
        ("n_layers", n_layers),
        ("embed_dim", embed_dim),
        ("vocab_size", vocab_size),
        ("ff_mult", ff_mult),
    ):
        positive_int(name, value)
    d = embed_dim
    return {
        "token_embeddings": vocab_size * d,
        "position_embeddings": 0,
        "attention": n_layers * 4 * d * d,
        "mlp": n_layers * 2 * d * (ff_mult * d),
        "norms": n_layers * 4 * d + d,
        "lm_head": 0,
    }


def seed_estimate(n_layers: int, embed_dim: int, vocab_size: int = 50_000, ff_mult: int = 4) -> int:
    """The starter code's ``estimate_parameters``: the sum of :func:`seed_breakdown` (chapter 1)."""
    return sum(seed_breakdown(n_layers, embed_dim, vocab_size, ff_mult).values())


def estimate_parameters(
    config: ModelConfig | None = None,
    *,
    n_layers: int | None = None,
    embed_dim: int | None = None,
    vocab_size: int = 50_000,
    ff_mult: int = 4,
    active: bool = False,
) -> int:
    """Parameters of a model: exact for a :class:`ModelConfig` (chapter 1).

    ``estimate_parameters(config)`` sums :func:`parameter_breakdown`. The course's starter
    code's call ``estimate_parameters(n_layers=32, embed_dim=4096)`` still works and gives its
    rough figure (:func:`seed_estimate`). ``active=True`` counts the parameters one token
    uses, which differ from the total only for a mixture of experts (chapter 7).
    """
    if config is not None:
        if n_layers is not None or embed_dim is not None:
            raise ValueError("give either config or n_layers/embed_dim, not both")
        return sum(parameter_breakdown(config, active=active).values())
    if active:
        raise ValueError("active=True needs a ModelConfig")
    if n_layers is None or embed_dim is None:
        raise ValueError("estimate_parameters needs a ModelConfig, or n_layers and embed_dim")
    return seed_estimate(n_layers, embed_dim, vocab_size, ff_mult)


class ParameterCount(int):
    """The total number of parameters (an ``int``), also carrying ``.trainable``."""

    trainable: int

    def __new__(cls, total: int, trainable: int) -> ParameterCount:
        count = super().__new__(cls, total)
        count.trainable = trainable
        return count

    @property
    def total(self) -> int:
        return int(self)

    def __repr__(self) -> str:
        return f"ParameterCount(total={int(self):,}, trainable={self.trainable:,})"


def count_parameters(model: torch.nn.Module, verbose: bool = True) -> ParameterCount:
    """Count a PyTorch model's parameters, shared (tied) tensors once (chapter 1).

    Returns the total as an ``int`` with ``.trainable`` attached; with ``verbose`` it
    prints the starter code's summary, including the size of the weights in FP32 and FP16.
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    parameters = list(model.parameters())  # PyTorch yields a tied tensor only once
    total = sum(p.numel() for p in parameters)
    trainable = sum(p.numel() for p in parameters if p.requires_grad)
    if verbose:
        print(f"Total parameters: {total:,}")
        print(f"Trainable parameters: {trainable:,}")
        print(f"Model size (FP32): {total * 4 / 1e9:.2f} GB")
        print(f"Model size (FP16): {total * 2 / 1e9:.2f} GB")
    return ParameterCount(total, trainable)


def parameter_shares(config: ModelConfig) -> dict[str, float]:
    """Fraction of the parameters in embeddings, attention, MLP and norms (chapter 1).

    "embeddings" gathers token and position embeddings and the LM head (the vocabulary's
    matrices, whether tied or not).
    """
    parts = parameter_breakdown(config)
    total = sum(parts.values())
    embeddings = parts["token_embeddings"] + parts["position_embeddings"] + parts["lm_head"]
    return {
        "embeddings": embeddings / total,
        "attention": parts["attention"] / total,
        "mlp": parts["mlp"] / total,
        "norms": parts["norms"] / total,
    }


def breakdown_table(columns: dict[str, dict[str, int]]) -> str:
    """Breakdowns side by side, one row per component plus the total (chapter 1).

    With two columns a third shows their difference (second − first).
    """
    if not columns or any(tuple(b) != COMPONENTS for b in columns.values()):
        raise ValueError("columns must map names to breakdowns with the keys of COMPONENTS")
    names = list(columns)
    headers = [*names, "difference"] if len(names) == 2 else names
    width = max(15, *(len(h) for h in headers))
    rows = [f"{'component':<20}" + "".join(f"{h:>{width + 2}}" for h in headers)]
    for key in (*COMPONENTS, "total"):
        values = [
            sum(b.values()) if key == "total" else b[key] for b in (columns[n] for n in names)
        ]
        cells = [f"{v:,}" for v in values]
        if len(names) == 2:
            cells.append(f"{values[1] - values[0]:+,}")
        if key == "total":
            rows.append("-" * len(rows[0]))
        rows.append(f"{key:<20}" + "".join(f"{c:>{width + 2}}" for c in cells))
    return "\n".join(rows)


def plot_parameter_shares(configs: dict[str, ModelConfig], ax=None):
    """Stacked bars: where each model's parameters live (chapter 1)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 0.4 * len(configs) + 1.6), layout="constrained")
    names = list(configs)
    shares = [parameter_shares(configs[name]) for name in names]
    left = [0.0] * len(names)
    labels = {"embeddings": "embeddings + LM head", "attention": "attention", "mlp": "MLP"}
    labels["norms"] = "norms (under 0.1%)" if all(s["norms"] < 1e-3 for s in shares) else "norms"
    for part, label in labels.items():
        widths = [100 * s[part] for s in shares]
        ax.barh(names, widths, left=left, label=label)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of all parameters (%)")
    ax.set_ylabel("model (smallest at the top)")
    ax.set_title("Where the parameters live")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=4, fontsize="small")
    return ax
