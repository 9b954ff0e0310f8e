"""Chapter 7's mixture of experts against transformers' Mixtral, Qwen3-MoE and OLMoE."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import transformers
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import count_parameters, estimate_parameters, parameter_breakdown
from course_utils.compute import forward_flops_breakdown
from course_utils.config import ModelConfig
from course_utils.hf_mixtral import load_hf_mixtral_state_dict, to_hf_mixtral_config
from course_utils.layers import SwiGLU
from course_utils.memory import (
    activation_bytes_per_layer,
    kv_cache_bytes,
    serving_memory,
    weight_bytes,
)
from course_utils.model import DecoderLM
from course_utils.moe import (
    MoEFeedForward,
    auxiliary_losses,
    dispatch_loop,
    dispatch_sorted,
    expert_load,
    load_balancing_loss,
    moe_layers,
    route,
    router_z_loss,
)
from course_utils.parameters import moe_layer_parameters
from course_utils.presets import MOE_PRESETS, moe_preset_table, qk_norm_parameters
from course_utils.training import Trainer, TrainingConfig
from tests.hf_reference import hf_moe_model
from tests.test_model import randomise

MOE = dict(vocab_size=97, d_model=48, n_layers=2, n_heads=4, d_ff=40, max_seq_len=64)


def moe_config(**changes) -> ModelConfig:
    values = {**MOE, "n_kv_heads": 2, "n_experts": 4, "experts_per_token": 2, **changes}
    return ModelConfig(**values)


# --- Configuration ----------------------------------------------------------------------


def test_dense_stays_the_default():
    config = ModelConfig(**MOE)
    assert not config.is_moe
    assert (config.n_experts, config.experts_per_token, config.d_expert) == (None, None, None)
    assert estimate_parameters(config, active=True) == estimate_parameters(config)


def test_expert_width_defaults_to_d_ff_and_is_derived_again():
    config = moe_config()
    assert config.d_expert == 40
    assert config.replace(d_ff=64).d_expert == 64
    assert config.replace(d_expert=8).replace(d_ff=64).d_expert == 8
    assert ModelConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_experts": 0}, "n_experts must be a positive integer"),
        ({"experts_per_token": 5}, "experts_per_token must be at most n_experts=4"),
        ({"experts_per_token": 0}, "experts_per_token must be a positive integer"),
        ({"experts_per_token": None}, "experts_per_token .top-k. must be given"),
        ({"n_experts": None}, "experts_per_token needs n_experts"),
        ({"n_experts": None, "experts_per_token": None, "n_shared_experts": 1}, "needs n_experts"),
        ({"n_shared_experts": -1}, "n_shared_experts must be an integer >= 0"),
        ({"d_expert": 0}, "d_expert must be a positive integer"),
        ({"mlp": "gelu"}, "mlp must be one of 'swiglu'"),
        ({"normalize_top_k": 1}, "normalize_top_k must be True or False"),
    ],
)
def test_bad_expert_configs_are_clear_errors(changes, message):
    with pytest.raises(ValueError, match=message):
        moe_config(**changes)


# --- Counting: total and active, exact against transformers ----------------------------

FAMILIES = {"mixtral": 0, "qwen3_moe": 1, "olmoe": 2}


def hf_count(config: ModelConfig, family: str) -> int:
    return sum(p.numel() for p in hf_moe_model(config, family).parameters())


def extra(config: ModelConfig, family: str) -> int:
    """QK-norm weights that Qwen3-MoE and OLMoE have and ModelConfig does not model."""
    return 0 if family == "mixtral" else qk_norm_parameters(config, family == "qwen3_moe")


@st.composite
def moe_configs(draw, normalize=None):
    n_heads = draw(st.sampled_from([2, 4]))
    n_experts = draw(st.integers(1, 9))
    return ModelConfig(
        vocab_size=draw(st.integers(2, 300)),
        d_model=n_heads * draw(st.sampled_from([4, 8])),
        n_layers=draw(st.integers(1, 3)),
        n_heads=n_heads,
        n_kv_heads=draw(st.sampled_from([1, n_heads])),
        d_ff=draw(st.integers(1, 64)),
        max_seq_len=16,
        tie_embeddings=draw(st.booleans()),
        n_experts=n_experts,
        experts_per_token=draw(st.integers(1, n_experts)),
        normalize_top_k=draw(st.booleans()) if normalize is None else normalize,
    )


@settings(max_examples=20, deadline=None)
@given(moe_configs(normalize=True), st.sampled_from(list(FAMILIES)))
def test_total_equals_transformers_moe_models(config, family):
    assert hf_count(config, family) == estimate_parameters(config) + extra(config, family)


def hf_active_count(model, config: ModelConfig) -> int:
    """The reference's parameters minus the n_experts - k experts one token does not use."""
    experts = sum(p.numel() for n, p in model.named_parameters() if ".experts." in n)
    unused = experts // config.n_experts * (config.n_experts - config.experts_per_token)
    return sum(p.numel() for p in model.parameters()) - unused


