"""Checkpoints: round trips, safe loading, atomic writes, and resuming to the very same losses."""

from __future__ import annotations

import pickle
from dataclasses import replace

import pytest
import torch

from course_utils import checkpoints
from course_utils.checkpoints import load_checkpoint, resume_trainer, save_checkpoint
from course_utils.config import ModelConfig
from course_utils.model import DecoderLM
from course_utils.tokenizer import BPETokenizer, CharTokenizer
from course_utils.training import Trainer, TrainingConfig, split_tokens

TEXT = "the cat sat on the mat. the dog sat on the log. " * 20
CONFIG = ModelConfig(vocab_size=16, d_model=32, n_layers=2, n_heads=2, max_seq_len=16)


def char_setup(seed: int = 0):
    tokenizer = CharTokenizer.train(TEXT)
    config = CONFIG.replace(vocab_size=tokenizer.vocab_size)
    torch.manual_seed(seed)
    train, val = split_tokens(tokenizer.encode(TEXT))
    return tokenizer, DecoderLM(config), train, val


SETTINGS = TrainingConfig(
    steps=12, batch_size=4, context_len=12, warmup_steps=3, eval_every=4, eval_windows=8
)


def same_weights(first: torch.nn.Module, second: torch.nn.Module) -> bool:
    a, b = first.state_dict(), second.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_round_trip_of_model_config_and_tokenizer(tmp_path):
    tokenizer, model, _, _ = char_setup()
    path = save_checkpoint(tmp_path / "model.pt", model, tokenizer)
    loaded = load_checkpoint(path)
    assert loaded.config == model.config
    assert same_weights(loaded.model, model)
    assert loaded.tokenizer.vocab == tokenizer.vocab and loaded.trainer_state is None
    idx = torch.tensor([tokenizer.encode("the cat")])
    with torch.no_grad():
        assert torch.equal(loaded.model(idx), model(idx))


def test_round_trip_with_a_bpe_tokenizer_and_a_tied_model(tmp_path):
    tokenizer = BPETokenizer.train(TEXT, 270)
    model = DecoderLM(CONFIG.replace(vocab_size=tokenizer.vocab_size, tie_embeddings=True))
    loaded = load_checkpoint(save_checkpoint(tmp_path / "bpe.pt", model, tokenizer))
    assert loaded.tokenizer.merges == tokenizer.merges
    assert loaded.tokenizer.encode(TEXT) == tokenizer.encode(TEXT)
    assert loaded.model.lm_head is None and same_weights(loaded.model, model)


def test_loading_never_unpickles_arbitrary_objects(tmp_path):
    """weights_only=True: a file that would run code when unpickled is refused."""
    path = tmp_path / "evil.pt"
    torch.save({"format": checkpoints.FORMAT, "payload": print}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(path)


def test_not_a_checkpoint_is_a_clear_error(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a course checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(ValueError, match="no checkpoint file"):
        load_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="not a folder"):
        save_checkpoint(tmp_path, DecoderLM(CONFIG))


def test_a_crash_while_saving_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    tokenizer, model, train, val = char_setup()
    path = save_checkpoint(tmp_path / "run.pt", model, tokenizer)
    before = path.read_bytes()
    trainer = Trainer(model, train, val, SETTINGS, device="cpu")
    trainer.train(steps=3, progress=False)  # the model has changed since the first save

    def crash_half_way(contents, file):
        file.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoints.torch, "save", crash_half_way)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, tokenizer, trainer)
    monkeypatch.undo()
    assert path.read_bytes() == before  # the old checkpoint, byte for byte
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]  # no temporary file left over
    assert load_checkpoint(path).step == 0


def test_a_save_replaces_the_old_checkpoint_in_one_rename(tmp_path, monkeypatch):
    _, model, _, _ = char_setup()
    renames = []
    real_replace = checkpoints.os.replace

    def record(source, destination):
        renames.append((source, destination))
        real_replace(source, destination)

    monkeypatch.setattr(checkpoints.os, "replace", record)
    path = save_checkpoint(tmp_path / "run.pt", model)
    save_checkpoint(path, model)
    assert len(renames) == 2 and all(str(dst) == str(path) for _, dst in renames)
    assert all(str(src).startswith(str(tmp_path / ".run.pt.")) for src, _ in renames)


def test_resuming_gives_exactly_the_losses_of_an_uninterrupted_run(tmp_path):
    tokenizer, model, train, val = char_setup(seed=1)
    uninterrupted = Trainer(model, train, val, SETTINGS, device="cpu")
    expected = uninterrupted.train(progress=False)

    tokenizer, model, train, val = char_setup(seed=1)
    first_half = Trainer(model, train, val, SETTINGS, device="cpu")
    first_half.train(steps=6, progress=False)
    path = save_checkpoint(tmp_path / "half.pt", model, tokenizer, first_half)
    del model, first_half
    torch.manual_seed(12345)  # whatever happens in between must not matter

    checkpoint = load_checkpoint(path)
    assert checkpoint.step == 6
    resumed = resume_trainer(checkpoint, train, val, device="cpu")
    history = resumed.train(progress=False)
    assert history.train_loss == expected.train_loss
    assert history.eval_steps == expected.eval_steps == [0, 4, 8, 12]
    assert history.val_loss == expected.val_loss
    assert same_weights(resumed.model, uninterrupted.model)


def test_resuming_needs_a_trainer_state_and_the_same_settings(tmp_path):
    tokenizer, model, train, val = char_setup()
    plain = load_checkpoint(save_checkpoint(tmp_path / "plain.pt", model, tokenizer))
    with pytest.raises(ValueError, match="without a trainer"):
        resume_trainer(plain, train, val)
    trainer = Trainer(model, train, val, SETTINGS, device="cpu")
    state = trainer.state_dict()
    other = Trainer(DecoderLM(model.config), train, val, replace(SETTINGS, steps=5), "cpu")
    with pytest.raises(ValueError, match="was trained with"):
        other.load_state_dict(state)
    with pytest.raises(ValueError, match="Trainer of this model"):
        save_checkpoint(tmp_path / "x.pt", DecoderLM(model.config), tokenizer, trainer)
