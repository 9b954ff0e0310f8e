"""Chapter 5's trainer on many processes: DistributedDataParallel or FSDP2 (chapter 6).

:class:`DistributedTrainer` is chapter 5's :class:`~course_utils.training.Trainer` run by every
rank of a ``torch.distributed`` process group (started by ``torchrun``, or by
:func:`~course_utils.distributed.run_on_ranks`). Every rank draws the same global batch from
the same seeded sampler and computes its own slice of ``batch_size / world_size`` windows;

* ``parallel="ddp"``: :class:`torch.nn.parallel.DistributedDataParallel` keeps a full copy of
  the model on each rank and all-reduces (averages) the gradients during the backward pass;
* ``parallel="fsdp"``: :func:`torch.distributed.fsdp.fully_shard` (FSDP2, ZeRO stage 3) keeps
  1/N of every parameter, gradient and Adam moment on each rank, gathers each block's weights
  just before it computes, and reduce-scatters the gradients.

Either way the gradient each rank applies is the full batch's, so the run computes the losses a
single process would with the same global batch (to float rounding). The recorded loss is the
average over ranks. Checkpoints hold the *gathered* full state (weights and optimizer), written
by rank 0 alone in chapter 5's format: they load, and resume, in a single process.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from course_utils.checkpoints import save_checkpoint
from course_utils.checks import choice
from course_utils.model import DecoderLM
from course_utils.training import Trainer, TrainingConfig

PARALLEL_MODES = ("ddp", "fsdp")
BACKENDS = ("gloo", "nccl")


def default_backend(device: str | torch.device) -> str:
    """``"nccl"`` for CUDA devices, ``"gloo"`` for the CPU (chapter 6)."""
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


def check_backend(backend: str, device: str | torch.device) -> str:
    """``backend`` if it can run on ``device``: NCCL needs CUDA tensors, gloo runs on the CPU."""
    choice("backend", backend, BACKENDS)
    if backend == "nccl" and torch.device(device).type != "cuda":
        raise ValueError("backend 'nccl' needs device 'cuda'; on the CPU use backend 'gloo'")
    return backend


def shard_model(model: DecoderLM, mesh=None) -> DecoderLM:
    """Apply FSDP2's ``fully_shard`` to each transformer block, then to the whole model.

    Each block is one unit whose weights are gathered together; the embeddings, the final
    norm and the (possibly tied) output layer belong to the root unit.
    """
    from torch.distributed.fsdp import fully_shard

    for block in model.blocks:
        fully_shard(block, mesh=mesh)
    fully_shard(model, mesh=mesh)
    return model


def _fsdp_available() -> bool:
    try:
        from torch.distributed.fsdp import fully_shard  # noqa: F401
    except ImportError:
        return False
    return True


class DistributedTrainer(Trainer):
    """:class:`Trainer` on every rank of an initialised process group (chapter 6).

    ``config.batch_size`` is the *global* batch: it must be a multiple of the world size, and
    each rank computes ``batch_size / world_size`` windows of it. Build the same model on every
    rank (same seed, or loaded from the same checkpoint) and call the same methods on every
    rank: each step, evaluation and :meth:`save` is a collective operation.
    """

    def __init__(
        self,
        model: DecoderLM,
        train_tokens: Sequence[int] | torch.Tensor,
        val_tokens: Sequence[int] | torch.Tensor,
        config: TrainingConfig | None = None,
        device: str | torch.device | None = "cpu",
        *,
        parallel: str = "ddp",
    ) -> None:
        if not dist.is_available() or not dist.is_initialized():
            raise ValueError(
                "DistributedTrainer needs an initialised process group: run under torchrun "
                "(or run_on_ranks); in one process use Trainer"
            )
        choice("parallel", parallel, PARALLEL_MODES)
        if parallel == "fsdp" and not _fsdp_available():
            raise ValueError(
                "parallel='fsdp' needs torch.distributed.fsdp.fully_shard (PyTorch 2.6+)"
            )
        config = TrainingConfig() if config is None else config
        if isinstance(config, TrainingConfig) and config.optimizer == "muon":
            raise ValueError(
                "optimizer='muon' trains in one process (Trainer): under parallel='fsdp' each "
                "rank holds 1/N of every matrix, and Newton-Schulz needs the whole one; under "
                "'ddp' checkpoints gather one optimizer, and Muon runs beside AdamW"
            )
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        if isinstance(config, TrainingConfig) and config.batch_size % self.world_size:
            raise ValueError(
                f"batch_size={config.batch_size} must be a multiple of the world size "
                f"{self.world_size}: every rank computes an equal slice of the global batch"
            )
        self.parallel = parallel
        if parallel == "fsdp" and isinstance(model, DecoderLM):
            if device is not None:
                model = model.to(device)
            shard_model(model)
        super().__init__(model, train_tokens, val_tokens, config, device)
        self.module = self.model  # the model itself, for checkpoints (DDP wraps it below)
        if parallel == "ddp":
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)

    def sample_batch(self) -> torch.Tensor:
        """This rank's slice of the global batch (every rank draws the same global batch)."""
        windows = super().sample_batch()
        per_rank = self.config.batch_size // self.world_size
        return windows[self.rank * per_rank : (self.rank + 1) * per_rank]

    def reduce_loss(self, loss: torch.Tensor) -> float:
        """The global batch's loss: the average of the ranks' (equal-sized) slices."""
        total = loss.detach().clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        return (total / self.world_size).item()

    # -- checkpoints: the gathered full state --------------------------------------------

    def _parameter_names(self) -> list[str]:
        """Names of the optimizer's parameters in its own order (its state's integer keys)."""
        names = {id(p): name for name, p in self.module.named_parameters()}
        return [names[id(p)] for group in self.optimizer.param_groups for p in group["params"]]

    def full_state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """(model weights, trainer state) gathered to full tensors on rank 0 (collective).

        The trainer state is :meth:`Trainer.state_dict`'s, with the optimizer state in the
        ordinary single-process form (integer keys, full tensors). Other ranks get empty dicts.
        """
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            get_model_state_dict,
            get_optimizer_state_dict,
        )

        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        weights = get_model_state_dict(self.module, options=options)
        optimizer = get_optimizer_state_dict(self.module, self.optimizer, options=options)
        if self.rank != 0:
            return {}, {}
        index = {name: i for i, name in enumerate(self._parameter_names())}
        optimizer = {
            "state": {index[name]: value for name, value in optimizer["state"].items()},
            "param_groups": [
                {**group, "params": [index[name] for name in group["params"]]}
                for group in optimizer["param_groups"]
            ],
        }
        state = {
            "config": self.config.to_dict(),
            "step": self.step,
            "optimizer": optimizer,
            "sampler": self.sampler.get_state(),
            "torch_rng": torch.get_rng_state(),
            "history": self.history.to_dict(),
        }
        return weights, state

    def save(self, path: str | Path, tokenizer=None) -> Path | None:
        """Gather the full state and write a chapter-5 checkpoint from rank 0 (collective).

        Returns the path on rank 0 and ``None`` elsewhere; every rank waits until it is written.
        """
        weights, state = self.full_state_dict()
        written = None
        if self.rank == 0:
            model = DecoderLM(self.module.config)
            model.load_state_dict(weights)
            written = save_checkpoint(path, model, tokenizer, trainer_state=state)
        dist.barrier()
        return written

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a (full, single-process format) trainer state on every rank.

        The optimizer's full tensors are sharded as this run's parameters are (FSDP) or loaded
        whole (DDP) by ``torch.distributed.checkpoint.state_dict.set_optimizer_state_dict``.
        """
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            set_optimizer_state_dict,
        )

        names = self._parameter_names()
        saved = state["optimizer"]
        by_name = {
            "state": {names[int(i)]: value for i, value in saved["state"].items()},
            "param_groups": [
                {**group, "params": [names[int(i)] for i in group["params"]]}
                for group in saved["param_groups"]
            ],
        }
        # Everything but the optimizer as chapter 5 restores it (the optimizer is given its
        # own current, empty state there, then the saved one here).
        super().load_state_dict({**state, "optimizer": self.optimizer.state_dict()})
        set_optimizer_state_dict(
            self.module,
            self.optimizer,
            by_name,
            options=StateDictOptions(full_state_dict=True),
        )


# ---------------------------------------------------------------------------------------
# A small run on the ranks of run_on_ranks, and the same run in one process (chapter 6)
# ---------------------------------------------------------------------------------------


def _small_run(text: str, width: int, seed: int):
    from course_utils.config import ModelConfig
    from course_utils.tokenizer import CharTokenizer
    from course_utils.training import split_tokens

    tokenizer = CharTokenizer.train(text)
    train_ids, val_ids = split_tokens(tokenizer.encode(text), validation_fraction=0.1)
    shape = ModelConfig(
        vocab_size=tokenizer.vocab_size,
        d_model=width,
        n_layers=2,
        n_heads=2,
        max_seq_len=64,
        tie_embeddings=True,
    )
    torch.manual_seed(seed)
    return tokenizer, DecoderLM(shape), train_ids, val_ids


def train_on_rank(
    rank: int,
    world_size: int,
    text: str,
    config: dict[str, Any],
    parallel: str = "ddp",
    checkpoint: str | None = None,
    width: int = 16,
    seed: int = 0,
    steps: int | None = None,
) -> dict[str, Any]:
    """Train a 2-layer model of ``width`` on ``text`` with :class:`DistributedTrainer`.

    Runs ``steps`` steps (default: all of ``config``'s). Returns the loss history (the same on
    every rank) and the parameters this rank holds; ``checkpoint``: a path rank 0 writes the
    gathered state to at the end (chapter 6).
    """
    tokenizer, model, train_ids, val_ids = _small_run(text, width, seed)
    trainer = DistributedTrainer(
        model, train_ids, val_ids, TrainingConfig.from_dict(config), parallel=parallel
    )
    history = trainer.train(steps=steps, progress=False)
    if checkpoint is not None:
        trainer.save(checkpoint, tokenizer)
    local = sum(
        (p.to_local() if hasattr(p, "to_local") else p).numel() for p in trainer.module.parameters()
    )
    return {"history": history.to_dict(), "local_params": local}


def train_in_one_process(
    text: str, config: dict[str, Any], width: int = 16, seed: int = 0
) -> dict[str, Any]:
    """The run of :func:`train_on_rank` in this process, with plain :class:`Trainer`."""
    _, model, train_ids, val_ids = _small_run(text, width, seed)
    trainer = Trainer(model, train_ids, val_ids, TrainingConfig.from_dict(config), device="cpu")
    return {"history": trainer.train(progress=False).to_dict()}
