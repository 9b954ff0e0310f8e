"""How exercises are checked (chapter 0).

A chapter notebook hands the learner a *stub*: ``answer = ...`` or a function whose body
raises ``NotImplementedError``. ``check("1.2", answer)`` then says one of three things:

* ``not attempted yet`` and a hint, while the stub is untouched,
* ``correct``, or
* what is wrong, without giving the answer away.

Each chapter registers its exercises in a module of :mod:`course_utils.exercises`
(``ch01_scale.py`` …) that imports this one; :func:`check` loads them on first use, so the
imports run one way. Every exercise carries a correct and a wrong example answer so the tests
can prove that its check accepts the one and rejects the other, and that no check passes a
stub. :func:`choice_exercise` registers a question answered with a letter, each wrong letter
explained; :func:`multiple_choice` and :func:`numeric` register quiz questions whose every wrong
answer explains itself (chapter 9, the review, asks only those; any chapter may).
"""

from __future__ import annotations

import importlib
import math
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from course_utils.checks import choice, int_at_least, positive_number

#: The package whose modules (``ch01_scale.py`` …) register the chapters' exercises.
PACKAGE = "course_utils.exercises"

NOT_ATTEMPTED = "not attempted"
CORRECT = "correct"
INCORRECT = "incorrect"

Judge = Callable[[Any], "str | None"]


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer; shows as a single readable line in a notebook."""

    exercise: str
    status: str
    message: str

    @property
    def correct(self) -> bool:
        return self.status == CORRECT

    def __repr__(self) -> str:
        marks = {CORRECT: "✅", INCORRECT: "❌", NOT_ATTEMPTED: "✏️"}
        return f"{marks[self.status]} Exercise {self.exercise}: {self.message}"


@dataclass(frozen=True)
class Exercise:
    """One checkable exercise.

    ``judge(answer)`` returns ``None`` when the answer is right, else a sentence saying what
    is wrong. ``example_solution`` and ``example_mistake`` build a right and a wrong answer;
    the test suite uses them to prove the check can both pass and fail. A question answered
    with a letter (:func:`choice_exercise`) also records its ``options`` (letter -> text) and
    its ``right`` letter, so the tests can check that neither position nor length gives the
    answer away.
    """

    id: str
    prompt: str
    hint: str
    judge: Judge
    example_solution: Callable[[], Any]
    example_mistake: Callable[[], Any]
    explanation: str = ""  # shown with "correct!": why the answer is what it is
    options: Mapping[str, str] = field(default_factory=dict)  # letter -> text, if any
    right: str | None = None  # the right letter of a question with options


_REGISTRY: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    """Add an exercise to the registry (called by the chapter modules)."""
    if exercise.id in _REGISTRY:
        raise ValueError(f"exercise id {exercise.id!r} is registered twice")
    _REGISTRY[exercise.id] = exercise
    return exercise


def _load_chapter_modules() -> None:
    package = importlib.import_module(PACKAGE)
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{PACKAGE}.{module.name}")


def all_exercises() -> dict[str, Exercise]:
    """Every registered exercise, keyed by id such as ``"1.2"``."""
    _load_chapter_modules()
    return dict(sorted(_REGISTRY.items(), key=lambda item: _id_key(item[0])))


def _id_key(exercise_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in exercise_id.split("."))


def is_stub(answer: Any) -> bool:
    """True for an untouched value stub, ``...`` or ``None``.

    (A function stub is recognised when calling it raises ``NotImplementedError``.)
    """
    return answer is ... or answer is None


def check(exercise_id: str, answer: Any) -> Feedback:
    """Check a learner's answer to exercise ``exercise_id`` (e.g. ``"1.2"``)."""
    exercises = all_exercises()
    exercise = exercises[choice("exercise_id", exercise_id, exercises)]
    if is_stub(answer):
        return Feedback(exercise_id, NOT_ATTEMPTED, f"not attempted yet. Hint: {exercise.hint}")
    try:
        problem = exercise.judge(answer)
    except NotImplementedError:
        return Feedback(exercise_id, NOT_ATTEMPTED, f"not attempted yet. Hint: {exercise.hint}")
    except Exception as error:  # the learner's code failed: say how, don't crash the check
        return Feedback(
            exercise_id,
            INCORRECT,
            f"your answer raised {type(error).__name__}: {error}. Hint: {exercise.hint}",
        )
    if problem is None:
        why = f" {exercise.explanation}" if exercise.explanation else ""
        return Feedback(exercise_id, CORRECT, f"correct!{why}")
    return Feedback(exercise_id, INCORRECT, f"not yet. {problem} Hint: {exercise.hint}")


