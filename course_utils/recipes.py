"""Training recipes: a model shape plus how to train it, and the named changes to it (chapter 8).

A :class:`Recipe` pairs a :class:`~course_utils.config.ModelConfig` with a
:class:`~course_utils.training.TrainingConfig`. :func:`nanogpt_baseline` is nanoGPT's small
CPU run reproduced inside the course; each :class:`RecipeOption` in :data:`RECIPE_OPTIONS` is
one change the speedrun communities found (modded-nanogpt's records, nanochat), with its
source, and :func:`with_options` applies them in order. :func:`best_recipe` is the course's
best recipe (:data:`BEST_RECIPE_OPTIONS` on the baseline), and :func:`recipe_trainer` builds a
seeded model and its :class:`~course_utils.training.Trainer`::

    recipe = with_options(nanogpt_baseline(vocab_size), "wsd_schedule", "relu2_mlp")
    trainer = recipe_trainer(recipe, train_ids, val_ids, seed=1)
    trainer.train()
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from course_utils.checks import instance_of, int_at_least, positive_int
from course_utils.config import ModelConfig, swiglu_hidden_dim
from course_utils.model import DecoderLM
from course_utils.training import Trainer, TrainingConfig


@dataclass(frozen=True)
class Recipe:
    """A model shape and how to train it (chapter 8).

    ``training.steps`` is the length of the learning-rate schedule; ``options`` names the
    :data:`RECIPE_OPTIONS` applied to the baseline, in order.
    """

    name: str
    model: ModelConfig
    training: TrainingConfig
    options: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        instance_of("model", self.model, ModelConfig)
        instance_of("training", self.training, TrainingConfig)
        if self.training.context_len > self.model.max_seq_len:
            raise ValueError(
                f"training.context_len={self.training.context_len} is longer than the model's "
                f"max_seq_len={self.model.max_seq_len}"
            )


#: Where :func:`nanogpt_baseline`'s numbers come from.
NANOGPT_SOURCE = (
    "nanoGPT (Karpathy), README 'I only have a macbook': train.py "
    "config/train_shakespeare_char.py --device=cpu --compile=False --eval_iters=20 "
    "--log_interval=1 --block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 "
    "--max_iters=2000 --lr_decay_iters=2000 --dropout=0.0; the config file sets "
    "learning_rate=1e-3, min_lr=1e-4, beta2=0.99, warmup_iters=100; train.py's defaults: "
    "weight_decay=0.1, beta1=0.9, grad_clip=1.0, bias=False; model.py: LayerNorm, exact GELU "
    "(nn.GELU()), learned positions, tied head, N(0, 0.02) with c_proj at 0.02/sqrt(2·n_layer)."
)


def nanogpt_baseline(vocab_size: int, steps: int = 2000) -> Recipe:
    """nanoGPT's character-level Shakespeare run on a CPU, in the course's model (chapter 8).

    4 layers × 4 heads × width 128, context 64, batch 12 (768 tokens a step); AdamW at peak
    1e-3 after 100 warm-up steps, cosine to 1e-4 at step ``steps`` (2000), β = (0.9, 0.99),
    weight decay 0.1 on matrices, gradient clipping at 1.0, no dropout; GPT-2's block as
    nanoGPT builds it with ``bias=False`` (no biases in linears or LayerNorms, exact GELU,
    tied embeddings, learned positions). See :data:`NANOGPT_SOURCE`. The course's schedule
    reaches the minimum at the last step as nanoGPT's does (nanoGPT warms up over
    ``(it + 1) / (warmup + 1)``, the course over ``(step + 1) / warmup``). Validation uses 200
    fixed windows.
    """
    model = ModelConfig(
        vocab_size=positive_int("vocab_size", vocab_size),
        d_model=128,
        n_layers=4,
        n_heads=4,
        max_seq_len=64,
        norm="layernorm",
        mlp="gelu",
        pos_embedding="learned",
        tie_embeddings=True,
        bias=False,
        norm_bias=False,
        gelu_approximation="none",
    )
    training = TrainingConfig(
        steps=positive_int("steps", steps),
        batch_size=12,
        context_len=64,
        learning_rate=1e-3,
        min_learning_rate=1e-4,
        warmup_steps=100,
        weight_decay=0.1,
        beta1=0.9,
        beta2=0.99,
        grad_clip=1.0,
        eval_every=250,
        eval_windows=200,
    )
    return Recipe("nanogpt_baseline", model, training)


@dataclass(frozen=True)
class RecipeOption:
    """One named change to a recipe, with where it comes from (chapter 8).

    ``apply`` returns the changed recipe; ``fields`` names the :class:`ModelConfig` and
    :class:`TrainingConfig` fields it may change (the tests check it changes those and nothing
    else).
    """

    name: str
    description: str
    source: str
    apply: Callable[[Recipe], Recipe]
    fields: tuple[str, ...] = ()


def _model(**changes) -> Callable[[Recipe], Recipe]:
    def apply(recipe: Recipe) -> Recipe:
        return dataclasses.replace(recipe, model=recipe.model.replace(**changes))

    return apply


def _training(**changes) -> Callable[[Recipe], Recipe]:
    def apply(recipe: Recipe) -> Recipe:
        return dataclasses.replace(recipe, training=dataclasses.replace(recipe.training, **changes))

    return apply


def _llama_block(recipe: Recipe) -> Recipe:
    d_model = recipe.model.d_model
    model = recipe.model.replace(
        norm="rmsnorm",
        norm_bias=True,
        mlp="swiglu",
        d_ff=swiglu_hidden_dim(d_model, multiple_of=16),
        pos_embedding="rope",
    )
    return dataclasses.replace(recipe, model=model)


def _relu2(recipe: Recipe) -> Recipe:
    model = recipe.model.replace(mlp="relu2", d_ff=None)  # derived again: 4·d_model
    return dataclasses.replace(recipe, model=model)


#: The peak learning rate of the ``higher_lr`` option, and its minimum (a tenth, as nanoGPT's).
#: From a sweep of the baseline over 500 steps (one seed, 1 thread): validation loss 2.32 at
#: 1e-3, 2.27 at 2e-3, 2.15 at 4e-3, 2.14 at 8e-3; 4e-3 takes nearly all the gain and keeps a
#: factor of 2 from the largest rate tried.
HIGHER_LEARNING_RATE = 4e-3
HIGHER_MIN_LEARNING_RATE = 4e-4
#: The cap of the ``logit_softcap`` option.
LOGIT_SOFTCAP = 15.0

RECIPE_OPTIONS: dict[str, RecipeOption] = {
    option.name: option
    for option in (
        RecipeOption(
            "llama_block",
            "Chapter 3's Llama block: RMSNorm, rotary positions and a SwiGLU MLP "
            "(2/3·4·d wide, rounded up to a multiple of 16, so the MLP keeps GPT-2's "
            "parameter count within 3%); the head stays tied.",
            "Touvron et al. 2023, 'LLaMA', section 2.2 (pre-norm RMSNorm, SwiGLU, RoPE); "
            "modded-nanogpt record #2 (rotary embeddings).",
            _llama_block,
            ("norm", "norm_bias", "mlp", "d_ff", "pos_embedding"),
        ),
        RecipeOption(
            "higher_lr",
            f"Peak learning rate {HIGHER_LEARNING_RATE:g} instead of 1e-3 (minimum a tenth "
            "of it), from a short sweep on this model (HIGHER_LEARNING_RATE).",
            "modded-nanogpt record #2 'Tuned learning rate & rotary embeddings'.",
            _training(
                learning_rate=HIGHER_LEARNING_RATE, min_learning_rate=HIGHER_MIN_LEARNING_RATE
            ),
            ("learning_rate", "min_learning_rate"),
        ),
        RecipeOption(
            "wsd_schedule",
            "Warm-up, then a constant rate, then a linear decay to the minimum over the "
            "last 20% of the steps, instead of a cosine.",
            "Hägele et al. 2024, 'Scaling Laws and Compute-Optimal Training Beyond Fixed "
            "Training Durations'; Hu et al. 2024, 'MiniCPM'; modded-nanogpt's linear cooldown.",
            _training(schedule="wsd"),
            ("schedule",),
        ),
        RecipeOption(
            "zero_init_projections",
            "The attention output and MLP down projections start at zero, so every block "
            "starts as the identity.",
            "modded-nanogpt record #5 (with ReLU² and QK-norm); nanochat's init_weights.",
            _model(zero_init_projections=True),
            ("zero_init_projections",),
        ),
        RecipeOption(
            "qk_norm",
            "RMSNorm on each head's queries and keys before RoPE, which bounds the "
            "attention logits.",
            "Dehghani et al. 2023, 'Scaling Vision Transformers to 22 Billion Parameters', "
            "section 2 ('QK normalization'); OLMo 2; modded-nanogpt record #5.",
            _model(qk_norm=True),
            ("qk_norm",),
        ),
        RecipeOption(
            "relu2_mlp",
            "A ReLU² MLP, down(relu(up(x))²), two matrices 4·d wide, instead of GELU or SwiGLU.",
            "So et al. 2021, 'Primer: Searching for Efficient Transformers for Language "
            "Modeling'; "
            "modded-nanogpt record #5; nanochat.",
            _relu2,
            ("mlp", "d_ff"),
        ),
        RecipeOption(
            "untied_head",
            "The output head gets its own matrix instead of reusing the token embeddings.",
            "modded-nanogpt record #8 'Untied embedding and head'.",
            _model(tie_embeddings=False),
            ("tie_embeddings",),
        ),
        RecipeOption(
            "logit_softcap",
            f"Logits become cap·tanh(logits/cap) with cap {LOGIT_SOFTCAP:g}.",
            "Gemma Team 2024, 'Gemma 2' technical report (final-logit soft-capping, cap 30); "
            "modded-nanogpt records #9 (cap 30) and #18 (cap 15).",
            _model(logit_softcap=LOGIT_SOFTCAP),
            ("logit_softcap",),
        ),
        RecipeOption(
            "muon",
            "Muon (momentum, Newton–Schulz orthogonalisation, fp32) for the blocks' "
            "matrices at learning rate 0.02; AdamW as before for embeddings, head, gains and "
            "biases. The batch stays 12: in one short test a 4x batch (200 steps) reached "
            "validation loss 1.99 in more time than batch 12 took to reach 1.94 (500 steps).",
            "Jordan et al. 2024, 'Muon: An optimizer for hidden layers in neural networks', "
            "kellerjordan.github.io/posts/muon/; modded-nanogpt record #3.",
            _training(optimizer="muon"),
            ("optimizer",),
        ),
    )
}


def with_options(recipe: Recipe, *names: str) -> Recipe:
    """``recipe`` with the :data:`RECIPE_OPTIONS` called ``names`` applied in order (chapter 8).

    The result's ``options`` lists them after any already applied; an unknown name, or one
    already applied, is a ``ValueError``.
    """
    instance_of("recipe", recipe, Recipe)
    unknown = [name for name in names if name not in RECIPE_OPTIONS]
    if unknown:
        raise ValueError(f"unknown recipe options {unknown}; known: {', '.join(RECIPE_OPTIONS)}")
    applied = list(recipe.options)
    for name in names:
        if name in applied:
            raise ValueError(f"recipe option {name!r} is already applied to {recipe.name!r}")
        recipe = RECIPE_OPTIONS[name].apply(recipe)
        applied.append(name)
    return dataclasses.replace(recipe, options=tuple(applied))


#: The options of :func:`best_recipe`, in order, chosen by the harness in two stages.
#: 1. The stored ablation (course_utils/data/recipe_ablation.json, tools/run_recipe_ablation.py:
#:    4 seeds, 200 steps) found five options whose paired 95% interval of loss at equal steps
#:    lies below 0: llama_block, muon, relu2_mlp, higher_lr and wsd_schedule. Its time rule
#:    keeps the last three; the Llama block's steps are measurably slower (about 1.3 x), and
#:    Muon's (about 1.7 x), so whether their lower loss per step buys time only a race can tell.
#: 2. Combinations of the five, each run by :func:`~course_utils.recipe_comparison.compare_recipes`
#:    to nanoGPT's final loss on Tiny Shakespeare (1 thread, seed 0): the Llama block with Muon
#:    and warm-up-stable-decay over 500 steps got there soonest, at step 450. The time rule's
#:    three together needed 1,000 steps (a third more time, in the same process); with the
#:    higher learning rate instead of Muon in the Llama block, about 875; ReLU² in the Llama
#:    block did not help. bench/bench_recipes.py measures the choice against the baseline with
#:    3 seeds.
BEST_RECIPE_OPTIONS: tuple[str, ...] = ("llama_block", "muon", "wsd_schedule")


def best_recipe(vocab_size: int, steps: int = 2000) -> Recipe:
    """The course's best recipe: :data:`BEST_RECIPE_OPTIONS` on :func:`nanogpt_baseline`.

    Chapter 8 chooses the options by measurement; chapter 5 (and ``llm-foundations-train
    --recipe best``) can train with it::

        trainer = recipe_trainer(best_recipe(tokenizer.vocab_size), train_ids, val_ids)
    """
    recipe = with_options(nanogpt_baseline(vocab_size, steps), *BEST_RECIPE_OPTIONS)
    return dataclasses.replace(recipe, name="best_recipe")


#: The recipes the command line offers (``--recipe``).
RECIPES: dict[str, Callable[[int, int], Recipe]] = {
    "baseline": nanogpt_baseline,
    "best": best_recipe,
}


def recipe_trainer(
    recipe: Recipe,
    train_tokens: Sequence[int] | torch.Tensor,
    val_tokens: Sequence[int] | torch.Tensor,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> Trainer:
    """A fresh model for ``recipe`` and its :class:`Trainer`, both seeded by ``seed`` (chapter 8).

    ``torch.manual_seed(seed)`` draws the initial weights and the trainer's data sampler uses
    ``seed`` too, so one seed is one repeatable run; the harness calls ``train_step()`` and
    ``evaluate()`` on the result itself.
    """
    instance_of("recipe", recipe, Recipe)
    seed = int_at_least("seed", seed, 0)
    torch.manual_seed(seed)
    model = DecoderLM(recipe.model)
    training = dataclasses.replace(recipe.training, seed=seed)
    return Trainer(model, train_tokens, val_tokens, training, device=device)
