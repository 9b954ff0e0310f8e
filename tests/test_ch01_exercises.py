"""Chapter 1's checks point at the typical slip without giving the answer away."""

from __future__ import annotations

import pytest

from course_utils import check
from course_utils.compute import training_flops
from course_utils.parameters import parameter_breakdown
from course_utils.presets import PRESETS

GPT2 = parameter_breakdown(PRESETS["gpt2"].config)
TOTAL = sum(GPT2.values())


@pytest.mark.parametrize(
    ("answer", "pointer"),
    [
        (TOTAL + GPT2["token_embeddings"], "ties"),
        (TOTAL - GPT2["position_embeddings"], "positions"),
        (TOTAL - 12 * (4 * 768 + 3072 + 768), "biases"),
        (TOTAL - GPT2["norms"] // 2, "shift"),
        (TOTAL - GPT2["norms"], "LayerNorms"),
        (float(TOTAL - GPT2["position_embeddings"]), "positions"),
    ],
)
def test_gpt2_slips_are_named(answer, pointer):
    feedback = check("1.1", answer)
    assert not feedback.correct
    assert pointer in feedback.message
    assert "124,439,808" not in feedback.message


def test_gpt2_count_must_be_exact():
    assert check("1.1", 124_439_808).correct
    assert check("1.1", 124_439_808.0).correct
    assert not check("1.1", 124_439_809).correct
    assert not check("1.1", 124e6).correct


def test_fine_tuning_memory_accepts_rounding_not_7e9():
    assert check("1.2", 107.8).correct
    assert check("1.2", 108).correct
    assert not check("1.2", 16 * 7e9 / 1e9).correct  # "7B" is 6.74B


def test_kv_cache_in_gb():
    assert check("1.3", 4.295).correct
    assert "4x too large" in check("1.3", 17.18).message  # all 32 heads cached


def test_mfu_wants_a_fraction():
    assert check("1.4", 0.39).correct
    assert "fraction" in check("1.4", 39).message
    assert not check("1.4", 6 * 7e9 * 2e12 / (184_320 * 3600 * 312e12)).correct


def test_mfu_matches_the_papers_figures():
    preset = PRESETS["llama-2-7b"]
    mfu = training_flops(preset.published_params, 2.0e12) / (184_320 * 3600 * 312e12)
    assert check("1.4", mfu).correct
    assert mfu == pytest.approx(0.3906, abs=1e-4)
