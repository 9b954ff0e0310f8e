"""Test-suite settings shared by the package tests and nbval, for any pytest run in the repo.

Every Jupyter kernel nbval starts inherits this process's environment, so setting it here
gives stored-output comparisons the same settings ``make execute`` used to store them, and
puts the offline guard (tests/offline_guard/sitecustomize.py) into every kernel.
"""

from __future__ import annotations

import sys

from course_utils.environment import OFFLINE_GUARD, use_reproducible_settings

use_reproducible_settings()

# Block the network in this process too (kernels get it at start-up through PYTHONPATH).
if "sitecustomize" not in sys.modules or not hasattr(sys.modules["sitecustomize"], "is_local"):
    sys.path.insert(0, str(OFFLINE_GUARD))
    import sitecustomize  # noqa: F401
