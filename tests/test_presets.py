"""Every preset against its published size, and the exact ones against transformers' own models."""

from __future__ import annotations

import math

import pytest

from course_utils.config import ModelConfig, swiglu_hidden_dim
from course_utils.parameters import estimate_parameters
from course_utils.presets import PRESETS, Preset, parse_count, relative_position_parameters
from tests.hf_reference import hf_parameter_count, mistral_config

REQUIRED = (
    "gpt2",
    "gpt2-medium",
    "gpt2-large",
    "gpt2-xl",
    "gpt3-175b",
    "gopher-280b",
    "chinchilla-70b",
    "llama-2-7b",
    "llama-3-8b",
    "mistral-7b",
)


def test_the_required_models_are_there():
    assert set(REQUIRED) <= set(PRESETS)
    for name, preset in PRESETS.items():
        assert preset.name == name
        assert isinstance(preset.config, ModelConfig)
        assert len(preset.source) > 40, f"{name} needs a real citation"


def test_presets_cannot_be_changed_by_accident():
    with pytest.raises(TypeError):
        PRESETS["gpt2"] = PRESETS["gpt2-xl"]


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_matches_its_published_size(name):
    preset = PRESETS[name]
    assert abs(preset.gap) <= preset.allowed_gap, (
        f"{name}: computed {preset.estimated_params:,}, published {preset.published_as}"
    )


@pytest.mark.parametrize(
    ("name", "exact"),
    [
        ("gpt2", 124_439_808),
        ("gpt2-medium", 354_823_168),
        ("gpt2-large", 774_030_080),
        ("gpt2-xl", 1_557_611_200),
        ("llama-2-7b", 6_738_415_616),
        ("llama-3-8b", 8_030_261_248),
        ("mistral-7b", 7_241_732_096),
    ],
)
def test_exact_counts(name, exact):
    assert PRESETS[name].estimated_params == exact
    assert isinstance(PRESETS[name].estimated_params, int)


def test_only_the_approximated_models_have_a_wider_tolerance_and_say_why():
    for preset in PRESETS.values():
        if preset.max_gap is not None:
            assert preset.name in {"gpt3-175b", "gopher-280b", "chinchilla-70b"}
            assert len(preset.note) > 80, f"{preset.name} must explain its gap"
            # A tolerance that is far too loose would hide a regression.
            assert abs(preset.gap) > preset.max_gap / 2


# ---------------------------------------------------------------------------------------
# An independent count: transformers' implementations of the same architectures, built on
# PyTorch's meta device (shapes only, no memory), so even GPT-3 175B costs nothing.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl", "gpt3-175b", "llama-2-7b", "llama-3-8b"],
)
def test_presets_agree_with_transformers(name):
    assert hf_parameter_count(PRESETS[name].config) == PRESETS[name].estimated_params


def test_mistral_agrees_with_transformers_mistral():
    config = PRESETS["mistral-7b"].config
    hf_config = mistral_config(config, sliding_window=4096)
    assert hf_parameter_count(config, hf_config) == 7_241_732_096


def test_llama_mlp_widths_follow_llamas_rounding_rule():
    # Meta's params.json: Llama 2 7B multiple_of=256; Llama 3 8B multiple_of=1024 and
    # ffn_dim_multiplier=1.3.
    assert PRESETS["llama-2-7b"].config.d_ff == swiglu_hidden_dim(4096) == 11_008
    assert PRESETS["llama-3-8b"].config.d_ff == swiglu_hidden_dim(4096, 1024, 1.3) == 14_336


# ---------------------------------------------------------------------------------------
# Gopher and Chinchilla: the gap to the published size is the relative position encoding.
# ---------------------------------------------------------------------------------------

# Rae et al. 2021, Table 1: published size, layers, heads, key/value size, d_model.
GOPHER_TABLE_1 = [
    ("44M", 8, 16, 32, 512),
    ("117M", 12, 12, 64, 768),
    ("417M", 12, 12, 128, 1536),
    ("1.4B", 24, 16, 128, 2048),
    ("7.1B", 32, 32, 128, 4096),
    ("280B", 80, 128, 128, 16_384),
]


def gopher_family(n_layers, n_heads, head_dim, d_model):
    return PRESETS["gopher-280b"].config.replace(
        n_layers=n_layers, n_heads=n_heads, head_dim=head_dim, d_model=d_model, d_ff=4 * d_model
    )


