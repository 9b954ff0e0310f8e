"""The recipe-comparison harness: fair order, shared data, honest verdicts (chapter 8)."""

from __future__ import annotations

import math
import statistics
import time

import numpy as np
import pytest
import torch
from scipy import stats

from course_utils.config import ModelConfig
from course_utils.model import DecoderLM
from course_utils.recipe_comparison import (
    Comparison,
    RunRecord,
    ablation_row,
    compare,
    load_ablation,
    loss_band,
    paired_difference,
    run_order,
    seed_spread,
    slowdown_interval,
    verdict,
    winners,
)
from course_utils.training import Trainer, TrainingConfig

VOCAB = 11
TOKENS = torch.arange(3000) % VOCAB  # a periodic stream: quick to learn
TRAIN, VAL = TOKENS[:2500], TOKENS[2500:]


def tiny_arm(learning_rate: float, built: list | None = None, steps: int = 20):
    """An arm: seed -> Trainer of a 1-layer, 16-wide model; records the trainers it builds."""

    def build(seed: int) -> Trainer:
        torch.manual_seed(seed)
        model = DecoderLM(ModelConfig(vocab_size=VOCAB, d_model=16, n_layers=1, n_heads=2))
        config = TrainingConfig(
            steps=steps,
            batch_size=4,
            context_len=16,
            learning_rate=learning_rate,
            min_learning_rate=learning_rate / 10,
            warmup_steps=2,
            seed=seed,
        )
        trainer = Trainer(model, TRAIN, VAL, config, device="cpu")
        if built is not None:
            built.append(trainer)
        return trainer

    return build


def test_run_order_is_seed_major_with_the_arms_rotated():
    assert run_order(["a", "b", "c"], [0, 1, 2, 3]) == [
        ("a", 0), ("b", 0), ("c", 0),
        ("b", 1), ("c", 1), ("a", 1),
        ("c", 2), ("a", 2), ("b", 2),
        ("a", 3), ("b", 3), ("c", 3),
    ]  # fmt: skip
    with pytest.raises(ValueError, match="arms must have distinct"):
        run_order(["a", "a"], [0])
    with pytest.raises(ValueError, match="seeds must be distinct"):
        run_order(["a"], [1, 1])
    with pytest.raises(ValueError, match="seeds must not be empty"):
        run_order(["a"], [])


def test_compare_alternates_and_scores_every_arm_on_the_same_windows_and_batches():
    built: list[Trainer] = []
    arms = {"slow": tiny_arm(1e-3, built), "fast": tiny_arm(1e-2, built)}
    threads = torch.get_num_threads()
    every = {"slow": 5, "fast": 4}
    result = compare(arms, VAL, seeds=(0, 1), steps=10, eval_every=every, eval_windows=8, threads=1)
    assert torch.get_num_threads() == threads  # restored
    assert result.order == (("slow", 0), ("fast", 0), ("fast", 1), ("slow", 1))
    # One tensor of held-out windows for every run.
    assert all(trainer.val_windows is built[0].val_windows for trainer in built)
    assert built[0].val_windows.shape == (8, 17)
    # The same seed gives every arm the same data order (the sampler's state after 10 steps).
    by_run = dict(zip(result.order, built, strict=True))
    assert torch.equal(by_run["slow", 0].sampler.get_state(), by_run["fast", 0].sampler.get_state())
    assert not torch.equal(
        by_run["slow", 0].sampler.get_state(), by_run["slow", 1].sampler.get_state()
    )
    for run in result.runs:
        assert run.steps == ((0, 5, 10) if run.arm == "slow" else (0, 4, 8, 10))
        assert run.seconds[0] == 0 and run.seconds[1] < run.seconds[2]
        assert all(math.isfinite(loss) for loss in run.val_loss)
    # The same seed and the same recipe start from the same untrained loss.
    assert result.runs_of("slow")[0].val_loss[0] == result.runs_of("fast")[0].val_loss[0]


def test_evaluation_time_is_not_training_time():
    def slow_to_evaluate(seed):
        trainer = tiny_arm(1e-2)(seed)
        evaluate = trainer.evaluate

        def slow():
            time.sleep(0.3)
            return evaluate()

        trainer.evaluate = slow
        return trainer

    began = time.perf_counter()
    run = compare({"a": slow_to_evaluate}, VAL, seeds=(0,), steps=4, eval_every=1,
                  eval_windows=8).runs[0]  # fmt: skip
    wall = time.perf_counter() - began
    assert run.steps == (0, 1, 2, 3, 4)
    # Five evaluations slept 1.5 s: the training clock leaves all of it out.
    assert 0 < run.seconds[-1] <= wall - 1.5
    assert run.seconds_per_step == pytest.approx(run.seconds[-1] / 4)


