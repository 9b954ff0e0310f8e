"""``llm-foundations-train``: train the course model on a text file, on one or many processes.

Chapter 6.

One process (chapter 5's run, from a terminal)::

    llm-foundations-train corpus.txt --steps 1000 --out tiny.pt

Two processes on this machine (gloo on the CPU), or 8 GPUs per node on 2 nodes (NCCL)::

    torchrun --standalone --nproc-per-node 2 -m course_utils.train_cli corpus.txt --parallel fsdp
    torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HOST:29500 \\
        -m course_utils.train_cli corpus.txt --parallel fsdp --batch-size 256

The text is tokenized with chapter 5's :class:`~course_utils.tokenizer.CharTokenizer` and the
model and settings default to chapter 5's (4 layers of width 64, AdamW with warm-up and cosine
decay). ``--recipe baseline`` or ``--recipe best`` trains chapter 8's nanoGPT baseline or the
course's best recipe instead (:mod:`course_utils.recipes`); flags given explicitly still win::

    llm-foundations-train corpus.txt --recipe best --steps 500
 ``--batch-size`` is the global batch, split evenly over the ranks. Rank 0 alone prints
progress and writes checkpoints (the gathered full state, which also loads and resumes in a
single process); ``--resume`` continues a checkpoint's run, with any number of ranks.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.distributed as dist

from course_utils.checkpoints import load_checkpoint, resume_trainer, save_checkpoint
from course_utils.config import ModelConfig
from course_utils.distributed_training import (
    BACKENDS,
    PARALLEL_MODES,
    DistributedTrainer,
    check_backend,
    default_backend,
)
from course_utils.model import DecoderLM
from course_utils.recipes import RECIPES, Recipe, nanogpt_baseline, with_options
from course_utils.tokenizer import CharTokenizer
from course_utils.training import Trainer, TrainingConfig, split_tokens

#: Chapter 5's model (section 2) and run (section 3), the defaults of every flag.
CHAPTER5_MODEL = {"d_model": 64, "n_layers": 4, "n_heads": 4}
CHAPTER5_RUN = TrainingConfig(
    steps=1000,
    batch_size=32,
    context_len=64,
    learning_rate=3e-3,
    min_learning_rate=3e-4,
    warmup_steps=50,
    eval_every=100,
)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``llm-foundations-train`` (chapter 6)."""
    parser = argparse.ArgumentParser(
        prog="llm-foundations-train",
        description="Train the course's character-level model on a UTF-8 text file, in one "
        "process or under torchrun (DistributedDataParallel or FSDP2).",
    )
    parser.add_argument("text", type=Path, help="UTF-8 text file to train on")
    run = CHAPTER5_RUN
    parser.add_argument("--steps", type=int, default=run.steps)
    parser.add_argument("--batch-size", type=int, default=run.batch_size, help="global batch")
    parser.add_argument("--context-len", type=int, default=run.context_len)
    parser.add_argument("--learning-rate", type=float, default=run.learning_rate)
    parser.add_argument("--min-learning-rate", type=float, default=run.min_learning_rate)
    parser.add_argument("--warmup-steps", type=int, default=run.warmup_steps)
    parser.add_argument("--eval-every", type=int, default=run.eval_every)
    parser.add_argument("--eval-windows", type=int, default=run.eval_windows)
    parser.add_argument("--seed", type=int, default=run.seed)
    for name, value in CHAPTER5_MODEL.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=value)
    parser.add_argument("--parallel", choices=PARALLEL_MODES, default="ddp")
    parser.add_argument(
        "--backend", choices=("auto", *BACKENDS), default="auto", help="auto: nccl on CUDA"
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument(
        "--out", type=Path, help="checkpoint to write (at the end and --save-every)"
    )
    parser.add_argument("--save-every", type=int, default=0, help="steps between checkpoints")
    parser.add_argument("--resume", type=Path, help="checkpoint whose run to continue")
    parser.add_argument(
        "--recipe",
        choices=tuple(RECIPES),
        help="chapter 8's recipe (model, optimizer, schedule) instead of chapter 5's run; "
        "flags given explicitly override it",
    )
    return parser


#: The flags a recipe sets, as (flag's dest, where the recipe keeps the value).
_RECIPE_FLAGS = {
    "steps": "training",
    "batch_size": "training",
    "context_len": "training",
    "learning_rate": "training",
    "min_learning_rate": "training",
    "warmup_steps": "training",
    "eval_every": "training",
    "eval_windows": "training",
    "d_model": "model",
    "n_layers": "model",
    "n_heads": "model",
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed command line; with ``--recipe`` the recipe's values are the defaults."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.recipe is not None:
        recipe = RECIPES[args.recipe](1)
        parser.set_defaults(
            **{dest: getattr(getattr(recipe, part), dest) for dest, part in _RECIPE_FLAGS.items()}
        )
        args = parser.parse_args(argv)
    return args


def _recipe(args: argparse.Namespace, vocab_size: int) -> Recipe:
    """``args.recipe`` for this vocabulary, with the shape and run the flags ask for."""
    options = RECIPES[args.recipe](vocab_size).options
    baseline = nanogpt_baseline(vocab_size, args.steps)
    shape = baseline.model.replace(
        d_model=args.d_model,
        n_layers=args.n_layers,
        n_heads=args.n_heads,
        max_seq_len=args.context_len,
    )
    recipe = with_options(dataclasses.replace(baseline, model=shape), *options)
    training = dataclasses.replace(
        recipe.training,
        **{dest: getattr(args, dest) for dest, part in _RECIPE_FLAGS.items() if part == "training"},
        seed=args.seed,
    )
    return dataclasses.replace(recipe, training=training)


def _progress(trainer: Trainer, rank: int) -> None:
    if rank != 0:
        return
    val = trainer.history.val_loss[-1] if trainer.history.val_loss else float("nan")
    print(
        f"step {trainer.step:>6}/{trainer.config.steps}  "
        f"train loss {trainer.history.train_loss[-1]:.4f}  val loss {val:.4f}",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (chapter 6)."""
    args = parse_args(argv)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        device = f"cuda:{local_rank}"
    backend = default_backend(device) if args.backend == "auto" else args.backend
    check_backend(backend, device)
    if distributed:
        if device.startswith("cuda"):
            torch.cuda.set_device(device)
        dist.init_process_group(backend)
    rank = dist.get_rank() if distributed else 0
    try:
        text = args.text.read_text(encoding="utf-8") if args.text.is_file() else ""
        if not text:
            raise ValueError(f"{args.text} is not a non-empty text file")
        if args.resume is not None:
            checkpoint = load_checkpoint(args.resume)
            tokenizer, model = checkpoint.tokenizer, checkpoint.model
            config = TrainingConfig.from_dict(checkpoint.trainer_state["config"])
        elif args.recipe is not None:  # chapter 8
            tokenizer = CharTokenizer.train(text)
            recipe = _recipe(args, tokenizer.vocab_size)
            config, shape = recipe.training, recipe.model
            torch.manual_seed(args.seed)  # the same initial weights on every rank
            model = DecoderLM(shape)
        else:
            tokenizer = CharTokenizer.train(text)
            config = TrainingConfig(
                steps=args.steps,
                batch_size=args.batch_size,
                context_len=args.context_len,
                learning_rate=args.learning_rate,
                min_learning_rate=args.min_learning_rate,
                warmup_steps=args.warmup_steps,
                eval_every=args.eval_every,
                eval_windows=args.eval_windows,
                seed=args.seed,
            )
            shape = ModelConfig(
                vocab_size=tokenizer.vocab_size,
                d_model=args.d_model,
                n_layers=args.n_layers,
                n_heads=args.n_heads,
                max_seq_len=args.context_len,
                tie_embeddings=True,
            )
            torch.manual_seed(args.seed)  # the same initial weights on every rank
            model = DecoderLM(shape)
        train_ids, val_ids = split_tokens(tokenizer.encode(text), validation_fraction=0.1)
        if distributed:
            trainer = DistributedTrainer(
                model, train_ids, val_ids, config, device, parallel=args.parallel
            )
            if args.resume is not None:
                trainer.load_state_dict(checkpoint.trainer_state)
        elif args.resume is not None:
            trainer = resume_trainer(checkpoint, train_ids, val_ids, device=device)
        else:
            trainer = Trainer(model, train_ids, val_ids, config, device)
        if rank == 0:
            world = dist.get_world_size() if distributed else 1
            mode = f"{args.parallel} on {world} ranks ({backend})" if distributed else "1 process"
            print(f"training {mode}, device {device}, from step {trainer.step}", flush=True)
        chunk = args.save_every if args.save_every > 0 else config.eval_every
        while trainer.step < config.steps:
            trainer.train(steps=min(chunk, config.steps - trainer.step), progress=False)
            _progress(trainer, rank)
            if args.out is not None and (trainer.step < config.steps and args.save_every > 0):
                _save(trainer, args.out, tokenizer, distributed)
        if args.out is not None:
            _save(trainer, args.out, tokenizer, distributed)
            if rank == 0:
                print(f"checkpoint: {args.out} (step {trainer.step})", flush=True)
    finally:
        if distributed:
            dist.destroy_process_group()
    return 0


def _save(trainer: Trainer, path: Path, tokenizer, distributed: bool) -> None:
    if distributed:
        trainer.save(path, tokenizer)
    else:
        save_checkpoint(path, trainer.model, tokenizer, trainer)


if __name__ == "__main__":
    sys.exit(main())
