"""The course's own small trained model, shipped with the package (chapters 0, 3 and 5).

A character-level :class:`~course_utils.model.DecoderLM` (Llama's pieces: RMSNorm, rotary
embeddings, SwiGLU) trained for a few minutes of CPU on chapter 4's cleaned corpus, exactly as
chapter 5 trains its model, only somewhat longer and wider. Chapter 0 plays with it before the
course has explained anything; chapter 3 looks inside its attention heads.

:func:`train_course_model` is the whole recipe; ``tools/train_course_model.py`` runs it and
writes the checkpoint (:data:`CHECKPOINT`, loaded with ``torch.load(..., weights_only=True)``)
and its provenance (:data:`PROVENANCE`: date, CPU, torch version, seed, settings, losses, wall
time, command). :func:`load_course_model` returns the model and its tokenizer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from course_utils.checkpoints import load_checkpoint
from course_utils.checks import instance_of, int_at_least, not_empty
from course_utils.config import ModelConfig
from course_utils.environment import set_seed
from course_utils.model import DecoderLM, next_token_loss
from course_utils.pipeline import training_text
from course_utils.tokenizer import CharTokenizer
from course_utils.training import (
    Trainer,
    TrainingConfig,
    TrainingHistory,
    evenly_spaced_windows,
    split_tokens,
)

DATA = Path(__file__).resolve().parent / "data"
CHECKPOINT = DATA / "course_model.pt"
PROVENANCE = DATA / "course_model.json"
VALIDATION_FRACTION = 0.1  # the last tenth of the stream is held out, as in chapter 5

#: The shipped model's shape: chapter 5's model, 1.5 times as wide, with twice its context.
MODEL_SETTINGS = {
    "d_model": 96,
    "n_layers": 4,
    "n_heads": 4,
    "max_seq_len": 128,
    "tie_embeddings": True,
}

#: How it was trained: chapter 5's recipe (AdamW, warm-up, cosine decay), for 2,000 steps.
TRAINING = TrainingConfig(
    steps=2000,
    batch_size=16,
    context_len=128,
    learning_rate=3e-3,
    min_learning_rate=3e-4,
    warmup_steps=100,
    eval_every=250,
    seed=0,
)


@dataclass(frozen=True)
class CourseData:
    """Chapter 4's cleaned text as character tokens, split as the course model saw it."""

    tokenizer: CharTokenizer
    train_tokens: torch.Tensor
    val_tokens: torch.Tensor


@lru_cache(maxsize=1)
def course_data() -> CourseData:
    """The course model's tokenizer and its training and held-out token streams."""
    text = training_text()
    tokenizer = CharTokenizer.train(text)
    train, val = split_tokens(tokenizer.encode(text), VALIDATION_FRACTION)
    return CourseData(tokenizer, train, val)


def course_model_config(vocab_size: int) -> ModelConfig:
    """The shipped model's :class:`ModelConfig` for a vocabulary of ``vocab_size`` characters."""
    return ModelConfig(vocab_size=vocab_size, **MODEL_SETTINGS)


