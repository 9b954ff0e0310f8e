"""The course as a learner sees it: every chapter run in JupyterLab, in a real browser.

nbval proves what the kernel computes; this proves what the page shows. Each chapter listed in
``course_utils.course.CHAPTERS`` is opened in JupyterLab (headless Chromium), run with
*Run → Run All Cells*, and checked: no cell shows an error, every figure renders as an image,
every widget is a live control, and moving the chapter's key slider changes what it displays
(chapter 0's and chapter 5's: the playground's temperature, which must change its continuation).
A screenshot of each notebook goes to ``screenshots/`` for a person to look at.

Run only these tests with ``pytest -m browser``; skip them with ``pytest -m "not browser"``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from course_utils.course import CHAPTERS
from tests.browser.lab import (
    CHROMIUM_ENV,
    NotebookRun,
    check_interaction,
    find_chromium,
    serve_copy,
)
from tests.browser.probe_notebooks import BROKEN_PROBE, WIDGET_PROBE
from tests.notebook_files import ROOT

RUN_TIMEOUT_S = 300  # all cells of one notebook, in seconds; chapters train small models
SCREENSHOTS = ROOT / "screenshots"
browser = pytest.mark.browser


@dataclass(frozen=True)
class Interaction:
    """Move the slider whose description contains ``control``; text with ``shows`` must change."""

    control: str
    shows: str


# What a learner should be able to play with, by chapter number, checked after all cells ran.
# The generation playground (chapters 0 and 5) redraws its seeded continuation.
INTERACTIONS: dict[int, list[Interaction]] = {
    0: [Interaction(control="temperature", shows="continuation")],
    1: [Interaction(control="d_model", shows="parameters")],
    2: [Interaction(control="compute", shows="N_opt")],
    5: [Interaction(control="temperature", shows="continuation")],
}


def run_and_check(run: NotebookRun, interactions: list[Interaction]) -> list[str]:
    """Wait for every cell, then list what is wrong on the page; always save a screenshot."""
    try:
        run.wait_until_done(RUN_TIMEOUT_S)
        problems = run.inspect()
        for interaction in interactions:
            problems += check_interaction(run.page, interaction.control, interaction.shows)
        return problems
    finally:
        try:
            run.screenshot(SCREENSHOTS / f"{Path(run.name).stem}.png")
        except Exception as error:  # a failure to photograph must not hide the real one
            warnings.warn(f"no screenshot of {run.name}: {error}", stacklevel=1)


@browser
@pytest.mark.parametrize("notebook", [chapter.notebook for chapter in CHAPTERS])
def test_chapter_runs_and_renders_in_jupyterlab(lab_notebook: NotebookRun, notebook: str):
    (chapter,) = (chapter for chapter in CHAPTERS if chapter.notebook == notebook)
    problems = run_and_check(lab_notebook, INTERACTIONS.get(chapter.number, []))
    assert not problems, "\n".join(problems)


@browser
@pytest.mark.parametrize("notebook", [WIDGET_PROBE])
def test_interaction_checks_on_a_probe_notebook(lab_notebook: NotebookRun, notebook: str):
    page = lab_notebook.page
    problems = run_and_check(
        lab_notebook,
        [Interaction(control="d_model", shows="parameters"), Interaction("compute", "N_opt")],
    )
    assert not problems, "\n".join(problems)
    # The checks saw what they passed: both figures decoded (PNG, SVG), both sliders live.
    outputs = [output for cell in lab_notebook.report() for output in cell["outputs"]]
    widths = [image["width"] for output in outputs for image in output["images"]]
    assert len(widths) == 2 and widths[0] > 0 and widths[1] == 120  # the SVG is 120 px wide
    assert sum(output["liveWidgets"] > 0 for output in outputs) == 2
    # And they can fail: a slider that drives other text, a slider that does not exist.
    (unchanged,) = check_interaction(page, control="d_model", shows="N_opt", timeout=3)
    assert "did not change" in unchanged
    (missing,) = check_interaction(page, control="n_layers", shows="parameters")
    assert "no slider whose description contains 'n_layers'" in missing


@browser
@pytest.mark.parametrize("notebook", [BROKEN_PROBE])
def test_the_checks_catch_broken_widgets_figures_and_errors(lab_notebook: NotebookRun, notebook):
    problems = run_and_check(lab_notebook, [])
    expected = {
        # A kernel whose ipywidgets is newer than the page's widget manager.
        3: "widget failed to render: Failed to load view class 'IntSliderView'",
        4: "widget failed to render: Error displaying widget: model not found",
        5: "1 figure(s) did not render",
        6: "an Output widget shows an error: ZeroDivisionError: division by zero",
        7: "error output RuntimeError: deliberately broken",
    }
    for cell, problem in expected.items():
        assert any(f"cell {cell} (" in line and problem in line for line in problems), (
            f"cell {cell}: expected {problem!r} among:\n" + "\n".join(problems)
        )
    # Cell 2 raises too, but is tagged raises-exception: that is no problem.
    assert len(problems) == len(expected), "\n".join(problems)


def test_chromium_can_be_chosen_with_an_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(CHROMIUM_ENV, str(tmp_path / "missing"))
    with pytest.raises(ValueError, match=CHROMIUM_ENV):
        find_chromium()
    binary = tmp_path / "chromium"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv(CHROMIUM_ENV, str(binary))
    assert find_chromium() == str(binary)


def test_the_served_copy_leaves_out_cells_never_run_in_tests(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("print(1)"),
        nbformat.v4.new_code_cell("download()", metadata={"tags": ["skip-execution"]}),
    ]
    original = notebooks / "01_x.ipynb"
    nbformat.write(notebook, original)
    before = original.read_bytes()
    serve_copy(notebooks, tmp_path / "served")
    served = nbformat.read(tmp_path / "served" / "01_x.ipynb", as_version=4)
    assert [cell.cell_type for cell in served.cells] == ["code", "raw"]
    assert served.cells[1].source == "download()"
    assert original.read_bytes() == before
