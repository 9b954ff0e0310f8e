"""Muon: momentum, then orthogonalise the update of each hidden matrix (chapter 8).

Muon (Jordan et al. 2024, "Muon: An optimizer for hidden layers in neural networks",
kellerjordan.github.io/posts/muon/) keeps SGD's Nesterov momentum but replaces each weight
matrix's update by the nearest semi-orthogonal matrix, ``U·Vᵀ`` of its SVD ``U·S·Vᵀ``: every
direction the update moves in moves by the same amount, instead of a few dominant directions
taking all of it. ``U·Vᵀ`` is approximated by five steps of a quintic Newton–Schulz iteration
(:func:`newton_schulz`), which only multiplies matrices. It entered modded-nanogpt's speedrun
in record #3 (31.4 → 24.9 minutes, October 2024).

Muon is for the 2-D weights of the hidden layers; the embeddings, the output head, the norms'
gains and the biases stay with AdamW (:func:`muon_parameter_groups`, :class:`MuonWithAdamW`).
PyTorch's own ``torch.optim.Muon`` iterates in bfloat16, which CPUs without bfloat16 matrix
units (most laptops) compute slowly; this one iterates in float32.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from course_utils.checks import (
    choice,
    instance_of,
    number_at_least,
    number_in_range,
    positive_int,
    positive_number,
)

#: (a, b, c) of the quintic iteration X ← a·X + b·(X·Xᵀ)·X + c·(X·Xᵀ)²·X, from Jordan et al.
#: (2024): chosen to push small singular values up fast, converging to a band around 1
#: (about 0.7 to 1.2) rather than to exactly 1. ``torch.optim.Muon`` uses the same three.
NEWTON_SCHULZ_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
#: How Muon scales each matrix's orthogonalised update (``shape_scaling``): Jordan et al.'s
#: ``max(1, rows/cols)**0.5``, or Moonlight's ``0.2·sqrt(max(rows, cols))`` (Liu et al. 2025,
#: "Muon is Scalable for LLM Training", section 2), which matches AdamW's update RMS.
SHAPE_SCALINGS = ("original", "match_rms_adamw")


def newton_schulz(matrix: torch.Tensor, steps: int = 5, eps: float = 1e-7) -> torch.Tensor:
    """An approximately semi-orthogonal matrix with ``matrix``'s singular vectors (chapter 8).

    In float32: divide by the Frobenius norm (so every singular value is at most 1), transpose a
    tall matrix so that ``X·Xᵀ`` is the smaller Gram matrix, then ``steps`` times
    ``X ← a·X + (b·A + c·A²)·X`` with ``A = X·Xᵀ`` and (a, b, c) =
    :data:`NEWTON_SCHULZ_COEFFICIENTS`. Each step maps every singular value σ to
    ``a·σ + b·σ³ + c·σ⁵`` and leaves the singular vectors alone. Returned in ``matrix``'s dtype.
    """
    instance_of("matrix", matrix, torch.Tensor)
    if matrix.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {tuple(matrix.shape)}")
    steps = positive_int("steps", steps)
    a, b, c = NEWTON_SCHULZ_COEFFICIENTS
    x = matrix.to(torch.float32)
    tall = x.shape[0] > x.shape[1]
    if tall:
        x = x.T
    x = x / x.norm().clamp(min=positive_number("eps", eps))
    for _ in range(steps):
        gram = x @ x.T  # (rows, rows), rows <= cols
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return (x.T if tall else x).to(matrix.dtype)


def shape_scale(shape: torch.Size | tuple[int, int], shape_scaling: str = "original") -> float:
    """The factor Muon multiplies a (rows, cols) matrix's update by (:data:`SHAPE_SCALINGS`)."""
    rows, cols = shape
    if choice("shape_scaling", shape_scaling, SHAPE_SCALINGS) == "original":
        return math.sqrt(max(1.0, rows / cols))
    return 0.2 * math.sqrt(max(rows, cols))