def train_course_model(
    steps: int | None = None, progress: bool = True
) -> tuple[DecoderLM, CharTokenizer, TrainingHistory]:
    """Train the course model from scratch on the CPU; returns model, tokenizer and history.

    ``steps`` stops the run early (the schedule is still :data:`TRAINING`'s, so the first steps
    are those of the full run): a test reruns a few steps and compares them with the recorded
    ones. It runs on one thread, as the stored notebook outputs are made
    (:data:`~course_utils.environment.REPRODUCIBLE_ENV`), so that float sums add up in the same
    order on every machine.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        set_seed(TRAINING.seed)
        data = course_data()
        model = DecoderLM(course_model_config(data.tokenizer.vocab_size))
        trainer = Trainer(model, data.train_tokens, data.val_tokens, TRAINING, device="cpu")
        history = trainer.train(steps=steps, progress=progress)
    finally:
        torch.set_num_threads(threads)
    return model.eval(), data.tokenizer, history


def load_course_model(
    device: str | torch.device | None = "cpu", path: str | Path = CHECKPOINT
) -> tuple[DecoderLM, CharTokenizer]:
    """The shipped model (in eval mode) and its character tokenizer (chapters 0, 3 and 5).

    The checkpoint holds only tensors and JSON text and is read with ``weights_only=True``.
    """
    checkpoint = load_checkpoint(path, device=device)
    return checkpoint.model.eval(), checkpoint.tokenizer


def provenance() -> dict:
    """How the shipped checkpoint was made, as ``tools/train_course_model.py`` recorded it."""
    return json.loads(PROVENANCE.read_text(encoding="utf-8"))


@torch.no_grad()
def validation_loss(model: DecoderLM, val_tokens: torch.Tensor | None = None) -> float:
    """Mean next-token loss (nats) on the held-out windows the trainer evaluated on."""
    instance_of("model", model, DecoderLM)
    tokens = course_data().val_tokens if val_tokens is None else val_tokens
    windows = evenly_spaced_windows(tokens, TRAINING.eval_windows, TRAINING.context_len)
    was_training = model.training
    model.eval()
    device = model.output_weight.device
    losses = [
        next_token_loss(model, batch.to(device)).item() * len(batch)
        for batch in windows.split(TRAINING.batch_size)
    ]
    model.train(was_training)
    return sum(losses) / len(windows)


@torch.no_grad()
def attention_maps(model: DecoderLM, tokenizer, text: str) -> torch.Tensor:
    """Every head's attention weights on ``text``: (n_layers, n_heads, seq, seq) (chapter 3).

    Runs ``model`` on the text's tokens and, at each block, computes the softmax weights of its
    attention on exactly the input the block sees (its first norm of the residual stream).
    Row ``i`` of a map is how token ``i`` spreads its attention over tokens ``0..i``.
    """
    instance_of("model", model, DecoderLM)
    ids = tokenizer.encode(not_empty("text", instance_of("text", text, str)))
    if len(ids) > model.config.max_seq_len:
        raise ValueError(
            f"text is {len(ids)} tokens, more than the model's max_seq_len="
            f"{model.config.max_seq_len}"
        )
    idx = torch.tensor([ids], device=model.output_weight.device)
    x = model.token_embeddings(idx)
    if model.position_embeddings is not None:
        x = x + model.position_embeddings.weight[: idx.shape[1]]
    maps = []
    for block in model.blocks:
        maps.append(block.attention.attention_weights(block.norm1(x))[0])
        x = block(x)
    return torch.stack(maps).cpu()


def previous_token_share(weights: torch.Tensor, offset: int = 1) -> float:
    """Mean attention on the token ``offset`` places back, over the queries that have one.

    ``weights`` is one head's map (seq, seq); ``offset=0`` is attention on the token itself.
    """
    int_at_least("offset", offset, 0)
    if weights.ndim != 2 or weights.shape[0] != weights.shape[1] or weights.shape[0] <= offset:
        raise ValueError(f"weights must be a square (seq, seq) map longer than offset={offset}")
    return torch.diagonal(weights, offset=-offset).mean().item()


def first_token_share(weights: torch.Tensor) -> float:
    """Mean attention on the first token, over every query but the first (which has no choice)."""
    if weights.ndim != 2 or weights.shape[0] < 2:
        raise ValueError("weights must be a (seq, seq) map of at least two tokens")
    return weights[1:, 0].mean().item()


def attention_share(weights: torch.Tensor, chosen: torch.Tensor) -> float:
    """Mean attention on the ``chosen`` keys (a boolean (seq, seq) mask), over the queries
    that have a chosen key (chapter 3)."""
    if weights.shape != chosen.shape or weights.ndim != 2:
        raise ValueError("weights and chosen must be (seq, seq) maps of the same shape")
    rows = chosen.any(dim=-1)
    if not rows.any():
        raise ValueError("chosen marks no key at all")
    return (weights * chosen).sum(dim=-1)[rows].mean().item()


def attention_entropy(weights: torch.Tensor) -> float:
    """Mean entropy (nats) of the rows of one head's map: 0 when every query looks at one key."""
    return -(weights * weights.clamp_min(1e-12).log()).sum(dim=-1).mean().item()


def word_start_keys(text: str) -> torch.Tensor:
    """(seq, seq) mask: for each character, the last space or newline before it (chapter 3)."""
    chosen = torch.zeros(len(text), len(text), dtype=torch.bool)
    last = None
    for position, character in enumerate(text):
        if last is not None:
            chosen[position, last] = True
        if character in " \n":
            last = position
    return chosen


def plot_attention_map(weights: torch.Tensor, ax=None, blocked=None, labels=None, title=""):
    """One head's attention weights (seq, seq) as a heat map; ``blocked`` cells grey (chapter 3).

    A square-root colour scale shows small weights as well as large ones. ``labels`` names the
    tokens along both axes.
    """
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import PowerNorm

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.2))
    values = weights.detach().cpu().numpy()
    if blocked is not None:
        values = np.ma.masked_where(np.asarray(blocked), values)
    colormap = plt.get_cmap("viridis").with_extremes(bad="lightgrey")
    ax.imshow(values, cmap=colormap, norm=PowerNorm(gamma=0.5, vmin=0, vmax=1))
    if labels is not None:
        ax.set_xticks(range(len(labels)), labels, fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("key position j (attended to)")
    ax.set_ylabel("query position i (attending)")
    ax.set_title(title, fontsize=10)
    ax.grid(False)
    return ax


def plot_attention_heads(maps: torch.Tensor, tokens: list[str], heads, axes=None):
    """Heat maps of chosen heads of :func:`attention_maps`, ``heads`` (layer, head, title) triples.

    ``tokens`` labels rows and columns (chapter 3); blocked (future) cells are grey.
    """
    import matplotlib.pyplot as plt

    from course_utils.playground import token_label

    heads = list(heads)
    if axes is None:
        _, axes = plt.subplots(1, len(heads), figsize=(4.6 * len(heads), 4.6), layout="constrained")
    axes = list(axes) if hasattr(axes, "__len__") else [axes]
    labels = [token_label(token) for token in tokens]
    future = torch.ones(len(tokens), len(tokens), dtype=torch.bool).triu(1)
    for ax, (layer, head, title) in zip(axes, heads, strict=True):
        plot_attention_map(
            maps[layer, head], ax, future, labels, f"layer {layer}, head {head}: {title}"
        )
    return axes
