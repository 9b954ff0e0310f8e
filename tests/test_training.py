"""Chapter 5's training loop against torch's own optimizer, schedulers and a hand-written loop."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils.checkpoints import load_checkpoint, resume_trainer, save_checkpoint
from course_utils.config import ModelConfig
from course_utils.environment import best_device
from course_utils.model import DecoderLM, next_token_loss
from course_utils.muon import Muon, MuonWithAdamW, muon_parameter_groups
from course_utils.tokenizer import BPETokenizer, CharTokenizer
from course_utils.training import (
    Trainer,
    TrainingConfig,
    bits_per_character,
    decay_groups,
    evenly_spaced_windows,
    learning_rate_at,
    sample_windows,
    split_tokens,
    token_tensor,
    tokens_from_file,
    unigram_loss,
)

TINY = ModelConfig(vocab_size=7, d_model=32, n_layers=2, n_heads=2, max_seq_len=16)


def pattern_tokens(length: int = 600) -> torch.Tensor:
    """A stream a tiny model can learn: a fixed cycle of 7 symbols."""
    return torch.arange(length) % 7


def tiny_trainer(config: TrainingConfig, seed: int = 0) -> Trainer:
    torch.manual_seed(seed)
    train, val = split_tokens(pattern_tokens())
    return Trainer(DecoderLM(TINY), train, val, config, device="cpu")


# --- the learning-rate schedule ------------------------------------------------------------


@pytest.mark.parametrize(("steps", "warmup"), [(100, 10), (37, 5), (20, 1), (12, 0)])
def test_schedule_equals_torch_linear_warmup_then_cosine_annealing(steps, warmup):
    config = TrainingConfig(
        steps=steps, warmup_steps=warmup, learning_rate=1e-2, min_learning_rate=1e-3
    )
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=config.learning_rate)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=steps - 1 - warmup, eta_min=config.min_learning_rate
    )
    if warmup:
        linear = torch.optim.lr_scheduler.LinearLR(
            optimizer, start_factor=1 / warmup, end_factor=1.0, total_iters=max(1, warmup - 1)
        )
        scheduler = torch.optim.lr_scheduler.SequentialLR(
            optimizer, [linear, cosine], milestones=[warmup]
        )
    else:
        scheduler = cosine
    for step in range(steps):
        expected = optimizer.param_groups[0]["lr"]
        assert learning_rate_at(step, config) == pytest.approx(expected, rel=1e-9, abs=1e-15)
        optimizer.step()
        scheduler.step()


def test_schedule_landmarks():
    config = TrainingConfig(
        steps=1000, warmup_steps=100, learning_rate=3e-3, min_learning_rate=3e-4
    )
    assert learning_rate_at(0, config) == pytest.approx(3e-5)
    assert learning_rate_at(99, config) == pytest.approx(3e-3)
    assert learning_rate_at(999, config) == pytest.approx(3e-4)
    halfway = 100 + (999 - 100) / 2
    assert learning_rate_at(int(halfway), config) == pytest.approx(1.65e-3, rel=1e-2)
    with pytest.raises(ValueError, match="step must be below"):
        learning_rate_at(1000, config)


def test_bits_per_character():
    assert bits_per_character(math.log(2)) == pytest.approx(1.0)
    assert bits_per_character(math.log(65)) == pytest.approx(math.log2(65))
    # BPE: 3.0 nats per token at 4 characters per token.
    assert bits_per_character(3.0, tokens_per_character=0.25) == pytest.approx(3 / math.log(2) / 4)
    with pytest.raises(ValueError, match="tokens_per_character"):
        bits_per_character(1.0, 0)


# --- data ------------------------------------------------------------------------------------


def test_split_holds_out_the_end_and_windows_are_consecutive_tokens():
    train, val = split_tokens(torch.arange(100), validation_fraction=0.2)
    assert train.tolist() == list(range(80)) and val.tolist() == list(range(80, 100))
    windows = sample_windows(train, 5, 8, torch.Generator().manual_seed(0))
    assert windows.shape == (5, 9)
    assert torch.equal(windows[:, 1:] - windows[:, :-1], torch.ones(5, 8, dtype=torch.int64))
    fixed = evenly_spaced_windows(val, 3, 8)
    assert fixed[0, 0] == 80 and fixed[-1, -1] == 99


@pytest.mark.parametrize("ids", [[], torch.zeros(2, 3, dtype=torch.int64)])
def test_an_empty_or_misshapen_corpus_is_refused(ids):
    with pytest.raises(ValueError, match="non-empty 1-D"):
        token_tensor(ids)


# --- bad settings are refused before any work --------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"steps": 0}, "steps must be a positive integer"),
        ({"steps": -5}, "steps must be a positive integer"),
        ({"learning_rate": 0.0}, "learning_rate must be a positive, finite number"),
        ({"learning_rate": -1e-3}, "learning_rate must be a positive, finite number"),
        ({"learning_rate": float("nan")}, "learning_rate must be a positive, finite number"),
        ({"min_learning_rate": 1.0}, "must not exceed"),
        ({"batch_size": 0}, "batch_size"),
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"grad_clip": 0}, "grad_clip"),
        ({"beta2": 1.0}, "beta2"),
        ({"weight_decay": -0.1}, "weight_decay"),
        ({"grad_clip": -1.0}, "grad_clip"),
        ({"schedule": "linear"}, "schedule must be one of 'cosine', 'wsd'"),
        ({"decay_fraction": 0.0}, "decay_fraction must be in \\(0, 1\\]"),
        ({"decay_fraction": 1.5}, "decay_fraction"),
        ({"optimizer": "sgd"}, "optimizer must be one of 'adamw', 'muon'"),
        ({"muon_learning_rate": 0.0}, "muon_learning_rate"),
        ({"muon_momentum": 1.0}, "muon_momentum"),
        ({"newton_schulz_steps": 0}, "newton_schulz_steps"),
        ({"muon_weight_decay": -1.0}, "muon_weight_decay"),
    ],
)
def test_bad_training_settings_are_value_errors(settings, message):
    with pytest.raises(ValueError, match=message):
        TrainingConfig(**settings)


def test_trainer_refuses_bad_inputs_before_touching_the_model():
    model = DecoderLM(TINY)
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    train, val = split_tokens(pattern_tokens())
    cases = [
        (
            (model, train, val, TrainingConfig(context_len=32)),
            "longer than the model's max_seq_len",
        ),
        ((model, [], val, TrainingConfig(context_len=8)), "non-empty"),
        ((model, train[:5], val, TrainingConfig(context_len=8)), "too few"),
        ((model, train + 7, val, TrainingConfig(context_len=8)), "outside 0..6"),
        ((model, train, val, "fast"), "TrainingConfig"),
        (("model", train, val, TrainingConfig(context_len=8)), "DecoderLM"),
    ]
    for arguments, message in cases:
        with pytest.raises(ValueError, match=message):
            Trainer(*arguments, device="cpu")
    after = model.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)


# --- training ----------------------------------------------------------------------------


def test_training_learns_a_pattern_and_records_its_history():
    config = TrainingConfig(steps=60, batch_size=8, context_len=12, warmup_steps=5, eval_every=25)
    trainer = tiny_trainer(config)
    history = trainer.train(progress=False)
    assert len(history.train_loss) == len(history.learning_rate) == 60
    assert history.eval_steps == [0, 25, 50, 60]
    assert history.val_loss[0] > math.log(7) - 0.3  # untrained: about uniform over 7 symbols
    assert history.final_val_loss < 0.2  # the cycle is perfectly predictable
    assert trainer.tokens_seen == 60 * 8 * 12 == config.tokens
    assert history.seconds > 0


def test_training_can_stop_and_go_on_and_never_passes_its_steps():
    config = TrainingConfig(steps=10, batch_size=4, context_len=8, warmup_steps=2, eval_every=5)
    trainer = tiny_trainer(config)
    trainer.train(steps=4, progress=False)
    assert trainer.step == 4
    history = trainer.train(steps=100, progress=False)
    assert trainer.step == 10 and len(history.train_loss) == 10
    assert history.eval_steps == [0, 5, 10]


def test_a_run_repeats_exactly_with_the_same_seed():
    config = TrainingConfig(steps=8, batch_size=4, context_len=8, warmup_steps=2, eval_every=4)
    first = tiny_trainer(config).train(progress=False)
    second = tiny_trainer(config).train(progress=False)
    assert first.train_loss == second.train_loss and first.val_loss == second.val_loss


def test_trainer_equals_a_plain_loop_with_torch_adamw_and_schedulers():
    """The same steps written with torch's AdamW, clipping and LambdaLR-free schedulers."""
    config = TrainingConfig(
        steps=12, batch_size=4, context_len=8, warmup_steps=3, eval_every=100, grad_clip=0.5
    )
    trainer = tiny_trainer(config, seed=3)
    torch.manual_seed(3)
    reference = DecoderLM(TINY)
    decayed = [p for n, p in reference.named_parameters() if "norm" not in n]
    not_decayed = [p for n, p in reference.named_parameters() if "norm" in n]
    optimizer = torch.optim.AdamW(
        [{"params": decayed}, {"params": not_decayed, "weight_decay": 0.0}],
        lr=config.learning_rate,
        betas=(config.beta1, config.beta2),
        weight_decay=config.weight_decay,
    )
    linear = torch.optim.lr_scheduler.LinearLR(optimizer, 1 / 3, 1.0, total_iters=2)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, 12 - 1 - 3, 3e-4)
    scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [linear, cosine], [3])
    sampler = torch.Generator().manual_seed(config.seed)
    train = trainer.train_tokens
    losses = []
    for _ in range(config.steps):
        windows = sample_windows(train, 4, 8, sampler)
        loss = next_token_loss(reference, windows)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(reference.parameters(), 0.5)
        optimizer.step()
        optimizer.zero_grad()
        scheduler.step()
        losses.append(loss.item())
    history = trainer.train(progress=False)
    assert history.train_loss == pytest.approx(losses, rel=1e-5)
    for ours, theirs in zip(trainer.model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6)


