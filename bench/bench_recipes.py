"""Benchmark: how much sooner the course's best recipe reaches nanoGPT's baseline loss (chapter 8).

Tiny Shakespeare (karpathy/char-rnn), character level, first 90% of the text for training and
the last 10% for validation, validation loss over 200 fixed evenly spaced windows, 1 thread.
The baseline is ``nanogpt_baseline`` for its 2,000 steps; the best recipe is ``best_recipe``
(with its own schedule length, ``--best-steps``). For each seed both run in one process,
alternating (``course_utils.recipe_comparison.compare``, arm order rotated per seed), and

    ratio = (best recipe's training seconds to reach that seed's baseline final validation loss)
            / (baseline's training seconds for its 2,000 steps),

reported as the median over the seeds (target ≤ 0.5). Evaluation time is excluded from the
training seconds; the best recipe is evaluated every ``--eval-every`` steps (so its time to
target is known to that many steps), the baseline every 250 steps and after its last step.

Also printed: seconds per step, steps to target, peak memory (a fresh child process per recipe
builds its trainer, resets its peak resident set through ``/proc/self/clear_refs``, trains 50
steps and reads ``VmHWM``: the peak while training, and its growth over the set before training,
allocator caches included; Linux), and the best
recipe's model FLOP utilisation: 3 × chapter 1's forward FLOPs per token × tokens per second,
against this CPU's single-thread fp32 matrix-multiply peak, measured here (the fastest of
several 1024 × 1024 ``torch.mm``).

    python bench/bench_recipes.py --data PATH/TO/tinyshakespeare.txt
    make bench TINY_SHAKESPEARE=PATH/TO/tinyshakespeare.txt
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

import torch

from course_utils.compute import forward_flops_per_token
from course_utils.recipe_comparison import compare_recipes
from course_utils.recipes import best_recipe, nanogpt_baseline, recipe_trainer, with_options
from course_utils.tokenizer import CharTokenizer
from course_utils.training import split_tokens


def matmul_peak(size: int = 1024, repeats: int = 10) -> float:
    """FLOP/s of the fastest of ``repeats`` fp32 ``size``×``size`` matrix products, 1 thread."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a, b = torch.randn(size, size), torch.randn(size, size)
        torch.mm(a, b)  # warm-up
        best = float("inf")
        for _ in range(repeats):
            began = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - began)
    finally:
        torch.set_num_threads(previous)
    return 2 * size**3 / best


