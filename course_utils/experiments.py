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
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace

import numpy as np
import torch
from tqdm.auto import tqdm

from course_utils.checks import positive_int
from course_utils.compute import training_flops
from course_utils.config import ModelConfig, swiglu_hidden_dim
from course_utils.environment import resolve_device
from course_utils.model import DecoderLM
from course_utils.parameters import estimate_parameters, non_embedding_parameters
from course_utils.scaling import HOFFMANN_TABLE_2
from course_utils.scaling_fit import fit_scaling_law, refit_scaling_law
from course_utils.training import Trainer, TrainingConfig, token_tensor

#: The width of each attention head in the study's models (d_model / n_heads): narrow, so
#: that widths can step by 4 (8, 12, 16, 20, …) and the family reaches down to models of a few
#: thousand parameters, where a small budget's optimum lies.
HEAD_DIM = 4


def model_family(
    vocab_size: int, widths: Sequence[int], n_layers: int = 2, max_seq_len: int = 64
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
        """Every parameter, embeddings included (Hoffmann et al.'s N)."""
        return estimate_parameters(self.config)

    @property
    def non_embedding_params(self) -> int:
        """Every parameter but the embeddings (Kaplan et al.'s N)."""
        return non_embedding_parameters(self.config)

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
    def non_embedding_params(self) -> int:
        return self.plan.non_embedding_params

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
    workers: int | None = None,
) -> list[IsoFlopRun]:
    """Train every planned run from scratch and measure its final validation loss (chapter 5).

    Each run gets ``training``'s settings with its own number of steps, a warm-up of at most
    ``training.warmup_steps`` (a tenth of a shorter run) and a cosine schedule that ends with
    the run, and the same seed, so the models differ only in size and tokens. The runs are
    independent, so on the CPU they are shared out between ``workers`` processes (default: 2,
    or 1 on a one-core machine), longest first; each run computes exactly what it would in
    this process. On a GPU they run here, one after another. One progress bar counts runs.
    """
    if not plans:
        raise ValueError("plans must not be empty: see plan_isoflop_runs")
    device = resolve_device(device)
    if workers is None:
        workers = 1 if device.type != "cpu" else min(2, os.cpu_count() or 1)
    workers = positive_int("workers", workers)
    train_tokens, val_tokens = token_tensor(train_tokens), token_tensor(val_tokens)
    jobs = [(plan, train_tokens, val_tokens, training, str(device)) for plan in plans]
    bar = tqdm(total=len(plans), desc="isoFLOP runs", unit="run", disable=not progress)
    with bar:
        if workers == 1:
            results = []
            for job in jobs:
                results.append(_train_planned_run(*job))
                bar.update(1)
            return results
        threads = max(1, torch.get_num_threads() // workers)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=torch.set_num_threads, initargs=(threads,)
        ) as pool:
            longest_first = sorted(range(len(jobs)), key=lambda i: -plans[i].steps)
            futures = {pool.submit(_train_planned_run, *jobs[i]): i for i in longest_first}
            results = [None] * len(jobs)
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                bar.update(1)
    return results


