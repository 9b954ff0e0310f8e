"""ModelConfig: defaults, validation with clear errors, copies and round trips."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_utils.config import MLPS, NORMS, POSITION_EMBEDDINGS, ModelConfig, swiglu_hidden_dim
from tests.strategies import model_configs

BASE = {"vocab_size": 100, "d_model": 64, "n_layers": 2, "n_heads": 4}


def test_chapter_8_options_are_off_by_default_and_relu2_is_4d_wide():
    config = ModelConfig(**BASE)
    assert config.gelu_approximation == "tanh" and config.norm_bias
    assert not config.qk_norm and not config.zero_init_projections
    assert config.logit_softcap is None
    assert ModelConfig(**BASE, mlp="relu2").d_ff == 256
    assert ModelConfig(**BASE, mlp="relu2").replace(d_model=32, n_heads=2).d_ff == 128
    assert ModelConfig(**BASE, logit_softcap=15).logit_softcap == 15


def test_defaults_are_derived_from_the_shape():
    config = ModelConfig(**BASE)
    assert config.n_kv_heads == 4
    assert config.head_dim == 16
    assert config.d_ff == swiglu_hidden_dim(64)  # SwiGLU is the default MLP
    assert ModelConfig(**BASE, mlp="gelu").d_ff == 256
    assert config.n_query_groups == 1
    assert ModelConfig(**BASE, n_kv_heads=1).n_query_groups == 4


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"vocab_size": 0}, "vocab_size"),
        ({"d_model": -64}, "d_model"),
        ({"n_layers": 0}, "n_layers"),
        ({"n_heads": 0}, "n_heads"),
        ({"max_seq_len": 0}, "max_seq_len"),
        ({"n_kv_heads": 0}, "n_kv_heads"),
        ({"n_kv_heads": 3}, "n_kv_heads"),
        ({"d_model": 65}, "d_model"),
        ({"d_ff": 0}, "d_ff"),
        ({"head_dim": -2}, "head_dim"),
        ({"norm": "batchnorm"}, "norm"),
        ({"mlp": "relu"}, "mlp"),
        ({"pos_embedding": "alibi"}, "pos_embedding"),
        ({"tie_embeddings": 1}, "tie_embeddings"),
        ({"bias": "yes"}, "bias"),
        ({"norm_eps": 0.0}, "norm_eps"),
        ({"rope_theta": -1.0}, "rope_theta"),
        ({"norm_eps": True}, "norm_eps"),
        ({"vocab_size": 100.0}, "vocab_size"),
        ({"n_layers": True}, "n_layers"),
        ({"head_dim": 15, "d_model": 60}, "head_dim"),  # rotary embeddings need an even width
        ({"gelu_approximation": "sigmoid"}, "gelu_approximation"),
        ({"norm_bias": "no"}, "norm_bias"),
        ({"norm_bias": False}, "norm_bias=False needs norm='layernorm'"),
        ({"qk_norm": 1}, "qk_norm"),
        ({"logit_softcap": 0.0}, "logit_softcap"),
        ({"logit_softcap": -30.0}, "logit_softcap"),
        ({"logit_softcap": float("inf")}, "logit_softcap"),
        ({"zero_init_projections": "yes"}, "zero_init_projections"),
    ],
)
def test_invalid_values_name_the_field(changes, field):
    with pytest.raises(ValueError, match=field):
        ModelConfig(**{**BASE, **changes})


@pytest.mark.parametrize(
    ("field", "choices"), [("norm", NORMS), ("mlp", MLPS), ("pos_embedding", POSITION_EMBEDDINGS)]
)
def test_unknown_names_list_the_allowed_ones(field, choices):
    with pytest.raises(ValueError) as error:
        ModelConfig(**BASE, **{field: "something-else"})
    for choice in choices:
        assert repr(choice) in str(error.value)


def test_an_explicit_head_dim_need_not_divide_d_model():
    # GPT-3 13B: d_model 5140 with 40 heads of 128 (Brown et al. 2020, Table 2.1).
    config = ModelConfig(vocab_size=50257, d_model=5140, n_layers=40, n_heads=40, head_dim=128)
    assert config.head_dim * config.n_heads == 5120


def test_odd_head_dim_is_fine_without_rotary_embeddings():
    config = ModelConfig(**{**BASE, "d_model": 60, "head_dim": 15}, pos_embedding="learned")
    assert config.head_dim == 15


def test_configs_are_immutable():
    config = ModelConfig(**BASE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.d_model = 128


def test_replace_derives_widths_again():
    config = ModelConfig(**BASE, mlp="gelu")
    wider = config.replace(d_model=128)
    assert (wider.d_ff, wider.head_dim, wider.n_kv_heads) == (512, 32, 4)
    assert config.replace(n_heads=8).n_kv_heads == 8


def test_replace_keeps_what_was_given():
    config = ModelConfig(**BASE, d_ff=100, n_kv_heads=2, head_dim=32)
    wider = config.replace(d_model=128)
    assert (wider.d_ff, wider.n_kv_heads, wider.head_dim) == (100, 2, 32)
    assert config.replace(d_ff=None).d_ff == swiglu_hidden_dim(64)


def test_only_the_method_derives_widths_again_as_the_docstring_warns():
    config = ModelConfig(**BASE)  # head_dim 64 // 4 = 16
    assert config.replace(d_model=128).head_dim == 32
    assert dataclasses.replace(config, d_model=128).head_dim == 16
    assert "dataclasses.replace" in ModelConfig.__doc__


def test_replace_validates():
    with pytest.raises(ValueError, match="n_heads"):
        ModelConfig(**BASE).replace(n_heads=5)


def test_equality_ignores_how_a_width_was_set():
    assert ModelConfig(**BASE, mlp="gelu") == ModelConfig(**BASE, mlp="gelu", d_ff=256)


@given(model_configs())
def test_dict_round_trip_through_json(config):
    values = json.loads(json.dumps(config.to_dict()))
    assert ModelConfig.from_dict(values) == config
    assert "_derived" not in values


def test_from_dict_rejects_unknown_fields():
    with pytest.raises(ValueError, match="unknown ModelConfig fields"):
        ModelConfig.from_dict({**BASE, "n_routed_experts": 8})


@pytest.mark.parametrize(
    ("d_model", "multiple_of", "multiplier", "expected"),
    [
        # Hugging Face config.json intermediate_size of each model; Meta's params.json for
        # multiple_of and ffn_dim_multiplier.
        (4096, 256, None, 11_008),  # Llama 2 7B
        (5120, 256, None, 13_824),  # Llama 2 13B
        (8192, 4096, 1.3, 28_672),  # Llama 2 70B
        (4096, 1024, 1.3, 14_336),  # Llama 3 8B
    ],
)
def test_swiglu_hidden_dim_reproduces_llama(d_model, multiple_of, multiplier, expected):
    assert swiglu_hidden_dim(d_model, multiple_of, multiplier) == expected


@given(d_model=st.integers(1, 20_000), multiple_of=st.integers(1, 512))
def test_swiglu_hidden_dim_rounds_up_two_thirds_of_4d(d_model, multiple_of):
    hidden = swiglu_hidden_dim(d_model, multiple_of)
    assert hidden % multiple_of == 0
    assert int(8 * d_model / 3) <= hidden < int(8 * d_model / 3) + multiple_of


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"d_model": 0}, "d_model"),
        ({"d_model": 64, "multiple_of": 0}, "multiple_of"),
        ({"d_model": 64, "ffn_dim_multiplier": 0}, "ffn_dim_multiplier"),
    ],
)
def test_swiglu_hidden_dim_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        swiglu_hidden_dim(**kwargs)
