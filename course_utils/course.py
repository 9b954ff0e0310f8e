"""The course's table of contents, shared by the welcome notebook, the README and the tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "llm-foundations"

#: Seconds each notebook took to execute on 2 CPU cores, by notebook file name; written by
#: ``tools/execute_notebooks.py --timings`` (``make timings``).
RUNTIMES = Path(__file__).resolve().parent / "data" / "runtimes.json"


@dataclass(frozen=True)
class Chapter:
    """One numbered notebook of the course."""

    number: int
    notebook: str  # file name inside notebooks/
    title: str
    study_minutes: int  # time a learner should set aside, exercises included
    trains: bool = False  # trains or samples models: its outputs move with CPU kernels

    @property
    def solutions(self) -> str:
        """File name of the chapter's solutions notebook inside notebooks/solutions/."""
        return self.notebook.replace(".ipynb", "_solutions.ipynb")


CHAPTERS: tuple[Chapter, ...] = (
    Chapter(0, "00_welcome.ipynb", "Welcome: how this course works", 25),
    Chapter(1, "01_scale.ipynb", "What makes a model large", 75),
    Chapter(2, "02_scaling_laws.ipynb", "Scaling laws: predicting loss, spending compute", 90),
    Chapter(3, "03_architecture.ipynb", "Inside the decoder-only transformer", 90, trains=True),
    Chapter(4, "04_data.ipynb", "Training data: mixing, cleaning, tokenizing", 75),
    Chapter(
        5,
        "05_train_tiny_llm.ipynb",
        "Capstone: train a tiny LLM, fit your scaling law",
        120,
        trains=True,
    ),
    Chapter(
        6,
        "06_scaling_out.ipynb",
        "Scaling out: training one model on many devices",
        90,
        trains=True,
    ),
    Chapter(
        7,
        "07_mixture_of_experts.ipynb",
        "Mixture of experts: more weights, same compute",
        75,
        trains=True,
    ),
    Chapter(8, "08_training_recipes.ipynb", "Training recipes", 90, trains=True),
    Chapter(9, "09_review.ipynb", "Review: the key takeaways, corrected, and a quiz", 60),
)


def measured_runtimes() -> dict[str, float]:
    """Seconds each notebook took to execute top to bottom on 2 CPU cores, as last measured.

    Read from :data:`RUNTIMES`, which ``tools/execute_notebooks.py --timings`` writes.
    """
    text = RUNTIMES.read_text(encoding="utf-8")
    return {name: float(seconds) for name, seconds in json.loads(text)["seconds"].items()}


def chapter_table() -> str:
    """A plain-text table of chapters with study time and measured run time (chapter 0)."""
    runtimes = measured_runtimes()
    header = f"{'#':>2}  {'chapter':<50} {'study':>7} {'runs in':>8}"
    lines = [header, "-" * len(header)]
    for chapter in CHAPTERS:
        seconds = runtimes.get(chapter.notebook)
        run = f"{seconds:.0f} s" if seconds is not None else "n/a"
        lines.append(
            f"{chapter.number:>2}  {chapter.title:<50} {chapter.study_minutes:>4} min {run:>8}"
        )
    return "\n".join(lines)


def repository_url() -> str:
    """The course's git repository, as declared once in ``pyproject.toml`` ([project.urls])."""
    for entry in metadata.metadata(DISTRIBUTION).get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip() == "Repository":
            return url.strip()
    raise RuntimeError(f"{DISTRIBUTION} declares no Repository URL in pyproject.toml")


def colab_setup_cell() -> str:
    """The first code cell of every notebook: on Colab it installs the course, elsewhere nothing."""
    return (
        "# On Google Colab, install the course package first; elsewhere this cell does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet "{DISTRIBUTION} @ git+{repository_url()}"'
    )


def plot_chapter_times(ax=None):
    """Bar chart of each chapter's study time beside its measured run time (chapter 0)."""
    import matplotlib.pyplot as plt
    import numpy as np

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 1.2 + 0.32 * len(CHAPTERS)), layout="constrained")
    runtimes = measured_runtimes()
    labels = [f"{c.number:02d}" for c in CHAPTERS]
    study = [c.study_minutes for c in CHAPTERS]
    run = [runtimes.get(c.notebook, 0.0) / 60 for c in CHAPTERS]
    y = np.arange(len(CHAPTERS))
    ax.barh(y - 0.2, study, height=0.4, label="time to study (min)")
    ax.barh(y + 0.2, run, height=0.4, label="time to run all cells (min, 2 CPU cores)")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("minutes")
    ax.set_ylabel("chapter")
    ax.set_title("Where your time goes: reading and thinking, not waiting")
    # Below the axes, so that no bar of any length can be hidden behind it.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    return ax
