"""One figure style for the whole course, so every chapter's plots look alike.

This module holds the style only. The rule for where a plot lives: a figure that shows what
a package module computes, for any configs it is given, is a ``plot_*`` function in that
module, beside the numbers, where a test can check it (``memory.plot_memory``,
``parameters.plot_parameter_shares``, ``course.plot_chapter_times``); a figure made for one
lesson is drawn inline in its notebook.
"""

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
