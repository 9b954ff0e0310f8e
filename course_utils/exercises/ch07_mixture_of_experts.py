"""Chapter 7's exercises: mixture of experts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from course_utils.exercises import Exercise, close_to, register
from course_utils.memory import weight_bytes
from course_utils.moe import route
from course_utils.parameters import estimate_parameters
from course_utils.presets import MOE_PRESETS


def _judge_route(answer: Callable[[torch.Tensor, int], Any]) -> str | None:
    if not callable(answer):
        return f"expected a function, got {type(answer).__name__}."
    generator = torch.Generator().manual_seed(8)
    for tokens, n_experts, k in ((5, 8, 2), (7, 4, 1), (3, 6, 3)):
        logits = 2 * torch.randn(tokens, n_experts, generator=generator)
        expected_weights, expected_indices = route(logits, k, normalize=True)
        result = answer(logits.clone(), k)
        if not (isinstance(result, tuple) and len(result) == 2):
            return "return a pair (weights, indices), each of shape (tokens, k)."
        weights, indices = result
        if not all(isinstance(t, torch.Tensor) for t in result) or weights.shape != (tokens, k):
            return f"for {tokens} tokens and k={k} return two tensors of shape ({tokens}, {k})."
        if not torch.equal(indices.long(), expected_indices):
            return f"with k={k} some tokens go to the wrong experts: keep the k largest scores."
        sums = weights.sum(-1)
        if not torch.allclose(sums, torch.ones_like(sums), atol=1e-5):
            return (
                f"each token's k={k} weights add up to {sums.min().item():.3g}…"
                f"{sums.max().item():.3g}, not 1: Mixtral renormalises the chosen probabilities."
            )
        if not torch.allclose(weights.float(), expected_weights, atol=1e-5):
            return "the weights are not the router's probabilities of the chosen experts."
    return None


register(
    Exercise(
        id="7.1",
        prompt="Write top_k_route(router_logits, k) for Mixtral: return (weights, indices), the "
        "k experts each token goes to and their weights.",
        hint="softmax over all experts (dim=-1), torch.topk(probabilities, k), then divide the "
        "k kept probabilities by their sum.",
        judge=_judge_route,
        example_solution=lambda: _route_solution,
        example_mistake=lambda: _route_without_renormalising,
        explanation="Softmax, top-k, renormalise equals a softmax over the k largest logits "
        "(Jiang et al. 2024 write it that way): the other experts' scores cancel out.",
    )
)


def _route_solution(router_logits: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    weights, indices = torch.topk(torch.softmax(router_logits, dim=-1), k, dim=-1)
    return weights / weights.sum(-1, keepdim=True), indices


def _route_without_renormalising(
    router_logits: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.topk(torch.softmax(router_logits, dim=-1), k, dim=-1)


_MIXTRAL = MOE_PRESETS["mixtral-8x7b"].config
_ACTIVE = estimate_parameters(_MIXTRAL, active=True)
_TOTAL = estimate_parameters(_MIXTRAL)

register(
    Exercise(
        id="7.2",
        prompt="How many parameters does Mixtral-8x7B use per token (in billions)? 32 layers, "
        "d_model 4096, attention 2·4096² + 2·4096·1024 per layer, 8 SwiGLU experts of width "
        "14336 with top-2 routing, a router per layer, 32,000-token vocabulary, untied head.",
        hint="per layer: attention + router (8 x 4096) + 2 experts of 3 x 4096 x 14336; then "
        "the embeddings, the LM head and the norms (2 per layer and a final one, 4096 each).",
        judge=close_to(_ACTIVE / 1e9, rel_tol=2e-3, unit="B"),
        example_solution=lambda: estimate_parameters(_MIXTRAL, active=True) / 1e9,
        example_mistake=lambda: _TOTAL * 2 / 8 / 1e9,
        explanation=f"{_ACTIVE / 1e9:.2f}B, more than 2/8 of the {_TOTAL / 1e9:.1f}B total: "
        "attention, embeddings and the head are shared by every token; only the experts are "
        "routed.",
    )
)

_WEIGHTS_GB = weight_bytes(_MIXTRAL, "bf16") / 1e9

register(
    Exercise(
        id="7.3",
        prompt="How many GB (10⁹ bytes) of accelerator memory do Mixtral-8x7B's weights take "
        "in bf16, to serve it?",
        hint="every expert must be resident, since the next token may pick any of them: "
        "total parameters x 2 bytes.",
        judge=close_to(_WEIGHTS_GB, rel_tol=2e-3, unit="GB"),
        example_solution=lambda: 2 * estimate_parameters(_MIXTRAL) / 1e9,
        example_mistake=lambda: 2 * estimate_parameters(_MIXTRAL, active=True) / 1e9,
        explanation=f"{_WEIGHTS_GB:.1f} GB: more than one 80 GB accelerator, although each "
        "token computes like a 13B model. Mixtures of experts trade memory for compute.",
    )
)