# ---------------------------------------------------------------------------------------
# Judges shared by the chapters
# ---------------------------------------------------------------------------------------


def _reveals_the_answer(expected: float) -> bool:
    """True when a percentage or factor would give ``expected`` away: a small whole number.

    Told "12 is 20.0% too low", a learner can work out 15 without understanding why.
    """
    return float(expected).is_integer() and 0 < abs(expected) < 1000


def _as_number(answer: Any) -> tuple[float | None, str | None]:
    """(the answer as a float, None), or (None, what is wrong with it)."""
    if isinstance(answer, (bool, str)):
        return None, f"expected a number, got {type(answer).__name__}."
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return None, f"expected a number, got {type(answer).__name__}."
    if not math.isfinite(value):
        return None, f"expected a finite number, got {value}."
    return value, None


def _factor(value: float, expected: float, shown: str) -> str | None:
    """ "``shown`` is 4x too large." when ``value`` is over a factor 2 away, else None."""
    if expected != 0 and value != 0 and (value / expected > 2 or expected / value > 2):
        ratio = value / expected
        direction = f"{ratio:.3g}x too large" if ratio > 1 else f"{1 / ratio:.3g}x too small"
        return f"{shown} is {direction}."
    return None


def close_to(expected: float, rel_tol: float = 1e-3, unit: str = "") -> Judge:
    """A judge for a single number: right when within ``rel_tol`` of ``expected``.

    A wrong answer is told how far off it is (as a percentage or a factor), not the answer;
    where that would give a small whole-number answer away by arithmetic, only whether it
    is too low or too high (the check adds the hint).
    """
    positive_number("rel_tol", rel_tol)

    def judge(answer: Any) -> str | None:
        value, problem = _as_number(answer)
        if problem:
            return problem
        if math.isclose(value, expected, rel_tol=rel_tol, abs_tol=0.0):
            return None
        suffix = f" {unit}" if unit else ""
        if expected == 0:
            return f"{value:.4g}{suffix} should be 0."
        direction = "too high" if value > expected else "too low"
        if _reveals_the_answer(expected):
            return f"{value:.4g}{suffix} is {direction}."
        factor = _factor(value, expected, f"{value:.4g}{suffix}")
        if factor:
            return factor
        error = (value - expected) / abs(expected)
        return f"{value:.4g}{suffix} is {abs(error):.1%} {direction}."

    return judge


def exact_count(expected: int, unit: str = "") -> Judge:
    """A judge for a whole-number count (parameters, tokens): right only when exact.

    A near miss is told the difference, which names the size of what is missing or extra
    ("2,048 too low: …"), since a percentage of a large count reads "0.0%"; an answer a
    factor 2 or more away is told the factor; a small count only "too low" or "too high".
    """
    if isinstance(expected, float) and expected.is_integer():
        expected = int(expected)  # a count computed in floating point, such as 30720.0
    expected = int_at_least("expected", expected, 0)

    def judge(answer: Any) -> str | None:
        value, problem = _as_number(answer)
        if problem:
            return problem
        if not value.is_integer():
            return f"{value:,} is not a whole number; a count is."
        count = int(value)
        if count == expected:
            return None
        suffix = f" {unit}" if unit else ""
        direction = "too high" if count > expected else "too low"
        if _reveals_the_answer(expected):
            return f"{count:,}{suffix} is {direction}."
        factor = _factor(value, expected, f"{count:,}{suffix}")
        if factor:
            return factor
        difference = abs(count - expected)
        what = "left out" if count < expected else "counted that should not be there"
        return (
            f"{count:,}{suffix} is {difference:,} {direction}: look for a part of that size "
            f"you {what}."
        )

    return judge


def one_of(choices: dict[str, str], right: str) -> Judge:
    """A judge for a multiple-choice answer given as the letter of a choice.

    ``choices`` maps each letter to the explanation shown when that letter is picked wrongly.
    """
    choice("right", right, choices)

    def judge(answer: Any) -> str | None:
        letter = str(answer).strip().lower()
        if letter not in choices:
            return f"answer with one of {', '.join(repr(c) for c in sorted(choices))}."
        if letter == right:
            return None
        return f"{letter!r} — {choices[letter]}"

    return judge


