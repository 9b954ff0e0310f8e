"""Comparing training recipes fairly: paired seeds, shared data, one process (chapter 8).

One run proves nothing: two runs of the *same* recipe with different seeds end at different
losses, so a difference between two recipes means something only when it is larger than that
seed-to-seed spread. :func:`compare` trains every arm (a recipe, or any function that builds a
:class:`~course_utils.training.Trainer` for a seed) under the same rules:

* the same training tokens and the same held-out windows (evaluated by the harness, on one
  shared tensor of windows);
* the same seeds, each fixing the initial weights and the order of the training batches
  identically in every arm (the trainer's sampler is seeded by ``config.seed``);
* one process, seed-major, with the order of the arms rotated from seed to seed, so a drift of
  the machine's speed (another program starting, the CPU warming up) does not favour one arm;
* a stopping rule shared by all arms: a number of steps (machine-independent), a wall-clock
  budget in training seconds, or a target validation loss, whichever comes first;
* the clock counts training steps only: evaluations are timed out.

:func:`paired_difference` turns per-seed results into a paired 95% t-interval of the mean
difference (Student's t with n − 1 degrees of freedom, ``scipy.stats.t``), and :func:`verdict`
refuses to call a winner when that interval contains 0: "no measurable difference".
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from scipy import stats

from course_utils.checks import (
    instance_of,
    not_empty,
    number_at_least,
    number_in_range,
    positive_int,
    positive_number,
)
from course_utils.training import Trainer, evenly_spaced_windows, split_tokens, token_tensor

#: Builds the trainer of one arm for one seed; the seed must fix init and data order.
TrainerFactory = Callable[[int], Trainer]


@dataclass(frozen=True)
class RunRecord:
    """What one run (one arm, one seed) measured (chapter 8).

    ``steps[i]``, ``seconds[i]`` and ``val_loss[i]`` belong to the i-th evaluation: after that
    many optimiser steps and that many seconds of training (evaluations excluded), the loss
    (nats per token) on the shared held-out windows. The first evaluation is the untrained
    model (step 0, 0 seconds).
    """

    arm: str
    seed: int
    steps: tuple[int, ...]
    seconds: tuple[float, ...]
    val_loss: tuple[float, ...]

    @property
    def final_loss(self) -> float:
        """Validation loss at the end of the run (at the budget)."""
        return self.val_loss[-1]

    @property
    def seconds_per_step(self) -> float:
        """Mean training seconds per optimiser step over the run."""
        return self.seconds[-1] / self.steps[-1]

    def first_reaching(self, target: float) -> tuple[int, float] | None:
        """(steps, seconds) at the first evaluation whose loss is ≤ ``target``; None if none."""
        for step, second, loss in zip(self.steps, self.seconds, self.val_loss, strict=True):
            if loss <= target:
                return step, second
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "arm": self.arm,
            "seed": self.seed,
            "steps": list(self.steps),
            "seconds": list(self.seconds),
            "val_loss": list(self.val_loss),
        }


@dataclass(frozen=True)
class Comparison:
    """Every run of :func:`compare`, in the order they ran (chapter 8)."""

    arms: tuple[str, ...]
    seeds: tuple[int, ...]
    runs: tuple[RunRecord, ...]  # in execution order

    @property
    def order(self) -> tuple[tuple[str, int], ...]:
        """(arm, seed) of each run, in the order the runs were executed."""
        return tuple((run.arm, run.seed) for run in self.runs)

    def runs_of(self, arm: str) -> list[RunRecord]:
        """The runs of ``arm``, sorted by seed (so index i pairs across arms)."""
        if arm not in self.arms:
            raise ValueError(f"arm must be one of {list(self.arms)}, got {arm!r}")
        return sorted((run for run in self.runs if run.arm == arm), key=lambda run: run.seed)

    def final_losses(self, arm: str) -> list[float]:
        """Validation loss at the budget, one per seed (sorted by seed)."""
        return [run.final_loss for run in self.runs_of(arm)]

    def seconds_per_step(self, arm: str) -> list[float]:
        """Training seconds per step, one per seed (hardware-dependent)."""
        return [run.seconds_per_step for run in self.runs_of(arm)]

    def time_to_target(self, arm: str, target: float) -> list[float]:
        """Training seconds to reach ``target`` per seed; ``math.inf`` where a run never did."""
        hits = [run.first_reaching(target) for run in self.runs_of(arm)]
        return [math.inf if hit is None else hit[1] for hit in hits]

    def steps_to_target(self, arm: str, target: float) -> list[float]:
        """Optimiser steps to reach ``target`` per seed; ``math.inf`` where a run never did."""
        hits = [run.first_reaching(target) for run in self.runs_of(arm)]
        return [math.inf if hit is None else float(hit[0]) for hit in hits]

    def to_dict(self) -> dict[str, Any]:
        return {
            "arms": list(self.arms),
            "seeds": list(self.seeds),
            "runs": [run.to_dict() for run in self.runs],
        }


def run_order(arms: Sequence[str], seeds: Sequence[int]) -> list[tuple[str, int]]:
    """Seed-major order with the arms rotated by one place per seed (chapter 8).

    With arms (A, B, C): seed 0 runs A, B, C; seed 1 runs B, C, A; seed 2 runs C, A, B; so
    every arm runs first, second and last equally often over a multiple of len(arms) seeds.
    """
    arms, seeds = list(not_empty("arms", arms)), list(not_empty("seeds", seeds))
    if len(set(arms)) != len(arms):
        raise ValueError(f"arms must have distinct names, got {arms}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    order = []
    for index, seed in enumerate(seeds):
        shift = index % len(arms)
        order += [(arm, seed) for arm in arms[shift:] + arms[:shift]]
    return order


def _train_one(
    arm: str,
    seed: int,
    trainer: Trainer,
    windows: torch.Tensor,
    steps: int | None,
    seconds: float | None,
    target_loss: float | None,
    eval_every: int,
) -> RunRecord:
    trainer.val_windows = windows  # every arm is scored on the same held-out windows
    limit = trainer.config.steps if steps is None else steps
    if limit > trainer.config.steps:
        raise ValueError(
            f"steps={limit} is longer than arm {arm!r}'s schedule of {trainer.config.steps} steps"
        )
    record_steps, record_seconds, losses = [0], [0.0], [trainer.evaluate()]
    elapsed = 0.0
    trainer.model.train()
    while trainer.step < limit:
        began = time.perf_counter()
        trainer.train_step()
        elapsed += time.perf_counter() - began
        over_time = seconds is not None and elapsed >= seconds
        if trainer.step % eval_every == 0 or trainer.step == limit or over_time:
            record_steps.append(trainer.step)
            record_seconds.append(elapsed)
            losses.append(trainer.evaluate())
            if over_time or (target_loss is not None and losses[-1] <= target_loss):
                break
    return RunRecord(arm, seed, tuple(record_steps), tuple(record_seconds), tuple(losses))


def compare(
    arms: Mapping[str, TrainerFactory],
    val_tokens: Sequence[int] | torch.Tensor,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    steps: int | None = None,
    seconds: float | None = None,
    target_loss: float | None = None,
    eval_every: int | Mapping[str, int] = 50,
    eval_windows: int = 256,
    threads: int | None = None,
) -> Comparison:
    """Train every arm once per seed, alternating in one process; return every run (chapter 8).

    ``arms`` maps a name to a function ``seed -> Trainer`` (:func:`compare_recipes` builds them
    from recipes). Each run stops after ``steps`` optimiser steps, after ``seconds`` of training
    or when the validation loss reaches ``target_loss`` (whichever comes first; with none
    given, at the end of the arm's schedule). The loss is measured every ``eval_every`` steps
    (one number, or one per arm name) and after the last step, on ``eval_windows`` evenly
    spaced windows of ``val_tokens``, the same tensor for every arm.
    ``threads`` fixes ``torch.set_num_threads`` for the comparison and restores it afterwards.
    """
    instance_of("arms", arms, Mapping)
    order = run_order(list(arms), list(seeds))
    if steps is not None:
        positive_int("steps", steps)
    if seconds is not None:
        positive_number("seconds", seconds)
    if target_loss is not None:
        positive_number("target_loss", target_loss)
    every = dict(eval_every) if isinstance(eval_every, Mapping) else dict.fromkeys(arms, eval_every)
    if set(every) != set(arms):
        raise ValueError(f"eval_every must name every arm {list(arms)}, got {list(every)}")
    for arm in arms:
        positive_int(f"eval_every[{arm!r}]", every[arm])
    positive_int("eval_windows", eval_windows)
    if threads is not None:
        positive_int("threads", threads)
    val_tokens = token_tensor(val_tokens)
    previous_threads = torch.get_num_threads()
    windows = None
    runs = []
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        for arm, seed in order:
            trainer = arms[arm](seed)
            instance_of("the trainer an arm builds", trainer, Trainer)
            context_len = trainer.config.context_len
            if windows is None:
                windows = evenly_spaced_windows(val_tokens, eval_windows, context_len)
            elif windows.shape[1] != context_len + 1:
                raise ValueError(
                    f"arm {arm!r} has context_len={context_len}, but the arms compared so far "
                    f"have {windows.shape[1] - 1}: compare recipes on the same windows"
                )
            runs.append(
                _train_one(arm, seed, trainer, windows, steps, seconds, target_loss, every[arm])
            )
    finally:
        torch.set_num_threads(previous_threads)
    return Comparison(tuple(arms), tuple(seeds), tuple(runs))


def compare_recipes(
    recipes: Sequence[Any],
    train_tokens: Sequence[int] | torch.Tensor,
    val_tokens: Sequence[int] | torch.Tensor,
    **settings: Any,
) -> Comparison:
    """:func:`compare` for :class:`~course_utils.recipes.Recipe` objects, named by their names.

    Each arm is ``recipe_trainer(recipe, train_tokens, val_tokens, seed=seed, device="cpu")``;
    ``settings`` are :func:`compare`'s keywords (seeds, steps, seconds, target_loss, ...).
    """
    from course_utils.recipes import recipe_trainer

    recipes = list(not_empty("recipes", recipes))
    train_tokens, val_tokens = token_tensor(train_tokens), token_tensor(val_tokens)

    def factory(recipe: Any) -> TrainerFactory:
        return lambda seed: recipe_trainer(
            recipe, train_tokens, val_tokens, seed=seed, device="cpu"
        )

    arms = {recipe.name: factory(recipe) for recipe in recipes}
    if len(arms) != len(recipes):
        raise ValueError(f"recipes must have distinct names, got {[r.name for r in recipes]}")
    return compare(arms, val_tokens, **settings)


# ---------------------------------------------------------------------------------------
# Statistics: spread, paired intervals, verdicts
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """The seed-to-seed spread of one measurement of one recipe (chapter 8)."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def std(self) -> float:
        """Sample standard deviation (n − 1 in the denominator)."""
        return statistics.stdev(self.values)

    @property
    def range(self) -> float:
        """Largest minus smallest value."""
        return max(self.values) - min(self.values)


def seed_spread(values: Sequence[float]) -> Spread:
    """The spread over seeds of one recipe's results (at least two finite values)."""
    values = tuple(float(v) for v in not_empty("values", values))
    if len(values) < 2 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"values must hold at least two finite numbers, got {list(values)}")
    return Spread(values)