@pytest.mark.parametrize(
    ("name", "family", "total", "active"),
    [
        ("mixtral-8x7b", "mixtral", 46_702_792_704, 12_879_925_248),
        ("mixtral-8x22b", "mixtral", 140_620_634_112, 39_152_031_744),
        ("qwen3-30b-a3b", "qwen3_moe", 30_532_110_336, 3_353_020_416),
        ("olmoe-1b-7b", "olmoe", 6_919_096_320, 1_281_951_744),
    ],
)
def test_moe_presets_are_exact_against_transformers(name, family, total, active):
    preset = MOE_PRESETS[name]
    config = preset.config
    model = hf_moe_model(config, family)
    assert sum(p.numel() for p in model.parameters()) == total + extra(config, family)
    assert hf_active_count(model, config) == active + extra(config, family)
    assert (preset.estimated_params, preset.estimated_active_params) == (total, active)
    assert abs(preset.gap) <= preset.allowed_gap
    assert abs(preset.active_gap) <= preset.allowed_active_gap
    assert "et al." in preset.source or "config.json" in preset.source


def test_mixtral_8x7b_by_hand():
    d, layers, width = 4096, 32, 14_336
    attention = 2 * d * d + 2 * d * 1024
    expert = 3 * d * width
    embeddings = 2 * 32_000 * d
    norms = (2 * layers + 1) * d
    config = MOE_PRESETS["mixtral-8x7b"].config
    assert moe_layer_parameters(config) == 8 * d + 8 * expert
    assert estimate_parameters(config) == layers * (attention + 8 * d + 8 * expert) + (
        embeddings + norms
    )
    assert estimate_parameters(config, active=True) == layers * (attention + 8 * d + 2 * expert) + (
        embeddings + norms
    )


def test_shared_experts_count_in_total_and_active():
    config = moe_config(n_shared_experts=2, d_expert=12, bias=True)
    model = DecoderLM(config)
    assert count_parameters(model, verbose=False) == estimate_parameters(config)
    mlp = sum(p.numel() for b in model.blocks for p in b.mlp.parameters())
    assert mlp == parameter_breakdown(config)["mlp"]
    expert = sum(p.numel() for p in model.blocks[0].mlp.experts[0].parameters())
    shared = sum(p.numel() for p in model.blocks[0].mlp.shared.parameters())
    assert shared == 2 * expert - 48  # one SwiGLU of twice the width: one down bias, not two
    active = parameter_breakdown(config, active=True)["mlp"]
    assert active == 2 * (4 * 48 + 2 * expert + shared)


def test_bad_active_arguments():
    with pytest.raises(ValueError, match="active=True needs a ModelConfig"):
        estimate_parameters(n_layers=2, embed_dim=8, active=True)
    with pytest.raises(ValueError, match="mixture of experts"):
        moe_layer_parameters(ModelConfig(**MOE))


def test_flops_count_only_the_active_experts():
    config = MOE_PRESETS["mixtral-8x7b"].config
    flops = forward_flops_breakdown(config, 128)
    active = parameter_breakdown(config, active=True)
    assert flops["mlp"] == 2 * active["mlp"]
    dense = config.replace(n_experts=None, experts_per_token=None)
    assert forward_flops_breakdown(dense, 128)["mlp"] == pytest.approx(
        flops["mlp"] / 2, rel=1e-3
    )  # two experts of Mistral's width: twice the dense MLP, plus a tiny router


