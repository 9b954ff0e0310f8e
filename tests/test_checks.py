"""The shared argument checks: what each accepts, what it refuses, and how the error reads."""

import numpy as np
import pytest

from course_utils import checks


@pytest.mark.parametrize("value", [1, 7, np.int64(3)])
def test_positive_int_accepts_and_returns_an_int(value):
    assert checks.positive_int("steps", value) == int(value)
    assert type(checks.positive_int("steps", value)) is int


@pytest.mark.parametrize("value", [0, -2, 1.0, True, "3", None])
def test_positive_int_names_the_argument_and_shows_the_value(value):
    with pytest.raises(ValueError, match=rf"steps must be a positive integer, got {value!r}"):
        checks.positive_int("steps", value)


def test_int_at_least_allows_its_minimum():
    assert checks.int_at_least("warmup_steps", 0, 0) == 0
    with pytest.raises(ValueError, match="warmup_steps must be an integer >= 0, got -1"):
        checks.int_at_least("warmup_steps", -1, 0)


@pytest.mark.parametrize("value", [0, -1e-3, float("nan"), float("inf"), True, "1"])
def test_positive_number_refuses(value):
    with pytest.raises(ValueError, match="learning_rate must be a positive, finite number"):
        checks.positive_number("learning_rate", value)


def test_number_checks_accept_and_convert():
    assert checks.positive_number("lr", 3) == 3.0
    assert checks.number_at_least("weight_decay", 0, 0) == 0.0
    assert checks.number_in_range("top_p", 1.0, 0, 1, include_low=False) == 1.0
    with pytest.raises(ValueError, match=r"top_p must be in \(0, 1\], got 0"):
        checks.number_in_range("top_p", 0, 0, 1, include_low=False)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\], got 1.5"):
        checks.number_in_range("dropout", 1.5, 0, 1)
    with pytest.raises(ValueError, match=r"beta2 must be in \[0, 1\), got 1.0"):
        checks.number_in_range("beta2", 1.0, 0, 1, include_high=False)


def test_positive_array():
    np.testing.assert_array_equal(checks.positive_array("N", [1, 2]), [1.0, 2.0])
    for bad in ([1, 0], [], [1, float("nan")]):
        with pytest.raises(ValueError, match="N must be positive and finite"):
            checks.positive_array("N", bad)


def test_choice_lists_what_is_allowed():
    assert checks.choice("norm", "rms", ("rms", "layer")) == "rms"
    with pytest.raises(ValueError, match="norm must be one of 'rms', 'layer'; got 'batch'"):
        checks.choice("norm", "batch", ("rms", "layer"))


def test_instance_of_and_not_empty():
    assert checks.instance_of("law", 1.5, float) == 1.5
    with pytest.raises(ValueError, match=r"law must be a float \(e.g. 1.0\), got str"):
        checks.instance_of("law", "x", float, "(e.g. 1.0)")
    assert checks.not_empty("widths", [16]) == [16]
    with pytest.raises(ValueError, match="widths must not be empty"):
        checks.not_empty("widths", [])
