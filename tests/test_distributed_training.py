"""Chapter 5's trainer on 2 gloo ranks (chapter 6): DDP and FSDP2 compute the losses of one
process with the same global batch, a sharded checkpoint resumes in one process, and the
command line runs under torchrun."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from course_utils.checkpoints import load_checkpoint, resume_trainer
from course_utils.config import ModelConfig
from course_utils.distributed import loopback_interface, run_on_ranks
from course_utils.distributed_training import (
    DistributedTrainer,
    check_backend,
    default_backend,
    train_in_one_process,
    train_on_rank,
)
from course_utils.model import DecoderLM
from course_utils.tokenizer import CharTokenizer
from course_utils.training import TrainingConfig, split_tokens
from tests.test_distributed import rank_processes

TEXT = "the quick brown fox jumps over the lazy dog. a stitch in time saves nine. " * 60
CONFIG = {
    "steps": 6,
    "batch_size": 8,
    "context_len": 32,
    "warmup_steps": 2,
    "eval_every": 3,
    "eval_windows": 8,
}
ROOT = Path(__file__).resolve().parents[1]


def both_modes(rank: int, world_size: int, checkpoint: str) -> dict:
    """A DDP run to the end, then an FSDP run stopped at step 3 and checkpointed."""
    return {
        "ddp": train_on_rank(rank, world_size, TEXT, CONFIG, "ddp"),
        "fsdp": train_on_rank(rank, world_size, TEXT, CONFIG, "fsdp", checkpoint, steps=3),
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    checkpoint = tmp_path_factory.mktemp("fsdp") / "step3.pt"
    before = {p.pid for p in rank_processes()}
    ranks = run_on_ranks(both_modes, 2, checkpoint=str(checkpoint), timeout=180)
    assert not [p for p in rank_processes() if p.pid not in before]
    return ranks, checkpoint, train_in_one_process(TEXT, CONFIG)["history"]


def test_ddp_computes_the_losses_of_one_process(runs):
    ranks, _, alone = runs
    for rank in ranks:
        history = rank["ddp"]["history"]
        assert history["eval_steps"] == alone["eval_steps"] == [0, 3, 6]
        torch.testing.assert_close(history["train_loss"], alone["train_loss"], rtol=1e-5, atol=0)
        torch.testing.assert_close(history["val_loss"], alone["val_loss"], rtol=1e-5, atol=0)
    assert ranks[0]["ddp"]["local_params"] == ranks[1]["ddp"]["local_params"]


def test_fsdp_computes_the_losses_of_one_process_on_half_the_parameters(runs):
    ranks, _, alone = runs
    for rank in ranks:
        history = rank["fsdp"]["history"]
        torch.testing.assert_close(
            history["train_loss"], alone["train_loss"][:3], rtol=1e-5, atol=0
        )
    full = ranks[0]["ddp"]["local_params"]
    assert sum(rank["fsdp"]["local_params"] for rank in ranks) == full
    assert abs(ranks[0]["fsdp"]["local_params"] - full / 2) <= 16 * 2  # a padded row or two


def test_a_two_rank_checkpoint_resumes_in_one_process(runs):
    _, checkpoint, alone = runs
    loaded = load_checkpoint(checkpoint)
    assert loaded.step == 3 and loaded.tokenizer.vocab == CharTokenizer.train(TEXT).vocab
    train, val = split_tokens(loaded.tokenizer.encode(TEXT), validation_fraction=0.1)
    trainer = resume_trainer(loaded, train, val, device="cpu")
    state = trainer.optimizer.state_dict()["state"]
    assert len(state) == len(list(trainer.model.parameters()))  # full Adam moments, gathered
    next_loss = trainer.train_step()
    assert next_loss == pytest.approx(alone["train_loss"][3], rel=1e-5)
    history = trainer.train(progress=False)
    torch.testing.assert_close(history.train_loss, alone["train_loss"], rtol=1e-5, atol=0)


def test_the_trainer_refuses_to_run_without_a_process_group():
    tokenizer = CharTokenizer.train(TEXT)
    with pytest.raises(ValueError, match="initialised process group"):
        DistributedTrainer(None, tokenizer.encode(TEXT), tokenizer.encode(TEXT))


@pytest.fixture
def one_rank_group(tmp_path, monkeypatch):
    """A process group of this process alone (gloo, on loopback), taken down afterwards."""
    if loopback_interface() is not None:
        monkeypatch.setenv("GLOO_SOCKET_IFNAME", loopback_interface())
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'init'}", rank=0, world_size=1)
    yield
    dist.destroy_process_group()


@pytest.mark.parametrize("parallel", ["ddp", "fsdp"])
def test_the_trainer_refuses_muon_which_needs_whole_matrices_and_one_optimizer(
    one_rank_group, parallel
):
    tokenizer = CharTokenizer.train(TEXT)
    ids = tokenizer.encode(TEXT)
    shape = ModelConfig(vocab_size=tokenizer.vocab_size, d_model=16, n_layers=1, n_heads=2)
    model = DecoderLM(shape)
    config = TrainingConfig(steps=2, batch_size=2, context_len=16, optimizer="muon")
    with pytest.raises(ValueError, match="optimizer='muon' trains in one process"):
        DistributedTrainer(model, ids, ids, config, parallel=parallel)
    assert DistributedTrainer(model, ids, ids, replace(config, optimizer="adamw")).world_size == 1


def test_backends():
    assert default_backend("cpu") == "gloo" and default_backend("cuda") == "nccl"
    assert check_backend("gloo", "cpu") == "gloo"
    with pytest.raises(ValueError, match="backend must be one of 'gloo', 'nccl'"):
        check_backend("mpi", "cpu")
    with pytest.raises(ValueError, match="needs device 'cuda'"):
        check_backend("nccl", "cpu")


def torchrun() -> list[str]:
    launcher = Path(sys.executable).with_name("torchrun")
    if launcher.exists():
        return [str(launcher)]
    found = shutil.which("torchrun")
    return [found] if found else [sys.executable, "-m", "torch.distributed.run"]


TRAIN_FLAGS = [
    "--steps", "4", "--batch-size", "4", "--context-len", "16", "--warmup-steps", "1",
    "--eval-every", "2", "--eval-windows", "4", "--d-model", "16", "--n-layers", "1",
    "--n-heads", "2",
]  # fmt: skip


def test_the_command_line_trains_under_torchrun_as_in_one_process(tmp_path):
    text = tmp_path / "tiny.txt"
    text.write_text(TEXT, encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if loopback_interface():
        env["GLOO_SOCKET_IFNAME"] = loopback_interface()
    command = [
        *torchrun(), "--standalone", "--nproc-per-node", "2", "-m", "course_utils.train_cli",
        str(text), *TRAIN_FLAGS, "--parallel", "fsdp", "--out", str(tmp_path / "two.pt"),
    ]  # fmt: skip
    two = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert two.returncode == 0, two.stderr[-3000:]
    assert two.stdout.count("step      2/4") == 1  # rank 0 alone prints
    assert "fsdp on 2 ranks (gloo)" in two.stdout
    one = subprocess.run(
        [sys.executable, "-m", "course_utils.train_cli", str(text), *TRAIN_FLAGS]
        + ["--out", str(tmp_path / "one.pt")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert one.returncode == 0, one.stderr[-3000:]
    assert "1 process" in one.stdout
    sharded, alone = load_checkpoint(tmp_path / "two.pt"), load_checkpoint(tmp_path / "one.pt")
    assert sharded.step == alone.step == 4
    torch.testing.assert_close(
        sharded.trainer_state["history"]["train_loss"],
        alone.trainer_state["history"]["train_loss"],
        rtol=1e-5,
        atol=0,
    )
    for name, weight in alone.model.state_dict().items():
        torch.testing.assert_close(sharded.model.state_dict()[name], weight, rtol=1e-4, atol=1e-6)