def test_memory_holds_every_expert_and_the_same_kv_cache():
    config = MOE_PRESETS["mixtral-8x7b"].config
    dense = config.replace(n_experts=None, experts_per_token=None)
    assert weight_bytes(config) == 2 * estimate_parameters(config)
    assert kv_cache_bytes(config, context_len=4096) == kv_cache_bytes(dense, context_len=4096)
    assert serving_memory(config).weights == weight_bytes(config)
    moe_mlp = activation_bytes_per_layer(config, 1, 128) - activation_bytes_per_layer(dense, 1, 128)
    assert moe_mlp == 4 * 2 * 128 * 14_336 + 4 * 128 * 8  # the second expert, router logits


# --- The layer ---------------------------------------------------------------------------


def hf_router(config: ModelConfig, family: str, weight: torch.Tensor):
    model_config = hf_moe_model(config, family).config
    module = {
        "mixtral": transformers.models.mixtral.modeling_mixtral.MixtralTopKRouter,
        "qwen3_moe": transformers.models.qwen3_moe.modeling_qwen3_moe.Qwen3MoeTopKRouter,
        "olmoe": transformers.models.olmoe.modeling_olmoe.OlmoeTopKRouter,
    }[family](model_config)
    module.weight = torch.nn.Parameter(weight)
    return module


@pytest.mark.parametrize(
    ("family", "normalize"), [("mixtral", True), ("qwen3_moe", True), ("olmoe", False)]
)
def test_route_equals_each_reference_router(family, normalize):
    config = moe_config(n_experts=6, experts_per_token=3, normalize_top_k=normalize)
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(6, 48, generator=generator)
    x = torch.randn(30, 48, generator=generator)
    logits, scores, indices = hf_router(config, family, weight)(x)
    ours_weights, ours_indices = route(x @ weight.T, 3, normalize)
    assert torch.equal(ours_indices, indices)
    torch.testing.assert_close(ours_weights, scores.float())
    sums = ours_weights.sum(-1)
    assert torch.allclose(sums, torch.ones(30)) == normalize  # OLMoE's weights sum below 1


def test_route_refuses_more_choices_than_experts():
    with pytest.raises(ValueError, match="k=5"):
        route(torch.zeros(3, 4), 5)


@pytest.mark.parametrize("shared", [0, 1])
def test_sorted_dispatch_equals_the_token_loop(shared):
    torch.manual_seed(0)
    layer = MoEFeedForward(moe_config(n_experts=5, experts_per_token=2, n_shared_experts=shared))
    x = torch.randn(2, 9, 48)
    sorted_out = layer(x)
    layer.dispatch = "loop"
    loop_out = layer(x)
    torch.testing.assert_close(sorted_out, loop_out, rtol=1e-5, atol=1e-6)
    assert sorted_out.abs().max() > 1e-3
    weights, indices = route(layer.router(x.flatten(0, 1)), 2)
    direct = dispatch_sorted(x.flatten(0, 1), weights, indices, layer.experts)
    by_loop = dispatch_loop(x.flatten(0, 1), weights, indices, layer.experts)
    torch.testing.assert_close(direct, by_loop, rtol=1e-5, atol=1e-6)
    # The check can fail: sending the tokens to other experts changes the output.
    assert not torch.allclose(
        direct, dispatch_sorted(x.flatten(0, 1), weights, (indices + 1) % 5, layer.experts)
    )


def test_one_expert_with_top_1_is_a_swiglu():
    torch.manual_seed(0)
    layer = MoEFeedForward(moe_config(n_experts=1, experts_per_token=1))
    x = torch.randn(4, 48)
    expert: SwiGLU = layer.experts[0]
    torch.testing.assert_close(layer(x), expert(x))


def test_layer_needs_an_moe_config():
    with pytest.raises(ValueError, match="mixture of experts"):
        MoEFeedForward(ModelConfig(**MOE))
    with pytest.raises(ValueError, match="dispatch must be one of"):
        MoEFeedForward(moe_config(), dispatch="dense")
    with pytest.raises(ValueError, match="no forward pass"):
        MoEFeedForward(moe_config()).expert_counts()


@pytest.mark.parametrize("k", [1, 2])
def test_load_balancing_loss_equals_transformers(k):
    from transformers.models.mixtral.modeling_mixtral import load_balancing_loss_func

    logits = torch.randn(50, 6, generator=torch.Generator().manual_seed(k))
    expected = load_balancing_loss_func((logits,), num_experts=6, top_k=k)
    torch.testing.assert_close(load_balancing_loss(logits, k), expected)


