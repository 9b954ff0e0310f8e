"""Parameter counts by formula against PyTorch modules, transformers models and the seed."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings

from course_utils import count_parameters, estimate_parameters
from course_utils.config import ModelConfig
from course_utils.parameters import (
    COMPONENTS,
    ParameterCount,
    parameter_breakdown,
    starter_breakdown,
    starter_estimate,
)
from course_utils.presets import PRESETS
from tests.hf_reference import hf_parameter_count
from tests.strategies import model_configs
from tests.tiny_decoder import TinyDecoder


def test_gpt2_small_by_hand():
    breakdown = parameter_breakdown(PRESETS["gpt2"].config)
    d, layers, vocab = 768, 12, 50_257
    assert breakdown == {
        "token_embeddings": vocab * d,
        "position_embeddings": 1024 * d,
        "attention": layers * (4 * d * d + 4 * d),  # Q, K, V, output weights and biases
        "mlp": layers * (2 * d * 4 * d + 4 * d + d),
        "norms": (2 * layers + 1) * 2 * d,  # LayerNorm: a scale and a shift
        "lm_head": 0,  # tied to the token embeddings
    }
    assert sum(breakdown.values()) == 124_439_808
    assert tuple(breakdown) == COMPONENTS


def test_estimate_is_a_plain_int():
    count = estimate_parameters(PRESETS["llama-2-7b"].config)
    assert type(count) is int
    assert count == 6_738_415_616


@settings(max_examples=40, deadline=None)
@given(model_configs())
def test_estimate_equals_a_pytorch_model_of_the_same_shape(config):
    model = TinyDecoder(config)
    assert count_parameters(model, verbose=False) == estimate_parameters(config)
    breakdown = parameter_breakdown(config)
    assert sum(p.numel() for p in model.tokens.parameters()) == breakdown["token_embeddings"]
    blocks = model.blocks
    assert (
        sum(p.numel() for b in blocks for p in b.attention.parameters()) == (breakdown["attention"])
    )
    assert sum(p.numel() for b in blocks for p in b.mlp.parameters()) == breakdown["mlp"]


@settings(max_examples=15, deadline=None)
@given(model_configs(norms=("rmsnorm",), mlps=("swiglu",), position_embeddings=("rope",)))
def test_estimate_equals_transformers_llama(config):
    assert hf_parameter_count(config) == estimate_parameters(config)


@settings(max_examples=15, deadline=None)
@given(model_configs(norms=("layernorm",), mlps=("gelu",), position_embeddings=("learned",)))
def test_estimate_equals_transformers_gpt2(config):
    config = config.replace(bias=True, n_kv_heads=config.n_heads)  # GPT-2 always has biases
    assert hf_parameter_count(config) == estimate_parameters(config)


def test_grouped_query_attention_shrinks_only_k_and_v():
    mha = PRESETS["llama-2-7b"].config
    gqa = mha.replace(n_kv_heads=8)
    saved = parameter_breakdown(mha)["attention"] - parameter_breakdown(gqa)["attention"]
    assert saved == 32 * 2 * 4096 * (32 - 8) * 128


def test_untying_adds_an_lm_head():
    tied = PRESETS["gpt2"].config
    untied = tied.replace(tie_embeddings=False)
    assert parameter_breakdown(untied)["lm_head"] == 50_257 * 768
    assert estimate_parameters(untied) - estimate_parameters(tied) == 50_257 * 768


def test_breakdown_needs_a_config():
    with pytest.raises(ValueError, match="config must be a ModelConfig"):
        parameter_breakdown({"d_model": 768})


# ---------------------------------------------------------------------------------------
# The seed's formula
# ---------------------------------------------------------------------------------------


def test_the_seeds_call_still_works():
    assert estimate_parameters(n_layers=32, embed_dim=4096) == 6_647_779_328
    assert starter_estimate(32, 4096) == 6_647_779_328
    assert estimate_parameters(n_layers=12, embed_dim=768, vocab_size=50_257) == starter_estimate(
        12, 768, 50_257
    )


def test_starter_breakdown_sums_to_the_seed_formula():
    # The seed: embedding + n_layers·(4d² + 2d·4d + 4d) + d.
    d, layers = 4096, 32
    breakdown = starter_breakdown(layers, d)
    assert tuple(breakdown) == COMPONENTS
    assert sum(breakdown.values()) == 50_000 * d + layers * (4 * d * d + 8 * d * d + 4 * d) + d


def test_seed_is_not_llama_2_7b():
    seed = starter_breakdown(32, 4096)
    llama = parameter_breakdown(PRESETS["llama-2-7b"].config)
    assert seed["attention"] == llama["attention"]  # the one term that agrees
    assert seed["token_embeddings"] - llama["token_embeddings"] == (50_000 - 32_000) * 4096
    assert llama["mlp"] - seed["mlp"] == 32 * (3 * 4096 * 11_008 - 8 * 4096 * 4096)
    assert llama["lm_head"] - seed["lm_head"] == 32_000 * 4096
    difference = sum(llama.values()) - sum(seed.values())
    assert difference == 6_738_415_616 - 6_647_779_328


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "needs a ModelConfig"),
        ({"n_layers": 32}, "needs a ModelConfig"),
        ({"n_layers": 0, "embed_dim": 4096}, "n_layers"),
        ({"n_layers": 32, "embed_dim": 4096.0}, "embed_dim"),
        ({"n_layers": 32, "embed_dim": 4096, "vocab_size": -1}, "vocab_size"),
        ({"n_layers": 32, "embed_dim": 4096, "ff_mult": 0}, "ff_mult"),
    ],
)
def test_seed_arguments_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        estimate_parameters(**kwargs)


def test_config_and_seed_arguments_do_not_mix():
    with pytest.raises(ValueError, match="not both"):
        estimate_parameters(PRESETS["gpt2"].config, n_layers=12, embed_dim=768)


# ---------------------------------------------------------------------------------------
# count_parameters
# ---------------------------------------------------------------------------------------


def test_count_parameters_prints_the_seeds_summary(capsys):
    model = torch.nn.Linear(1000, 1000)  # 1,001,000 parameters
    count = count_parameters(model)
    assert capsys.readouterr().out.splitlines() == [
        "Total parameters: 1,001,000",
        "Trainable parameters: 1,001,000",
        "Model size (FP32): 0.00 GB",
        "Model size (FP16): 0.00 GB",
    ]
    assert count == 1_001_000
    assert isinstance(count, int)


def test_count_parameters_sizes_in_gb(capsys):
    model = torch.nn.Embedding(50_000, 10_000, device="meta")  # 5e8 parameters, no memory
    count_parameters(model)
    out = capsys.readouterr().out
    assert "Model size (FP32): 2.00 GB" in out
    assert "Model size (FP16): 1.00 GB" in out


def test_frozen_parameters_are_not_trainable():
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    model[0].requires_grad_(False)
    count = count_parameters(model, verbose=False)
    assert (count.total, count.trainable) == (15 + 8, 8)
    assert repr(count) == "ParameterCount(total=23, trainable=8)"


def test_tied_weights_count_once():
    config = PRESETS["gpt2"].config.replace(n_layers=1, d_model=64, n_heads=4)
    model = TinyDecoder(config)
    assert model.lm_head.weight is model.tokens.weight
    count = count_parameters(model, verbose=False)
    assert count == estimate_parameters(config)
    assert count == sum(p.numel() for p in model.state_dict().values()) - 50_257 * 64


def test_parameter_count_behaves_like_an_int():
    count = ParameterCount(10, 7)
    assert count + 1 == 11
    assert f"{count:,}" == "10"
    assert count.total == 10


def test_count_parameters_needs_a_module():
    with pytest.raises(ValueError, match="model must be a torch.nn.Module"):
        count_parameters(ModelConfig(vocab_size=10, d_model=8, n_layers=1, n_heads=2))


def test_parameter_shares_sum_to_one():
    from course_utils.parameters import parameter_shares

    shares = parameter_shares(PRESETS["gpt2"].config)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["embeddings"] == pytest.approx((50_257 + 1024) * 768 / 124_439_808)
    # Embeddings dominate small models, MLPs large ones.
    big = parameter_shares(PRESETS["gpt3-175b"].config)
    assert shares["embeddings"] > 0.3 > 0.01 > big["embeddings"]
    assert big["mlp"] == pytest.approx(2 / 3, abs=0.01)


def test_breakdown_table_shows_the_difference():
    from course_utils.parameters import breakdown_table

    table = breakdown_table(
        {
            "seed": starter_breakdown(32, 4096),
            "llama": parameter_breakdown(PRESETS["llama-2-7b"].config),
        }
    )
    assert "6,647,779,328" in table and "6,738,415,616" in table and "+90,636,288" in table
    assert len(table.splitlines()) == 1 + len(COMPONENTS) + 2
    three = breakdown_table({str(i): starter_breakdown(i + 1, 64) for i in range(3)})
    assert "difference" not in three
    with pytest.raises(ValueError, match="columns"):
        breakdown_table({"x": {"attention": 1}})


def test_plot_parameter_shares():
    import matplotlib

    matplotlib.use("Agg")
    from course_utils.parameters import plot_parameter_shares

    ax = plot_parameter_shares({name: PRESETS[name].config for name in ("gpt2", "llama-2-7b")})
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert len(ax.patches) == 2 * 4
    assert [t.get_text() for t in ax.get_legend().get_texts()][0] == "embeddings + LM head"