def _train_planned_run(
    plan: PlannedRun, train_tokens, val_tokens, training: TrainingConfig, device: str
) -> IsoFlopRun:
    """One run of :func:`run_isoflop_study`, in whichever process runs it."""
    settings = replace(
        training,
        steps=plan.steps,
        warmup_steps=min(training.warmup_steps, max(1, plan.steps // 10)),
        eval_every=plan.steps,
    )
    torch.manual_seed(settings.seed)  # the same initial weights for every size's seed
    trainer = Trainer(DecoderLM(plan.config), train_tokens, val_tokens, settings, device)
    history = trainer.train(progress=False)
    return IsoFlopRun(plan, history.final_val_loss, history.seconds)


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
    n_params: float  # every parameter (Hoffmann et al.'s count)
    non_embedding_params: float  # the same model counted without its embeddings (Kaplan's)
    tokens: float
    loss: float
    bracketed: bool  # True when the parabola's minimum lies strictly inside the sizes run

    @property
    def tokens_per_parameter(self) -> float:
        """D/N counting every parameter."""
        return self.tokens / self.n_params

    @property
    def tokens_per_non_embedding_parameter(self) -> float:
        """D/N counting the parameters without the embeddings."""
        return self.tokens / self.non_embedding_params


def isoflop_minima(runs: Sequence[IsoFlopRun]) -> list[IsoFlopMinimum]:
    """For each budget, fit loss = a·(log N)² + b·log N + c and take its minimum (chapter 5).

    Hoffmann et al. (2022, section 3.2) fit a parabola to each isoFLOP profile. A budget needs
    three sizes; if the parabola opens downwards or its minimum does not fall strictly between
    the smallest and the largest size run, the best measured run stands in and ``bracketed``
    is False: the study did not bracket the optimum there, and a wider range of sizes is
    needed to locate it. The best size is also given without its embeddings, read off the
    runs' two counts by interpolation in log-log.
    """
    minima = []
    for budget in sorted({run.budget for run in runs}):
        profile = sorted((run for run in runs if run.budget == budget), key=lambda r: r.n_params)
        log_n = np.log([run.n_params for run in profile])
        if np.unique(log_n).size < 3:
            continue
        losses = np.array([run.loss for run in profile])
        a, b, c = np.polyfit(log_n, losses, 2)
        vertex = -b / (2 * a) if a > 0 else math.nan
        if a > 0 and log_n[0] < vertex < log_n[-1]:
            log_opt, loss, bracketed = vertex, a * vertex**2 + b * vertex + c, True
            n_opt = math.exp(vertex)
        else:
            best = int(np.argmin(losses))
            log_opt, loss, bracketed = log_n[best], float(losses[best]), False
            n_opt = float(profile[best].n_params)
        log_non_embedding = np.log([run.non_embedding_params for run in profile])
        minima.append(
            IsoFlopMinimum(
                budget,
                n_opt,
                math.exp(np.interp(log_opt, log_n, log_non_embedding)),
                budget / training_flops(n_opt, 1.0),
                float(loss),
                bracketed,
            )
        )
    return minima


def compute_exponents(minima: Sequence[IsoFlopMinimum]) -> tuple[float, float]:
    """Approach 2's a and b: slopes of log N_opt and log D_opt against log C (chapter 5).

    N_opt ∝ C^a and D_opt ∝ C^b; with C = 6·N·D exactly, a + b = 1.
    """
    if len(minima) < 2:
        raise ValueError(f"minima must hold at least two budgets, got {len(minima)}")
    log_c = np.log([m.budget for m in minima])
    a = float(np.polyfit(log_c, np.log([m.n_params for m in minima]), 1)[0])
    b = float(np.polyfit(log_c, np.log([m.tokens for m in minima]), 1)[0])
    return a, b


@dataclass(frozen=True)
class StudyFit:
    """What a study's runs say, each quantity as a fit to all runs and a bootstrap interval.

    ``estimates`` maps a quantity's name to its value from all the runs; ``resamples`` maps it
    to its values over the bootstrap resamples (NaN where a resample could not give it).
    """

    estimates: dict[str, float]
    resamples: dict[str, np.ndarray]

    def interval(self, name: str, level: float = 0.9) -> tuple[float, float]:
        """The central ``level`` interval of ``name`` over the resamples (percentiles)."""
        values = self.resamples[name][np.isfinite(self.resamples[name])]
        tail = 50 * (1 - level)
        low, high = np.percentile(values, [tail, 100 - tail])
        return float(low), float(high)


def fit_isoflop_study(
    runs: Sequence[IsoFlopRun], n_resamples: int = 200, seed: int = 0
) -> StudyFit:
    """Approach 2 and Approach 3 on a study's runs, with bootstrap intervals (chapter 5).

    Quantities: ``E``, ``alpha``, ``beta`` and the exponents ``a3``, ``b3`` of chapter 2's law
    fitted to every run (Approach 3); ``a2``, ``b2`` from the parabolas' minima (Approach 2);
    and, per budget C, ``tokens_per_parameter@C`` and ``tokens_per_non_embedding@C`` at
    Approach 2's minimum. A study has too few runs per budget to redraw whole runs, so each
    resample redraws their scatter instead: every run's loss is multiplied by exp(r), r drawn
    with replacement from the runs' own log-residuals around the fitted law (centred, and
    widened for the law's 5 fitted constants), and both approaches are fitted again. The
    intervals therefore show what scatter of that size does to each result; chance between
    seeds beyond it is not in them.
    """
    positive_int("n_resamples", n_resamples)
    N, D, loss = measurements(runs)
    law = fit_scaling_law(N, D, loss)
    residuals = np.log(loss / law.predict_loss(N, D))
    residuals = (residuals - residuals.mean()) * math.sqrt(len(runs) / max(1, len(runs) - 5))
    budgets = sorted({run.budget for run in runs})
    estimates = _approach_3(law) | _approach_2(isoflop_minima(runs), budgets)
    rng = np.random.default_rng(seed)
    resamples: dict[str, list[float]] = {}
    for _ in range(n_resamples):
        noisy = loss * np.exp(rng.choice(residuals, size=len(runs)))
        redrawn = [replace(run, loss=float(value)) for run, value in zip(runs, noisy, strict=True)]
        values = _approach_3(refit_scaling_law(law, N, D, noisy))
        values |= _approach_2(isoflop_minima(redrawn), budgets)
        for name, value in values.items():
            resamples.setdefault(name, []).append(value)
    return StudyFit(estimates, {k: np.asarray(v, dtype=float) for k, v in resamples.items()})


def _approach_3(law) -> dict[str, float]:
    """The fitted law's quantities by name."""
    return {
        "E": law.E,
        "alpha": law.alpha,
        "beta": law.beta,
        "a3": law.params_exponent,
        "b3": law.tokens_exponent,
    }


def _approach_2(minima: list[IsoFlopMinimum], budgets: Sequence[float]) -> dict[str, float]:
    """Approach 2's quantities by name; NaN for what these minima cannot give."""
    values = dict.fromkeys(("a2", "b2"), math.nan)
    if len(minima) >= 2:
        values["a2"], values["b2"] = compute_exponents(minima)
    by_budget = {m.budget: m for m in minima}
    for budget in budgets:
        m = by_budget.get(budget)
        values[f"tokens_per_parameter@{budget:g}"] = m.tokens_per_parameter if m else math.nan
        values[f"tokens_per_non_embedding@{budget:g}"] = (
            m.tokens_per_non_embedding_parameter if m else math.nan
        )
    return values


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


def describe_study_fit(fit: StudyFit, level: float = 0.9) -> str:
    """The study's results as a table: each quantity, its value and bootstrap interval.

    Rows: the fitted law's E, alpha and beta; the exponents a and b of both approaches beside
    Hoffmann et al.'s (2022, Table 2); and, per budget, Approach 2's tokens per parameter with
    both counts of N (chapter 5).
    """

    def cell(name: str, digits: int) -> str:
        low, high = fit.interval(name, level)
        value = fit.estimates[name]
        return f"{value:.{digits}f} ({low:.{digits}f} to {high:.{digits}f})"

    lines = [f"value ({level:.0%} bootstrap interval)", ""]
    lines.append(f"{'fitted law E (nats)':<34} {cell('E', 2)}")
    lines.append(f"{'fitted law alpha, beta':<34} {cell('alpha', 2)}, {cell('beta', 2)}")
    lines.append("")
    lines.append(f"{'exponents':<34} {'a (N_opt ~ C^a)':<22} b (D_opt ~ C^b)")
    lines.append(f"{'ours, Approach 2 (parabolas)':<34} {cell('a2', 2):<22} {cell('b2', 2)}")
    lines.append(f"{'ours, Approach 3 (fitted law)':<34} {cell('a3', 2):<22} {cell('b3', 2)}")
    for approach in ("Approach 2", "Approach 3"):
        name = next(key for key in HOFFMANN_TABLE_2 if key.startswith(approach))
        a, b = HOFFMANN_TABLE_2[name]
        lines.append(f"{'Chinchilla, ' + approach:<34} {a:<22.2f} {b:.2f}")
    lines.append("")
    lines.append(f"{'tokens per parameter at':<34} {'every parameter':<22} without embeddings")
    for name in fit.estimates:
        if name.startswith("tokens_per_parameter@"):
            budget = name.partition("@")[2]
            other = f"tokens_per_non_embedding@{budget}"
            label = f"C = {float(budget):.2g} FLOPs"
            lines.append(f"{label:<34} {cell(name, 0):<22} {cell(other, 0)}")
    return "\n".join(lines)


def plot_isoflop_study(runs: Sequence[IsoFlopRun], law=None, ax=None):
    """Each budget's runs (dots), its parabola in log N and its minimum (chapter 5).

    With ``law`` (a fitted :class:`~course_utils.scaling.ScalingLaws`), its isoFLOP profiles
    are drawn too (dashed).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    minima = {m.budget: m for m in isoflop_minima(runs)}
    for index, budget in enumerate(sorted({run.budget for run in runs})):
        color = f"C{index}"
        profile = sorted((r for r in runs if r.budget == budget), key=lambda r: r.n_params)
        sizes = np.array([r.n_params for r in profile], dtype=float)
        losses = np.array([r.loss for r in profile])
        ax.plot(sizes, losses, "o", color=color, label=f"C = {budget:.2g} FLOPs")
        grid = np.geomspace(sizes[0] / 1.3, sizes[-1] * 1.3, 100)
        parabola = np.polyfit(np.log(sizes), losses, 2)
        ax.plot(grid, np.polyval(parabola, np.log(grid)), "-", color=color, alpha=0.6)
        if law is not None:
            profile_law = law.predict_loss(grid, budget / training_flops(grid, 1.0))
            ax.plot(grid, profile_law, "--", color=color, alpha=0.6)
        if budget in minima:
            best = minima[budget]
            ax.plot(best.n_params, best.loss, "*", color=color, markersize=14, mec="black")
    ax.set_xscale("log")
    ax.set_xlabel("model size N (parameters, embeddings included)")
    ax.set_ylabel("final validation loss (nats per character)")
    title = "isoFLOP profiles: runs, parabolas (solid), minima (stars)"
    ax.set_title(title + (", fitted law (dashed)" if law is not None else ""))
    ax.legend()
    return ax


def plot_loss_curves(history, tokens_per_step: int, baselines=None, ax=None):
    """A run's training loss (smoothed) and validation loss against tokens seen (chapter 5).

    ``history`` is a :class:`~course_utils.training.TrainingHistory`; the per-batch training
    loss is averaged over windows of a fiftieth of the run. ``baselines`` maps a label to a
    loss drawn as a horizontal line (chapter 5: the uniform guess and the unigram model).
    """
    import matplotlib.pyplot as plt

    positive_int("tokens_per_step", tokens_per_step)
    if ax is None:
        _, ax = plt.subplots()
    window = max(1, len(history.train_loss) // 50)
    smoothed = np.convolve(history.train_loss, np.ones(window) / window, mode="valid")
    ax.plot(
        (np.arange(len(smoothed)) + window) * tokens_per_step / 1e6,
        smoothed,
        label="training (smoothed)",
    )
    ax.plot(
        np.array(history.eval_steps) * tokens_per_step / 1e6,
        history.val_loss,
        "o-",
        label="validation (held out)",
    )
    for (label, loss), style in zip((baselines or {}).items(), (":", "--", "-."), strict=False):
        ax.axhline(loss, color="grey", linestyle=style, label=f"{label} ({loss:.2f})")
    ax.set_xlabel("training tokens seen (millions)")
    ax.set_ylabel("loss (nats per token)")
    ax.set_title("A tiny LLM learns: loss on training and held-out text")
    ax.legend()
    return ax
