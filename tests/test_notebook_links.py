"""Links between notebooks lead somewhere: the file exists and the section heading does.

JupyterLab gives every rendered heading the id ``textContent.replace(/ /g, "-")`` (its
``createHeaderId``), and opens ``notebook.ipynb#id`` at that heading. A link whose text says
"figure" must also land in a section that shows one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.notebook_files import ROOT, all_notebooks, read

# [text](target) where target is a relative notebook path, optionally with #anchor.
LINK = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<target>[^)\s:]+\.ipynb)(?:#(?P<anchor>[^)\s]+))?\)")
HEADING = re.compile(r"^(?P<level>#{1,6})\s+(?P<text>.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_MARKUP = re.compile(r"[`*]|(?<!\w)_|_(?!\w)")


def heading_id(markdown_text: str) -> str:
    """The id JupyterLab gives a heading: its rendered text with spaces replaced by '-'."""
    return INLINE_MARKUP.sub("", markdown_text).replace(" ", "-")


def sections(path: Path) -> dict[str, bool]:
    """Each heading id of the notebook at ``path`` -> whether its section shows a figure.

    A section runs from its heading to the next heading of the same or a higher level.
    """
    open_sections: list[tuple[int, str]] = []
    has_figure: dict[str, bool] = {}
    for cell in read(path).cells:
        if cell.cell_type == "markdown":
            in_fence = False
            for line in cell.source.splitlines():
                if FENCE.match(line):
                    in_fence = not in_fence
                    continue
                match = None if in_fence else HEADING.match(line)
                if match:
                    level = len(match["level"])
                    open_sections = [(lv, i) for lv, i in open_sections if lv < level]
                    identifier = heading_id(match["text"])
                    open_sections.append((level, identifier))
                    has_figure.setdefault(identifier, False)
        elif any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            for _, identifier in open_sections:
                has_figure[identifier] = True
    return has_figure


def links(path: Path) -> list[re.Match]:
    cells = read(path).cells
    return [m for c in cells if c.cell_type == "markdown" for m in LINK.finditer(c.source)]


NOTEBOOKS_WITH_LINKS = [p for p in all_notebooks() if links(p)]


def test_the_review_links_to_every_chapter_it_reviews():
    targets = {Path(m["target"]).name for m in links(ROOT / "notebooks" / "09_review.ipynb")}
    for chapter in ("01_scale", "02_scaling_laws", "03_architecture", "04_data"):
        assert f"{chapter}.ipynb" in targets


@pytest.mark.parametrize(
    "path", NOTEBOOKS_WITH_LINKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS_WITH_LINKS]
)
def test_every_link_leads_to_a_notebook_section_that_exists(path):
    for link in links(path):
        target = (path.parent / link["target"]).resolve()
        assert target.is_file(), f"{link[0]}: no notebook {target.relative_to(ROOT)}"
        if link["anchor"] is None:
            continue
        found = sections(target)
        assert link["anchor"] in found, (
            f"{link[0]}: {target.name} has no heading with id {link['anchor']!r}; "
            f"ids there: {sorted(found)}"
        )
        if "figure" in link["text"]:
            assert found[link["anchor"]], f"{link[0]}: that section shows no figure"


def test_heading_ids_follow_jupyterlab():
    assert heading_id("2. RMSNorm: LayerNorm without the mean") == (
        "2.-RMSNorm:-LayerNorm-without-the-mean"
    )
    assert heading_id("The seed's `ScalingLaws` and *why*") == "The-seed's-ScalingLaws-and-why"
    assert heading_id("tokens_per_parameter") == "tokens_per_parameter"
