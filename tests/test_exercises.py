import re
from collections import Counter

import pytest

from course_utils.exercises import (
    CORRECT,
    INCORRECT,
    NOT_ATTEMPTED,
    Exercise,
    all_exercises,
    check,
    choice_exercise,
    close_to,
    exact_count,
    one_of,
    register,
)
from course_utils.exercises.framework import QUIZ
from tests.notebook_files import chapter_notebooks, read

EXERCISES = all_exercises()


def stub_function(*args, **kwargs):
    raise NotImplementedError


@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_no_check_passes_a_stub(exercise_id):
    for stub in (..., None):
        feedback = check(exercise_id, stub)
        assert feedback.status == NOT_ATTEMPTED, (exercise_id, stub, feedback)
        assert "not attempted yet" in repr(feedback)
        assert "Hint:" in repr(feedback)
    # A function stub is "not attempted" where a function is asked for, wrong elsewhere.
    assert check(exercise_id, stub_function).status in {NOT_ATTEMPTED, INCORRECT}


@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_the_worked_solution_passes(exercise_id):
    exercise = EXERCISES[exercise_id]
    feedback = check(exercise_id, exercise.example_solution())
    assert feedback.status == CORRECT, feedback
    assert feedback.correct


@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_a_typical_mistake_is_explained(exercise_id):
    exercise = EXERCISES[exercise_id]
    feedback = check(exercise_id, exercise.example_mistake())
    assert feedback.status == INCORRECT, feedback
    assert not feedback.correct
    assert "not yet" in feedback.message or "raised" in feedback.message


def test_exercise_ids_are_chapter_dot_number():
    for exercise_id in EXERCISES:
        chapter, number = exercise_id.split(".")
        assert chapter.isdigit() and number.isdigit()


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(ValueError, match="exercise_id must be one of"):
        check("99.1", 3)


def test_registering_an_id_twice_is_an_error():
    existing = next(iter(EXERCISES.values()))
    with pytest.raises(ValueError, match="registered twice"):
        register(existing)


def test_learner_code_that_crashes_is_reported_not_raised():
    def judge(answer):
        return None if answer(2) == 4 else "wrong"

    exercise = Exercise("0.99", "square", "multiply", judge, lambda: None, lambda: None)
    register(exercise)
    try:
        feedback = check("0.99", lambda x: 1 / 0)
        assert feedback.status == INCORRECT
        assert "ZeroDivisionError" in feedback.message
    finally:
        from course_utils.exercises import framework

        framework._REGISTRY.pop("0.99")


class TestCloseTo:
    judge = staticmethod(close_to(107.8, rel_tol=0.01, unit="GB"))

    def test_within_tolerance(self):
        assert self.judge(108.3) is None
        assert self.judge(107.3) is None

    def test_says_direction_and_size_of_a_small_error(self):
        assert self.judge(118.58) == "118.6 GB is 10.0% too high."
        assert self.judge(102.41) == "102.4 GB is 5.0% too low."

    def test_says_factor_for_a_large_error(self):
        assert self.judge(1078) == "1078 GB is 10x too large."
        assert self.judge(26.95) == "26.95 GB is 4x too small."

    def test_a_small_whole_answer_is_not_given_away(self):
        # "12 is 20.0% too low" would give 15 away by arithmetic; so would "4x too small".
        judge = close_to(15, rel_tol=1e-9)
        assert judge(12) == "12 is too low."
        assert judge(60) == "60 is too high."
        assert close_to(2.0)(0.5) == "0.5 is too low."

    @pytest.mark.parametrize("answer", ["100", True, [100], float("nan")])
    def test_non_numbers_are_refused(self, answer):
        assert self.judge(answer).startswith("expected a")

    def test_accepts_numpy_and_torch_scalars(self):
        import numpy as np
        import torch

        assert self.judge(np.float32(107.8)) is None
        assert self.judge(torch.tensor(107.8)) is None

    def test_rejects_bad_tolerance(self):
        with pytest.raises(ValueError, match="rel_tol"):
            close_to(1.0, rel_tol=0)


