"""Muon against its formula written out in float64, and against torch.optim.Muon."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils.config import ModelConfig
from course_utils.model import DecoderLM
from course_utils.muon import (
    NEWTON_SCHULZ_COEFFICIENTS,
    Muon,
    MuonWithAdamW,
    muon_parameter_groups,
    newton_schulz,
    shape_scale,
)

SHAPES = [(32, 128), (128, 32), (100, 37), (48, 48)]


def reference_newton_schulz(matrix: torch.Tensor, steps: int = 5) -> torch.Tensor:
    """The iteration through the SVD in float64: each step maps σ to a·σ + b·σ³ + c·σ⁵.

    X = U·S·Vᵀ gives X·Xᵀ·X = U·S³·Vᵀ, so the polynomial acts on the singular values alone;
    this computes it that way, independently of the matrix products the package uses.
    """
    a, b, c = NEWTON_SCHULZ_COEFFICIENTS
    x = matrix.double()
    u, s, vh = torch.linalg.svd(x / x.norm(), full_matrices=False)
    for _ in range(steps):
        s = a * s + b * s**3 + c * s**5
    return u @ torch.diag(s) @ vh


@pytest.mark.parametrize("shape", SHAPES)
def test_newton_schulz_equals_the_polynomial_on_singular_values(shape):
    matrix = torch.randn(*shape, generator=torch.Generator().manual_seed(sum(shape)))
    ours = newton_schulz(matrix)
    assert ours.dtype == torch.float32 and ours.shape == matrix.shape
    torch.testing.assert_close(ours.double(), reference_newton_schulz(matrix), rtol=0, atol=2e-5)


@pytest.mark.parametrize("shape", [(32, 128), (128, 32), (100, 37), (512, 128)])
def test_newton_schulz_singular_values_lie_in_the_band(shape):
    # Jordan et al. (2024): the quintic converges to a band around 1, not to 1 itself.
    matrix = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    singular = torch.linalg.svdvals(newton_schulz(matrix))
    assert singular.min() > 0.65 and singular.max() < 1.2
    original = torch.linalg.svdvals(matrix)
    assert original.max() / original.min() > 2  # the input was far from orthogonal


def test_newton_schulz_keeps_dtype_and_refuses_bad_input():
    matrix = torch.randn(8, 16, dtype=torch.float64)
    assert newton_schulz(matrix).dtype == torch.float64
    with pytest.raises(ValueError, match="matrix must be 2-D"):
        newton_schulz(torch.ones(2, 3, 4))
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        newton_schulz(matrix, steps=0)


def reference_muon_steps(weight, grads, lr, momentum, weight_decay=0.0, nesterov=True):
    """Muon's update written out in float64, step by step."""
    weight, buffer = weight.double().clone(), torch.zeros_like(weight, dtype=torch.float64)
    rows, cols = weight.shape
    scale = max(1.0, rows / cols) ** 0.5  # Jordan et al.'s shape scaling
    for grad in grads:
        grad = grad.double()
        buffer = momentum * buffer + grad
        update = grad + momentum * buffer if nesterov else buffer
        weight = weight * (1 - lr * weight_decay)
        weight = weight - lr * scale * reference_newton_schulz(update)
    return weight


