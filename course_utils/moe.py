"""A mixture-of-experts feed-forward layer: router, top-k, experts, balancing losses (chapter 7).

A router (one linear map) scores every expert for every token; each token is sent to the
``experts_per_token`` best-scoring SwiGLU experts and their outputs are added, weighted by the
router's probabilities. Only k experts run per token, so the layer holds ``n_experts`` MLPs'
parameters for the compute of k.

Routing follows Mixtral (Jiang et al. 2024, section 2.1; ``MixtralTopKRouter`` in Hugging Face
``transformers``): a softmax over all experts, the top k, and those k probabilities
renormalised to sum to 1. Qwen3-MoE renormalises only when its ``norm_topk_prob`` is set (it
is for Qwen3-30B-A3B); OLMoE (Muennighoff et al. 2024) does not renormalise.
``ModelConfig.normalize_top_k`` chooses.

Tokens reach their experts in one of two ways that give the same result:
:func:`dispatch_loop` walks token by token (easy to read, slow), :func:`dispatch_sorted`
sorts the (token, expert) pairs by expert and runs each expert once on its whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.checks import choice, instance_of, positive_int
from course_utils.config import ModelConfig
from course_utils.layers import SwiGLU

DISPATCHES = ("sorted", "loop")


def route(
    router_logits: torch.Tensor, k: int, normalize: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k routing: weights and expert indices (tokens, k) from logits (tokens, n_experts).

    Softmax over all experts (in fp32, as Mixtral does), keep the k largest probabilities,
    and with ``normalize`` divide them by their sum so each token's weights add up to 1
    (chapter 7).
    """
    positive_int("k", k)
    if router_logits.ndim != 2 or k > router_logits.shape[-1]:
        raise ValueError(
            f"router_logits must be (tokens, n_experts) with n_experts >= k={k}, "
            f"got {tuple(router_logits.shape)}"
        )
    probabilities = F.softmax(router_logits.float(), dim=-1)
    weights, indices = torch.topk(probabilities, k, dim=-1)
    if normalize:
        weights = weights / weights.sum(dim=-1, keepdim=True)
    return weights, indices


def dispatch_loop(
    x: torch.Tensor, weights: torch.Tensor, indices: torch.Tensor, experts: Sequence[nn.Module]
) -> torch.Tensor:
    """The readable dispatch: for every token, run its k experts and add their weighted outputs.

    ``x`` is (tokens, d_model); ``weights`` and ``indices`` (tokens, k) come from
    :func:`route`. One expert call per (token, choice) pair: k · tokens small matrix
    products (chapter 7).
    """
    out = torch.zeros_like(x)
    for token in range(x.shape[0]):
        for choice_ in range(indices.shape[1]):
            expert = experts[int(indices[token, choice_])]
            out[token] += weights[token, choice_] * expert(x[token : token + 1])[0]
    return out


def dispatch_sorted(
    x: torch.Tensor, weights: torch.Tensor, indices: torch.Tensor, experts: Sequence[nn.Module]
) -> torch.Tensor:
    """The efficient dispatch: group the (token, expert) pairs by expert, run each expert once.

    The k · tokens pairs are sorted by expert; each expert multiplies the rows of all its
    tokens at once (one batched matrix product instead of one per token), and the weighted
    results are added back to their tokens with ``index_add_`` (chapter 7). Same values as
    :func:`dispatch_loop` up to the order of float additions.
    """
    k = indices.shape[1]
    flat_experts = indices.flatten()
    order = torch.argsort(flat_experts, stable=True)
    tokens = order // k  # the token each sorted pair belongs to
    pair_weights = weights.flatten()[order].to(x.dtype)
    counts = torch.bincount(flat_experts, minlength=len(experts)).tolist()
    out = torch.zeros_like(x)
    start = 0
    for expert, count in zip(experts, counts, strict=True):
        if count:
            rows = tokens[start : start + count]
            out.index_add_(0, rows, expert(x[rows]) * pair_weights[start : start + count, None])
        start += count
    return out


def load_balancing_loss(router_logits: torch.Tensor, k: int) -> torch.Tensor:
    """Switch Transformer's auxiliary loss N · Σᵢ fᵢ · Pᵢ (Fedus et al. 2022, eq. 4) (chapter 7).

    ``fᵢ`` is the fraction of tokens whose top k include expert i (a count, not
    differentiable) and ``Pᵢ`` the mean router probability of expert i (differentiable: the
    gradient pushes probability away from crowded experts). With top-1 routing this is
    eq. 4 exactly; for top-k the fᵢ sum to k, as in Hugging Face's
    ``load_balancing_loss_func``, so perfect balance gives k and any imbalance more. The loss's
    weight α (Fedus et al.: 10⁻²) is the trainer's ``aux_loss_weight``.
    """
    positive_int("k", k)
    n_experts = router_logits.shape[-1]
    probabilities = F.softmax(router_logits.float(), dim=-1)
    chosen = torch.topk(probabilities, k, dim=-1).indices
    fraction = F.one_hot(chosen, n_experts).sum(dim=1).float().mean(dim=0)
    return n_experts * torch.sum(fraction * probabilities.mean(dim=0))


