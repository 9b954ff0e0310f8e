"""Argument checks shared by every module: one vocabulary, one wording of each error.

Each check raises a ``ValueError`` that names the argument, says what is allowed and shows
what was given, and returns the value (converted where that is the point, as
:func:`positive_array` does), so a caller can check and assign in one line::

    steps = positive_int("steps", steps)

Booleans are refused where a number is asked for: ``True`` is an ``int`` to Python, but
``n_layers=True`` is a mistake, not a one-layer model.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float | np.floating)) and math.isfinite(value)


def positive_int(name: str, value: Any) -> int:
    """``value`` if it is an integer >= 1, else a ``ValueError`` naming ``name``."""
    return int_at_least(name, value, 1)


def int_at_least(name: str, value: Any, minimum: int) -> int:
    """``value`` if it is an integer >= ``minimum``, else a ``ValueError`` naming ``name``."""
    if not _is_int(value) or value < minimum:
        allowed = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return int(value)


def positive_number(name: str, value: Any) -> float:
    """``value`` as a float if it is a finite number > 0, else a ``ValueError``."""
    if not _is_number(value) or value <= 0:
        raise ValueError(f"{name} must be a positive, finite number, got {value!r}")
    return float(value)


def number_at_least(name: str, value: Any, minimum: float) -> float:
    """``value`` as a float if it is a finite number >= ``minimum``, else a ``ValueError``."""
    if not _is_number(value) or value < minimum:
        raise ValueError(f"{name} must be a finite number >= {minimum:g}, got {value!r}")
    return float(value)


def number_in_range(
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    include_low: bool = True,
    include_high: bool = True,
) -> float:
    """``value`` as a float if it lies in [low, high]; ``include_*=False`` opens that end."""
    inside = (
        _is_number(value)
        and (low <= value if include_low else low < value)
        and (value <= high if include_high else value < high)
    )
    if not inside:
        interval = f"{'[' if include_low else '('}{low:g}, {high:g}{']' if include_high else ')'}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return float(value)


def positive_array(name: str, value: Any) -> np.ndarray:
    """``value`` as a float array if every element is finite and > 0, else a ``ValueError``."""
    array = np.asarray(value, dtype=float)
    if array.size == 0 or not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return array


def scalar_or_array(array: np.ndarray) -> float | np.ndarray:
    """A result computed on :func:`positive_array` s: a float when the inputs were scalars."""
    return float(array) if array.ndim == 0 else array


def choice(name: str, value: T, allowed: Iterable[T]) -> T:
    """``value`` if it is one of ``allowed``, else a ``ValueError`` listing them."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def instance_of(name: str, value: T, kind: type, example: str = "") -> T:
    """``value`` if it is an instance of ``kind``, else a ``ValueError`` naming the type given.

    ``example`` is shown after the type's name, e.g. ``"(e.g. CHINCHILLA)"``.
    """
    if not isinstance(value, kind):
        hint = f" {example}" if example else ""
        raise ValueError(f"{name} must be a {kind.__name__}{hint}, got {type(value).__name__}")
    return value


def not_empty(name: str, value: T) -> T:
    """``value`` if it has at least one element, else a ``ValueError``."""
    if len(value) == 0:
        raise ValueError(f"{name} must not be empty")
    return value