@pytest.mark.parametrize(
    ("shape", "nesterov", "weight_decay"),
    [((24, 40), True, 0.0), ((40, 24), True, 0.1), ((24, 40), False, 0.0)],
)
def test_muon_steps_equal_the_reference_formula(shape, nesterov, weight_decay):
    generator = torch.Generator().manual_seed(3)
    weight = torch.nn.Parameter(torch.randn(*shape, generator=generator))
    start = weight.detach().clone()
    grads = [torch.randn(*shape, generator=generator) for _ in range(3)]
    optimizer = Muon([weight], lr=0.05, momentum=0.9, nesterov=nesterov, weight_decay=weight_decay)
    for grad in grads:
        weight.grad = grad.clone()
        optimizer.step()
    expected = reference_muon_steps(start, grads, 0.05, 0.9, weight_decay, nesterov)
    assert (expected - start.double()).abs().max() > 0.05  # the steps moved the weights
    torch.testing.assert_close(weight.detach().double(), expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("adjust", ["original", "match_rms_adamw"])
def test_muon_matches_torch_muon_up_to_its_bfloat16(adjust):
    # torch.optim.Muon runs Newton–Schulz in bfloat16 (8 bits of mantissa), so the two agree
    # to about 1% of the update, not to float32 precision.
    generator = torch.Generator().manual_seed(4)
    start = torch.randn(64, 32, generator=generator)
    grads = [torch.randn(64, 32, generator=generator) for _ in range(2)]
    ours, theirs = torch.nn.Parameter(start.clone()), torch.nn.Parameter(start.clone())
    mine = Muon([ours], lr=0.02, momentum=0.95, shape_scaling=adjust)
    reference = torch.optim.Muon(
        [theirs], lr=0.02, momentum=0.95, weight_decay=0.0, adjust_lr_fn=adjust
    )
    for grad in grads:
        ours.grad, theirs.grad = grad.clone(), grad.clone()
        mine.step()
        reference.step()
    our_update, their_update = ours.detach() - start, theirs.detach() - start
    relative = (our_update - their_update).norm() / their_update.norm()
    assert relative < 0.03
    # The two steps' orthogonalised updates: singular values in the band, times lr·scale each.
    singular = torch.linalg.svdvals(our_update / (0.02 * shape_scale((64, 32), adjust)))
    assert singular.max() < 2 * 1.2 and singular.max() > 1.0


def test_shape_scale_conventions():
    assert shape_scale((128, 32)) == 2.0  # max(1, rows/cols)**0.5
    assert shape_scale((32, 128)) == 1.0
    assert math.isclose(shape_scale((32, 128), "match_rms_adamw"), 0.2 * math.sqrt(128))
    with pytest.raises(ValueError, match="shape_scaling must be one of"):
        shape_scale((3, 3), "adamw")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": 0.0}, "lr must be a positive"),
        ({"lr": -1e-3}, "lr must be a positive"),
        ({"momentum": 1.0}, "momentum must be in"),
        ({"ns_steps": 0}, "ns_steps must be a positive integer"),
        ({"weight_decay": -0.1}, "weight_decay must be"),
        ({"shape_scaling": "moonlight"}, "shape_scaling must be one of"),
    ],
)
def test_muon_refuses_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Muon([torch.nn.Parameter(torch.ones(2, 2))], **kwargs)


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)])
def test_muon_refuses_parameters_that_are_not_matrices(shape):
    with pytest.raises(ValueError, match="must be 2-D matrices"):
        Muon([torch.nn.Parameter(torch.ones(*shape))])


@pytest.mark.parametrize("tie_embeddings", [True, False])
def test_muon_takes_the_hidden_matrices_and_adamw_the_rest(tie_embeddings):
    config = ModelConfig(
        vocab_size=30, d_model=16, n_layers=2, n_heads=2, max_seq_len=8, norm="layernorm",
        mlp="gelu", pos_embedding="learned", bias=True, qk_norm=True,
        tie_embeddings=tie_embeddings,
    )  # fmt: skip
    model = DecoderLM(config)
    names = {id(p): name for name, p in model.named_parameters()}
    matrices, others = muon_parameter_groups(model)
    hidden = {
        f"blocks.{i}.{part}.weight"
        for i in range(2)
        for part in ("attention.q_proj", "attention.k_proj", "attention.v_proj",
                     "attention.o_proj", "mlp.up_proj", "mlp.down_proj")
    }  # fmt: skip
    assert {names[id(p)] for p in matrices} == hidden
    assert {names[id(p)] for p in others} == set(dict(model.named_parameters())) - hidden
    assert "token_embeddings.weight" in {names[id(p)] for p in others}
    assert ("lm_head.weight" in {names[id(p)] for p in others}) is not tie_embeddings
    Muon(matrices)  # every one of them is a matrix


def test_the_router_of_a_mixture_of_experts_stays_with_adamw():
    config = ModelConfig(
        vocab_size=30, d_model=16, n_layers=1, n_heads=2, max_seq_len=8, n_experts=4,
        experts_per_token=2,
    )  # fmt: skip
    model = DecoderLM(config)
    matrices, others = muon_parameter_groups(model)
    router = model.blocks[0].mlp.router.weight
    assert any(p is router for p in others) and not any(p is router for p in matrices)
    assert all(p.ndim == 2 for p in matrices)


def test_muon_parameter_groups_needs_a_decoder():
    with pytest.raises(ValueError, match="transformer blocks"):
        muon_parameter_groups(torch.nn.Linear(2, 2))


def test_muon_with_adamw_steps_both_and_round_trips_its_state():
    matrix, vector = torch.nn.Parameter(torch.randn(6, 4)), torch.nn.Parameter(torch.randn(4))

    def build() -> MuonWithAdamW:
        return MuonWithAdamW(Muon([matrix]), torch.optim.AdamW([vector], lr=0.1))

    optimizer = build()
    assert len(optimizer.param_groups) == 2
    before = matrix.detach().clone(), vector.detach().clone()
    matrix.grad, vector.grad = torch.ones(6, 4), torch.ones(4)
    optimizer.step()
    assert not torch.equal(matrix, before[0]) and not torch.equal(vector, before[1])
    state = optimizer.state_dict()
    restored = build()
    restored.load_state_dict(state)
    torch.testing.assert_close(
        restored.muon.state[matrix]["momentum_buffer"], torch.ones(6, 4), rtol=0, atol=0
    )
    assert restored.adamw.state_dict()["state"][0]["step"] == 1
    optimizer.zero_grad()
    assert matrix.grad is None and vector.grad is None
    with pytest.raises(ValueError, match="'muon' and 'adamw'"):
        restored.load_state_dict({"muon": state["muon"]})
