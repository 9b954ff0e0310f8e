"""Chapter 6's exercises: each check accepts the worked answer and names the usual slips."""

from __future__ import annotations

import pytest

from course_utils.exercises import CORRECT, INCORRECT, NOT_ATTEMPTED, check

PSI = 6_738_415_616


@pytest.mark.parametrize(
    ("exercise", "right", "slips"),
    [
        # ZeRO-2 on 8 GPUs; the slips: stage 3 (weights split too) and stage 1 (gradients whole).
        (
            "6.1",
            (2 * PSI + 14 * PSI / 8) / 1e9,
            [16 * PSI / 8 / 1e9, (4 * PSI + 12 * PSI / 8) / 1e9],
        ),
        # Ring all-reduce; the slips: one pass (reduce-scatter only), and fp32 gradients.
        ("6.2", 2 * 63 / 64 * 3e9 / 1e9, [63 / 64 * 3e9 / 1e9, 2 * 63 / 64 * 6e9 / 1e9]),
        # The bubble; the slips: p/m, and the share of the whole step (p − 1)/(m + p − 1).
        ("6.3", 15 / 32, [16 / 32, 15 / 47]),
    ],
)
def test_checks_accept_the_answer_and_reject_the_slips(exercise, right, slips):
    assert check(exercise, ...).status == NOT_ATTEMPTED
    assert check(exercise, right).status == CORRECT
    for slip in slips:
        assert check(exercise, slip).status == INCORRECT, (exercise, slip)
    assert check(exercise, "a lot").status == INCORRECT