@dataclass(frozen=True)
class PairedDifference:
    """Paired differences ``b − a`` over seeds, with a t-interval of their mean (chapter 8)."""

    a: tuple[float, ...]
    b: tuple[float, ...]
    confidence: float
    low: float
    high: float

    @property
    def differences(self) -> tuple[float, ...]:
        return tuple(y - x for x, y in zip(self.a, self.b, strict=True))

    @property
    def mean(self) -> float:
        return statistics.fmean(self.differences)

    @property
    def median_a(self) -> float:
        return statistics.median(self.a)

    @property
    def median_b(self) -> float:
        return statistics.median(self.b)

    @property
    def ratio(self) -> float:
        """Median of the per-seed ratios ``b / a`` (e.g. time to target, new over old)."""
        return statistics.median(y / x for x, y in zip(self.a, self.b, strict=True))

    @property
    def measurable(self) -> bool:
        """True when the interval excludes 0: the seeds support a difference."""
        return self.low > 0 or self.high < 0


def paired_difference(
    a: Sequence[float], b: Sequence[float], confidence: float = 0.95
) -> PairedDifference:
    """The paired t-interval of mean(b − a) over seeds (chapter 8).

    ``a[i]`` and ``b[i]`` come from the same seed. With d = b − a over n ≥ 2 seeds, the interval
    is mean(d) ± t(1 − (1 − confidence)/2, n − 1) · sd(d)/√n (Student's t, ``scipy.stats.t``),
    the same as ``scipy.stats.ttest_rel(b, a).confidence_interval(confidence)``. Pairing
    removes what a seed does to both arms alike, so it needs fewer seeds than comparing two
    independent samples.
    """
    a, b = tuple(float(x) for x in a), tuple(float(x) for x in b)
    number_in_range("confidence", confidence, 0, 1, include_low=False, include_high=False)
    if len(a) != len(b):
        raise ValueError(f"a and b must pair up seed by seed, got {len(a)} and {len(b)} values")
    if len(a) < 2:
        raise ValueError(f"a paired interval needs at least 2 seeds, got {len(a)}")
    if not all(math.isfinite(x) for x in a + b):
        raise ValueError(
            "a and b must be finite (a run that never reached the target has no time to it): "
            f"got {list(a)} and {list(b)}"
        )
    differences = [y - x for x, y in zip(a, b, strict=True)]
    n = len(differences)
    mean = statistics.fmean(differences)
    half = (
        float(stats.t.ppf(0.5 + confidence / 2, n - 1))
        * statistics.stdev(differences)
        / math.sqrt(n)
    )
    return PairedDifference(a, b, confidence, mean - half, mean + half)


