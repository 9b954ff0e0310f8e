"""Reproducible set-up and an environment report (chapter 0).

Every notebook starts with :func:`setup_notebook`, which seeds all random number
generators and applies the course's figure style, so that a notebook gives the same
numbers each time it runs in a fresh kernel.
"""

from __future__ import annotations

import os
import platform
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from course_utils.checks import int_at_least

DEFAULT_SEED = 0

#: Set this environment variable to 1 to shrink chapter 5's training runs to a quick
#: demonstration (for slow machines, and for the browser test that runs every chapter).
QUICK_MODE_ENV = "LLM_FOUNDATIONS_QUICK"

#: The settings under which the stored notebook outputs are made (``make execute``) and
#: compared (``make test``). One thread makes float32 reductions add up in the same order
#: on every machine; a fixed cell name keeps warning messages free of temporary paths;
#: chapter 5's outputs are stored from its full-length runs, never from quick mode.
REPRODUCIBLE_ENV: dict[str, str] = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "IPYKERNEL_CELL_NAME": "<cell>",
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    QUICK_MODE_ENV: "0",
}

#: In a source checkout, the folder of ``sitecustomize.py`` that blocks the network in every
#: Python process (every notebook kernel too) that finds it on ``PYTHONPATH``.
OFFLINE_GUARD = Path(__file__).resolve().parents[1] / "tests" / "offline_guard"


def use_reproducible_settings() -> None:
    """Give this process and the kernels it starts :data:`REPRODUCIBLE_ENV`, network blocked.

    :data:`OFFLINE_GUARD` goes first on ``PYTHONPATH``. ``conftest.py`` and
    ``tools/execute_notebooks.py`` both call it, so outputs are stored and compared alike.
    """
    os.environ.update(REPRODUCIBLE_ENV)
    path = os.environ.get("PYTHONPATH", "")
    if str(OFFLINE_GUARD) not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(OFFLINE_GUARD), path) if p)


def set_seed(seed: int = DEFAULT_SEED) -> None:
    """Seed Python's, NumPy's and PyTorch's random number generators (chapter 0)."""
    int_at_least("seed", seed, 0)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the legacy global, for code that still uses it)
    torch.manual_seed(seed)


def best_device() -> str:
    """The fastest device PyTorch can use here: ``"cuda"``, ``"mps"`` or ``"cpu"`` (chapter 0)."""
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` means :func:`best_device`; anything else must name a usable device."""
    if device is None:
        return torch.device(best_device())
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device must be 'cpu', 'cuda' or 'mps', got {device!r}") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for, but this machine has no CUDA GPU")
    if resolved.type == "mps" and best_device() != "mps":
        raise ValueError("device='mps' was asked for, but MPS is not available here")
    return resolved


def quick_mode() -> bool:
    """True when ``LLM_FOUNDATIONS_QUICK`` is set to 1 (or yes/true): shorter runs (chapter 5).

    Chapter 5 trains models; in quick mode it trains for fewer steps on a smaller grid, so the
    whole notebook runs in well under a minute. The numbers are then less converged, never
    wrong: every assertion in the chapter holds in both modes.
    """
    value = os.environ.get(QUICK_MODE_ENV, "").strip().lower()
    if value in ("", "0", "no", "false"):
        return False
    if value in ("1", "yes", "true"):
        return True
    raise ValueError(f"{QUICK_MODE_ENV} must be 1 or 0 (yes/no, true/false), got {value!r}")


def setup_notebook(seed: int = DEFAULT_SEED) -> None:
    """Seed every generator and apply the course's figure style: the first call of each chapter."""
    from course_utils.figure_style import apply_course_style

    set_seed(seed)
    apply_course_style()


@dataclass(frozen=True)
class EnvironmentReport:
    """What the course is running on; shown in chapter 0."""

    python: str
    platform: str
    torch: str
    numpy: str
    torch_threads: int
    omp_num_threads: str
    device: str
    device_name: str

    def __str__(self) -> str:
        rows = [
            ("Python", self.python),
            ("Platform", self.platform),
            ("PyTorch", self.torch),
            ("NumPy", self.numpy),
            ("PyTorch CPU threads", str(self.torch_threads)),
            ("OMP_NUM_THREADS", self.omp_num_threads),
            ("Device", f"{self.device} ({self.device_name})"),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else what ``platform`` knows.

    Recorded with every stored measurement (chapters 5 and 8): the course model's provenance,
    the recipe ablation.
    """
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def environment_report() -> EnvironmentReport:
    """Collect versions, thread counts and the device the course will use (chapter 0)."""
    device = best_device()
    if device == "cuda":
        device_name = torch.cuda.get_device_name(0)
    elif device == "mps":
        device_name = "Apple GPU"
    else:
        device_name = platform.processor() or platform.machine()
    return EnvironmentReport(
        python=sys.version.split()[0],
        platform=platform.platform(terse=True),
        torch=torch.__version__,
        numpy=np.__version__,
        torch_threads=torch.get_num_threads(),
        omp_num_threads=os.environ.get("OMP_NUM_THREADS", "(not set)"),
        device=device,
        device_name=device_name,
    )
