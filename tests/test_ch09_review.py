"""Chapter 9's quiz: right answers pass and explain; every wrong choice and typical slip explains.

The numeric answers are recomputed here by hand from the published numbers, independently of
the ``course_utils`` functions the quiz module calls.
"""

from __future__ import annotations

import math
import re

import pytest

from course_utils.corpus import load_corpus
from course_utils.exercises import CORRECT, INCORRECT, all_exercises, check
from course_utils.exercises.framework import QUIZ, multiple_choice, numeric, question_markdown
from course_utils.pipeline import run_pipeline
from tests.notebook_files import NOTEBOOKS, SOLUTIONS, read

EXERCISES = all_exercises()
MULTIPLE_CHOICE = [q for q in QUIZ.values() if q.is_multiple_choice]
NUMERIC = [q for q in QUIZ.values() if not q.is_multiple_choice]
EVERY_OPTION = [(q.id, letter) for q in MULTIPLE_CHOICE for letter in q.options]


def test_the_quiz_covers_every_chapter_it_reviews():
    assert set(QUIZ) == {i for i in EXERCISES if i.startswith("9.")}
    assert {q.chapter for q in QUIZ.values()} == {0, 1, 2, 3, 4, 5, 6, 7, 8}
    assert len(MULTIPLE_CHOICE) >= 5 and len(NUMERIC) >= 5


@pytest.mark.parametrize("exercise_id", list(QUIZ))
def test_every_right_answer_explains_itself(exercise_id):
    exercise = EXERCISES[exercise_id]
    assert len(exercise.explanation) > 20
    feedback = check(exercise_id, exercise.example_solution())
    assert feedback.status == CORRECT
    assert exercise.explanation in feedback.message


@pytest.mark.parametrize(("exercise_id", "letter"), EVERY_OPTION)
def test_every_multiple_choice_option_gets_its_own_explanation(exercise_id, letter):
    question = QUIZ[exercise_id]
    for answer in (letter, letter.upper(), f" {letter} "):
        feedback = check(exercise_id, answer)
        if letter == question.right:
            assert feedback.status == CORRECT, feedback
            assert EXERCISES[exercise_id].explanation in feedback.message
        else:
            assert feedback.status == INCORRECT, feedback
            assert question.why_not[letter] in feedback.message
            assert EXERCISES[exercise_id].explanation not in feedback.message


@pytest.mark.parametrize("exercise_id", [q.id for q in MULTIPLE_CHOICE])
def test_an_answer_that_is_no_option_is_refused(exercise_id):
    feedback = check(exercise_id, "z")
    assert feedback.status == INCORRECT
    assert "answer with one of" in feedback.message


@pytest.mark.parametrize("exercise_id", [q.id for q in MULTIPLE_CHOICE])
def test_the_prompt_lists_every_option(exercise_id):
    question = QUIZ[exercise_id]
    prompt = EXERCISES[exercise_id].prompt
    shown = question_markdown(exercise_id)
    for letter, text in question.options.items():
        assert f"({letter}) {text}" in prompt
        assert f"* ({letter}) {text}" in shown


# Independent recomputations of the numeric answers, from the published numbers.
H100_PEAK = 989e12  # NVIDIA H100 SXM datasheet: 1,979 TFLOPS BF16 with sparsity, 989 dense
BY_HAND = {
    "9.3": 13e9 * (2 + 2 + 4 + 4 + 4) / 1e9,  # ZeRO section 3.1: 16 bytes per parameter
    "9.4": 6 * 1e9 * 20e9 / (0.4 * H100_PEAK) / 3600,
    "9.6": 0.34 / 0.28,  # Hoffmann et al. (2022), section 3.3: alpha, beta
    "9.7": 10.0,
    "9.11": 10_000 ** (-126 / 128) * 4095,  # Su et al. (2021), eq. 15: theta_i, i = 63
    "9.14": 1.5 / math.log(2),  # nats to bits
    "9.25": 5 * 128 / (16 * 1024),  # Jordan (2024): T·m/B for a square matrix
}


