"""Chapter 8's exercises accept the worked solution and reject the stub and the usual slips."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from course_utils.exercises import CORRECT, INCORRECT, NOT_ATTEMPTED, all_exercises, check
from course_utils.exercises.ch08_training_recipes import BASELINE_LOSSES, NEW_LOSSES

EXERCISES = {k: v for k, v in all_exercises().items() if k in {"8.1", "8.2", "8.3", "8.4"}}


@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_solution_passes_stub_and_mistake_do_not(exercise_id):
    exercise = EXERCISES[exercise_id]
    assert check(exercise_id, ...).status == NOT_ATTEMPTED
    assert check(exercise_id, exercise.example_solution()).status == CORRECT
    assert check(exercise_id, exercise.example_mistake()).status == INCORRECT


def test_the_interval_exercise_is_scipys_paired_interval():
    reference = stats.ttest_rel(NEW_LOSSES, BASELINE_LOSSES).confidence_interval(0.95)
    assert check("8.1", reference.low).correct
    assert "too high" in check("8.1", reference.low / 1.2).message  # the z=1.96 slip's side
    assert not check("8.1", reference.high).correct


def test_the_slips_are_named_by_their_size():
    assert "too low" in check("8.2", 1100 / 2000).message  # steps, not seconds
    assert "5x too small" in check("8.3", 128 / 768).message  # one iteration, not five
    assert check("8.4", 3e-3 - 2.7e-3 * 101 / 200).correct
    assert not check("8.4", 3e-3 - 2.7e-3 * 100 / 200).correct  # off by one step
    assert math.isclose(EXERCISES["8.3"].example_solution(), 5 * 128 / 768)