def verdict(difference: PairedDifference, name_a: str, name_b: str, unit: str = "") -> str:
    """One sentence: which arm is lower, or "no measurable difference" (chapter 8).

    Lower is better (a loss, a time to target). A difference is called only when the paired
    interval (:func:`paired_difference`) excludes 0; otherwise the seeds do not support one.
    """
    instance_of("difference", difference, PairedDifference)
    suffix = f" {unit}" if unit else ""
    interval = (
        f"{difference.confidence:.0%} interval of {name_b} − {name_a}: "
        f"[{difference.low:+.3g}, {difference.high:+.3g}]{suffix}"
    )
    if not difference.measurable:
        return f"no measurable difference between {name_a} and {name_b} ({interval})"
    better, worse = (name_b, name_a) if difference.high < 0 else (name_a, name_b)
    return f"{better} is lower than {worse} by {abs(difference.mean):.3g}{suffix} ({interval})"


def loss_band(
    comparison: Comparison, arm: str
) -> tuple[list[float], list[float], list[float], list[float]]:
    """(seconds, lowest, median, highest loss) across seeds at each evaluation (chapter 8).

    The x value is the median over seeds of the training seconds at that evaluation; only the
    evaluations every seed reached are kept. It draws a recipe's seed spread as a band.
    """
    instance_of("comparison", comparison, Comparison)
    runs = comparison.runs_of(arm)
    n = min(len(run.val_loss) for run in runs)
    seconds = [statistics.median(run.seconds[i] for run in runs) for i in range(n)]
    low = [min(run.val_loss[i] for run in runs) for i in range(n)]
    mid = [statistics.median(run.val_loss[i] for run in runs) for i in range(n)]
    high = [max(run.val_loss[i] for run in runs) for i in range(n)]
    return seconds, low, mid, high


