"""Every chapter's exercises (``ch00_welcome.py`` …), checked by :func:`check` (chapter 0).

The framework's main names are re-exported from :mod:`course_utils.exercises.framework`, which
also holds the quiz helpers (``multiple_choice``, ``numeric``) every chapter may use.
"""

from course_utils.exercises.framework import (
    CORRECT,
    INCORRECT,
    NOT_ATTEMPTED,
    Exercise,
    Feedback,
    Judge,
    all_exercises,
    check,
    choice_exercise,
    close_to,
    exact_count,
    is_stub,
    one_of,
    register,
)