def test_one_of_explains_each_wrong_choice():
    judge = one_of({"a": "a is too small.", "b": "", "c": "c ignores the bias."}, right="b")
    assert judge("b") is None
    assert judge(" B ") is None
    assert "ignores the bias" in judge("c")
    assert "answer with one of" in judge("z")
    with pytest.raises(ValueError, match="right"):
        one_of({"a": ""}, right="b")


class TestExactCount:
    judge = staticmethod(exact_count(124_439_808))

    def test_only_the_exact_count_passes(self):
        assert self.judge(124_439_808) is None
        assert self.judge(124_439_808.0) is None
        assert self.judge(124_439_809) is not None

    def test_a_near_miss_names_the_difference_not_a_percentage(self):
        assert self.judge(124_439_808 - 2048) == (
            "124,437,760 is 2,048 too low: look for a part of that size you left out."
        )
        message = self.judge(124_439_808 + 768)
        assert message.startswith("124,440,576 is 768 too high: ")
        assert "%" not in message

    def test_far_off_counts_get_a_factor(self):
        assert self.judge(4 * 124_439_808) == "497,759,232 is 4x too large."

    def test_small_counts_only_say_which_way(self):
        assert exact_count(15)(12) == "12 is too low."
        assert exact_count(15)(45) == "45 is too high."

    @pytest.mark.parametrize("answer", ["15", True, None, float("inf")])
    def test_non_numbers_are_refused(self, answer):
        assert exact_count(15)(answer).startswith("expected a")

    def test_a_fraction_is_not_a_count(self):
        assert "whole number" in exact_count(15)(14.5)

    @pytest.mark.parametrize("expected", [1.5, -3, True])
    def test_rejects_an_expected_value_that_is_no_count(self, expected):
        with pytest.raises(ValueError, match="expected"):
            exact_count(expected)


@pytest.mark.parametrize(
    ("exercise_id", "answer", "message"),
    [
        ("0.1", 12, "12 is too low."),  # the weights without the biases
        ("1.1", 124_439_808 - 2 * 768, "124,438,272 is 1,536 too low: "),  # no final LayerNorm
        ("3.3", 202_383_360 - 2 * 4096, "202,375,168 is 8,192 too low: "),  # no RMSNorms
        ("5.4", 1500 * 32 * 65, "3,120,000 is 48,000 too high: "),  # 65 tokens a window
    ],
)
def test_counting_exercises_name_the_gap_not_a_percentage(exercise_id, answer, message):
    feedback = check(exercise_id, answer)
    assert feedback.status == INCORRECT
    assert message in feedback.message
    assert "%" not in feedback.message.split("Hint:")[0]


# --- questions answered with a letter -------------------------------------------------------

CHOICES = [e for e in EXERCISES.values() if e.options]


def test_the_chapters_ask_questions_with_options():
    assert {"2.4", "9.1"} <= {e.id for e in CHOICES}


@pytest.mark.parametrize("exercise", CHOICES, ids=lambda e: e.id)
def test_the_recorded_right_letter_is_the_one_the_check_accepts(exercise):
    assert list(exercise.options) == sorted(exercise.options)
    for letter, text in exercise.options.items():
        assert f"({letter}) {text}" in exercise.prompt
        assert check(exercise.id, letter).correct == (letter == exercise.right)


@pytest.mark.parametrize("exercise", CHOICES, ids=lambda e: e.id)
def test_an_invalid_letter_lists_the_letters_in_order(exercise):
    letters = ", ".join(repr(letter) for letter in sorted(exercise.options))
    assert f"answer with one of {letters}." in check(exercise.id, "z").message


def _length_rank(exercise: Exercise) -> float:
    """Where the right option's length falls among its options: 0 shortest, 1 longest."""
    lengths = sorted(len(text) for text in exercise.options.values())
    return lengths.index(len(exercise.options[exercise.right])) / (len(lengths) - 1)


