"""Chapter 2's checks point at the typical slip without giving the answer away."""

from __future__ import annotations

import math

from course_utils import check
from course_utils.scaling import CHINCHILLA, EPOCH_2024

GOPHER_LOSS = CHINCHILLA.predict_loss(280e9, 300e9)
CHINCHILLA_LOSS = CHINCHILLA.predict_loss(70e9, 1.4e12)


def test_loss_gap_slips_are_named():
    assert check("2.1", GOPHER_LOSS - CHINCHILLA_LOSS).correct
    wrong_sign = check("2.1", CHINCHILLA_LOSS - GOPHER_LOSS)
    assert not wrong_sign.correct and "sign" in wrong_sign.message
    one_loss = check("2.1", GOPHER_LOSS)
    assert not one_loss.correct and "difference" in one_loss.message
    assert f"{GOPHER_LOSS - CHINCHILLA_LOSS:.3f}" not in one_loss.message


def test_allocation_must_use_the_law_it_is_given():
    def always_chinchilla(C, law):
        return CHINCHILLA.exact_optimal_allocation(C)

    feedback = check("2.2", always_chinchilla)
    assert not feedback.correct
    assert "EPOCH_2024" in feedback.message

    def exact(C, law):
        return law.exact_optimal_allocation(C)

    assert check("2.2", exact).correct
    assert not check("2.2", lambda C, law: [1.0, 2.0]).correct
    assert not check("2.2", 42).correct


def test_a_function_stub_is_not_attempted():
    def compute_optimal(C, law):
        raise NotImplementedError

    assert "not attempted yet" in repr(check("2.2", compute_optimal))


def test_gopher_size_slips_are_named():
    budget = 6 * 280e9 * 300e9
    assert check("2.3", EPOCH_2024.exact_optimal_allocation(budget)[0]).correct
    assert "size Gopher was given" in check("2.3", 280e9).message
    assert "20x rule" in check("2.3", math.sqrt(budget / 120)).message
    assert "20x rule" in check("2.3", CHINCHILLA.compute_optimal_allocation(budget)[0]).message