def test_load_balancing_loss_is_k_when_balanced_and_more_when_not():
    balanced = torch.eye(4).repeat(5, 1) * 3  # every expert first for a quarter of the tokens
    assert load_balancing_loss(balanced, 1).item() == pytest.approx(
        4 * sum(0.25 * p for p in torch.softmax(balanced, -1).mean(0).tolist())
    )
    uniform = torch.zeros(8, 4)
    assert load_balancing_loss(uniform, 2).item() == pytest.approx(2.0)
    collapsed = torch.tensor([[5.0, 0, 0, 0]]).repeat(8, 1)
    assert load_balancing_loss(collapsed, 1).item() > 3.5  # all tokens on one expert: ~4


def test_router_z_loss_by_hand():
    logits = torch.tensor([[0.0, 0.0], [1.0, 2.0]])
    expected = (torch.log(torch.tensor(2.0)) ** 2 + torch.logsumexp(logits[1], 0) ** 2) / 2
    torch.testing.assert_close(router_z_loss(logits), expected)


# --- The model against MixtralForCausalLM ------------------------------------------------


def mixtral_pair(config: ModelConfig):
    torch.manual_seed(0)
    reference = transformers.MixtralForCausalLM(
        transformers.MixtralConfig(**to_hf_mixtral_config(config))
    ).eval()
    randomise(reference)
    model = DecoderLM(config).eval()
    load_hf_mixtral_state_dict(model, reference.state_dict())
    return model, reference


MIXTRAL_CASES = {
    "grouped-query, top-2 of 4": {},
    "multi-query, top-1 of 3, tied": dict(n_kv_heads=1, n_experts=3, experts_per_token=1,
                                          tie_embeddings=True),
    "top-3 of 8, narrow experts": dict(n_experts=8, experts_per_token=3, d_expert=16),
}  # fmt: skip


