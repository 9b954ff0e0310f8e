"""Saving and loading a trained model, safely (chapter 5).

A checkpoint is one file holding the model's weights (a state dict), its
:class:`~course_utils.config.ModelConfig` and its tokenizer as JSON text, and, to resume
training, the :class:`~course_utils.training.Trainer`'s state (optimizer, data sampler and
random number generators, step, loss history).

Two safety rules:

* **Loading runs no code.** ``torch.load(..., weights_only=True)`` accepts only tensors and
  plain containers, so a checkpoint from someone else cannot execute anything when opened
  (a full pickle can). Configs and tokenizers are stored as JSON strings for the same reason.
* **Saving is atomic.** The file is written under a temporary name in the same folder, flushed
  to disk, and then renamed over the old checkpoint with ``os.replace``, which the operating
  system performs in one step. A crash or a full disk while saving leaves the previous
  checkpoint untouched; there is never a half-written file under the checkpoint's name.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from course_utils.checks import instance_of
from course_utils.config import ModelConfig
from course_utils.environment import resolve_device
from course_utils.model import DecoderLM
from course_utils.tokenizer import Tokenizer, tokenizer_from_dict
from course_utils.training import Trainer, TrainingConfig

FORMAT = "llm-foundations checkpoint"
VERSION = 1


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns (chapter 5).

    ``trainer_state`` is ``None`` for a checkpoint saved without a trainer; otherwise pass it
    to :meth:`Trainer.load_state_dict` (or use :func:`resume_trainer`).
    """

    model: DecoderLM
    tokenizer: Tokenizer | None
    trainer_state: dict[str, Any] | None

    @property
    def config(self) -> ModelConfig:
        return self.model.config

    @property
    def step(self) -> int:
        """Training steps behind the weights (0 when saved without a trainer)."""
        return 0 if self.trainer_state is None else int(self.trainer_state["step"])


def save_checkpoint(
    path: str | Path,
    model: DecoderLM,
    tokenizer: Tokenizer | None = None,
    trainer: Trainer | None = None,
    *,
    trainer_state: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (and its tokenizer and training state) to ``path``, atomically.

    Returns the path. Weights are saved from the CPU, so a checkpoint written on a GPU loads
    anywhere. What it needs of ``model``: a :class:`DecoderLM`, whose ``config`` (a
    :class:`ModelConfig`) is enough to rebuild it and whose ``state_dict()`` fills it again.
    ``trainer_state`` stands for ``trainer.state_dict()`` when the state was gathered
    elsewhere (chapter 6: from the ranks of a sharded run).
    """
    if trainer is not None and trainer_state is not None:
        raise ValueError("give trainer or trainer_state, not both")
    instance_of("model", model, DecoderLM)
    if trainer is not None and trainer.model is not model:
        raise ValueError("trainer must be the Trainer of this model")
    if tokenizer is not None and not hasattr(tokenizer, "to_dict"):
        raise ValueError(f"tokenizer must have a to_dict() method, got {type(tokenizer).__name__}")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"path must be a file name, not a folder: {path}")
    contents = {
        "format": FORMAT,
        "version": VERSION,
        "model_config": json.dumps(model.config.to_dict()),
        "model": {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()},
        "tokenizer": None if tokenizer is None else json.dumps(tokenizer.to_dict()),
        "trainer": _to_cpu(trainer.state_dict() if trainer is not None else trainer_state),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(contents, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)  # atomic: readers see the old file or the new one
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path, device: str | torch.device | None = "cpu") -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (chapter 5).

    The model is rebuilt from the stored config, given the stored weights and moved to
    ``device`` (``None``: the best available). Nothing in the file can run code.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no checkpoint file at {path}")
    contents = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(contents, dict) or contents.get("format") != FORMAT:
        raise ValueError(f"{path} is not a course checkpoint")
    if contents.get("version") != VERSION:
        raise ValueError(f"{path} has checkpoint version {contents.get('version')}, not {VERSION}")
    config = ModelConfig.from_dict(json.loads(contents["model_config"]))
    model = DecoderLM(config)
    model.load_state_dict(contents["model"])
    model.to(resolve_device(device))
    tokenizer = contents["tokenizer"]
    if tokenizer is not None:
        tokenizer = tokenizer_from_dict(json.loads(tokenizer))
    return Checkpoint(model, tokenizer, contents["trainer"])


def resume_trainer(
    checkpoint: Checkpoint,
    train_tokens,
    val_tokens,
    device: str | torch.device | None = None,
) -> Trainer:
    """A :class:`Trainer` that continues the checkpoint's run where it stopped (chapter 5).

    On the CPU the resumed run computes exactly the losses the uninterrupted run would have.
    """
    if checkpoint.trainer_state is None:
        raise ValueError("this checkpoint was saved without a trainer: nothing to resume")
    config = TrainingConfig.from_dict(checkpoint.trainer_state["config"])
    trainer = Trainer(checkpoint.model, train_tokens, val_tokens, config, device=device)
    trainer.load_state_dict(checkpoint.trainer_state)
    return trainer


def _to_cpu(value: Any) -> Any:
    """The same nested state with every tensor moved to the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {key: _to_cpu(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(item) for item in value)
    return value