def router_z_loss(router_logits: torch.Tensor) -> torch.Tensor:
    """ST-MoE's router z-loss, the mean of (log Σⱼ exp xⱼ)² (Zoph et al. 2022, eq. 5).

    Penalises large router logits, which make the softmax's rounding errors large in low
    precision; Zoph et al. weight it by 10⁻³ (chapter 7).
    """
    return torch.logsumexp(router_logits.float(), dim=-1).pow(2).mean()


class MoEFeedForward(nn.Module):
    """The mixture-of-experts layer that replaces a block's MLP when ``config.n_experts`` is set.

    ``router`` (a bias-free linear map to ``n_experts`` logits), ``experts`` (SwiGLU networks
    ``d_expert`` wide) and, with ``n_shared_experts``, ``shared``: the shared experts as one
    SwiGLU ``n_shared_experts · d_expert`` wide, which equals their sum. After each forward
    pass ``router_logits`` (tokens, n_experts) and ``expert_indices`` (tokens, k) hold the
    routing, for the balancing losses and for measuring expert load (chapter 7).
    """

    def __init__(self, config: ModelConfig, dispatch: str = "sorted") -> None:
        super().__init__()
        instance_of("config", config, ModelConfig)
        if not config.is_moe:
            raise ValueError("config must be a mixture of experts (set n_experts)")
        self.dispatch = choice("dispatch", dispatch, DISPATCHES)
        self.k, self.normalize = config.experts_per_token, config.normalize_top_k
        self.router = nn.Linear(config.d_model, config.n_experts, bias=False)
        self.experts = nn.ModuleList(
            SwiGLU(config.d_model, config.d_expert, bias=config.bias)
            for _ in range(config.n_experts)
        )
        width = config.n_shared_experts * config.d_expert
        self.shared = SwiGLU(config.d_model, width, bias=config.bias) if width else None
        self.router_logits: torch.Tensor | None = None
        self.expert_indices: torch.Tensor | None = None

    @property
    def n_experts(self) -> int:
        return len(self.experts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        logits = self.router(flat)
        weights, indices = route(logits, self.k, self.normalize)
        self.router_logits, self.expert_indices = logits, indices.detach()
        run = dispatch_sorted if self.dispatch == "sorted" else dispatch_loop
        out = run(flat, weights, indices, self.experts)
        if self.shared is not None:
            out = out + self.shared(flat)
        return out.reshape(x.shape)

    def expert_counts(self) -> torch.Tensor:
        """How many tokens picked each expert in the last forward pass (n_experts,)."""
        if self.expert_indices is None:
            raise ValueError("no forward pass yet: run the model first")
        return torch.bincount(self.expert_indices.flatten(), minlength=self.n_experts)


def moe_layers(model: nn.Module) -> list[MoEFeedForward]:
    """The mixture-of-experts layers of ``model``, first block first (chapter 7)."""
    return [module for module in model.modules() if isinstance(module, MoEFeedForward)]


def auxiliary_losses(model: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """(load-balancing loss, router z-loss) of the last forward pass, averaged over layers.

    Zero tensors for a dense model (chapter 7; the trainer adds them to the loss).
    """
    layers = moe_layers(model)
    if not layers:
        zero = torch.zeros(())
        return zero, zero
    if any(layer.router_logits is None for layer in layers):
        raise ValueError("no forward pass yet: run the model first")
    balance = torch.stack([load_balancing_loss(m.router_logits, m.k) for m in layers]).mean()
    z = torch.stack([router_z_loss(m.router_logits) for m in layers]).mean()
    return balance, z


def expert_load(model: nn.Module) -> torch.Tensor:
    """Tokens per expert in the last forward pass, one row per MoE layer (layers, n_experts)."""
    layers = moe_layers(model)
    if not layers:
        raise ValueError("model has no mixture-of-experts layers")
    return torch.stack([layer.expert_counts() for layer in layers])


def all_to_all_bytes_per_token(config: ModelConfig, bytes_per_value: int = 2) -> int:
    """Bytes one token sends between devices per forward pass under expert parallelism.

    With the experts spread over devices (GShard, Lepikhin et al. 2021, section 2.2), every
    MoE layer ships each token's d_model-wide hidden vector to the devices of its k experts
    (an all-to-all) and ships the k results back (a second one): 2·k·d_model values per layer.
    This is the upper bound where no chosen expert sits on the token's own device; the
    backward pass moves as much again (chapter 7).
    """
    instance_of("config", config, ModelConfig)
    if not config.is_moe:
        raise ValueError("config must be a mixture of experts (set n_experts)")
    positive_int("bytes_per_value", bytes_per_value)
    return config.n_layers * 2 * config.experts_per_token * config.d_model * bytes_per_value