def test_weight_decay_skips_norm_weights():
    groups = decay_groups(DecoderLM(TINY), 0.1)
    assert groups[0]["weight_decay"] == 0.1 and all(p.ndim == 2 for p in groups[0]["params"])
    assert groups[1]["weight_decay"] == 0.0 and all(p.ndim == 1 for p in groups[1]["params"])
    assert len(groups[1]["params"]) == 2 * TINY.n_layers + 1  # two norms per block, one final


def test_the_progress_bar_reports_steps(capsys):
    config = TrainingConfig(steps=3, batch_size=2, context_len=8, warmup_steps=1, eval_every=3)
    tiny_trainer(config).train(progress=True)
    assert "training" in capsys.readouterr().err


@pytest.mark.skipif(best_device() == "cpu", reason="needs a CUDA or MPS device")
def test_training_on_the_accelerator_moves_model_and_batches():
    config = TrainingConfig(steps=30, batch_size=8, context_len=12, warmup_steps=3, eval_every=15)
    torch.manual_seed(0)
    train, val = split_tokens(pattern_tokens())
    trainer = Trainer(DecoderLM(TINY), train, val, config, device=best_device())
    history = trainer.train(progress=False)
    assert next(trainer.model.parameters()).device.type == best_device()
    assert history.final_val_loss < history.val_loss[0] - 1.0


