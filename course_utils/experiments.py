"""A mini isoFLOP study: train several model sizes at a few fixed compute budgets (chapter 5).

Hoffmann et al. (2022, section 3.2, "Approach 2") trained, for each of nine compute budgets,
a range of model sizes, each on exactly as many tokens as the budget buys (C = 6·N·D), and
read off the size with the lowest loss. :func:`run_isoflop_study` does the same at a scale a
laptop can afford, returning (N, D, loss) rows that chapter 2's
:func:`~course_utils.scaling_fit.fit_scaling_law` can fit; :func:`isoflop_minima` finds each
budget's best size with a parabola in log N, as Approach 2 does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from tqdm.auto import tqdm

from course_utils.compute import training_flops
from course_utils.config import ModelConfig, swiglu_hidden_dim
from course_utils.model import DecoderLM
from course_utils.parameters import estimate_parameters
from course_utils.training import Trainer, TrainingConfig

#: The width of each attention head in the study's models (d_model / n_heads).
HEAD_DIM = 16


def model_family(
    vocab_size: int, widths: Sequence[int], n_layers: int = 4, max_seq_len: int = 64
) -> list[ModelConfig]:
    """Llama-style models of growing width and one depth, for a scaling study (chapter 5).

    Heads are :data:`HEAD_DIM` wide; the SwiGLU width is Llama's 2/3 · 4·d, rounded up to a
    multiple of 16 rather than 256 (at these widths, rounding to 256 would triple the MLP of
    the smallest model and break the family's common shape). Embeddings are tied.
    """
    if not widths:
        raise ValueError("widths must list at least one d_model")
    configs = []
    for width in widths:
        if isinstance(width, bool) or not isinstance(width, int) or width % HEAD_DIM:
            raise ValueError(f"each width must be a multiple of {HEAD_DIM}, got {width!r}")
        configs.append(
            ModelConfig(
                vocab_size=vocab_size,
                d_model=width,
                n_layers=n_layers,
                n_heads=width // HEAD_DIM,
                d_ff=swiglu_hidden_dim(width, multiple_of=16),
                max_seq_len=max_seq_len,
                tie_embeddings=True,
            )
        )
    return configs


@dataclass(frozen=True)
class PlannedRun:
    """One model size at one budget: how many steps spend the budget."""

    budget: float  # FLOPs, C = 6·N·D
    config: ModelConfig
    steps: int
    tokens_per_step: int

    @property
    def n_params(self) -> int:
        return estimate_parameters(self.config)

    @property
    def tokens(self) -> int:
        return self.steps * self.tokens_per_step

    @property
    def flops(self) -> float:
        """6·N·D of the run as planned (within one step's worth of the budget)."""
        return training_flops(self.n_params, self.tokens)


def plan_isoflop_runs(
    configs: Sequence[ModelConfig],
    budgets: Sequence[float],
    training: TrainingConfig,
    min_steps: int = 20,
    tokens_per_parameter: tuple[float, float] | None = None,
) -> list[PlannedRun]:
    """Every (budget, model) pair, with steps = C / (6·N·tokens per step), rounded (chapter 5).

    A model that would get fewer than ``min_steps`` steps at a budget is left out of it: with
    so few updates its loss says more about the warm-up than about its size. With
    ``tokens_per_parameter=(low, high)``, so is a pair whose D/N falls outside that range (far
    from any plausible optimum, and, for small models, slow to run).
    """
    if not configs or not budgets:
        raise ValueError("configs and budgets must not be empty")
    low, high = (0.0, math.inf) if tokens_per_parameter is None else tokens_per_parameter
    if not 0 <= low < high:
        raise ValueError(
            f"tokens_per_parameter must be (low, high) with 0 <= low < high, got "
            f"{tokens_per_parameter!r}"
        )
    plans = []
    for budget in sorted(budgets):
        if not budget > 0:
            raise ValueError(f"budgets must be positive, got {budget!r}")
        for config in configs:
            n_params = estimate_parameters(config)
            steps = round(budget / training_flops(n_params, training.tokens_per_step))
            plan = PlannedRun(budget, config, steps, training.tokens_per_step)
            if steps >= min_steps and low <= plan.tokens / n_params <= high:
                plans.append(plan)
    return plans


@dataclass(frozen=True)
class IsoFlopRun:
    """The outcome of one planned run: its final validation loss (nats per token)."""

    plan: PlannedRun
    loss: float
    seconds: float

    @property
    def budget(self) -> float:
        return self.plan.budget

    @property
    def n_params(self) -> int:
        return self.plan.n_params

    @property
    def tokens(self) -> int:
        return self.plan.tokens


def run_isoflop_study(
    plans: Sequence[PlannedRun],
    train_tokens,
    val_tokens,
    training: TrainingConfig,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> list[IsoFlopRun]:
    """Train every planned run from scratch and measure its final validation loss (chapter 5).

    Each run gets ``training``'s settings with its own number of steps, a warm-up of a tenth of
    them (at most ``training.warmup_steps``) and a cosine schedule that ends with the run, and
    the same seed, so the models differ only in size and tokens. One progress bar counts runs.
    """
    if not plans:
        raise ValueError("plans must not be empty: see plan_isoflop_runs")
    runs = []
    for plan in tqdm(plans, desc="isoFLOP runs", unit="run", disable=not progress):
        settings = replace(
            training,
            steps=plan.steps,
            warmup_steps=min(training.warmup_steps, max(1, plan.steps // 10)),
            eval_every=plan.steps,
        )
        torch.manual_seed(settings.seed)  # the same initial weights for every size's seed
        trainer = Trainer(DecoderLM(plan.config), train_tokens, val_tokens, settings, device)
        history = trainer.train(progress=False)
        runs.append(IsoFlopRun(plan, history.final_val_loss, history.seconds))
    return runs


def measurements(runs: Sequence[IsoFlopRun]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, D, loss) arrays, the input of :func:`~course_utils.scaling_fit.fit_scaling_law`."""
    if not runs:
        raise ValueError("runs must not be empty")
    return (
        np.array([run.n_params for run in runs], dtype=float),
        np.array([run.tokens for run in runs], dtype=float),
        np.array([run.loss for run in runs], dtype=float),
    )


@dataclass(frozen=True)
class IsoFlopMinimum:
    """Approach 2's answer for one budget: the best size on its isoFLOP profile."""

    budget: float
    n_params: float
    tokens: float
    loss: float
    bracketed: bool  # True when the parabola's minimum lies inside the sizes that were run

    @property
    def tokens_per_parameter(self) -> float:
        return self.tokens / self.n_params


def isoflop_minima(runs: Sequence[IsoFlopRun]) -> list[IsoFlopMinimum]:
    """For each budget, fit loss = a·(log N)² + b·log N + c and take its minimum (chapter 5).

    Hoffmann et al. (2022, section 3.2) fit a parabola to each isoFLOP profile. A budget needs
    three sizes; if the parabola opens downwards or its minimum falls outside the sizes run,
    the best measured run stands in and ``bracketed`` is False: the study did not bracket the
    optimum there, and a wider range of sizes is needed to locate it.
    """
    minima = []
    for budget in sorted({run.budget for run in runs}):
        profile = sorted((run for run in runs if run.budget == budget), key=lambda r: r.n_params)
        if len(profile) < 3:
            continue
        log_n = np.log([run.n_params for run in profile])
        losses = np.array([run.loss for run in profile])
        a, b, c = np.polyfit(log_n, losses, 2)
        vertex = -b / (2 * a) if a > 0 else math.nan
        if a > 0 and log_n[0] <= vertex <= log_n[-1]:
            n_opt, loss, bracketed = math.exp(vertex), a * vertex**2 + b * vertex + c, True
        else:
            best = int(np.argmin(losses))
            n_opt, loss, bracketed = float(profile[best].n_params), float(losses[best]), False
        tokens = budget / training_flops(n_opt, 1.0)
        minima.append(IsoFlopMinimum(budget, n_opt, tokens, float(loss), bracketed))
    return minima


def runs_table(runs: Sequence[IsoFlopRun]) -> str:
    """The runs as a table: budget, width, N, D, D/N, steps, loss (chapter 5)."""
    header = (
        f"{'budget C':>10} {'d_model':>8} {'N':>9} {'D':>11} {'D/N':>7} {'steps':>6} {'loss':>7}"
    )
    lines = [header, "-" * len(header)]
    for run in runs:
        lines.append(
            f"{run.budget:>10.2g} {run.plan.config.d_model:>8} {run.n_params:>9,} "
            f"{run.tokens:>11,} {run.tokens / run.n_params:>7.1f} {run.plan.steps:>6} "
            f"{run.loss:>7.3f}"
        )
    return "\n".join(lines)
