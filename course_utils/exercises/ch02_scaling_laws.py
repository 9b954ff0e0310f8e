"""Chapter 2's exercises: predicting loss, splitting a compute budget, and over-training."""

from __future__ import annotations

import math
from typing import Any

from course_utils.compute import training_flops
from course_utils.exercises.framework import Exercise, choice_exercise, close_to, register
from course_utils.presets import PRESETS
from course_utils.scaling import CHINCHILLA, EPOCH_2024

# --- 2.1: why Chinchilla beat Gopher --------------------------------------------------------

_GOPHER = PRESETS["gopher-280b"]
_CHINCHILLA = PRESETS["chinchilla-70b"]
_GOPHER_LOSS = CHINCHILLA.predict_loss(_GOPHER.published_params, _GOPHER.training_tokens)
_CHINCHILLA_LOSS = CHINCHILLA.predict_loss(
    _CHINCHILLA.published_params, _CHINCHILLA.training_tokens
)
_LOSS_GAP = _GOPHER_LOSS - _CHINCHILLA_LOSS
_close_to_gap = close_to(_LOSS_GAP, rel_tol=0.01, unit="nats")


def _judge_gap(answer: Any) -> str | None:
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        if math.isclose(answer, -_LOSS_GAP, rel_tol=0.01):
            return "the sign is the wrong way round: subtract Chinchilla's loss from Gopher's."
        if math.isclose(answer, _GOPHER_LOSS, rel_tol=0.01) or math.isclose(
            answer, _CHINCHILLA_LOSS, rel_tol=0.01
        ):
            return "that is one model's loss; the question asks for the difference."
    return _close_to_gap(answer)


register(
    Exercise(
        id="2.1",
        prompt="With the CHINCHILLA law, how much lower (in nats per token) is the predicted "
        "loss of Chinchilla (70B parameters, 1.4T tokens) than that of Gopher (280B, 300B "
        "tokens)? Answer Gopher's loss minus Chinchilla's.",
        hint="CHINCHILLA.predict_loss(N, D) for each model; PRESETS gives published_params "
        "and training_tokens.",
        judge=_judge_gap,
        example_solution=lambda: (
            CHINCHILLA.predict_loss(280e9, 300e9) - CHINCHILLA.predict_loss(70e9, 1.4e12)
        ),
        example_mistake=lambda: CHINCHILLA.predict_loss(70e9, 1.4e12),
        explanation=f"about {_LOSS_GAP:.3f} nats: Gopher's data term B/D^beta is far larger "
        "than what its extra parameters save, for similar training compute.",
    )
)

# --- 2.2: the exact compute-optimal allocation ---------------------------------------------------

_BUDGETS = (1e19, 1e22, 1e25)


def _judge_allocation(answer: Any) -> str | None:
    if not callable(answer):
        return "expected a function compute_optimal(C, law) returning (N, D)."
    for law, name in ((CHINCHILLA, "CHINCHILLA"), (EPOCH_2024, "EPOCH_2024")):
        for budget in _BUDGETS:
            result = answer(budget, law)
            if not isinstance(result, tuple) or len(result) != 2:
                return "compute_optimal should return a pair (N, D)."
            expected_n, expected_d = law.exact_optimal_allocation(budget)
            for label, value, expected in (
                ("N", result[0], expected_n),
                ("D", result[1], expected_d),
            ):
                problem = close_to(expected, rel_tol=1e-6)(value)
                if problem is not None:
                    return f"with {name} at C = {budget:.0e} FLOPs, your {label}: {problem}"
    return None


register(
    Exercise(
        id="2.2",
        prompt="Write compute_optimal(C, law) returning the law's own compute-optimal (N, D) "
        "at C = 6·N·D FLOPs, from the closed form (not the 20x rule).",
        hint="N_opt = G·(C/6)**(beta/(alpha+beta)) with G = (alpha·A/(beta·B))**(1/(alpha+beta)), "
        "and D_opt = (C/6)/N_opt.",
        judge=_judge_allocation,
        example_solution=lambda: (
            lambda C, law: (
                (law.alpha * law.A / (law.beta * law.B)) ** (1 / (law.alpha + law.beta))
                * (C / 6) ** (law.beta / (law.alpha + law.beta)),
                (C / 6)
                / (
                    (law.alpha * law.A / (law.beta * law.B)) ** (1 / (law.alpha + law.beta))
                    * (C / 6) ** (law.beta / (law.alpha + law.beta))
                ),
            )
        ),
        example_mistake=lambda: lambda C, law: (math.sqrt(C / 120), 20 * math.sqrt(C / 120)),
        explanation="the 20x rule matches EPOCH_2024 to within 10% but not the rounded "
        "CHINCHILLA constants, whose own optimum is 50-120 tokens per parameter.",
    )
)

# --- 2.3: the model Gopher's budget should have bought ---------------------------------------

_GOPHER_FLOPS = training_flops(_GOPHER.published_params, _GOPHER.training_tokens)
_GOPHER_OPTIMAL_N = EPOCH_2024.exact_optimal_allocation(_GOPHER_FLOPS)[0]
_close_to_optimal_n = close_to(_GOPHER_OPTIMAL_N, rel_tol=0.01, unit="parameters")


def _judge_gopher_size(answer: Any) -> str | None:
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        if math.isclose(answer, _GOPHER.published_params, rel_tol=0.01):
            return "that is the size Gopher was given, not the compute-optimal one."
        if math.isclose(answer, math.sqrt(_GOPHER_FLOPS / 120), rel_tol=0.01):
            return "that is the 20x rule; use EPOCH_2024's own optimum."
    return _close_to_optimal_n(answer)


register(
    Exercise(
        id="2.3",
        prompt="Gopher (280B parameters) was trained on 300B tokens. How many parameters "
        "should a model trained with the same compute have had, according to EPOCH_2024?",
        hint="first the compute, training_flops(N, D); then EPOCH_2024.exact_optimal_allocation.",
        judge=_judge_gopher_size,
        example_solution=lambda: EPOCH_2024.exact_optimal_allocation(6 * 280e9 * 300e9)[0],
        example_mistake=lambda: 280e9,
        explanation=f"about {_GOPHER_OPTIMAL_N / 1e9:.0f}B parameters on "
        f"{_GOPHER_FLOPS / 6 / _GOPHER_OPTIMAL_N / 1e12:.2f}T tokens: close to Chinchilla's 70B "
        "on 1.4T, at a quarter of Gopher's size.",
    )
)

# --- 2.4: why over-train a small model ------------------------------------------------------------

choice_exercise(
    id="2.4",
    question="Llama-3-8B saw about 1,900 tokens per parameter, some 100 times the "
    "compute-optimal ratio. Why is that a sound decision?",
    options={
        "a": "the scaling law does not apply to Llama-style models, so the optimum is unknown;",
        "b": "data is free: only the parameters cost training compute;",
        "c": "past about 20 tokens per parameter the loss stops improving, so more data is "
        "harmless;",
        "d": "a smaller model costs less per served token, so the extra training pays for itself.",
    },
    right="d",
    why_not={
        "a": "the law fits Llama-style models too; it just answers a different question "
        "(training compute only).",
        "b": "every training token costs 6·N FLOPs; data is not free.",
        "c": "the loss keeps falling with D (B/D^beta), only more slowly.",
    },
    hint="count the FLOPs of serving too: about 2·N per token generated.",
    explanation="compute-optimal minimises training FLOPs only; 2·N FLOPs per served "
    "token favour a smaller model trained for longer.",
)