def test_a_target_loss_stops_the_run_and_times_it():
    result = compare({"a": tiny_arm(1e-2, steps=40)}, VAL, seeds=(0,), target_loss=2.3,
                     eval_every=2, eval_windows=8)  # fmt: skip
    run = result.runs[0]
    assert run.val_loss[-1] <= 2.3 < min(run.val_loss[:-1])
    assert result.steps_to_target("a", 2.3) == [float(run.steps[-1])]
    assert result.time_to_target("a", 2.3) == [run.seconds[-1]]
    assert result.time_to_target("a", 0.0) == [math.inf]


def test_a_wall_clock_budget_stops_the_run():
    run = compare({"a": tiny_arm(1e-2, steps=100000)}, VAL, seeds=(0,), seconds=0.2,
                  eval_windows=8).runs[0]  # fmt: skip
    assert 0.2 <= run.seconds[-1] < 5 and run.steps[-1] < 100000


def test_bad_settings_are_value_errors():
    arms = {"a": tiny_arm(1e-2)}
    with pytest.raises(ValueError, match="steps=30 is longer than arm 'a'"):
        compare(arms, VAL, seeds=(0,), steps=30)
    with pytest.raises(ValueError, match="eval_every"):
        compare(arms, VAL, eval_every=0)
    with pytest.raises(ValueError, match="eval_every must name every arm"):
        compare(arms, VAL, eval_every={"b": 5})
    with pytest.raises(ValueError, match="threads"):
        compare(arms, VAL, threads=0)
    with pytest.raises(ValueError, match="arms must be a Mapping"):
        compare([tiny_arm(1e-2)], VAL)
    with pytest.raises(ValueError, match="must be a Trainer"):
        compare({"a": lambda seed: None}, VAL, seeds=(0,))


def test_runs_with_different_contexts_are_refused():
    def other_context(seed):
        trainer = tiny_arm(1e-2)(seed)
        return Trainer(
            trainer.model, TRAIN, VAL, TrainingConfig(steps=5, context_len=8), device="cpu"
        )

    with pytest.raises(ValueError, match="same windows"):
        compare({"a": tiny_arm(1e-2), "b": other_context}, VAL, seeds=(0,), steps=2)


# -- statistics ---------------------------------------------------------------------------


def test_the_paired_interval_is_scipys_paired_t_interval():
    a = [1.52, 1.49, 1.55, 1.50, 1.53]
    b = [1.47, 1.46, 1.50, 1.44, 1.49]
    difference = paired_difference(a, b)
    reference = stats.ttest_rel(b, a).confidence_interval(0.95)
    assert difference.low == pytest.approx(reference.low, rel=1e-12)
    assert difference.high == pytest.approx(reference.high, rel=1e-12)
    assert difference.mean == pytest.approx(-0.046)
    ninety = paired_difference(a, b, confidence=0.9)
    assert difference.low < ninety.low < ninety.high < difference.high


def test_a_clear_gain_is_called_and_a_gain_inside_the_noise_is_not():
    baseline = [1.50, 1.58, 1.46, 1.54]
    clear = [x - 0.05 + e for x, e in zip(baseline, [0.004, -0.003, 0.002, -0.003], strict=True)]
    difference = paired_difference(baseline, clear)
    assert difference.measurable
    text = verdict(difference, "baseline", "new", unit="nats")
    assert text.startswith("new is lower than baseline by 0.05 nats")
    # The same mean gain, but seed-to-seed noise in the difference larger than the gain.
    noisy = [x - 0.05 + e for x, e in zip(baseline, [0.15, -0.2, 0.1, -0.05], strict=True)]
    noise = paired_difference(baseline, noisy)
    assert not noise.measurable and noise.low < 0 < noise.high
    assert verdict(noise, "baseline", "new").startswith("no measurable difference")
    # A clear loss is called the other way round.
    worse = paired_difference(clear, baseline)
    assert verdict(worse, "new", "baseline").startswith("new is lower than baseline")


def test_ratio_and_medians():
    difference = paired_difference([10.0, 20.0, 40.0], [5.0, 8.0, 30.0])
    assert difference.ratio == pytest.approx(0.5)
    assert (difference.median_a, difference.median_b) == (20.0, 8.0)