@pytest.mark.parametrize("exercise_id", sorted(BY_HAND))
def test_numeric_answers_match_a_hand_computation(exercise_id):
    value = BY_HAND[exercise_id]
    assert math.isclose(EXERCISES[exercise_id].example_solution(), value, rel_tol=1e-4)
    assert check(exercise_id, value).correct
    assert not check(exercise_id, value * 1.05).correct


def test_the_pipeline_share_is_what_the_stages_report():
    corpus_bytes = sum(len(d.text.encode()) for d in load_corpus())
    kept_bytes = run_pipeline()[-1].bytes_kept
    share = 1 - kept_bytes / corpus_bytes
    assert 0.1 < share < 0.25
    assert math.isclose(EXERCISES["9.13"].example_solution(), share, rel_tol=1e-9)
    assert check("9.13", share).correct


@pytest.mark.parametrize(
    ("exercise_id", "slip", "named"),
    [
        ("9.3", 13e9 * 2 / 1e9, "bf16 weights alone"),
        ("9.3", 13e9 * 4 / 1e9, "fp32 weights alone"),
        ("9.3", 13e9 * 12 / 1e9, "optimizer states alone"),
        ("9.4", 6 * 1e9 * 20e9 / H100_PEAK / 3600, "divide by the MFU"),
        ("9.4", 2 * 1e9 * 20e9 / (0.4 * H100_PEAK) / 3600, "forward pass only"),
        ("9.4", 6 * 1e9 * 20e9 / (0.4 * H100_PEAK), "GPU-seconds"),
        ("9.6", 0.28 / 0.34, "upside down"),
        ("9.6", 1.0, "equal terms"),
        ("9.7", 100**0.73, "Kaplan"),
        ("9.7", 100.0, "data must grow too"),
        ("9.11", 4095.0, "fastest pair"),
        ("9.11", 4095 / 10_000, "theta_64"),
        ("9.13", 100 * EXERCISES["9.13"].example_solution(), "percentage"),
        ("9.14", 1.5 * math.log(2), "multiplied by ln 2"),
        ("9.14", 1.5 / math.log(10), "base-10"),
        ("9.14", 1.5, "still in nats"),
        ("9.13", 1 - EXERCISES["9.13"].example_solution(), "kept, not removed"),
    ],
)
def test_typical_slips_are_named(exercise_id, slip, named):
    feedback = check(exercise_id, slip)
    assert feedback.status == INCORRECT
    assert named in feedback.message
    answer = f"{EXERCISES[exercise_id].example_solution():.4g}"
    assert not re.search(rf"(?<![\d.]){re.escape(answer)}(?![\d.])", feedback.message)


def test_a_numeric_answer_of_the_wrong_type_is_explained():
    assert "expected a number" in check("9.3", "208").message
    assert "expected a number" in check("9.11", True).message


def test_badly_specified_questions_are_refused():
    common = dict(title="t", chapter=6, question="q?", explanation="because.", hint="h")
    options = {"a": "one", "b": "two"}
    with pytest.raises(ValueError, match="right"):
        multiple_choice(id="9.99", options=options, right="c", why_not={"a": "x"}, **common)
    with pytest.raises(ValueError, match="why_not"):
        multiple_choice(id="9.99", options=options, right="a", why_not={}, **common)
    with pytest.raises(ValueError, match="explanation"):
        multiple_choice(id="9.99", options=options, right="a", why_not={"b": " "}, **common)
    with pytest.raises(ValueError, match="exercise_id"):
        question_markdown("9.99")
    assert "9.99" not in QUIZ and "9.99" not in all_exercises()
    with pytest.raises(ValueError, match="slips"):
        numeric(id="9.99", answer=lambda: 1.0, slips={}, rel_tol=1e-3, unit="", **common)


@pytest.mark.parametrize(
    "path", [NOTEBOOKS / "09_review.ipynb", SOLUTIONS / "09_review_solutions.ipynb"]
)
def test_the_notebooks_show_each_question_as_registered(path):
    markdown = [c.source for c in read(path).cells if c.cell_type == "markdown"]
    for exercise_id in QUIZ:
        shown = question_markdown(exercise_id)
        assert any(source.startswith(shown) for source in markdown), (
            f"{path.name} does not show question {exercise_id} as registered; "
            "regenerate the notebook"
        )
