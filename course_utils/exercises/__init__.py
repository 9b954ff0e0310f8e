"""How exercises are checked (chapter 0).

A chapter notebook hands the learner a *stub*: ``answer = ...`` or a function whose body
raises ``NotImplementedError``. ``check("1.2", answer)`` then says one of three things:

* ``not attempted yet`` and a hint, while the stub is untouched,
* ``correct``, or
* what is wrong, without giving the answer away.

Each chapter registers its exercises in a module of this package (``ch01_scale.py`` …)
through :mod:`course_utils.exercises.framework`, whose names are re-exported here. Every
exercise carries a correct and a wrong example answer so the tests can prove that its check
accepts the one and rejects the other, and that no check passes a stub.
"""

from course_utils.exercises.framework import (
    CORRECT,
    INCORRECT,
    NOT_ATTEMPTED,
    QUIZ,
    Exercise,
    Feedback,
    Judge,
    QuizQuestion,
    all_exercises,
    check,
    close_to,
    is_stub,
    multiple_choice,
    numeric,
    one_of,
    question_markdown,
    register,
)

__all__ = [
    "CORRECT",
    "INCORRECT",
    "NOT_ATTEMPTED",
    "QUIZ",
    "Exercise",
    "Feedback",
    "Judge",
    "QuizQuestion",
    "all_exercises",
    "check",
    "close_to",
    "is_stub",
    "multiple_choice",
    "numeric",
    "one_of",
    "question_markdown",
    "register",
]
