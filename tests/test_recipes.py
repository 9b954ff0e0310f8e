"""The nanoGPT baseline, each recipe option (changes what it claims, nothing else), the preset."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from course_utils.layers import ReLUSquaredMLP, RMSNorm, RotaryEmbedding, SwiGLU
from course_utils.muon import MuonWithAdamW
from course_utils.recipes import (
    BEST_RECIPE_OPTIONS,
    HIGHER_LEARNING_RATE,
    LOGIT_SOFTCAP,
    RECIPE_OPTIONS,
    RECIPES,
    Recipe,
    best_recipe,
    nanogpt_baseline,
    recipe_trainer,
    with_options,
)
from course_utils.training import learning_rate_at

VOCAB = 65  # tiny Shakespeare's characters
GENERATOR = torch.Generator().manual_seed(0)
TRAIN = torch.randint(0, VOCAB, (4000,), generator=GENERATOR)
VAL = torch.randint(0, VOCAB, (1000,), generator=GENERATOR)

#: What each option must change in the baseline, written out here (not read from the module):
#: (ModelConfig fields, TrainingConfig fields).
EXPECTED_CHANGES = {
    "llama_block": (
        {
            "norm": "rmsnorm",
            "norm_bias": True,
            "mlp": "swiglu",
            "d_ff": 352,
            "pos_embedding": "rope",
        },
        {},
    ),  # fmt: skip
    "higher_lr": (
        {},
        {"learning_rate": 4e-3, "min_learning_rate": 4e-4},
    ),
    "wsd_schedule": ({}, {"schedule": "wsd"}),
    "zero_init_projections": ({"zero_init_projections": True}, {}),
    "qk_norm": ({"qk_norm": True}, {}),
    "relu2_mlp": ({"mlp": "relu2"}, {}),  # the width stays GPT-2's 4·d = 512
    "untied_head": ({"tie_embeddings": False}, {}),
    "logit_softcap": ({"logit_softcap": LOGIT_SOFTCAP}, {}),
    "muon": ({}, {"optimizer": "muon"}),
}


def changes(before, after) -> dict:
    """The fields whose values differ, with their new values."""
    return {
        f.name: getattr(after, f.name)
        for f in dataclasses.fields(before)
        if f.init and getattr(before, f.name) != getattr(after, f.name)
    }


def model_of(recipe: Recipe, seed: int = 0):
    return recipe_trainer(recipe, TRAIN, VAL, seed=seed).model


# --- the baseline --------------------------------------------------------------------


def test_baseline_is_nanogpts_cpu_run():
    # nanoGPT README ("I only have a macbook") + config/train_shakespeare_char.py + train.py.
    recipe = nanogpt_baseline(VOCAB)
    model, training = recipe.model, recipe.training
    assert (model.n_layers, model.n_heads, model.d_model, model.max_seq_len) == (4, 4, 128, 64)
    assert (model.norm, model.mlp, model.pos_embedding) == ("layernorm", "gelu", "learned")
    assert model.gelu_approximation == "none"  # nn.GELU()
    assert model.tie_embeddings and not model.bias and not model.norm_bias  # bias=False
    assert model.d_ff == 4 * 128 and model.vocab_size == VOCAB
    assert (training.steps, training.batch_size, training.context_len) == (2000, 12, 64)
    assert training.tokens_per_step == 768
    assert (training.learning_rate, training.min_learning_rate) == (1e-3, 1e-4)
    assert (training.warmup_steps, training.beta1, training.beta2) == (100, 0.9, 0.99)
    assert (training.weight_decay, training.grad_clip) == (0.1, 1.0)
    assert (training.schedule, training.optimizer) == ("cosine", "adamw")
    assert training.eval_windows >= 200
    assert recipe.options == ()
    assert nanogpt_baseline(VOCAB, steps=300).training.steps == 300


def test_baseline_schedule_matches_nanogpt_at_its_landmarks():
    training = nanogpt_baseline(VOCAB).training
    assert learning_rate_at(99, training) == pytest.approx(1e-3)  # end of the warm-up
    assert learning_rate_at(1999, training) == pytest.approx(1e-4)  # lr_decay_iters
    middle = 100 + (1999 - 100) / 2  # half-way through the cosine: the mean of the two
    assert learning_rate_at(int(middle), training) == pytest.approx(5.5e-4, rel=1e-3)


def test_baseline_model_has_no_biases_and_roughly_nanogpts_size():
    model = model_of(nanogpt_baseline(VOCAB))
    assert not [name for name, _ in model.named_parameters() if name.endswith("bias")]
    # nanoGPT reports 0.80M parameters for this run, counting without position embeddings
    non_position = sum(p.numel() for p in model.parameters()) - 64 * 128
    assert round(non_position / 1e6, 2) == 0.80


# --- every option changes what it claims and nothing else ---------------------------


def test_the_options_are_the_issues_nine():
    assert set(RECIPE_OPTIONS) == set(EXPECTED_CHANGES)
    for name, option in RECIPE_OPTIONS.items():
        assert option.name == name
        assert option.description and option.source


@pytest.mark.parametrize("name", list(EXPECTED_CHANGES))
def test_each_option_changes_exactly_its_fields_on_the_baseline(name):
    baseline = nanogpt_baseline(VOCAB)
    changed = with_options(baseline, name)
    model_changes, training_changes = EXPECTED_CHANGES[name]
    assert changes(baseline.model, changed.model) == model_changes
    assert changes(baseline.training, changed.training) == training_changes
    assert set(model_changes) | set(training_changes) <= set(RECIPE_OPTIONS[name].fields)
    assert changed.options == (name,) and changed.name == baseline.name


@pytest.mark.parametrize("name", list(EXPECTED_CHANGES))
def test_each_option_changes_only_its_fields_on_top_of_all_the_others(name):
    others = [other for other in RECIPE_OPTIONS if other != name]
    before = with_options(nanogpt_baseline(VOCAB), *others)
    after = with_options(before, name)
    declared = set(RECIPE_OPTIONS[name].fields)
    assert (
        set(changes(before.model, after.model)) | set(changes(before.training, after.training))
        <= declared
    )


def test_relu2_after_the_llama_block_restores_the_4d_width():
    llama = with_options(nanogpt_baseline(VOCAB), "llama_block")
    both = with_options(llama, "relu2_mlp")
    assert changes(llama.model, both.model) == {"mlp": "relu2", "d_ff": 512}


def test_llama_block_builds_chapter_3s_block():
    model = model_of(with_options(nanogpt_baseline(VOCAB), "llama_block"))
    block = model.blocks[0]
    assert isinstance(block.norm1, RMSNorm) and isinstance(block.mlp, SwiGLU)
    assert isinstance(block.attention.rotary, RotaryEmbedding)
    assert model.position_embeddings is None
    baseline = model_of(nanogpt_baseline(VOCAB))
    mlp = sum(p.numel() for p in block.mlp.parameters())
    assert mlp == pytest.approx(sum(p.numel() for p in baseline.blocks[0].mlp.parameters()), 0.04)


def test_higher_lr_raises_the_peak():
    training = with_options(nanogpt_baseline(VOCAB), "higher_lr").training
    assert learning_rate_at(training.warmup_steps, training) == pytest.approx(HIGHER_LEARNING_RATE)
    assert HIGHER_LEARNING_RATE > 1e-3


def test_wsd_schedule_holds_the_peak_then_decays_linearly():
    training = with_options(nanogpt_baseline(VOCAB), "wsd_schedule").training
    rates = [learning_rate_at(step, training) for step in range(training.steps)]
    assert rates[100:1600] == [1e-3] * 1500  # stable until the last 20% (400 steps)
    assert rates[1999] == pytest.approx(1e-4)
    slopes = torch.tensor(rates[1600:]).diff()
    torch.testing.assert_close(slopes, torch.full_like(slopes, -(1e-3 - 1e-4) / 400))


def test_zero_init_projections_zeroes_them_and_draws_everything_else_the_same():
    baseline = model_of(nanogpt_baseline(VOCAB), seed=3)
    zeroed = model_of(with_options(nanogpt_baseline(VOCAB), "zero_init_projections"), seed=3)
    for (name, ours), (_, theirs) in zip(
        zeroed.named_parameters(), baseline.named_parameters(), strict=True
    ):
        if name.endswith(("o_proj.weight", "down_proj.weight")):
            assert not ours.any() and theirs.abs().sum() > 0, name
        else:
            assert torch.equal(ours, theirs), name


def test_qk_norm_adds_per_head_norms_and_changes_attention():
    plain = model_of(nanogpt_baseline(VOCAB), seed=1)
    normed = model_of(with_options(nanogpt_baseline(VOCAB), "qk_norm"), seed=1)
    attention = normed.blocks[0].attention
    assert isinstance(attention.q_norm, RMSNorm) and isinstance(attention.k_norm, RMSNorm)
    assert attention.q_norm.weight.shape == (32,)  # head_dim
    extra = {n for n, _ in normed.named_parameters()} - {n for n, _ in plain.named_parameters()}
    assert extra == {f"blocks.{i}.attention.{q}_norm.weight" for i in range(4) for q in "qk"}
    missing = normed.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert set(missing) == extra  # the same weights otherwise
    x = torch.randn(2, 10, 128, generator=torch.Generator().manual_seed(0))
    q, k, _ = attention.heads(x)
    rms = q.pow(2).mean(-1).sqrt()
    torch.testing.assert_close(rms, torch.ones_like(rms), rtol=1e-3, atol=1e-3)
    q_plain = plain.blocks[0].attention.heads(x)[0]
    assert not torch.allclose(q_plain.pow(2).mean(-1).sqrt(), torch.ones_like(rms), atol=0.1)
    idx = TRAIN[:32].view(1, 32)
    with torch.no_grad():
        assert (normed(idx) - plain(idx)).abs().max() > 1e-4


def test_relu2_mlp_computes_relu_squared():
    model = model_of(with_options(nanogpt_baseline(VOCAB), "relu2_mlp"))
    mlp = model.blocks[0].mlp
    assert isinstance(mlp, ReLUSquaredMLP) and mlp.up_proj.out_features == 512
    x = torch.randn(3, 5, 128, generator=torch.Generator().manual_seed(0))
    hidden = x @ mlp.up_proj.weight.T
    expected = torch.where(hidden > 0, hidden * hidden, 0.0) @ mlp.down_proj.weight.T
    torch.testing.assert_close(mlp(x), expected)
    gelu = F.gelu(hidden) @ mlp.down_proj.weight.T
    assert (mlp(x) - gelu).abs().max() > 1e-3


def test_untied_head_has_its_own_weight():
    tied = model_of(nanogpt_baseline(VOCAB))
    untied = model_of(with_options(nanogpt_baseline(VOCAB), "untied_head"))
    assert tied.lm_head is None and tied.output_weight is tied.token_embeddings.weight
    assert untied.lm_head is not None
    assert untied.output_weight is not untied.token_embeddings.weight
    assert untied.output_weight.data_ptr() != untied.token_embeddings.weight.data_ptr()


def test_logit_softcap_bounds_the_logits_by_tanh():
    capped = model_of(with_options(nanogpt_baseline(VOCAB), "logit_softcap"), seed=2)
    plain = model_of(nanogpt_baseline(VOCAB), seed=2)
    with torch.no_grad():
        for model in (capped, plain):
            model.token_embeddings.weight.mul_(200)  # logits far beyond the cap
        idx = TRAIN[:48].view(2, 24)
        raw, logits = plain(idx), capped(idx)
    assert raw.abs().max() > 3 * LOGIT_SOFTCAP
    assert logits.abs().max() <= LOGIT_SOFTCAP
    torch.testing.assert_close(logits, LOGIT_SOFTCAP * torch.tanh(raw / LOGIT_SOFTCAP))


def test_muon_option_puts_the_matrices_in_muon():
    trainer = recipe_trainer(with_options(nanogpt_baseline(VOCAB), "muon"), TRAIN, VAL)
    optimizer = trainer.optimizer
    assert isinstance(optimizer, MuonWithAdamW)
    in_muon = {id(p) for group in optimizer.muon.param_groups for p in group["params"]}
    names = {name for name, p in trainer.model.named_parameters() if id(p) in in_muon}
    assert len(names) == 4 * 6 and all(name.startswith("blocks.") for name in names)
    assert "token_embeddings.weight" not in names
    before = trainer.model.blocks[0].attention.q_proj.weight.detach().clone()
    trainer.train_step()
    assert not torch.equal(before, trainer.model.blocks[0].attention.q_proj.weight)


# --- combining options; the preset ---------------------------------------------------


def test_with_options_applies_in_order_and_refuses_unknown_or_repeated_names():
    recipe = with_options(nanogpt_baseline(VOCAB), "qk_norm", "muon")
    assert with_options(recipe, "wsd_schedule").options == ("qk_norm", "muon", "wsd_schedule")
    with pytest.raises(ValueError, match="unknown recipe options \\['swiglu'\\]"):
        with_options(recipe, "swiglu")
    with pytest.raises(ValueError, match="'qk_norm' is already applied"):
        with_options(recipe, "qk_norm")
    with pytest.raises(ValueError, match="recipe must be a Recipe"):
        with_options("baseline", "qk_norm")


def test_recipe_refuses_a_context_longer_than_the_model():
    recipe = nanogpt_baseline(VOCAB)
    longer = dataclasses.replace(recipe.training, context_len=128)
    with pytest.raises(ValueError, match="longer than the model's max_seq_len=64"):
        dataclasses.replace(recipe, training=longer)


def test_best_recipe_is_the_baseline_with_the_best_options():
    best = best_recipe(VOCAB, steps=500)
    assert best.options == BEST_RECIPE_OPTIONS and best.name == "best_recipe"
    assert set(BEST_RECIPE_OPTIONS) <= set(RECIPE_OPTIONS)
    expected = with_options(nanogpt_baseline(VOCAB, 500), *BEST_RECIPE_OPTIONS)
    assert (best.model, best.training) == (expected.model, expected.training)
    assert RECIPES["best"] is best_recipe and RECIPES["baseline"] is nanogpt_baseline


def quick(recipe: Recipe) -> Recipe:
    """``recipe`` evaluated on 8 windows instead of 200, for speed."""
    return dataclasses.replace(
        recipe, training=dataclasses.replace(recipe.training, eval_windows=8)
    )


def test_recipe_trainer_is_repeatable_by_seed():
    recipe = quick(with_options(nanogpt_baseline(VOCAB, steps=10), "relu2_mlp"))
    first, again, other = (recipe_trainer(recipe, TRAIN, VAL, seed=s) for s in (5, 5, 6))
    assert first.config.seed == 5 and first.config == dataclasses.replace(recipe.training, seed=5)
    losses = [[t.train_step() for _ in range(3)] for t in (first, again, other)]
    assert losses[0] == losses[1] and losses[0] != losses[2]
    assert first.evaluate() == again.evaluate()
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        recipe_trainer(recipe, TRAIN, VAL, seed=-1)


def test_the_best_recipe_trains_with_every_option_combined():
    recipe = quick(with_options(nanogpt_baseline(VOCAB, steps=4), *RECIPE_OPTIONS))
    trainer = recipe_trainer(recipe, TRAIN, VAL)
    history = trainer.train(progress=False)
    assert trainer.step == 4 and len(history.val_loss) == 2
    assert all(torch.isfinite(torch.tensor(history.train_loss)))
