"""Run the full recipe ablation and store it in course_utils/data/recipe_ablation.json (chapter 8).

Every arm trains nanoGPT's baseline recipe (``nanogpt_baseline``) with a schedule of ``--steps``
steps on chapter 4's corpus (one token per character, last 10% held out): the baseline, the
baseline with each of ``RECIPE_OPTIONS`` alone, and then the winners combined. All arms of a
phase alternate in one process, seed-major with the order rotated per seed
(``course_utils.recipe_comparison.compare``), at ``--threads`` threads.

The primary result is machine-independent: the validation loss after ``--steps`` steps, on the
same held-out windows for every arm. Seconds per step are stored too (hardware-dependent: shown,
not tested). An option *wins* when the paired 95% t-interval of its loss minus the baseline's
lies below zero **and** its steps are not measurably more than ``--max-slowdown`` times
slower than the baseline's (the low end of the paired interval of the time ratio,
``slowdown_interval``, is at most that). A lower loss per step bought with slower steps may
buy no time at all: only a race to a target loss tells, which is how chapter 8's best recipe
was chosen. The combined arm applies the winners in ``RECIPE_OPTIONS`` order; it alternates
with a second run of the baseline, so that its time per step is compared with the baseline's
of the same minutes (a machine's speed drifts between phases).

    python tools/run_recipe_ablation.py            # about 10 minutes of CPU at 1 thread
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import platform
import shlex
import statistics
import sys
from pathlib import Path

import torch

from course_utils.environment import cpu_name
from course_utils.recipe_comparison import (
    ABLATION,
    Comparison,
    ablation_recipes,
    compare_recipes,
    corpus_tokens,
    paired_difference,
    prediction_interval,
    slowdown_interval,
    verdict,
    winners,
)
from course_utils.recipes import nanogpt_baseline, with_options


def summarise(result: Comparison, arm: str, baseline: str) -> dict:
    losses = result.final_losses(arm)
    entry = {
        "seeds": list(result.seeds),
        "val_loss": [round(x, 5) for x in losses],
        "median_val_loss": round(statistics.median(losses), 5),
        "prediction_interval_95": [round(x, 5) for x in prediction_interval(losses)],
        "seconds_per_step": [round(x, 5) for x in result.seconds_per_step(arm)],
    }
    if arm != baseline:
        difference = paired_difference(result.final_losses(baseline), losses)
        slowdown = statistics.median(
            new / old
            for old, new in zip(
                result.seconds_per_step(baseline), result.seconds_per_step(arm), strict=True
            )
        )
        fastest, slowest = slowdown_interval(
            result.seconds_per_step(baseline), result.seconds_per_step(arm)
        )
        entry["vs_baseline"] = {
            "mean_difference": round(difference.mean, 5),
            "interval_95": [round(difference.low, 5), round(difference.high, 5)],
            "measurable": difference.measurable,
            "verdict": verdict(difference, baseline, arm, unit="nats"),
            "time_per_step_ratio": round(slowdown, 3),
            "time_per_step_interval_95": [round(fastest, 3), round(slowest, 3)],
        }
    return entry


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--eval-windows", type=int, default=200)
    parser.add_argument("--max-slowdown", type=float, default=1.1)
    parser.add_argument("--output", type=Path, default=ABLATION)
    args = parser.parse_args(argv)
    seeds = tuple(range(args.seeds))
    settings = dict(
        seeds=seeds,
        steps=args.steps,
        eval_every=args.steps,
        eval_windows=args.eval_windows,
        threads=args.threads,
    )
    train, val, vocab = corpus_tokens()
    recipes = ablation_recipes(nanogpt_baseline(vocab, args.steps))
    baseline = recipes[0].name
    print(f"{len(recipes)} arms x {len(seeds)} seeds x {args.steps} steps", flush=True)
    single = compare_recipes(recipes, train, val, **settings)
    arms = {arm: summarise(single, arm, baseline) for arm in single.arms}
    for name, recipe in zip(single.arms, recipes, strict=True):
        arms[name]["options"] = list(recipe.options)
    chosen = winners(single, baseline, args.max_slowdown)
    print(f"winners: {chosen}", flush=True)
    if chosen:
        combined = dataclasses.replace(
            with_options(nanogpt_baseline(vocab, args.steps), *chosen), name="winners_combined"
        )
        # The baseline runs again beside the combination: its losses are those of the first
        # phase (same seeds, same arithmetic), and its times are measured in the same minutes.
        second = compare_recipes([recipes[0], combined], train, val, **settings)
        arms["winners_combined"] = summarise(second, "winners_combined", baseline)
        arms["winners_combined"]["options"] = chosen
    for name, entry in arms.items():
        print(f"{name:<24} {entry['median_val_loss']:.4f}  {entry.get('vs_baseline', {})}")
    stored = {
        "provenance": {
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpu": cpu_name(),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "threads": args.threads,
            "seeds": list(seeds),
            "steps": args.steps,
            "eval_windows": args.eval_windows,
            "data": "chapter 4's corpus (training_text()), one token per character, "
            "last 10% held out",
            "command": "python tools/run_recipe_ablation.py "
            + shlex.join(argv if argv is not None else sys.argv[1:]),
            "note": f"{args.steps} steps (not nanoGPT's 2,000) to keep the ablation near 10 "
            "minutes of CPU; the schedule is as long as the run. Losses in nats per character.",
        },
        "rule": f"an option wins when the paired 95% t-interval of (its loss - the baseline's) "
        f"lies below 0 and its steps are not measurably more than {args.max_slowdown} x "
        "slower than the baseline's (the paired 95% interval of the time ratio reaches "
        f"{args.max_slowdown} or below)",
        "arms": arms,
        "winners": chosen,
    }
    args.output.write_text(json.dumps(stored, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
