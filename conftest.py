"""Test-suite settings shared by the package tests and nbval, for any pytest run in the repo.

Every Jupyter kernel nbval starts inherits this process's environment, so setting it here
gives stored-output comparisons the same settings ``make execute`` used to store them, and
puts the offline guard (tests/offline_guard/sitecustomize.py) into every kernel.
"""

from __future__ import annotations

import json
import os
import sys

import nbval.plugin

from course_utils.environment import OFFLINE_GUARD, use_reproducible_settings
from tests.kernel_variant import KERNEL_VARIANT_ENV

use_reproducible_settings()
# tests/test_kernel_variants.py re-runs notebooks with some of these settings changed.
os.environ.update(json.loads(os.environ.get(KERNEL_VARIANT_ENV, "{}")))

# Block the network in this process too (kernels get it at start-up through PYTHONPATH).
if "sitecustomize" not in sys.modules or not hasattr(sys.modules["sitecustomize"], "is_local"):
    sys.path.insert(0, str(OFFLINE_GUARD))
    import sitecustomize  # noqa: F401


# nbval waits at most 5 s for each output message once a cell has finished. On a loaded
# two-core machine (chapter 5 shares its study between two worker processes, and the kernel-path
# variant gives each kernel two threads) the kernel's messages can lag longer than that.
_new_cell = nbval.plugin.IPyNbCell.__init__


def _patient_cell(self, *args, **kwargs):
    _new_cell(self, *args, **kwargs)
    self.output_timeout = 60


nbval.plugin.IPyNbCell.__init__ = _patient_cell