@pytest.mark.parametrize(("size", "n_layers", "n_heads", "head_dim", "d_model"), GOPHER_TABLE_1)
def test_relative_positions_explain_every_gopher_size(size, n_layers, n_heads, head_dim, d_model):
    config = gopher_family(n_layers, n_heads, head_dim, d_model)
    published, unit = parse_count(size)
    with_relative = estimate_parameters(config) + relative_position_parameters(config)
    assert abs(with_relative - published) <= unit / 2, f"{with_relative:,} vs {size}"
    # Without them, the count misses the printed size by far more than its rounding.
    assert published - estimate_parameters(config) > unit


def test_relative_positions_explain_chinchilla():
    preset = PRESETS["chinchilla-70b"]
    with_relative = preset.estimated_params + relative_position_parameters(preset.config)
    assert abs(with_relative - preset.published_params) <= preset.rounding_unit / 2


def test_the_gopher_preset_is_table_1s_largest_row():
    assert PRESETS["gopher-280b"].config == gopher_family(80, 128, 128, 16_384)


def test_relative_position_parameters_by_hand():
    config = ModelConfig(vocab_size=10, d_model=8, n_layers=3, n_heads=2)
    assert relative_position_parameters(config) == 3 * (8 * 8 + 2 * 8)
    with pytest.raises(ValueError, match="config"):
        relative_position_parameters("gopher")


# ---------------------------------------------------------------------------------------
# Training tokens (chapter 2 places these models on the compute-optimal frontier)
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "tokens"),
    [
        ("gpt3-175b", 300e9),
        ("gopher-280b", 300e9),
        ("chinchilla-70b", 1.4e12),
        ("llama-2-7b", 2.0e12),
        ("llama-3-8b", 15e12),
    ],
)
def test_training_tokens_where_the_papers_state_them(name, tokens):
    preset = PRESETS[name]
    assert preset.training_tokens == tokens
    assert preset.tokens_source


def test_chinchilla_trained_on_about_20_tokens_per_parameter():
    preset = PRESETS["chinchilla-70b"]
    assert 19 <= preset.training_tokens / preset.published_params <= 21


# ---------------------------------------------------------------------------------------
# Printed counts and validation
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("124M", 124_000_000, 1_000_000),
        ("1558M", 1_558_000_000, 1_000_000),
        ("175.0B", 175_000_000_000, 100_000_000),
        ("1.4B", 1_400_000_000, 100_000_000),
        ("6.74B", 6_740_000_000, 10_000_000),
        ("280B", 280_000_000_000, 1_000_000_000),
        ("1.4T", 1_400_000_000_000, 100_000_000_000),
        ("6,738,415,616", 6_738_415_616, 1),
        ("12345", 12_345, 1),
    ],
)
def test_parse_count(text, value, unit):
    assert parse_count(text) == (value, unit)


@pytest.mark.parametrize("text", ["", "7 billion", "1.2345K", "B", "-5M", 124, "1.5.0B"])
def test_parse_count_rejects_what_it_cannot_read(text):
    with pytest.raises(ValueError, match="text"):
        parse_count(text)


def test_preset_validation():
    config = PRESETS["gpt2"].config
    with pytest.raises(ValueError, match="text"):
        Preset("x", config, "lots", "a source")
    with pytest.raises(ValueError, match="max_gap"):
        Preset("x", config, "124M", "a source", max_gap=1.5)
    with pytest.raises(ValueError, match="training_tokens"):
        Preset("x", config, "124M", "a source", training_tokens=-1.0, tokens_source="paper")
    with pytest.raises(ValueError, match="tokens_source"):
        Preset("x", config, "124M", "a source", training_tokens=1e9)


def test_gap_and_allowed_gap():
    preset = PRESETS["gpt2"]
    assert math.isclose(preset.gap, (124_439_808 - 124_000_000) / 124_000_000)
    assert math.isclose(preset.allowed_gap, 500_000 / 124_000_000)


def test_preset_table_lists_every_preset_with_its_gap():
    from course_utils.presets import preset_table

    lines = preset_table().splitlines()
    assert len(lines) == 2 + len(PRESETS)
    gpt2 = next(line for line in lines if line.startswith("gpt2 "))
    assert "124,439,808" in gpt2 and "124M" in gpt2 and "+0.35%" in gpt2
    gopher = next(line for line in lines if line.startswith("gopher-280b*"))
    assert "-7.77%" in gopher and "300B" in gopher
    assert "1.4T" in next(line for line in lines if line.startswith("chinchilla"))
    assert len(preset_table(["gpt2"]).splitlines()) == 3
    with pytest.raises(ValueError, match="unknown"):
        preset_table(["gpt-5"])