class Muon(torch.optim.Optimizer):
    """Muon for 2-D parameters (Jordan et al. 2024) (chapter 8).

    For each matrix W with gradient G, every step::

        B ← μ·B + G                      (momentum buffer, starts at 0)
        U ← G + μ·B  (Nesterov)  or  B
        W ← W − lr·wd·W                   (decoupled weight decay, off by default)
        W ← W − lr·s·newton_schulz(U)     (s = shape_scale(W.shape))

    the same update as ``torch.optim.Muon`` (which iterates in bfloat16). The default
    ``shape_scaling="original"`` is Jordan et al.'s ``s = max(1, rows/cols)**0.5``: a matrix
    that fans out gets a proportionally larger step, so the update's RMS per output is the same
    for every shape; its learning rate (0.02 in modded-nanogpt) is not AdamW's.
    ``"match_rms_adamw"`` (Moonlight) rescales the update to AdamW's RMS so AdamW's learning
    rate can be reused.
    """

    def __init__(
        self,
        params: Iterable[nn.Parameter] | Iterable[dict[str, Any]],
        lr: float = 0.02,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_steps: int = 5,
        weight_decay: float = 0.0,
        shape_scaling: str = "original",
    ) -> None:
        defaults = {
            "lr": positive_number("lr", lr),
            "momentum": number_in_range("momentum", momentum, 0, 1, include_high=False),
            "nesterov": instance_of("nesterov", nesterov, bool),
            "ns_steps": positive_int("ns_steps", ns_steps),
            "weight_decay": number_at_least("weight_decay", weight_decay, 0),
            "shape_scaling": choice("shape_scaling", shape_scaling, SHAPE_SCALINGS),
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for parameter in group["params"]:
                if parameter.ndim != 2:
                    raise ValueError(
                        "Muon's parameters must be 2-D matrices (give embeddings' and norms' "
                        f"parameters to AdamW), got shape {tuple(parameter.shape)}"
                    )

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            for parameter in group["params"]:
                if parameter.grad is None:
                    continue
                grad = parameter.grad
                state = self.state[parameter]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(parameter)
                buffer = state["momentum_buffer"]
                buffer.mul_(momentum).add_(grad)
                update = grad.add(buffer, alpha=momentum) if group["nesterov"] else buffer
                orthogonal = newton_schulz(update, group["ns_steps"])
                if group["weight_decay"]:
                    parameter.mul_(1 - lr * group["weight_decay"])
                scale = shape_scale(parameter.shape, group["shape_scaling"])
                parameter.add_(orthogonal, alpha=-lr * scale)
        return loss


def muon_parameter_groups(model: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """(Muon's parameters, AdamW's parameters) of a :class:`~course_utils.model.DecoderLM`.

    Muon takes the weight matrices of the linear layers inside the blocks (attention's q, k, v
    and output projections, the MLP's matrices); AdamW the rest: token and position
    embeddings, a separate output head, every norm's gain and bias, the linears' biases and a
    mixture of experts' router (chapter 7). Every trainable parameter is in exactly one list.
    """
    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, nn.Module):
        raise ValueError(f"model must have transformer blocks (a DecoderLM), got {model!r}")
    hidden = {
        id(module.weight)
        for name, module in blocks.named_modules()
        if isinstance(module, nn.Linear) and not name.endswith("router")
    }
    trainable = [p for p in model.parameters() if p.requires_grad]
    return (
        [p for p in trainable if id(p) in hidden],
        [p for p in trainable if id(p) not in hidden],
    )


class MuonWithAdamW:
    """Muon for the hidden matrices and AdamW for the rest, stepped as one optimizer (chapter 8).

    Has what the :class:`~course_utils.training.Trainer` uses of an optimizer:
    ``param_groups`` (Muon's groups, then AdamW's), ``step``, ``zero_grad``, and a
    ``state_dict`` / ``load_state_dict`` pair holding both optimizers' states, so checkpoints
    resume exactly.
    """

    def __init__(self, muon: Muon, adamw: torch.optim.Optimizer) -> None:
        self.muon = instance_of("muon", muon, Muon)
        self.adamw = instance_of("adamw", adamw, torch.optim.Optimizer)

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.muon.param_groups + self.adamw.param_groups

    def step(self) -> None:
        self.muon.step()
        self.adamw.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.muon.zero_grad(set_to_none=set_to_none)
        self.adamw.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return {"muon": self.muon.state_dict(), "adamw": self.adamw.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if set(state) != {"muon", "adamw"}:
            raise ValueError(
                f"state must hold 'muon' and 'adamw' optimizer states, got {sorted(state)}"
            )
        self.muon.load_state_dict(state["muon"])
        self.adamw.load_state_dict(state["adamw"])