def test_unigram_loss_is_the_cross_entropy_of_smoothed_frequencies():
    train = torch.tensor([0, 0, 0, 1])  # counts 3, 1, 0 → add one: 4, 2, 1 out of 7
    val = torch.tensor([0, 1, 2])
    expected = -(math.log(4 / 7) + math.log(2 / 7) + math.log(1 / 7)) / 3
    assert unigram_loss(train, val, vocab_size=3) == pytest.approx(expected)
    uniform = torch.arange(50)
    assert unigram_loss(uniform, uniform, 50) == pytest.approx(math.log(50))
    with pytest.raises(ValueError, match=r"0\.\.2"):
        unigram_loss(train, torch.tensor([3]), vocab_size=3)


def test_a_text_file_trains_with_either_tokenizer(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text("the cat sat on the mat, and the dog sat on the log. " * 30, encoding="utf-8")
    settings = TrainingConfig(steps=30, batch_size=8, context_len=12, warmup_steps=3, eval_every=30)
    for tokenizer in (
        CharTokenizer.train(path.read_text()),
        BPETokenizer.train(path.read_text(), 270),
    ):
        tokens = tokens_from_file(path, tokenizer)
        assert tokenizer.decode(tokens.tolist()) == path.read_text()
        train, val = split_tokens(tokens, validation_fraction=0.2)
        torch.manual_seed(0)
        model = DecoderLM(TINY.replace(vocab_size=tokenizer.vocab_size))
        history = Trainer(model, train, val, settings, device="cpu").train(progress=False)
        assert history.final_val_loss < history.val_loss[0] - 1.0
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError, match="nothing to train on"):
        tokens_from_file(tmp_path / "empty.txt", CharTokenizer.train("abc"))
    with pytest.raises(ValueError, match="no text file"):
        tokens_from_file(tmp_path / "missing.txt", CharTokenizer.train("abc"))


# --- chapter 8: warm-up-stable-decay, no clipping, Muon -----------------------------------


