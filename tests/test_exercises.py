import pytest

from course_utils.exercises import (
    CORRECT,
    INCORRECT,
    NOT_ATTEMPTED,
    Exercise,
    all_exercises,
    check,
    close_to,
    one_of,
    register,
)

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
    judge = staticmethod(close_to(100.0, rel_tol=0.01, unit="GB"))

    def test_within_tolerance(self):
        assert self.judge(100.5) is None
        assert self.judge(99.5) is None

    def test_says_direction_and_size_of_a_small_error(self):
        assert self.judge(110) == "110 GB is 10.0% too high."
        assert self.judge(95) == "95 GB is 5.0% too low."

    def test_says_factor_for_a_large_error(self):
        assert self.judge(1000) == "1000 GB is 10x too large."
        assert self.judge(25) == "25 GB is 4x too small."

    @pytest.mark.parametrize("answer", ["100", True, [100], float("nan")])
    def test_non_numbers_are_refused(self, answer):
        assert self.judge(answer).startswith("expected a")

    def test_accepts_numpy_and_torch_scalars(self):
        import numpy as np
        import torch

        assert self.judge(np.float32(100)) is None
        assert self.judge(torch.tensor(100.0)) is None

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