def plot_comparison(comparison: Comparison, ax=None, title: str | None = None):
    """Validation loss against training seconds, the seeds' range drawn as a band (chapter 8)."""
    import matplotlib.pyplot as plt

    instance_of("comparison", comparison, Comparison)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for arm in comparison.arms:
        seconds, low, mid, high = loss_band(comparison, arm)
        (line,) = ax.plot(seconds, mid, label=f"{arm} (median of {len(comparison.seeds)} seeds)")
        ax.fill_between(seconds, low, high, color=line.get_color(), alpha=0.25, linewidth=0)
    ax.set_xlabel("training seconds (evaluations excluded)")
    ax.set_ylabel("validation loss (nats per character)")
    ax.set_title(title or "Validation loss against wall-clock time; bands: lowest to highest seed")
    ax.legend()
    return ax


# ---------------------------------------------------------------------------------------
# The stored ablation (tools/run_recipe_ablation.py)
# ---------------------------------------------------------------------------------------

#: The full ablation of every recipe option, with its provenance; written by
#: ``tools/run_recipe_ablation.py``, shown in chapter 8.
ABLATION = Path(__file__).resolve().parent / "data" / "recipe_ablation.json"


def corpus_tokens() -> tuple[torch.Tensor, torch.Tensor, int]:
    """(train, validation, vocab_size): chapter 4's corpus, one token per character (chapter 5).

    The last 10% of the stream is held out, as in chapter 5.
    """
    from course_utils.pipeline import training_text
    from course_utils.tokenizer import CharTokenizer

    text = training_text()
    tokenizer = CharTokenizer.train(text)
    train, val = split_tokens(tokenizer.encode(text), validation_fraction=0.1)
    return train, val, tokenizer.vocab_size


def ablation_recipes(baseline: Any, options: Sequence[str] | None = None) -> list:
    """``baseline`` and, for each option, the baseline with that option alone (chapter 8).

    Each changed recipe is named after its option; ``options`` defaults to every one of
    :data:`~course_utils.recipes.RECIPE_OPTIONS`.
    """
    from course_utils.recipes import RECIPE_OPTIONS, Recipe, with_options

    instance_of("baseline", baseline, Recipe)
    names = list(RECIPE_OPTIONS) if options is None else list(options)
    return [baseline] + [
        dataclasses.replace(with_options(baseline, name), name=name) for name in names
    ]


