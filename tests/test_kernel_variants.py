"""The stored outputs of the chapters that train hold on another machine's CPU kernels.

A learner's laptop runs other matrix kernels than the machine that stored the outputs, and
float-level differences grow through training and fitting. This test re-runs nbval on every
chapter marked ``trains`` (and its solutions) under two other settings at once, in two
processes: PyTorch's AVX2 kernels instead of the best this CPU has (``ATEN_CPU_CAPABILITY``),
with one thread; and the default kernels with two threads (float reductions add up in
another order). A cell whose output moves must be tagged ``nbval-ignore-output`` and
followed by an assertion that holds everywhere.
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

VARIANTS = {
    "AVX2 kernels, 1 thread": {"ATEN_CPU_CAPABILITY": "avx2"},
    "default kernels, 2 threads": {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"},
}
TRAINING_NOTEBOOKS = [
    path
    for chapter in CHAPTERS
    if chapter.trains
    for path in (NOTEBOOKS / chapter.notebook, SOLUTIONS / chapter.solutions)
]


def test_the_training_chapters_are_marked():
    names = {path.name for path in TRAINING_NOTEBOOKS}
    assert {"05_train_tiny_llm.ipynb", "03_architecture_solutions.ipynb"} <= names


@pytest.mark.skipif(sys.platform != "linux", reason="kernel-path variants are set up for Linux")
def test_stored_outputs_hold_under_other_cpu_kernels():
    runs = {}
    for name, overrides in VARIANTS.items():
        env = {**os.environ, KERNEL_VARIANT_ENV: json.dumps(overrides)}
        command = [sys.executable, "-m", "pytest", "-q"]
        runs[name] = subprocess.Popen(
            [*command, *map(str, TRAINING_NOTEBOOKS)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    failures = []
    for name, process in runs.items():
        output, _ = process.communicate(timeout=1800)
        print(f"--- {name}: {output.strip().splitlines()[-1]}")
        if process.returncode != 0:
            failures.append(f"--- {name} ---\n{output[-6000:]}")
    assert not failures, "\n".join(failures)