def test_paired_difference_refuses_what_it_cannot_judge():
    with pytest.raises(ValueError, match="at least 2 seeds"):
        paired_difference([1.0], [2.0])
    with pytest.raises(ValueError, match="pair up"):
        paired_difference([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="never reached the target"):
        paired_difference([1.0, 2.0], [1.0, math.inf])
    with pytest.raises(ValueError, match="confidence"):
        paired_difference([1.0, 2.0], [1.0, 3.0], confidence=1.0)
    with pytest.raises(ValueError, match="difference must be a PairedDifference"):
        verdict(0.1, "a", "b")


def test_seed_spread_and_band():
    spread = seed_spread([1.5, 1.6, 1.4])
    assert spread.median == 1.5 and spread.range == pytest.approx(0.2)
    assert spread.std == pytest.approx(0.1)
    with pytest.raises(ValueError, match="at least two finite"):
        seed_spread([1.0])
    runs = (
        RunRecord("a", 0, (0, 10), (0.0, 1.0), (3.0, 2.0)),
        RunRecord("a", 1, (0, 10), (0.0, 3.0), (3.0, 2.4)),
    )
    seconds, low, mid, high = loss_band(Comparison(("a",), (0, 1), runs), "a")
    assert seconds == [0.0, 2.0] and low == [3.0, 2.0] and high == [3.0, 2.4]
    assert mid == pytest.approx([3.0, 2.2])
    with pytest.raises(ValueError, match="arm must be one of"):
        Comparison(("a",), (0, 1), runs).runs_of("b")


def synthetic(arm: str, losses, seconds_per_step) -> list[RunRecord]:
    return [
        RunRecord(arm, seed, (0, 100), (0.0, 100 * sps), (4.0, loss))
        for seed, (loss, sps) in enumerate(zip(losses, seconds_per_step, strict=True))
    ]


def test_the_slowdown_interval_is_the_paired_interval_of_the_log_ratios():
    base, new = [0.050, 0.054, 0.049, 0.043], [0.061, 0.068, 0.059, 0.054]
    low, high = slowdown_interval(base, new)
    expected = stats.ttest_rel(np.log(new), np.log(base)).confidence_interval(0.95)
    assert (low, high) == pytest.approx((np.exp(expected.low), np.exp(expected.high)))
    assert low < statistics.median(b / a for a, b in zip(base, new, strict=True)) < high
    with pytest.raises(ValueError, match="times must be positive"):
        slowdown_interval(base, [0.0, 0.1, 0.1, 0.1])


def test_winners_need_a_measurable_gain_and_no_measurably_slower_steps():
    runs = (
        synthetic("base", [2.00, 2.10, 1.95], [0.010, 0.011, 0.010])
        + synthetic("better", [1.90, 2.01, 1.84], [0.010, 0.011, 0.010])
        + synthetic("noisy", [1.80, 2.30, 1.90], [0.010, 0.011, 0.010])
        + synthetic("slower", [1.90, 2.01, 1.84], [0.015, 0.016, 0.015])
        # per-seed time ratios 1.02, 1.30, 1.12: the median is above 1.1, the seeds say little
        + synthetic("jittery", [1.90, 2.01, 1.84], [0.0102, 0.0143, 0.0112])
    )
    comparison = Comparison(("base", "better", "noisy", "slower", "jittery"), (0, 1, 2), runs)
    assert winners(comparison, "base") == ["better", "jittery"]
    assert winners(comparison, "base", max_slowdown=2.0) == ["better", "slower", "jittery"]
    with pytest.raises(ValueError, match="max_slowdown"):
        winners(comparison, "base", max_slowdown=0.5)


# -- the stored ablation --------------------------------------------------------------------


def test_the_stored_ablation_has_its_provenance_and_a_row_per_option():
    from course_utils.recipes import RECIPE_OPTIONS

    stored = load_ablation()
    provenance = stored["provenance"]
    for key in ("date", "cpu", "torch", "threads", "seeds", "steps", "command"):
        assert provenance[key] not in ("", None, [])
    assert set(RECIPE_OPTIONS) | {"nanogpt_baseline"} <= set(stored["arms"])
    for name, row in stored["arms"].items():
        assert len(row["val_loss"]) == len(provenance["seeds"])
        low, high = row["prediction_interval_95"]
        assert low < row["median_val_loss"] < high
        if name != "nanogpt_baseline":
            vs = row["vs_baseline"]
            assert vs["measurable"] == (vs["interval_95"][1] < 0 or vs["interval_95"][0] > 0)
    assert all(name in stored["arms"] for name in stored["winners"])
    # The stored winners are the rule applied to the stored intervals (loss and time).
    options = [name for name in RECIPE_OPTIONS if name in stored["arms"]]
    assert stored["winners"] == [
        name
        for name in options
        if stored["arms"][name]["vs_baseline"]["interval_95"][1] < 0
        and stored["arms"][name]["vs_baseline"]["time_per_step_interval_95"][0] <= 1.1
    ]
    assert stored["arms"]["winners_combined"]["options"] == stored["winners"]


def test_one_row_of_the_stored_ablation_reruns_inside_its_interval():
    stored = load_ablation()
    option, seed = "higher_lr", stored["provenance"]["seeds"][0]
    row = stored["arms"][option]
    loss = ablation_row(option, seed, stored)
    low, high = row["prediction_interval_95"]
    assert low <= loss <= high
    # The same seed repeats its stored run (to float noise between CPUs' kernels).
    assert loss == pytest.approx(row["val_loss"][0], abs=0.02)
    with pytest.raises(ValueError, match="option must be one of"):
        ablation_row("bigger_model", 0, stored)