def test_the_recipe_options_are_off_by_default():
    config = TrainingConfig()
    assert (config.schedule, config.optimizer, config.grad_clip) == ("cosine", "adamw", 1.0)
    assert isinstance(tiny_trainer(TrainingConfig(context_len=8)).optimizer, torch.optim.AdamW)


def test_wsd_schedule_by_hand():
    config = TrainingConfig(
        steps=10, warmup_steps=2, learning_rate=1.0, min_learning_rate=0.1, schedule="wsd",
        decay_fraction=0.3,
    )  # fmt: skip
    rates = [learning_rate_at(step, config) for step in range(10)]
    # warm-up 1/2, 2/2; stable; the last 3 steps fall by 0.3 each to 0.1 at the last step
    expected = [0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.7, 0.4, 0.1]
    assert rates == pytest.approx(expected)


def test_wsd_decays_over_at_least_one_step_and_warm_up_comes_first():
    short = TrainingConfig(steps=3, warmup_steps=0, min_learning_rate=0.0, schedule="wsd",
                           decay_fraction=0.01)  # fmt: skip
    assert [learning_rate_at(s, short) for s in range(3)] == [3e-3, 3e-3, 0.0]
    overlap = TrainingConfig(steps=4, warmup_steps=4, schedule="wsd", decay_fraction=0.5)
    assert learning_rate_at(3, overlap) == overlap.learning_rate  # warm-up wins


def test_no_clipping_is_clipping_at_infinity():
    settings = {"steps": 5, "batch_size": 4, "context_len": 8, "warmup_steps": 1}
    free = tiny_trainer(TrainingConfig(**settings, grad_clip=None)).train(progress=False)
    loose = tiny_trainer(TrainingConfig(**settings, grad_clip=1e9)).train(progress=False)
    tight = tiny_trainer(TrainingConfig(**settings, grad_clip=1e-3)).train(progress=False)
    assert free.train_loss == loose.train_loss != tight.train_loss


MUON_RUN = TrainingConfig(
    steps=12, batch_size=4, context_len=8, warmup_steps=3, eval_every=4, eval_windows=8,
    optimizer="muon", muon_learning_rate=0.05,
)  # fmt: skip


def test_the_muon_trainer_equals_a_plain_loop_with_muon_and_adamw():
    trainer = tiny_trainer(MUON_RUN, seed=2)
    torch.manual_seed(2)
    reference = DecoderLM(TINY)
    matrices, others = muon_parameter_groups(reference)
    muon = Muon(matrices, lr=0.05, momentum=0.95, ns_steps=5)
    adamw = torch.optim.AdamW(
        [{"params": [p for p in others if p.ndim == 2]},
         {"params": [p for p in others if p.ndim < 2], "weight_decay": 0.0}],
        betas=(0.9, 0.95), weight_decay=0.1,
    )  # fmt: skip
    sampler = torch.Generator().manual_seed(0)
    losses = []
    for step in range(MUON_RUN.steps):
        rate = learning_rate_at(step, MUON_RUN)
        for group in muon.param_groups:
            group["lr"] = 0.05 * rate / MUON_RUN.learning_rate  # Muon follows the schedule
        for group in adamw.param_groups:
            group["lr"] = rate
        loss = next_token_loss(reference, sample_windows(trainer.train_tokens, 4, 8, sampler))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(reference.parameters(), 1.0)
        muon.step()
        adamw.step()
        muon.zero_grad()
        adamw.zero_grad()
        losses.append(loss.item())
    history = trainer.train(progress=False)
    assert isinstance(trainer.optimizer, MuonWithAdamW)
    assert history.train_loss == pytest.approx(losses, rel=1e-5)
    for ours, theirs in zip(trainer.model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6)
    assert trainer.optimizer.muon.param_groups[0]["lr"] == pytest.approx(
        0.05 * history.learning_rate[-1] / MUON_RUN.learning_rate
    )


def test_a_muon_run_resumes_from_a_checkpoint_exactly(tmp_path):
    expected = tiny_trainer(MUON_RUN, seed=4).train(progress=False)
    first_half = tiny_trainer(MUON_RUN, seed=4)
    first_half.train(steps=6, progress=False)
    path = save_checkpoint(tmp_path / "muon.pt", first_half.model, None, first_half)
    torch.manual_seed(999)
    train, val = split_tokens(pattern_tokens())
    resumed = resume_trainer(load_checkpoint(path), train, val, device="cpu")
    assert resumed.optimizer.muon.state  # the momentum buffers came back
    history = resumed.train(progress=False)
    assert history.train_loss == expected.train_loss
    assert history.val_loss == expected.val_loss