def test_neither_position_nor_length_gives_the_answer_away():
    """Over every question with options, a learner who always picks the longest option,
    or always the same letter, must do little better than chance."""
    n = len(CHOICES)
    chance = sum(1 / len(e.options) for e in CHOICES) / n
    longest = sum(
        len(e.options[e.right]) > max(len(t) for k, t in e.options.items() if k != e.right)
        for e in CHOICES
    )
    shortest = sum(
        len(e.options[e.right]) < min(len(t) for k, t in e.options.items() if k != e.right)
        for e in CHOICES
    )
    assert longest / n <= chance + 0.1, f"the right option is the longest in {longest} of {n}"
    assert shortest / n <= chance + 0.1, f"the right option is the shortest in {shortest} of {n}"
    letters = Counter(e.right for e in CHOICES)
    assert max(letters.values()) / n <= 0.4, f"right letters: {dict(letters)}"
    assert set(letters) == {letter for e in CHOICES for letter in e.options}
    ranks = Counter(round(3 * _length_rank(e)) for e in CHOICES)  # quarters of the length order
    assert max(ranks.values()) / n <= 0.4, f"length ranks of the right options: {dict(ranks)}"
    mean_rank = sum(_length_rank(e) for e in CHOICES) / n
    assert 0.3 <= mean_rank <= 0.7, mean_rank


def test_a_choice_exercise_refuses_options_out_of_order():
    with pytest.raises(ValueError, match="letter order"):
        choice_exercise(
            id="0.98",
            question="q?",
            options={"b": "one", "a": "two"},
            right="a",
            why_not={"b": "x"},
            explanation="because.",
            hint="h",
        )
    assert "0.98" not in all_exercises()


# --- exercise 4.3: the shouting-lines filter --------------------------------------------------


def _shouting(doc, *, skip_blank=True, strictly=True, guard_empty=True):
    lines = [line for line in doc.splitlines() if line.strip() or not skip_blank]
    if guard_empty and not lines:
        return None
    share = sum(line.isupper() for line in lines) / len(lines)
    return "shouting" if (share > 0.2 if strictly else share >= 0.2) else None


@pytest.mark.parametrize(
    ("options", "pointer"),
    [
        ({"skip_blank": False}, "leave blank lines out of the denominator"),
        ({"strictly": False}, "*more than* 20%"),
        ({"guard_empty": False}, "ZeroDivisionError"),
    ],
)
def test_the_shouting_check_rejects_each_buggy_filter(options, pointer):
    assert check("4.3", _shouting).correct
    feedback = check("4.3", lambda doc: _shouting(doc, **options))
    assert feedback.status == INCORRECT
    assert pointer in feedback.message
    assert "Hint:" in feedback.message


# --- where the chapters ask their exercises ----------------------------------------------------

_HEADING = re.compile(r"^#{2,3} (?:Exercise|Question) (\d+\.\d+) — ", re.M)
_CHECK = re.compile(r"""\bcheck\(\s*["'](\d+\.\d+)["']""")


def _asked_in_order(path):
    """The exercise ids of a chapter's headings, and of its check calls, in order of appearance,
    each check call paired with the heading above it."""
    headings, checks, current = [], [], None
    for cell in read(path).cells:
        if cell.cell_type == "markdown":
            for exercise_id in _HEADING.findall(cell.source):
                headings.append(exercise_id)
                current = exercise_id
        else:
            checks += [(current, exercise_id) for exercise_id in _CHECK.findall(cell.source)]
    return headings, checks


@pytest.mark.parametrize(
    "path",
    chapter_notebooks(),
    ids=lambda path: path.name,
)
def test_every_exercise_has_a_heading_and_they_come_in_order(path):
    headings, checks = _asked_in_order(path)
    assert headings, f"{path.name} asks no exercise under an '### Exercise N.k — title' heading"
    assert headings == sorted(headings, key=_key), f"{path.name} asks them as {headings}"
    for heading, exercise_id in checks:
        assert heading == exercise_id, f"check({exercise_id!r}) sits under exercise {heading}"
    assert set(headings) == {exercise_id for _, exercise_id in checks}


def _key(exercise_id):
    return tuple(int(part) for part in exercise_id.split("."))


@pytest.mark.parametrize("exercise", [e for e in CHOICES if e.id not in QUIZ], ids=lambda e: e.id)
def test_the_chapter_shows_the_options_the_check_knows(exercise):
    chapter = int(exercise.id.split(".")[0])
    (path,) = [p for p in chapter_notebooks() if p.name.startswith(f"{chapter:02d}_")]
    markdown = "\n".join(c.source for c in read(path).cells if c.cell_type == "markdown")
    for letter, text in exercise.options.items():
        assert f"* ({letter}) {text}" in markdown, f"{path.name} does not show option {letter}"
