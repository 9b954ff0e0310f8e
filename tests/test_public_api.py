"""The names the issues promise, importable from the top of the package with their signatures.

Tests outside this repository use these names; renaming one is a breaking change.
"""

from __future__ import annotations

import dataclasses
import inspect

import pytest

import course_utils

SEED_NAMES = [
    "count_parameters",
    "estimate_parameters",
    "ScalingLaws",
    "RMSNorm",
    "LLMBlock",
    "TRAINING_DATA_MIX",
    "calculate_tokens_needed",
]
ISSUE_NAMES = [
    "ModelConfig",
    "PRESETS",
    "CHINCHILLA",
    "EPOCH_2024",
    "fit_scaling_law",
    "DecoderLM",
    "generate",
    "quality_filter",
    "exact_duplicates",
    "find_near_duplicates",
    "BPETokenizer",
]


@pytest.mark.parametrize("name", SEED_NAMES + ISSUE_NAMES)
def test_name_is_exported(name):
    assert hasattr(course_utils, name)
    assert name in course_utils.__all__


def test_everything_in_all_exists():
    for name in course_utils.__all__:
        assert hasattr(course_utils, name), name


def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_model_config_fields():
    fields = {f.name for f in dataclasses.fields(course_utils.ModelConfig) if f.init}
    assert {
        "vocab_size",
        "d_model",
        "n_layers",
        "n_heads",
        "n_kv_heads",
        "d_ff",
        "max_seq_len",
        "norm",
        "mlp",
        "pos_embedding",
        "tie_embeddings",
        "bias",
        "norm_eps",
        "rope_theta",
    } <= fields


def test_seed_signatures():
    assert parameters(course_utils.count_parameters)[0] == "model"
    assert parameters(course_utils.estimate_parameters)[0] == "config"
    assert parameters(course_utils.ScalingLaws)[:5] == ["E", "A", "B", "alpha", "beta"]
    assert parameters(course_utils.RMSNorm)[:2] == ["dim", "eps"]
    assert parameters(course_utils.LLMBlock)[:3] == ["embed_dim", "num_heads", "ff_mult"]
    assert parameters(course_utils.calculate_tokens_needed)[:2] == [
        "params_billions",
        "chinchilla_ratio",
    ]
    assert parameters(course_utils.fit_scaling_law)[:3] == ["N", "D", "loss"]
    assert parameters(course_utils.generate)[:6] == [
        "model",
        "idx",
        "max_new_tokens",
        "temperature",
        "top_k",
        "use_cache",
    ]
    assert parameters(course_utils.find_near_duplicates)[:2] == ["docs", "threshold"]
    assert inspect.signature(course_utils.find_near_duplicates).parameters[
        "threshold"
    ].default == pytest.approx(0.8)


def test_methods_promised_by_the_issues():
    for method in ("predict_loss", "optimal_tokens", "compute_optimal_allocation"):
        assert callable(getattr(course_utils.ScalingLaws, method))
    assert callable(course_utils.ScalingLaws.exact_optimal_allocation)
    assert callable(course_utils.DecoderLM.load_hf_llama_state_dict)
    for method in ("train", "encode", "decode"):
        assert callable(getattr(course_utils.BPETokenizer, method))
    preset = course_utils.PRESETS["llama-2-7b"]
    assert isinstance(preset.config, course_utils.ModelConfig)
    assert preset.published_params == 6_738_415_616
    assert preset.source
