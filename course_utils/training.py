"""Training a language model: AdamW, warm-up and cosine decay, clipping, evaluation (chapter 5).

:class:`Trainer` trains chapter 3's :class:`~course_utils.model.DecoderLM` on a stream of token
ids (from chapter 4's text and a tokenizer): it samples random windows of the training tokens,
minimises :func:`~course_utils.model.next_token_loss` with AdamW, sets the learning rate from
:func:`learning_rate_at` every step, clips the gradient norm, and measures the loss on fixed
windows of held-out tokens every ``eval_every`` steps. Its whole state (model, optimizer, data
sampler, step, history) goes into a checkpoint (:mod:`course_utils.checkpoints`), and a run
resumed from one continues exactly as if it had never stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from course_utils.checks import (
    choice,
    instance_of,
    int_at_least,
    number_at_least,
    number_in_range,
    positive_int,
    positive_number,
)
from course_utils.environment import resolve_device
from course_utils.model import DecoderLM, next_token_loss
from course_utils.moe import auxiliary_losses, expert_load
from course_utils.muon import Muon, MuonWithAdamW, muon_parameter_groups

#: Learning-rate schedules of :func:`learning_rate_at` (chapter 5: cosine; chapter 8: wsd).
SCHEDULES = ("cosine", "wsd")
#: Optimizers of the :class:`Trainer` (chapter 5: AdamW; chapter 8: Muon with AdamW).
OPTIMIZERS = ("adamw", "muon")


@dataclass(frozen=True)
class TrainingConfig:
    """The settings of one training run (chapter 5).

    The optimiser settings follow Llama 2 (Touvron et al. 2023, section 2.2): AdamW with
    beta1 = 0.9, beta2 = 0.95, weight decay 0.1, gradient clipping at norm 1.0, a linear
    warm-up and a cosine decay to 10% of the peak learning rate. The warm-up is shorter and
    the peak rate higher than theirs (3e-4), as small models tolerate (and need, to learn in
    a few hundred steps).

    Chapter 8's recipe options, off by default: ``schedule="wsd"`` (warm-up, stable, then a
    linear decay over the last ``decay_fraction`` of the steps: :func:`learning_rate_at`);
    ``optimizer="muon"`` (:class:`~course_utils.muon.Muon` for the blocks' matrices at
    ``muon_learning_rate``, momentum ``muon_momentum``, ``newton_schulz_steps`` iterations, and
    AdamW as above for embeddings, head, gains and biases; both follow the schedule); and
    ``grad_clip=None`` (no clipping).
    """

    steps: int = 1000
    batch_size: int = 16
    context_len: int = 64
    learning_rate: float = 3e-3  # peak, reached at the end of the warm-up
    min_learning_rate: float = 3e-4  # at the last step: 10% of the peak, as in Llama 2
    warmup_steps: int = 50
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float | None = 1.0  # None: no clipping
    eval_every: int = 100
    eval_windows: int = 64  # held-out windows of context_len + 1 tokens, the same every time
    seed: int = 0
    # Mixture of experts only (chapter 7): weights of the load-balancing loss (Fedus et al.
    # 2022, section 2.2: alpha = 1e-2) and of the router z-loss (Zoph et al. 2022, section 3.1:
    # 1e-3; off by default).
    aux_loss_weight: float = 0.01
    z_loss_weight: float = 0.0
    # Training recipes (chapter 8); the defaults are chapter 5's run.
    schedule: str = "cosine"  # or "wsd": warm-up, stable, linear decay (learning_rate_at)
    decay_fraction: float = 0.2  # "wsd" only: the last 20% of the steps decay
    optimizer: str = "adamw"  # or "muon": Muon for the hidden matrices, AdamW for the rest
    muon_learning_rate: float = 0.02
    muon_momentum: float = 0.95
    newton_schulz_steps: int = 5
    muon_weight_decay: float = 0.0

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "context_len", "eval_every", "eval_windows"):
            positive_int(name, getattr(self, name))
        for name in ("warmup_steps", "seed"):
            int_at_least(name, getattr(self, name), 0)
        positive_number("learning_rate", self.learning_rate)
        if self.grad_clip is not None:  # None: no clipping
            positive_number("grad_clip", self.grad_clip)
        for name in ("min_learning_rate", "weight_decay", "aux_loss_weight", "z_loss_weight"):
            number_at_least(name, getattr(self, name), 0)
        choice("schedule", self.schedule, SCHEDULES)
        number_in_range("decay_fraction", self.decay_fraction, 0, 1, include_low=False)
        choice("optimizer", self.optimizer, OPTIMIZERS)
        positive_number("muon_learning_rate", self.muon_learning_rate)
        number_in_range("muon_momentum", self.muon_momentum, 0, 1, include_high=False)
        positive_int("newton_schulz_steps", self.newton_schulz_steps)
        number_at_least("muon_weight_decay", self.muon_weight_decay, 0)
        if self.min_learning_rate > self.learning_rate:
            raise ValueError(
                f"min_learning_rate ({self.min_learning_rate}) must not exceed "
                f"learning_rate ({self.learning_rate})"
            )
        for name in ("beta1", "beta2"):
            number_in_range(name, getattr(self, name), 0, 1, include_high=False)

    @property
    def tokens_per_step(self) -> int:
        """Tokens the model predicts per step: ``batch_size · context_len``."""
        return self.batch_size * self.context_len

    @property
    def tokens(self) -> int:
        """Tokens seen by the whole run, D = steps · batch_size · context_len (chapter 5)."""
        return self.steps * self.tokens_per_step

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainingConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown TrainingConfig fields: {sorted(unknown)}")
        return cls(**values)


def learning_rate_at(step: int, config: TrainingConfig) -> float:
    """The learning rate for (0-based) ``step``: linear warm-up, then cosine decay (chapter 5).

    During the first ``warmup_steps`` steps the rate climbs linearly to ``learning_rate``
    (step 0 uses 1/warmup_steps of it); it then follows half a cosine from ``learning_rate``
    down to ``min_learning_rate``, reached at the last step, ``steps - 1``. The cosine spans
    the run's own length: Hoffmann et al. (2022, section 3 and Figure A1) found that a
    schedule longer than the run, as in Kaplan et al. (2020), overstates the loss of short runs.
    With ``config.schedule == "wsd"`` (chapter 8) the rate after the warm-up stays at its peak
    and decays linearly at the end instead (:func:`_wsd_learning_rate`).
    """
    instance_of("config", config, TrainingConfig)
    if int_at_least("step", step, 0) >= config.steps:
        raise ValueError(f"step must be below config.steps={config.steps}, got {step}")
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    if config.schedule == "wsd":
        return _wsd_learning_rate(step, config)
    decay_steps = config.steps - 1 - config.warmup_steps
    progress = 1.0 if decay_steps <= 0 else (step - config.warmup_steps) / decay_steps
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    return config.min_learning_rate + (config.learning_rate - config.min_learning_rate) * cosine


def _wsd_learning_rate(step: int, config: TrainingConfig) -> float:
    """Warm-up–stable–decay after the warm-up: constant, then linear to the minimum (chapter 8).

    The last ``round(decay_fraction · steps)`` steps (at least one) fall linearly from
    ``learning_rate`` towards ``min_learning_rate``, reached at the last step; before them the
    rate stays at its peak. Hägele et al. (2024, "Scaling Laws and Compute-Optimal Training
    Beyond Fixed Training Durations", section 3) find that a linear cool-down over 20% of the
    steps matches a cosine schedule of the run's length; MiniCPM (Hu et al. 2024)
    introduced the name, and modded-nanogpt's speedruns decay linearly the same way.
    """
    decay_steps = max(1, round(config.decay_fraction * config.steps))
    decay_start = config.steps - decay_steps  # the first step below the peak
    if step < decay_start:
        return config.learning_rate
    progress = (step - decay_start + 1) / decay_steps  # 1 at the last step
    return config.learning_rate + (config.min_learning_rate - config.learning_rate) * progress


def bits_per_character(loss: float, tokens_per_character: float = 1.0) -> float:
    """Convert a loss in nats per token to bits per character (chapter 5).

    Divide by ln 2 (nats to bits) and multiply by tokens per character: 1 for a character
    tokenizer; for BPE, tokens divided by characters (or by UTF-8 bytes, to get bits per byte,
    the unit that compares models across tokenizers).
    """
    loss = number_at_least("loss", loss, 0)
    return loss / math.log(2) * positive_number("tokens_per_character", tokens_per_character)


def unigram_loss(
    train_tokens: Sequence[int] | torch.Tensor,
    val_tokens: Sequence[int] | torch.Tensor,
    vocab_size: int,
) -> float:
    """Loss (nats per token) on ``val_tokens`` of always predicting the training frequencies.

    The baseline a language model must beat to show it learned more than which tokens are
    common: the cross-entropy of the unigram distribution of ``train_tokens`` (add-one
    smoothed, so no token has probability 0) on the held-out tokens (chapter 5).
    """
    train, val = token_tensor(train_tokens), token_tensor(val_tokens)
    positive_int("vocab_size", vocab_size)
    if (
        max(int(train.max()), int(val.max())) >= vocab_size
        or min(int(train.min()), int(val.min())) < 0
    ):
        raise ValueError(f"token ids must lie in 0..{vocab_size - 1}")
    counts = torch.bincount(train, minlength=vocab_size).double() + 1
    log_probabilities = counts.log() - counts.sum().log()
    return float(-log_probabilities[val].mean())


# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------


def token_tensor(ids: Sequence[int] | torch.Tensor) -> torch.Tensor:
    """A 1-D int64 tensor of token ids, checked to be non-empty."""
    tokens = torch.as_tensor(ids, dtype=torch.int64)
    if tokens.ndim != 1 or tokens.numel() == 0:
        raise ValueError(
            f"tokens must be a non-empty 1-D sequence of ids, got {tuple(tokens.shape)}"
        )
    return tokens


def tokens_from_file(path: str | Path, tokenizer) -> torch.Tensor:
    """The token ids of a UTF-8 text file, encoded with ``tokenizer`` (chapter 5).

    Any course tokenizer works (``CharTokenizer``, chapter 4's ``BPETokenizer``); an empty file
    is a ``ValueError``, as there is nothing to train on.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no text file at {path}")
    text = path.read_text(encoding="utf-8")
    if not text:
        raise ValueError(f"{path} is empty: there is nothing to train on")
    return token_tensor(tokenizer.encode(text))


def split_tokens(
    ids: Sequence[int] | torch.Tensor, validation_fraction: float = 0.1
) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, validation): the last ``validation_fraction`` of the stream is held out.

    A contiguous split, so no training window overlaps a validation window.
    """
    tokens = token_tensor(ids)
    number_in_range(
        "validation_fraction", validation_fraction, 0, 1, include_low=False, include_high=False
    )
    cut = round(tokens.numel() * (1 - validation_fraction))
    return tokens[:cut], tokens[cut:]


def sample_windows(
    tokens: torch.Tensor, batch_size: int, context_len: int, generator: torch.Generator
) -> torch.Tensor:
    """``batch_size`` random windows of ``context_len + 1`` consecutive tokens, (batch, ctx+1).

    The model reads the first ``context_len`` tokens of a window and predicts the last
    ``context_len`` (each token from the ones before it).
    """
    starts = torch.randint(0, tokens.numel() - context_len, (batch_size,), generator=generator)
    return torch.stack([tokens[start : start + context_len + 1] for start in starts.tolist()])


def evenly_spaced_windows(tokens: torch.Tensor, n_windows: int, context_len: int) -> torch.Tensor:
    """``n_windows`` windows of ``context_len + 1`` tokens spread evenly over ``tokens``."""
    last_start = tokens.numel() - context_len - 1
    starts = torch.linspace(0, last_start, n_windows).round().long()
    return torch.stack([tokens[start : start + context_len + 1] for start in starts.tolist()])


# ---------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------


@dataclass
class TrainingHistory:
    """What a run measured, for plotting (chapter 5). Losses are in nats per token.

    ``train_loss[i]`` and ``learning_rate[i]`` belong to step ``i``; validation losses are
    measured at ``eval_steps`` (after that many steps: 0 is the untrained model).
    """

    train_loss: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0  # time spent training, evaluations included
    # Mixture of experts (chapter 7): at each evaluation, tokens per expert on the held-out
    # windows, one list per MoE layer; and each step's load-balancing loss.
    expert_load: list[list[list[int]]] = field(default_factory=list)
    aux_loss: list[float] = field(default_factory=list)

    @property
    def final_val_loss(self) -> float:
        if not self.val_loss:
            raise ValueError("no validation loss measured yet")
        return self.val_loss[-1]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainingHistory:
        return cls(**values)


def decay_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW parameter groups: weight decay on matrices only, not on norm weights or biases.

    The usual practice (e.g. GPT-2's and nanoGPT's training code): decay pulls weights towards
    zero, which is right for a matrix but would fight a norm's gain, whose neutral value is 1.
    Embeddings are matrices and decay with the rest.
    """
    return _decay_groups(list(model.parameters()), weight_decay)


def _decay_groups(parameters: list[torch.nn.Parameter], weight_decay: float) -> list[dict]:
    matrices = [p for p in parameters if p.requires_grad and p.ndim >= 2]
    vectors = [p for p in parameters if p.requires_grad and p.ndim < 2]
    return [
        {"params": matrices, "weight_decay": weight_decay},
        {"params": vectors, "weight_decay": 0.0},
    ]


def _optimizer(model: DecoderLM, config: TrainingConfig) -> torch.optim.Optimizer | MuonWithAdamW:
    """AdamW over :func:`decay_groups`, or (``optimizer="muon"``) Muon beside AdamW (chapter 8)."""
    learning_rate = learning_rate_at(0, config)
    betas = (config.beta1, config.beta2)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(
            decay_groups(model, config.weight_decay), lr=learning_rate, betas=betas
        )
    matrices, others = muon_parameter_groups(model)
    muon = Muon(
        matrices,
        lr=config.muon_learning_rate * learning_rate / config.learning_rate,
        momentum=config.muon_momentum,
        ns_steps=config.newton_schulz_steps,
        weight_decay=config.muon_weight_decay,
    )
    adamw = torch.optim.AdamW(
        _decay_groups(others, config.weight_decay), lr=learning_rate, betas=betas
    )
    return MuonWithAdamW(muon, adamw)


class Trainer:
    """Trains a :class:`DecoderLM` on token streams; ``train()`` runs it (chapter 5).

    What it needs of ``model``: a :class:`DecoderLM`, whose ``config.max_seq_len`` and
    ``config.vocab_size`` bound the windows and token ids, whose parameters AdamW updates
    (matrices with weight decay, vectors without: :func:`decay_groups`) and whose
    ``model(idx)`` gives the logits :func:`next_token_loss` scores.

    ``train_tokens`` and ``val_tokens`` are 1-D token ids (see :func:`split_tokens`). The model
    is moved to ``device`` (``None``: CUDA or MPS when present, else the CPU). Everything is
    checked before any work starts: a bad setting is a ``ValueError``, not a crash after ten
    minutes. The data sampler has its own generator seeded by ``config.seed``, so a run repeats
    exactly (on the CPU) and its state can be checkpointed.
    """

    def __init__(
        self,
        model: DecoderLM,
        train_tokens: Sequence[int] | torch.Tensor,
        val_tokens: Sequence[int] | torch.Tensor,
        config: TrainingConfig | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        config = TrainingConfig() if config is None else config
        instance_of("model", model, DecoderLM)
        instance_of("config", config, TrainingConfig)
        if config.context_len > model.config.max_seq_len:
            raise ValueError(
                f"context_len={config.context_len} is longer than the model's "
                f"max_seq_len={model.config.max_seq_len}"
            )
        train_tokens, val_tokens = token_tensor(train_tokens), token_tensor(val_tokens)
        for name, tokens in (("train_tokens", train_tokens), ("val_tokens", val_tokens)):
            if tokens.numel() < config.context_len + 2:
                raise ValueError(
                    f"{name} has {tokens.numel()} tokens, too few for windows of "
                    f"context_len + 1 = {config.context_len + 1} (need at least "
                    f"{config.context_len + 2})"
                )
            if int(tokens.min()) < 0 or int(tokens.max()) >= model.config.vocab_size:
                raise ValueError(
                    f"{name} holds ids outside 0..{model.config.vocab_size - 1}, the model's "
                    "vocabulary: build the model with the tokenizer's vocab_size"
                )
        self.config = config
        self.device = resolve_device(device)
        self.model = model.to(self.device)
        self.train_tokens = train_tokens
        self.val_windows = evenly_spaced_windows(
            val_tokens, config.eval_windows, config.context_len
        )
        self.optimizer = _optimizer(model, config)
        self.sampler = torch.Generator().manual_seed(config.seed)  # on the CPU everywhere
        self.step = 0
        self.history = TrainingHistory()
        self._last_expert_load: list[list[int]] | None = None

    @property
    def decoder(self) -> DecoderLM:
        """The :class:`DecoderLM` being trained, inside any wrapper (DDP's ``module``)."""
        return getattr(self.model, "module", self.model)

    @property
    def tokens_seen(self) -> int:
        """Training tokens read so far: ``step · batch_size · context_len``."""
        return self.step * self.config.tokens_per_step

    @torch.no_grad()
    def evaluate(self) -> float:
        """Mean next-token loss on the held-out windows, in nats per token."""
        was_training = self.model.training
        self.model.eval()
        total = 0.0
        batch = self.config.batch_size
        load = None
        for start in range(0, len(self.val_windows), batch):
            windows = self.val_windows[start : start + batch].to(self.device)
            total += next_token_loss(self.model, windows).item() * len(windows)
            if self.decoder.config.is_moe:
                counts = expert_load(self.decoder)
                load = counts if load is None else load + counts
        self.model.train(was_training)
        self._last_expert_load = None if load is None else load.tolist()
        return total / len(self.val_windows)

    def _record_evaluation(self) -> None:
        if not self.history.eval_steps or self.history.eval_steps[-1] != self.step:
            self.history.eval_steps.append(self.step)
            self.history.val_loss.append(self.evaluate())
            if self._last_expert_load is not None:
                self.history.expert_load.append(self._last_expert_load)

    def sample_batch(self) -> torch.Tensor:
        """The next batch of training windows this process computes: all ``batch_size`` of them.

        A data-parallel run (chapter 6) draws the same batch on every rank and keeps its slice.
        """
        return sample_windows(
            self.train_tokens, self.config.batch_size, self.config.context_len, self.sampler
        )

    def reduce_loss(self, loss: torch.Tensor) -> float:
        """The step's loss as the history records it (chapter 6 averages it over the ranks)."""
        return loss.item()

    def train_step(self) -> float:
        """One optimiser step on a fresh random batch; returns its training loss."""
        learning_rate = learning_rate_at(self.step, self.config)
        if isinstance(self.optimizer, MuonWithAdamW):  # chapter 8: Muon follows the schedule
            muon_rate = self.config.muon_learning_rate * learning_rate / self.config.learning_rate
            for group in self.optimizer.muon.param_groups:
                group["lr"] = muon_rate
            for group in self.optimizer.adamw.param_groups:
                group["lr"] = learning_rate
        else:
            for group in self.optimizer.param_groups:
                group["lr"] = learning_rate
        windows = self.sample_batch().to(self.device)
        loss = next_token_loss(self.model, windows)
        objective = loss
        if self.decoder.config.is_moe:  # chapter 7: keep the experts' load balanced
            balance, z = auxiliary_losses(self.decoder)
            objective = loss + self.config.aux_loss_weight * balance
            if self.config.z_loss_weight:
                objective = objective + self.config.z_loss_weight * z
            self.history.aux_loss.append(balance.item())
        objective.backward()
        if self.config.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        value = self.reduce_loss(loss)
        self.history.train_loss.append(value)
        self.history.learning_rate.append(learning_rate)
        return value

    def train(self, steps: int | None = None, progress: bool = True) -> TrainingHistory:
        """Train until ``config.steps`` (or for ``steps`` more, at most that); return the history.

        Evaluates before the first step, every ``eval_every`` steps and after the last step.
        ``progress`` shows a tqdm bar (a widget in Jupyter, text in a terminal).
        """
        remaining = self.config.steps - self.step
        if steps is not None:
            remaining = min(positive_int("steps", steps), remaining)
        self.model.train()
        began = time.perf_counter()
        with tqdm(
            total=self.config.steps,
            initial=self.step,
            disable=not progress,
            desc="training",
            unit="step",
        ) as bar:
            if self.step == 0:
                self._record_evaluation()
            for _ in range(remaining):
                loss = self.train_step()
                if self.step % self.config.eval_every == 0 or self.step == self.config.steps:
                    self._record_evaluation()
                    bar.set_postfix(loss=f"{loss:.3f}", val=f"{self.history.val_loss[-1]:.3f}")
                bar.update(1)
        self.history.seconds += time.perf_counter() - began
        return self.history

    # -- checkpointing ----------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: optimizer, sampler and RNG states, step, history.

        Only tensors, numbers, strings, lists and dicts, so ``torch.load(weights_only=True)``
        can read it back. (The model's weights are saved separately by the checkpoint.)
        """
        return {
            "config": self.config.to_dict(),
            "step": self.step,
            "optimizer": self.optimizer.state_dict(),
            "sampler": self.sampler.get_state(),
            "torch_rng": torch.get_rng_state(),
            "history": self.history.to_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved; the config must be the same."""
        saved = TrainingConfig.from_dict(state["config"])
        if saved != self.config:
            raise ValueError(f"the checkpoint was trained with {saved}, not {self.config}")
        self.optimizer.load_state_dict(state["optimizer"])
        self.sampler.set_state(state["sampler"])
        torch.set_rng_state(state["torch_rng"])
        self.step = int(state["step"])
        self.history = TrainingHistory.from_dict(state["history"])
