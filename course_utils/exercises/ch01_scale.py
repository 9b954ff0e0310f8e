"""Chapter 1's exercises: parameters, memory and compute of real models."""

from __future__ import annotations

import math
from typing import Any

from course_utils.compute import ACCELERATORS, training_flops
from course_utils.exercises.framework import Exercise, close_to, exact_count, register
from course_utils.memory import kv_cache_bytes, training_memory
from course_utils.parameters import parameter_breakdown
from course_utils.presets import PRESETS

GB = 1e9

# --- 1.1: GPT-2 small by hand ----------------------------------------------------------

_GPT2 = PRESETS["gpt2"].config
_GPT2_PARTS = parameter_breakdown(_GPT2)
_GPT2_TOTAL = sum(_GPT2_PARTS.values())
_LINEAR_BIASES = _GPT2.n_layers * (4 * _GPT2.d_model + _GPT2.d_ff + _GPT2.d_model)
_NORM_SHIFTS = _GPT2_PARTS["norms"] // 2
# Typical slips, each with the sentence that points at it without giving the total away.
_GPT2_SLIPS = {
    _GPT2_TOTAL + _GPT2_PARTS["token_embeddings"]: "you counted an output layer of its own: "
    "GPT-2 reuses (ties) the token embedding matrix as its LM head.",
    _GPT2_TOTAL - _GPT2_PARTS["position_embeddings"]: "GPT-2 also learns an embedding for "
    "each of its 1024 positions.",
    _GPT2_TOTAL - _LINEAR_BIASES: "GPT-2's linear layers have biases.",
    _GPT2_TOTAL - _NORM_SHIFTS: "a LayerNorm has a shift (bias) as well as a scale.",
    _GPT2_TOTAL - _GPT2_PARTS["norms"]: "don't forget the LayerNorms: two per block and a "
    "final one.",
}
_exact_gpt2 = exact_count(_GPT2_TOTAL)


def _judge_gpt2(answer: Any) -> str | None:
    if isinstance(answer, (int, float)) and not isinstance(answer, bool) and answer in _GPT2_SLIPS:
        return f"{answer:,.0f} is close, but {_GPT2_SLIPS[answer]}"
    return _exact_gpt2(answer)


register(
    Exercise(
        id="1.1",
        prompt="Count GPT-2 small's parameters by hand: vocabulary 50,257, 1024 positions, "
        "d_model 768, 12 layers, MLP width 3072, biases everywhere, LayerNorm, tied LM head.",
        hint="add token and position embeddings, then per layer the attention (Q, K, V and "
        "output: weights and biases), the MLP (two linear layers with biases) and two "
        "LayerNorms (scale and shift), then the final LayerNorm.",
        judge=_judge_gpt2,
        example_solution=lambda: (
            50_257 * 768
            + 1024 * 768
            + 12 * ((4 * 768 * 768 + 4 * 768) + (2 * 768 * 3072 + 3072 + 768) + 2 * 2 * 768)
            + 2 * 768
        ),
        example_mistake=lambda: _GPT2_TOTAL + _GPT2_PARTS["token_embeddings"],
        explanation="124,439,808: a third of GPT-2 small is its embedding matrix.",
    )
)

# --- 1.2: memory to fine-tune a 7B model -----------------------------------------------

_LLAMA_2_7B = PRESETS["llama-2-7b"].config
_FINE_TUNE_GB = training_memory(_LLAMA_2_7B).model_states / GB

register(
    Exercise(
        id="1.2",
        prompt="How many GB do Llama-2-7B's weights, gradients and Adam states take when it is "
        "fine-tuned in mixed precision (activations aside)?",
        hint="ZeRO's accounting: 2 bytes for the 16-bit weights, 2 for the gradients, and 12 "
        "for the fp32 master weights, momentum and variance, per parameter. Use the exact "
        "parameter count, and 1 GB = 1e9 bytes.",
        judge=close_to(_FINE_TUNE_GB, rel_tol=0.01, unit="GB"),
        example_solution=lambda: 16 * PRESETS["llama-2-7b"].estimated_params / 1e9,
        example_mistake=lambda: 2 * PRESETS["llama-2-7b"].estimated_params / 1e9,
        explanation="about 108 GB: more than one 80 GB accelerator holds, for a model whose "
        "weights take 13.5 GB.",
    )
)

# --- 1.3: the KV cache of a 32k-token context ------------------------------------------

_LLAMA_3_8B = PRESETS["llama-3-8b"].config
_KV_GB = kv_cache_bytes(_LLAMA_3_8B, batch_size=1, context_len=32_768) / GB

register(
    Exercise(
        id="1.3",
        prompt="How many GB does the bf16 KV cache of one 32,768-token context take in a model "
        "shaped like Llama-3-8B (32 layers, 32 query heads, 8 key/value heads of 128 dims)?",
        hint="per token and layer the cache holds a key and a value for every key/value head "
        "(not every query head), 2 bytes per number.",
        judge=close_to(_KV_GB, rel_tol=0.01, unit="GB"),
        example_solution=lambda: 2 * 32 * 8 * 128 * 2 * 32_768 / 1e9,
        example_mistake=lambda: 2 * 32 * 32 * 128 * 2 * 32_768 / 1e9,
        explanation="4.29 GB (exactly 4 GiB), a quarter of what 32 full key/value heads would "
        "need: grouped-query attention at work.",
    )
)

# --- 1.4: the utilisation implied by a reported training run ---------------------------

_A100 = ACCELERATORS["A100-80GB"]
_LLAMA_2_HOURS = 184_320  # Touvron et al. 2023 (Llama 2), Table 2: A100-80GB GPU-hours, 7B
_LLAMA_2_FLOPS = training_flops(
    PRESETS["llama-2-7b"].published_params, PRESETS["llama-2-7b"].training_tokens
)
_IMPLIED_MFU = _LLAMA_2_FLOPS / (_LLAMA_2_HOURS * 3600 * _A100.peak_bf16_flops_per_second)
_close_to_mfu = close_to(_IMPLIED_MFU, rel_tol=0.02)


def _judge_mfu(answer: Any) -> str | None:
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return _close_to_mfu(answer)
    if math.isfinite(value) and 1 < value <= 100:
        return "give MFU as a fraction between 0 and 1 (0.25 for 25%)."
    return _close_to_mfu(answer)


register(
    Exercise(
        id="1.4",
        prompt="Llama 2's paper reports 184,320 A100-80GB GPU-hours to train the 7B model on "
        "2.0T tokens. At 312 TFLOP/s peak (dense BF16), what model FLOPs utilisation does that "
        "imply?",
        hint="MFU = useful FLOPs / (GPU-seconds × peak FLOP/s), with useful FLOPs = 6·N·D for "
        "the exact N (6,738,415,616, not 7e9).",
        judge=_judge_mfu,
        example_solution=lambda: 6 * 6_738_415_616 * 2.0e12 / (184_320 * 3600 * 312e12),
        example_mistake=lambda: 2 * 6_738_415_616 * 2.0e12 / (184_320 * 3600 * 312e12),
        explanation="about 0.39: 39% of the peak went into the model's own arithmetic, in the "
        "range large runs report.",
    )
)
