"""Every chapter can be presented as a slideshow with jupyterlab-rise (the ``slides`` extra).

RISE reads ``metadata.slideshow.slide_type`` of each cell: a chapter opens on a title slide,
every ``##`` section starts a slide (or subslide), and every slide type is one RISE knows.
"""

from __future__ import annotations

import re
import tomllib

import pytest

from course_utils.course import CHAPTERS
from tests.notebook_files import NOTEBOOKS, ROOT, read

#: The slide types RISE understands ("-" continues the current slide).
RISE_SLIDE_TYPES = {"slide", "subslide", "fragment", "skip", "notes", "-"}
SECTION_HEADING = re.compile(r"^## ", flags=re.MULTILINE)


def slide_type(cell) -> str | None:
    return cell.metadata.get("slideshow", {}).get("slide_type")


@pytest.fixture(params=CHAPTERS, ids=[c.notebook for c in CHAPTERS])
def chapter(request):
    return read(NOTEBOOKS / request.param.notebook)


def test_each_chapter_opens_on_a_title_slide(chapter):
    first = chapter.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# Chapter ")
    assert slide_type(first) == "slide"


def test_every_slide_type_is_one_rise_knows(chapter):
    for cell in chapter.cells:
        kind = slide_type(cell)
        assert kind is None or kind in RISE_SLIDE_TYPES, f"{kind!r} in:\n{cell.source[:200]}"


def test_every_section_starts_a_slide(chapter):
    for cell in chapter.cells:
        if cell.cell_type == "markdown" and SECTION_HEADING.search(cell.source):
            assert slide_type(cell) in {"slide", "subslide"}, (
                f"a ## section must start a slide or subslide:\n{cell.source[:200]}"
            )


def test_the_slides_extra_installs_jupyterlab_rise():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert any(r.startswith("jupyterlab-rise") for r in extras["slides"])
    assert not any(r.startswith("jupyterlab-rise") for r in extras["test"])
    constraints = (ROOT / "requirements" / "constraints.txt").read_text()
    assert re.search(r"^jupyterlab[-_]rise==", constraints, flags=re.MULTILINE | re.IGNORECASE)