@pytest.mark.parametrize("case", MIXTRAL_CASES)
def test_logits_and_routing_equal_transformers_mixtral(case):
    config = moe_config(**MIXTRAL_CASES[case])
    model, reference = mixtral_pair(config)
    assert count_parameters(model, verbose=False) == reference.num_parameters()
    idx = torch.randint(0, 97, (3, 40), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours = model(idx)
        out = reference(idx, output_router_logits=True)
    assert out.logits.abs().max() > 1.0
    assert (ours - out.logits).abs().max().item() <= 1e-5
    k = config.experts_per_token
    for layer, theirs in zip(moe_layers(model), out.router_logits, strict=True):
        assert torch.equal(layer.expert_indices, torch.topk(theirs, k, dim=-1).indices)
    # The routing is not trivial: every layer uses more than one expert.
    assert all(int((c > 0).sum()) > 1 for c in expert_load(model))


def test_mixtral_loading_refuses_what_does_not_fit():
    config = moe_config()
    model, reference = mixtral_pair(config)
    state = reference.state_dict()
    with pytest.raises(ValueError, match="unexpected key"):
        load_hf_mixtral_state_dict(model, {**state, "model.layers.0.extra.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="missing"):
        load_hf_mixtral_state_dict(model, {k: v for k, v in state.items() if "gate." not in k})
    with pytest.raises(ValueError, match="shape"):
        load_hf_mixtral_state_dict(DecoderLM(config.replace(d_expert=8)), state)
    for bad in (ModelConfig(**MOE), moe_config(n_shared_experts=1), moe_config(bias=True),
                moe_config(normalize_top_k=False)):  # fmt: skip
        with pytest.raises(ValueError, match="a Mixtral config"):
            to_hf_mixtral_config(bad)


# --- Training ---------------------------------------------------------------------------


def tiny_run(config: ModelConfig, **training) -> Trainer:
    tokens = torch.randint(0, config.vocab_size, (600,), generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    settings_ = dict(steps=4, batch_size=2, context_len=8, eval_every=2, eval_windows=3)
    trainer = Trainer(
        DecoderLM(config),
        tokens[:500],
        tokens[500:],
        TrainingConfig(**{**settings_, **training}),
        device="cpu",
    )
    trainer.train(progress=False)
    return trainer


def test_trainer_adds_the_balancing_loss_and_records_expert_load():
    config = moe_config(max_seq_len=16)
    history = tiny_run(config).history
    assert len(history.aux_loss) == 4 and all(a >= 1.0 for a in history.aux_loss)
    assert len(history.expert_load) == len(history.eval_steps) == 3
    for load in history.expert_load:
        assert len(load) == 2 and all(len(row) == 4 for row in load)
        assert all(sum(row) == 3 * 8 * 2 for row in load)  # 3 windows × 8 tokens × top-2
    # The weight matters: without the balancing loss the same run takes other steps.
    unweighted = tiny_run(config, aux_loss_weight=0.0).history
    assert unweighted.train_loss[0] == history.train_loss[0]
    assert unweighted.train_loss[1:] != history.train_loss[1:]


def test_z_loss_is_added_when_weighted():
    config = moe_config(max_seq_len=16)
    plain = tiny_run(config).history.train_loss
    assert tiny_run(config, z_loss_weight=0.1).history.train_loss[1:] != plain[1:]


def test_dense_training_records_no_expert_load():
    history = tiny_run(ModelConfig(**{**MOE, "max_seq_len": 16})).history
    assert history.expert_load == [] and history.aux_loss == []
    balance, z = auxiliary_losses(DecoderLM(ModelConfig(**MOE)))
    assert balance.item() == z.item() == 0.0


def test_training_config_checks_the_loss_weights():
    with pytest.raises(ValueError, match="aux_loss_weight"):
        TrainingConfig(aux_loss_weight=-1.0)
    assert {"aux_loss_weight", "z_loss_weight"} <= {
        f.name for f in dataclasses.fields(TrainingConfig)
    }


def test_moe_preset_table_and_published_counts():
    table = moe_preset_table()
    assert "46,702,792,704" in table and "12,879,925,248" in table
    assert len(table.splitlines()) == 2 + len(MOE_PRESETS)
    assert MOE_PRESETS["olmoe-1b-7b"].published_active_params == 1_300_000_000
    assert not MOE_PRESETS["olmoe-1b-7b"].config.normalize_top_k
    dense = MOE_PRESETS["mixtral-8x7b"]
    with pytest.raises(ValueError, match="mixture-of-experts presets only"):
        dataclasses.replace(dense, config=dense.config.replace(n_experts=None,
                            experts_per_token=None))  # fmt: skip


def test_all_to_all_bytes_per_token():
    from course_utils.moe import all_to_all_bytes_per_token

    config = MOE_PRESETS["mixtral-8x7b"].config
    assert all_to_all_bytes_per_token(config) == 32 * 2 * 2 * 4096 * 2  # 1 MiB per token
    with pytest.raises(ValueError, match="mixture of experts"):
        all_to_all_bytes_per_token(ModelConfig(**MOE))


def test_an_moe_run_resumes_exactly_from_a_checkpoint(tmp_path):
    from course_utils.checkpoints import load_checkpoint, resume_trainer, save_checkpoint

    config = moe_config(max_seq_len=16)
    tokens = torch.randint(0, 97, (600,), generator=torch.Generator().manual_seed(0))
    settings_ = TrainingConfig(steps=4, batch_size=2, context_len=8, eval_every=2, eval_windows=3)
    torch.manual_seed(0)
    whole = Trainer(DecoderLM(config), tokens[:500], tokens[500:], settings_, device="cpu")
    whole.train(progress=False)
    torch.manual_seed(0)
    first = Trainer(DecoderLM(config), tokens[:500], tokens[500:], settings_, device="cpu")
    first.train(steps=2, progress=False)
    checkpoint = load_checkpoint(save_checkpoint(tmp_path / "moe.pt", first.model, trainer=first))
    assert checkpoint.config == config
    resumed = resume_trainer(checkpoint, tokens[:500], tokens[500:], device="cpu")
    history = resumed.train(progress=False)
    assert history.train_loss == whole.history.train_loss
    assert history.expert_load == whole.history.expert_load
    assert history.aux_loss == whole.history.aux_loss


def test_generation_with_the_cache_equals_without_for_an_moe():
    from course_utils.generation import generate

    torch.manual_seed(0)
    model = DecoderLM(moe_config()).eval()
    prompt = torch.randint(0, 97, (2, 5), generator=torch.Generator().manual_seed(3))
    cached = generate(model, prompt, 10, top_k=1, use_cache=True)
    uncached = generate(model, prompt, 10, top_k=1, use_cache=False)
    assert torch.equal(cached, uncached)
