"""One figure style for the whole course, so every chapter's plots look alike."""

from __future__ import annotations

import matplotlib as mpl

COURSE_STYLE = {
    "figure.figsize": (7.0, 4.0),
    "figure.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titleweight": "bold",
    "legend.frameon": False,
    "svg.hashsalt": "llm-foundations",
}


def apply_course_style() -> None:
    """Apply the course's matplotlib settings (called by ``setup_notebook``)."""
    mpl.rcParams.update(COURSE_STYLE)
