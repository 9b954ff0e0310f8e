"""The command line's recipes: ``--recipe`` sets the defaults, explicit flags still win."""

from __future__ import annotations

import dataclasses

import pytest

from course_utils.checkpoints import load_checkpoint
from course_utils.recipes import BEST_RECIPE_OPTIONS, best_recipe, nanogpt_baseline, with_options
from course_utils.train_cli import CHAPTER5_RUN, main, parse_args
from course_utils.training import TrainingConfig

TEXT = "To be, or not to be, that is the question: whether 'tis nobler in the mind.\n" * 30


def test_without_a_recipe_the_defaults_are_chapter_5s():
    args = parse_args(["corpus.txt"])
    assert args.recipe is None
    assert (args.steps, args.batch_size, args.learning_rate) == (1000, 32, 3e-3)
    assert args.learning_rate == CHAPTER5_RUN.learning_rate and args.d_model == 64


@pytest.mark.parametrize("name", ["baseline", "best"])
def test_a_recipe_sets_the_defaults(name):
    recipe = {"baseline": nanogpt_baseline, "best": best_recipe}[name](65)
    args = parse_args(["corpus.txt", "--recipe", name])
    assert (args.steps, args.batch_size, args.context_len) == (2000, 12, 64)
    assert args.learning_rate == recipe.training.learning_rate
    assert args.warmup_steps == recipe.training.warmup_steps == 100
    assert (args.d_model, args.n_layers, args.n_heads) == (128, 4, 4)


def test_explicit_flags_override_the_recipe():
    args = parse_args(["corpus.txt", "--recipe", "best", "--learning-rate", "5e-4", "--steps", "7"])
    assert (args.learning_rate, args.steps) == (5e-4, 7)
    assert args.batch_size == 12  # still the recipe's


def test_unknown_recipe_is_refused(capsys):
    with pytest.raises(SystemExit):
        parse_args(["corpus.txt", "--recipe", "fastest"])
    assert "invalid choice: 'fastest'" in capsys.readouterr().err


def test_the_best_recipe_trains_from_the_command_line(tmp_path):
    text = tmp_path / "play.txt"
    text.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "best.pt"
    flags = ["--recipe", "best", "--steps", "3", "--eval-every", "3", "--eval-windows", "4"]
    assert main([str(text), *flags, "--d-model", "32", "--n-heads", "2", "--out", str(out)]) == 0
    checkpoint = load_checkpoint(out)
    best = best_recipe(checkpoint.tokenizer.vocab_size, steps=3)
    baseline = nanogpt_baseline(checkpoint.tokenizer.vocab_size, steps=3)
    narrow = dataclasses.replace(baseline, model=baseline.model.replace(d_model=32, n_heads=2))
    shape = with_options(narrow, *BEST_RECIPE_OPTIONS).model
    assert checkpoint.config == shape  # the recipe's block at the width asked for
    training = TrainingConfig.from_dict(checkpoint.trainer_state["config"])
    assert training.schedule == best.training.schedule
    assert training.optimizer == best.training.optimizer
    assert training.learning_rate == best.training.learning_rate
    assert (training.steps, training.eval_windows) == (3, 4)
    assert checkpoint.step == 3
