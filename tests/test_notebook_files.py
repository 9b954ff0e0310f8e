"""The rules every committed notebook follows (nbval then checks their outputs)."""

from __future__ import annotations

import re

import pytest

from course_utils.course import CHAPTERS, colab_setup_cell
from tests.notebook_files import (
    ROOT,
    SOLUTIONS,
    all_notebooks,
    chapter_notebooks,
    output_text,
    read,
    solution_notebooks,
    tags,
)

NOTEBOOK_IDS = [str(p.relative_to(ROOT)) for p in all_notebooks()]
CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](\d+\.\d+)["']""")
SKIPPED = "skip-execution"


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


@pytest.fixture(params=all_notebooks(), ids=NOTEBOOK_IDS)
def notebook(request):
    return read(request.param)


def test_every_chapter_has_its_notebook_and_solutions():
    listed = {chapter.notebook for chapter in CHAPTERS}
    assert {p.name for p in chapter_notebooks()} == listed
    assert {p.name for p in solution_notebooks()} == {c.solutions for c in CHAPTERS}
    numbers = [c.number for c in CHAPTERS]
    assert numbers == list(range(len(CHAPTERS))), "chapters are numbered 0, 1, 2, … in order"
    for chapter in CHAPTERS:
        assert chapter.notebook.startswith(f"{chapter.number:02d}_")


def test_executed_top_to_bottom(notebook):
    counts = [c.execution_count for c in code_cells(notebook) if SKIPPED not in tags(c)]
    assert counts == list(range(1, len(counts) + 1)), "run `make execute` to store fresh outputs"


def test_errors_only_where_expected(notebook):
    for cell in code_cells(notebook):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if "raises-exception" in tags(cell):
            assert errors, f"cell tagged raises-exception did not raise:\n{cell.source}"
        else:
            assert not errors, f"unexpected error in:\n{cell.source}"


def test_starts_with_the_shared_colab_setup_cell(notebook):
    assert code_cells(notebook)[0].source == colab_setup_cell()


def test_uses_tags_not_comment_markers(notebook):
    for cell in code_cells(notebook):
        assert "NBVAL_" not in cell.source, "use cell tags, not # NBVAL_ comments"
        skip = {"nbval-skip", SKIPPED} & set(tags(cell))
        assert skip in (set(), {"nbval-skip", SKIPPED}), "tag skipped cells with both tags"


def test_ignored_output_is_followed_by_an_assertion(notebook):
    cells = code_cells(notebook)
    for position, cell in enumerate(cells):
        if "nbval-ignore-output" in tags(cell):
            following = cells[position + 1] if position + 1 < len(cells) else None
            assert following is not None and "assert" in following.source, (
                "a cell whose output is not compared must be followed by one that asserts "
                f"what matters:\n{cell.source}"
            )


def test_outputs_name_no_machine_paths(notebook):
    for cell in code_cells(notebook):
        assert str(ROOT) not in output_text(cell)
        for output in cell.outputs:
            for line in output.get("traceback", []):
                assert not re.search(r"/course_utils/", line) and str(ROOT) not in line, (
                    "a stored traceback names the machine it ran on: run `make execute`"
                )


def test_a_clean_kernel_spec(notebook):
    assert notebook.metadata.kernelspec.name == "python3"
    assert "version" not in notebook.metadata.get("language_info", {})


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.notebook for c in CHAPTERS])
def test_chapter_follows_the_pedagogy_standard(chapter):
    notebook = read(ROOT / "notebooks" / chapter.notebook)
    first = notebook.cells[0]
    assert first.cell_type == "markdown"
    assert first.source.startswith(f"# Chapter {chapter.number} — ")
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    for required in ("Learning objectives", "Time estimate", "Prerequisites"):
        assert required in first.source, f"the title cell should state: {required}"
    for heading in ("## Summary", "## References"):
        assert heading in markdown
    figures = [
        o for c in code_cells(notebook) for o in c.outputs if "image/png" in o.get("data", {})
    ]
    assert figures, "every chapter shows at least one figure"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.notebook for c in CHAPTERS])
def test_exercises_are_stubs_in_the_chapter_and_solved_in_the_solutions(chapter):
    notebook = read(ROOT / "notebooks" / chapter.notebook)
    solutions = read(SOLUTIONS / chapter.solutions)
    asked = {i for c in code_cells(notebook) for i in CHECK_CALL.findall(c.source)}
    minimum = 1 if chapter.number == 0 else 3
    assert len(asked) >= minimum, f"chapter {chapter.number} needs at least {minimum} exercises"
    assert all(i.startswith(f"{chapter.number}.") for i in asked)
    stub_outputs = [output_text(c) for c in code_cells(notebook) if CHECK_CALL.search(c.source)]
    assert any("not attempted yet" in text for text in stub_outputs)
    assert not any("✅" in text for text in stub_outputs), "a chapter never ships its answers"
    solved = set()
    for cell in code_cells(solutions):
        for exercise_id in CHECK_CALL.findall(cell.source):
            assert "✅" in output_text(cell), f"solution to {exercise_id} is not marked correct"
            solved.add(exercise_id)
    assert asked <= solved, f"no worked solution for {sorted(asked - solved)}"
