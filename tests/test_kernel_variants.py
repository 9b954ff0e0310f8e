"""The stored outputs of the chapters that train hold on another machine's CPU kernels.

A learner's laptop runs other matrix kernels than the machine that stored the outputs, and
float-level differences grow through training and fitting. This test re-runs nbval on every
chapter marked ``trains`` (and its solutions) under settings that differ from the stored ones
in both ways a laptop does: PyTorch's AVX2 kernels instead of the best this CPU has
(``ATEN_CPU_CAPABILITY``), and two threads instead of one, so that float reductions add up in
another order. A cell whose output moves must be tagged ``nbval-ignore-output`` and followed
by an assertion that holds everywhere.

The variant runs once, on its own, with the machine to itself: run beside another process, two
threads on two cores wait on each other's cores and a training cell can take ten times as long.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from course_utils.course import CHAPTERS
from tests.kernel_variant import KERNEL_VARIANT_ENV
from tests.notebook_files import NOTEBOOKS, ROOT, SOLUTIONS

VARIANT = {"ATEN_CPU_CAPABILITY": "avx2", "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
TIMEOUT_S = 1500  # the whole variant run; about 8 minutes on two cores
TRAINING_NOTEBOOKS = [
    path
    for chapter in CHAPTERS
    if chapter.trains
    for path in (NOTEBOOKS / chapter.notebook, SOLUTIONS / chapter.solutions)
]


def test_the_training_chapters_are_marked():
    names = {path.name for path in TRAINING_NOTEBOOKS}
    assert {"05_train_tiny_llm.ipynb", "03_architecture_solutions.ipynb"} <= names


def test_the_variant_differs_from_the_stored_settings():
    from course_utils.environment import REPRODUCIBLE_ENV

    assert VARIANT["OMP_NUM_THREADS"] != REPRODUCIBLE_ENV["OMP_NUM_THREADS"]
    assert "ATEN_CPU_CAPABILITY" not in REPRODUCIBLE_ENV


@pytest.mark.skipif(sys.platform != "linux", reason="kernel-path variants are set up for Linux")
def test_stored_outputs_hold_under_other_cpu_kernels():
    env = {**os.environ, KERNEL_VARIANT_ENV: json.dumps(VARIANT)}
    command = [sys.executable, "-m", "pytest", "-q", *map(str, TRAINING_NOTEBOOKS)]
    run = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=TIMEOUT_S,
    )
    print(f"--- AVX2 kernels, 2 threads: {run.stdout.strip().splitlines()[-1]}")
    assert run.returncode == 0, run.stdout[-6000:]