def ablation_row(option: str, seed: int, stored: Mapping[str, Any] | None = None) -> float:
    """Re-run one row of the stored ablation: its validation loss after the stored steps.

    ``option`` is an arm of the ablation ("nanogpt_baseline" or an option's name); the run uses
    the stored steps, evaluation windows and thread count (chapter 8's test of the data).
    """
    from course_utils.recipes import nanogpt_baseline, with_options

    stored = load_ablation() if stored is None else stored
    arms = stored["arms"]
    if option not in arms:
        raise ValueError(f"option must be one of {list(arms)}, got {option!r}")
    provenance = stored["provenance"]
    train, val, vocab = corpus_tokens()
    recipe = with_options(nanogpt_baseline(vocab, provenance["steps"]), *arms[option]["options"])
    result = compare(
        {option: lambda s: _trainer(recipe, train, val, s)},
        val,
        seeds=(seed,),
        steps=provenance["steps"],
        eval_every=provenance["steps"],
        eval_windows=provenance["eval_windows"],
        threads=provenance["threads"],
    )
    return result.runs[0].final_loss


def _trainer(recipe: Any, train: torch.Tensor, val: torch.Tensor, seed: int) -> Trainer:
    from course_utils.recipes import recipe_trainer

    return recipe_trainer(recipe, train, val, seed=seed, device="cpu")


def load_ablation(path: str | Path = ABLATION) -> dict[str, Any]:
    """The stored ablation: provenance, and per arm its per-seed losses and intervals."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def prediction_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Where one more seed's result should fall: mean ± t · sd · √(1 + 1/n) (chapter 8).

    The t-based prediction interval for a new draw from the same normal distribution as the n
    ``values`` (Student's t, n − 1 degrees of freedom); wider than the interval of the mean.
    """
    spread = seed_spread(values)
    number_in_range("confidence", confidence, 0, 1, include_low=False, include_high=False)
    n = len(spread.values)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * spread.std * math.sqrt(1 + 1 / n)
    mean = statistics.fmean(spread.values)
    return mean - half, mean + half


def slowdown_interval(
    base_times: Sequence[float], times: Sequence[float], confidence: float = 0.95
) -> tuple[float, float]:
    """The paired t-interval of how many times slower ``times`` are than ``base_times`` (chapter 8).

    The interval of the mean of the per-seed log ratios (:func:`paired_difference` on the logs),
    turned back into ratios: ``(1.2, 1.3)`` says the steps are 20% to 30% slower. Timings on a
    busy machine jitter by several per cent from run to run; this says what the seeds support.
    """
    for name, values in (("base_times", base_times), ("times", times)):
        if not all(t > 0 for t in values):
            raise ValueError(f"{name} must be positive seconds, got {list(values)}")
    logs = paired_difference(
        [math.log(t) for t in base_times], [math.log(t) for t in times], confidence
    )
    return math.exp(logs.low), math.exp(logs.high)


def winners(
    comparison: Comparison, baseline: str, max_slowdown: float = 1.1, confidence: float = 0.95
) -> list[str]:
    """The arms that beat ``baseline`` at the budget by the chapter's rule (chapter 8).

    An arm wins when the paired interval of (its final loss − the baseline's) lies below 0
    (:func:`paired_difference`) **and** its steps are not measurably more than ``max_slowdown``
    times slower than the baseline's: the low end of :func:`slowdown_interval` is at most
    ``max_slowdown``. The clock gets the same rule as the loss: only what the seeds support is
    called, so a change that costs nothing per step is not thrown out for a noisy timing, and
    a change whose steps are clearly slower is (whether its lower loss per step pays for them,
    only a race to a target loss can tell).
    """
    instance_of("comparison", comparison, Comparison)
    number_at_least("max_slowdown", max_slowdown, 1)
    base_losses, base_times = (
        comparison.final_losses(baseline),
        comparison.seconds_per_step(baseline),
    )
    chosen = []
    for arm in comparison.arms:
        if arm == baseline:
            continue
        difference = paired_difference(base_losses, comparison.final_losses(arm), confidence)
        fastest, _ = slowdown_interval(base_times, comparison.seconds_per_step(arm), confidence)
        if difference.high < 0 and fastest <= max_slowdown:
            chosen.append(arm)
    return chosen