# ---------------------------------------------------------------------------------------
# Quiz questions: multiple choice and numeric, with their explanations
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuizQuestion:
    """One quiz question as its chapter shows it; ``options`` is empty for a numeric one."""

    id: str
    title: str
    chapter: int  # the chapter whose material it reviews
    question: str
    options: Mapping[str, str]  # letter -> option text
    why_not: Mapping[str, str]  # wrong letter -> why it is wrong
    right: str | None  # the right letter of a multiple-choice question

    @property
    def is_multiple_choice(self) -> bool:
        return bool(self.options)


#: Every quiz question, in the order the chapters register them (filled as the chapter
#: modules load: :func:`all_exercises` or :func:`question_markdown` loads them all).
QUIZ: dict[str, QuizQuestion] = {}


def question_markdown(exercise_id: str) -> str:
    """The question as a chapter's markdown cell shows it: title, text and options."""
    _load_chapter_modules()
    entry = QUIZ[choice("exercise_id", exercise_id, QUIZ)]
    lines = [
        f"### Question {entry.id} — {entry.title} (chapter {entry.chapter})",
        "",
        entry.question,
    ]
    if entry.is_multiple_choice:
        lines.append("")
        lines += [f"* ({letter}) {text}" for letter, text in entry.options.items()]
    return "\n".join(lines)


def choice_exercise(
    *,
    id: str,
    question: str,
    options: Mapping[str, str],
    right: str,
    why_not: Mapping[str, str],
    explanation: str,
    hint: str,
) -> Exercise:
    """Register a question answered with a letter, whose every wrong letter explains itself."""
    choice("right", right, options)
    if list(options) != sorted(options):
        raise ValueError(f"options must be listed in letter order, got {list(options)}")
    wrong = set(options) - {right}
    if set(why_not) != wrong:
        raise ValueError(
            f"why_not must explain exactly the wrong options {sorted(wrong)}, got {sorted(why_not)}"
        )
    if not all(text.strip() for text in why_not.values()) or not explanation.strip():
        raise ValueError("every wrong option and the right answer need an explanation")
    prompt = f"{question} " + " ".join(f"({k}) {v}" for k, v in options.items())
    return register(
        Exercise(
            id=id,
            prompt=prompt,
            hint=hint,
            judge=one_of({**why_not, right: ""}, right=right),
            example_solution=lambda: right,
            example_mistake=lambda: sorted(wrong)[0],
            explanation=explanation,
            options=dict(options),
            right=right,
        )
    )


def multiple_choice(
    *,
    id: str,
    title: str,
    chapter: int,
    question: str,
    options: Mapping[str, str],
    right: str,
    why_not: Mapping[str, str],
    explanation: str,
    hint: str,
) -> Exercise:
    """Register a multiple-choice quiz question (:func:`choice_exercise`, shown in the quiz)."""
    exercise = choice_exercise(
        id=id,
        question=question,
        options=options,
        right=right,
        why_not=why_not,
        explanation=explanation,
        hint=hint,
    )
    QUIZ[id] = QuizQuestion(id, title, chapter, question, dict(options), dict(why_not), right)
    return exercise


def numeric(
    *,
    id: str,
    title: str,
    chapter: int,
    question: str,
    answer: Callable[[], float],
    slips: Mapping[str, Callable[[], float]],
    rel_tol: float,
    unit: str,
    explanation: str,
    hint: str,
) -> Exercise:
    """Register a numeric question; ``slips`` maps what a typical mistake forgot to its value."""
    if not slips:
        raise ValueError("slips must name at least one typical mistake (the tests use it)")
    positive_number("rel_tol", rel_tol)
    if not explanation.strip():
        raise ValueError("the right answer needs an explanation")
    exercise = register(
        Exercise(
            id=id,
            prompt=question,
            hint=hint,
            judge=_judge_number(answer, slips, rel_tol, unit),
            example_solution=answer,
            example_mistake=next(iter(slips.values())),
            explanation=explanation,
        )
    )
    QUIZ[id] = QuizQuestion(id, title, chapter, question, {}, {}, None)
    return exercise


def _judge_number(
    answer: Callable[[], float],
    slips: Mapping[str, Callable[[], float]],
    rel_tol: float,
    unit: str,
) -> Judge:
    def judge(value: Any) -> str | None:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            for problem, slip in slips.items():
                if math.isclose(value, slip(), rel_tol=rel_tol):
                    return f"{value:.4g} looks like {problem}"
        return close_to(answer(), rel_tol=rel_tol, unit=unit)(value)

    return judge