def _status_kib(field: str) -> int:
    """A field of /proc/self/status (VmRSS, VmHWM) in KiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _training_memory(recipe, train_ids, val_ids, steps, queue) -> None:
    torch.set_num_threads(1)
    train_ids, val_ids = torch.from_numpy(train_ids), torch.from_numpy(val_ids)
    trainer = recipe_trainer(recipe, train_ids, val_ids, seed=0, device="cpu")
    before = _status_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    for _ in range(min(steps, recipe.training.steps)):
        trainer.train_step()
    peak = _status_kib("VmHWM")
    queue.put((peak, peak - before))


def peak_memory_mib(recipe, train_ids, val_ids, steps: int = 50) -> tuple[float, float]:
    """Peak resident set of a fresh process while it trains ``steps`` steps, and its growth over
    the set before training (model, optimizer and data built), both in MiB (Linux)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    data = (train_ids.numpy(), val_ids.numpy())  # plain arrays pickle to a child simply
    child = context.Process(target=_training_memory, args=(recipe, *data, steps, queue))
    child.start()
    child.join(timeout=600)
    if child.exitcode != 0:
        raise RuntimeError(f"the memory probe for {recipe.name} failed (exit {child.exitcode})")
    peak, growth = queue.get(timeout=10)
    return peak / 1024, growth / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=os.environ.get("TINY_SHAKESPEARE") or None,
        help="Tiny Shakespeare input.txt (default: the TINY_SHAKESPEARE environment variable)",
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2000, help="the baseline's steps")
    parser.add_argument("--best-steps", type=int, default=500, help="the best recipe's schedule")
    parser.add_argument("--eval-every", type=int, default=25)
    parser.add_argument(
        "--options",
        default="",
        help="comma-separated recipe options to use instead of best_recipe's",
    )
    args = parser.parse_args(argv)
    if args.data is None:
        print("bench_recipes: skipped, no Tiny Shakespeare text: pass --data PATH or set")
        print("TINY_SHAKESPEARE (make bench TINY_SHAKESPEARE=PATH); the course does not ship it")
        return

    text = args.data.read_text(encoding="utf-8")
    tokenizer = CharTokenizer.train(text)
    train_ids, val_ids = split_tokens(tokenizer.encode(text), validation_fraction=0.1)
    vocab = tokenizer.vocab_size
    baseline = nanogpt_baseline(vocab, args.steps)
    if args.options:
        best = with_options(nanogpt_baseline(vocab, args.best_steps), *args.options.split(","))
    else:
        best = best_recipe(vocab, args.best_steps)
    windows = baseline.training.eval_windows
    print(f"{len(text):,} characters, vocabulary {vocab}; {windows} validation windows")
    print(f"baseline: {baseline.name}; best: {best.name} = baseline + {', '.join(best.options)}")
    print(f"best recipe's schedule: {best.training.steps} steps; 1 thread; {args.seeds} seeds")

    result = compare_recipes(
        [baseline, best],
        train_ids,
        val_ids,
        seeds=tuple(range(args.seeds)),
        eval_every={baseline.name: 250, best.name: args.eval_every},
        eval_windows=windows,
        threads=1,
    )
    base_runs, best_runs = result.runs_of(baseline.name), result.runs_of(best.name)
    ratios, steps_to, seconds_to = [], [], []
    for base_run, best_run in zip(base_runs, best_runs, strict=True):
        hit = best_run.first_reaching(base_run.final_loss)
        steps_to.append(float("inf") if hit is None else hit[0])
        seconds_to.append(float("inf") if hit is None else hit[1])
        ratios.append(seconds_to[-1] / base_run.seconds[-1])
    peak = matmul_peak()
    memory = {r.name: peak_memory_mib(r, train_ids, val_ids) for r in (baseline, best)}

    def median(values):
        return statistics.median(values)

    print()
    print(f"order of the runs: {', '.join(f'{arm}/{seed}' for arm, seed in result.order)}")
    header = (
        f"{'recipe':<18} {'s/step':>8} {'steps':>6} {'final val':>10} {'steps to tgt':>12} "
        f"{'s to tgt':>9} {'peak RSS MiB':>12} {'+training':>9}"
    )
    print(header)
    print("-" * len(header))
    base_seconds = [run.seconds[-1] for run in base_runs]
    print(
        f"{baseline.name:<18} {median(result.seconds_per_step(baseline.name)):>8.4f} "
        f"{args.steps:>6} {median(result.final_losses(baseline.name)):>10.4f} "
        f"{args.steps:>12} {median(base_seconds):>9.1f} {memory[baseline.name][0]:>12.1f} "
        f"{memory[baseline.name][1]:>9.1f}"
    )
    print(
        f"{best.name:<18} {median(result.seconds_per_step(best.name)):>8.4f} "
        f"{best.training.steps:>6} {median(result.final_losses(best.name)):>10.4f} "
        f"{median(steps_to):>12.0f} {median(seconds_to):>9.1f} {memory[best.name][0]:>12.1f} "
        f"{memory[best.name][1]:>9.1f}"
    )
    print()
    print("per seed: baseline final loss (the target), best's steps and seconds to it, ratio")
    for run, steps, seconds, ratio in zip(base_runs, steps_to, seconds_to, ratios, strict=True):
        print(
            f"  seed {run.seed}: {run.final_loss:.4f}  {steps:>6.0f}  {seconds:>7.1f}  {ratio:.3f}"
        )
    print(f"ratio (median over {args.seeds} seeds): {median(ratios):.3f}  (target <= 0.5)")
    tokens_per_step = best.training.tokens_per_step
    flops_per_step = 3 * forward_flops_per_token(best.model, best.training.context_len)
    achieved = flops_per_step * tokens_per_step / median(result.seconds_per_step(best.name))
    print(
        f"best recipe: {flops_per_step * tokens_per_step / 1e9:.2f} GFLOP per step "
        f"(3 x forward FLOPs per token x {tokens_per_step} tokens), {achieved / 1e9:.2f} GFLOP/s; "
        f"1-thread fp32 matmul peak {peak / 1e9:.1f} GFLOP/s; MFU {achieved / peak:.1%} "
        "(model FLOPs only: Muon's Newton-Schulz work is not counted)"
    )
    print(f"torch {torch.__version__}, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
