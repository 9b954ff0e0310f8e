"""The website's sources (tools/build_site.py): they follow CHAPTERS, and links keep working.

The built site itself is read in a browser by tests/browser/test_site.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

from course_utils.course import CHAPTERS, Chapter, measured_runtimes
from tests.notebook_files import ROOT
from tests.test_notebook_links import heading_id as jupyterlab_heading_id

_SPEC = importlib.util.spec_from_file_location("build_site", ROOT / "tools" / "build_site.py")
build_site = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(build_site)

REPOSITORY = "llm-foundations/llm-foundations"


def test_the_landing_page_lists_every_chapter_of_chapters_in_order(monkeypatch):
    extra = Chapter(7, "07_extra.ipynb", "An extra chapter", 30)
    monkeypatch.setattr(build_site, "CHAPTERS", (*CHAPTERS, extra))
    page = build_site.landing_page()
    runtimes = measured_runtimes()
    positions = []
    for chapter in (*CHAPTERS, extra):
        row = next(line for line in page.splitlines() if f"(notebooks/{chapter.notebook})" in line)
        assert f"| {chapter.study_minutes} min |" in row
        seconds = runtimes.get(chapter.notebook)
        assert (f"| {seconds:.0f} s |" if seconds else "| not measured |") in row
        positions.append(page.index(f"\nnotebooks/{chapter.notebook.removesuffix('.ipynb')}\n"))
    assert positions == sorted(positions), "the navigation must follow CHAPTERS' order"
    total = sum(c.study_minutes for c in (*CHAPTERS, extra))
    assert f"**{total} min**" in page


def test_launch_links_have_the_readme_badges_forms():
    readme = (ROOT / "README.md").read_text()
    assert build_site.binder_url("notebooks/00_welcome.ipynb") in readme
    for chapter in CHAPTERS:
        assert build_site.colab_url(f"notebooks/{chapter.notebook}") in readme
    assert build_site.binder_url("notebooks/01_scale.ipynb") == (
        f"https://mybinder.org/v2/gh/{REPOSITORY}/HEAD?urlpath=lab/tree/notebooks/01_scale.ipynb"
    )


@pytest.mark.parametrize(
    "title",
    ["Three dimensions of scale", "2. RMSNorm: LayerNorm without the mean", "The seed's shortcut"],
)
def test_anchors_are_jupyterlabs(title):
    assert build_site.heading_id(title) == jupyterlab_heading_id(title)


def test_headings_are_read_as_myst_reads_them():
    markdown = "# Title with `code`\n\ntext\n\n## A *stressed* word\n\n```\n# not a heading\n```"
    assert build_site.headings(markdown) == ["Title with code", "A stressed word"]


def test_links_out_of_the_site_go_to_github_and_guide_anchors_follow(tmp_path):
    sources = tmp_path / "src"
    (sources / "notebooks").mkdir(parents=True)
    (sources / "notebooks" / "01_scale.ipynb").touch()
    page = Path("docs/instructors.md")
    text = (
        "[ch 1](../notebooks/01_scale.ipynb#Three-dimensions-of-scale) "
        "[a tool](../tools/workshop_link.py) [readme](../README.md#start-learning) "
        "[here](#presenting-a-chapter-as-slides) [web](https://example.org/x.md)"
    )
    anchors = {"presenting-a-chapter-as-slides": "Presenting-a-chapter-as-slides"}
    url = f"https://github.com/{REPOSITORY}/blob/main"
    assert build_site.rewrite_links(text, page, sources, anchors) == (
        "[ch 1](../notebooks/01_scale.ipynb#Three-dimensions-of-scale) "
        f"[a tool]({url}/tools/workshop_link.py) [readme]({url}/README.md#start-learning) "
        "[here](#Presenting-a-chapter-as-slides) [web](https://example.org/x.md)"
    )
    # A link to nothing stays as it is, for the build to report it (it builds with -W).
    assert build_site.rewrite_links("[x](missing.ipynb)", page, sources, {}) == "[x](missing.ipynb)"
    with pytest.raises(ValueError, match="inside the repository"):
        build_site.rewrite_links("[x](../../outside.md)", page, sources, {})


def test_the_guide_links_inside_itself_by_its_headings_anchors():
    text = (ROOT / "docs" / "instructors.md").read_text()
    titles = build_site.headings(text)
    assert build_site.github_anchor("Presenting a chapter as slides") in {
        build_site.github_anchor(title) for title in titles
    }
    assert build_site.github_anchor("Full day (9:00 to 17:00: about 6 h)") == (
        "full-day-900-to-1700-about-6-h"
    )


def progress_bar_state() -> dict:
    return {
        "bar": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_a", "IPY_MODEL_b"]}},
        "a": {"model_name": "HTMLModel", "state": {"layout": "IPY_MODEL_l"}},
        "b": {"model_name": "FloatProgressModel", "state": {"style": "IPY_MODEL_s"}},
        "l": {"model_name": "LayoutModel", "state": {}},
        "s": {"model_name": "ProgressStyleModel", "state": {}},
    }


def test_a_widget_becomes_a_note_that_says_what_it_was():
    state = progress_bar_state()
    assert build_site.widget_kind(state, "bar") == "progress"
    state["c"] = {"model_name": "IntSliderModel", "state": {}}
    state["bar"]["state"]["children"].append("IPY_MODEL_c")
    assert build_site.widget_kind(state, "bar") == "control"
    assert build_site.widget_kind({}, "missing") == "control"
    view = {"model_id": "bar", "version_major": 2, "version_minor": 0}
    output = nbformat.v4.new_output(
        "display_data",
        data={build_site.WIDGET_VIEW: view, "text/plain": "VBox(children=(IntSlider(...),))"},
    )
    note = build_site.widget_free(output, state)
    assert list(note.data) == ["text/html"]
    assert "live Python kernel" in note.data["text/html"]
    text = nbformat.v4.new_output("stream", text="kept\n")
    assert build_site.widget_free(text, state) is text


def test_a_chapter_page_gets_launch_links_and_no_widget_state(tmp_path):
    page = build_site.page_notebook(ROOT / "notebooks" / "01_scale.ipynb", tmp_path)
    first = page.cells[0].source
    assert first.startswith("# Chapter 1")
    assert build_site.binder_url("notebooks/01_scale.ipynb") in first.split("\n\n")[1]
    assert "widgets" not in page.metadata
    assert not any(
        build_site.WIDGET_VIEW in output.get("data", {})
        for cell in page.cells
        for output in cell.get("outputs", [])
    )
    solutions = ROOT / "notebooks" / "solutions" / CHAPTERS[1].solutions
    assert build_site.page_notebook(solutions, tmp_path, orphan=True).metadata["orphan"] is True
