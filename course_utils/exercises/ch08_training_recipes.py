"""Chapter 8's exercises: comparing training recipes honestly."""

from __future__ import annotations

import math
import statistics

from course_utils.exercises.framework import Exercise, close_to, register
from course_utils.recipe_comparison import paired_difference
from course_utils.training import TrainingConfig, learning_rate_at

# Exercise 8.1: four seeds of two recipes (validation loss after the same number of steps).
BASELINE_LOSSES = (1.512, 1.498, 1.530, 1.505)
NEW_LOSSES = (1.471, 1.466, 1.482, 1.470)
_T_3 = 3.182446305284263  # Student's t, 97.5th percentile, 3 degrees of freedom


def _interval_low(t_value: float) -> float:
    differences = [new - old for old, new in zip(BASELINE_LOSSES, NEW_LOSSES, strict=True)]
    sd = statistics.stdev(differences)
    return statistics.fmean(differences) - t_value * sd / math.sqrt(len(differences))


register(
    Exercise(
        id="8.1",
        prompt="Four seeds of the baseline end at validation losses 1.512, 1.498, 1.530, 1.505 "
        "and the same four seeds of a new recipe at 1.471, 1.466, 1.482, 1.470. What is the "
        "lower end of the paired 95% t-interval of the mean of (new − baseline)?",
        hint="pair by seed: d = new − baseline per seed, then mean(d) − t · sd(d)/√n with "
        "n = 4 and t the 97.5th percentile of Student's t with n − 1 = 3 degrees of freedom "
        "(scipy.stats.t.ppf(0.975, 3) ≈ 3.18), not the normal distribution's 1.96.",
        judge=close_to(paired_difference(BASELINE_LOSSES, NEW_LOSSES).low, rel_tol=1e-3),
        example_solution=lambda: _interval_low(_T_3),
        example_mistake=lambda: _interval_low(1.96),
        explanation="About −0.050 nats, and the upper end is about −0.028: the interval lies "
        "below 0, so four seeds support the gain. With 1.96 instead of t the interval would be "
        "too narrow: at n = 4 the normal approximation overstates the certainty.",
    )
)

# Exercise 8.2: time, not steps, is what a learner pays.
register(
    Exercise(
        id="8.2",
        prompt="The baseline takes 2,000 steps of 0.060 s. A new recipe reaches the baseline's "
        "final loss after 1,100 steps, but each of its steps takes 0.075 s. What is the ratio "
        "(new recipe's time to the target) / (baseline's time)?",
        hint="compare seconds, not steps: steps × seconds per step on each side.",
        judge=close_to(1100 * 0.075 / (2000 * 0.060), rel_tol=1e-3),
        example_solution=lambda: (1100 * 0.075) / (2000 * 0.060),
        example_mistake=lambda: 1100 / 2000,
        explanation="About 0.69: the recipe needs 45% fewer steps but saves only 31% of the "
        "time, as each step costs 25% more. A recipe is judged on the clock.",
    )
)

# Exercise 8.3: Muon's Newton–Schulz overhead (Jordan et al. 2024, "Muon" post, overhead T·m/B).
register(
    Exercise(
        id="8.3",
        prompt="Muon orthogonalises each m × m weight matrix with T = 5 Newton–Schulz "
        "iterations, each costing about 6·m³ FLOPs (X·Xᵀ, A·A and B·X). The matrix's own "
        "forward and backward passes cost 6·m²·B FLOPs per step for B tokens. For m = 128 and "
        "nanoGPT's CPU batch of B = 12 × 64 = 768 tokens, what is Muon's extra work as a "
        "fraction of the matrix's training FLOPs?",
        hint="divide T·6·m³ by 6·m²·B: it simplifies to T·m/B.",
        judge=close_to(5 * 128 / 768, rel_tol=1e-3),
        example_solution=lambda: 5 * 6 * 128**3 / (6 * 128**2 * 768),
        example_mistake=lambda: 6 * 128**3 / (6 * 128**2 * 768),
        explanation="About 0.83: at 768 tokens a step Muon almost doubles the matrices' work; "
        "at 16,384 tokens it would add 4%. Muon pays at large batches.",
    )
)

# Exercise 8.4: the warm-up–stable–decay schedule (Hägele et al. 2024, section 3).
_WSD = TrainingConfig(
    steps=1000,
    warmup_steps=100,
    learning_rate=3e-3,
    min_learning_rate=3e-4,
    schedule="wsd",
    decay_fraction=0.2,
)

register(
    Exercise(
        id="8.4",
        prompt="A run of 1,000 steps (numbered 0 to 999) warms up for 100 steps to 3e-3, stays "
        "there, and decays linearly to 3e-4 over its last 200 steps (800 to 999, reaching 3e-4 "
        "at step 999: step 800 is the first one below the peak, 1/200 of the way down). What "
        "is the learning rate at step 900?",
        hint="the decay's progress at step s is (s − 800 + 1) / 200; the rate is "
        "peak + (min − peak) · progress.",
        judge=close_to(learning_rate_at(900, _WSD), rel_tol=1e-4),
        example_solution=lambda: 3e-3 + (3e-4 - 3e-3) * (900 - 800 + 1) / 200,
        example_mistake=lambda: learning_rate_at(
            900, TrainingConfig(**{**_WSD.to_dict(), "schedule": "cosine"})
        ),  # fmt: skip
        explanation="About 1.64e-3, a little past halfway down. A cosine schedule would be "
        "at about 3.8e-4 by then: WSD keeps the peak rate for 70% of the run.",
    )
)
