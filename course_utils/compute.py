"""How much compute, time and money training takes (chapter 1; reused by chapters 2 and 5)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SECONDS_PER_HOUR = 3600.0


def _positive(name: str, value) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return array


def _scalar_or_array(array: np.ndarray):
    return float(array) if array.ndim == 0 else array


def training_flops(n_params, n_tokens):
    """Training compute C ≈ 6·N·D FLOPs (Kaplan et al. 2020, section 2.1) (chapter 1).

    Each token costs about 2·N FLOPs forward and 4·N backward. Works elementwise on arrays.
    """
    return _scalar_or_array(6.0 * _positive("n_params", n_params) * _positive("n_tokens", n_tokens))


@dataclass(frozen=True)
class TrainingRun:
    """Wall-clock time, accelerator-hours and cost of a training run (chapter 1)."""

    flops: float
    seconds: float
    accelerator_hours: float
    cost: float

    @property
    def days(self) -> float:
        return self.seconds / 86_400


def training_run(
    flops: float,
    *,
    n_accelerators: int,
    peak_flops_per_second: float,
    mfu: float,
    price_per_accelerator_hour: float,
) -> TrainingRun:
    """Time and cost to spend ``flops`` on ``n_accelerators`` running at ``mfu`` of peak.

    MFU (model FLOPs utilisation) is the fraction of the hardware's peak that goes into the
    model's own 6·N·D FLOPs; large runs report roughly 0.3–0.55 (PaLM, section 4.1: 46.2%).
    """
    flops = float(_positive("flops", flops))
    if (
        isinstance(n_accelerators, bool)
        or not isinstance(n_accelerators, int)
        or n_accelerators <= 0
    ):
        raise ValueError(f"n_accelerators must be a positive integer, got {n_accelerators!r}")
    peak = float(_positive("peak_flops_per_second", peak_flops_per_second))
    if not 0 < mfu <= 1:
        raise ValueError(f"mfu must be in (0, 1], got {mfu!r}")
    if price_per_accelerator_hour < 0:
        raise ValueError(
            f"price_per_accelerator_hour must be non-negative, got {price_per_accelerator_hour!r}"
        )
    seconds = flops / (n_accelerators * peak * mfu)
    hours = seconds * n_accelerators / SECONDS_PER_HOUR
    return TrainingRun(flops, seconds, hours, hours * price_per_accelerator_hour)
