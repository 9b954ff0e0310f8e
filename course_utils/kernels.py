"""Speed kernels: two layers of chapter 3 as autograd Functions with a written-out backward.

At the small sizes the course trains (chapter 5), time goes into the many small element-wise
operations autograd records, not the matrix multiplies; one node with a short backward
formula replaces a dozen. Each computes exactly its formula in :mod:`course_utils.layers`
(``rms_norm``, ``apply_rotary``); the tests check values and gradients against it.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable


class RMSNormFunction(torch.autograd.Function):
    """``rms_norm(x, weight, eps)`` as one autograd node with its gradient written out (chapter 5).

    With ``r = 1/sqrt(mean(x²) + eps)``, ``x̂ = x·r`` and ``y = x̂·w``, for an upstream
    gradient ``g``:

    * ``dL/dw = Σ g·x̂`` over every position,
    * ``dL/dx = r·(g·w − x̂·mean(g·w·x̂))``, the mean over the last dimension.

    The forward pass runs the same operations as the formula, in the same order, so the
    values are identical.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
        inverse_rms = torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps)  # (..., 1)
        normalised = x * inverse_rms  # (..., dim)
        ctx.save_for_backward(normalised, inverse_rms, weight)
        return normalised * weight

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None]:
        normalised, inverse_rms, weight = ctx.saved_tensors
        weighted = grad * weight
        grad_weight = (grad * normalised).flatten(0, -2).sum(dim=0)  # (dim,)
        projection = (weighted * normalised).mean(dim=-1, keepdim=True)  # (..., 1)
        grad_x = (weighted - normalised * projection).mul_(inverse_rms)
        return grad_x, grad_weight, None


def _rotate_halves(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """(a, b) → (a·cos − b·sin, b·cos + a·sin) on the two halves of ``x``'s last dimension.

    ``cos``/``sin`` are (seq, head_dim/2). Writes into a new contiguous tensor through views of
    its halves, with no copy for ``rotate_half`` and nothing to concatenate. Each half is
    rounded exactly as ``apply_rotary`` rounds it (a product, a product, a sum), so the two
    give identical values.
    """
    half = x.shape[-1] // 2
    first, second = x[..., :half], x[..., half:]
    out = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    torch.mul(first, cos, out=out[..., :half]).sub_(second * sin)
    torch.mul(second, cos, out=out[..., half:]).add_(first * sin)
    return out


class RotaryFunction(torch.autograd.Function):
    """``apply_rotary(x, cos, sin)`` as one autograd node (chapter 5).

    A rotation by angle θ is orthogonal, so its gradient is the rotation by −θ applied to
    the upstream gradient: the backward pass is the forward pass with ``-sin``. ``cos`` and
    ``sin`` are the half-width tables (seq, head_dim/2); the output is contiguous whatever the
    layout of ``x`` (the attention passes a transposed view and saves a copy).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(cos, sin)
        return _rotate_halves(x, cos, sin)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        cos, sin = ctx.saved_tensors
        return _rotate_halves(grad, cos, -sin), None, None
