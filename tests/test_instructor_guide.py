"""The instructor guide: its run-time table is the script's; its links and workshop link work."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest

from course_utils.course import CHAPTERS, Chapter, repository_url
from tests.notebook_files import ROOT


def load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runtime_table = load_tool("runtime_table")
workshop_link = load_tool("workshop_link")
execute_notebooks = load_tool("execute_notebooks")

GUIDE = ROOT / "docs" / "instructors.md"
GUIDE_TEXT = GUIDE.read_text()


def test_the_guide_shows_the_table_the_script_renders_from_the_measurements():
    assert runtime_table.table_in(GUIDE_TEXT) == runtime_table.render(), (
        "docs/instructors.md has a stale run-time table: run `make guide`"
    )


def test_every_chapter_has_a_measured_run_time():
    measured = json.loads(runtime_table.RUNTIMES.read_text())["seconds"]
    for chapter in CHAPTERS:
        assert chapter.notebook in measured, f"run `make timings` to measure {chapter.notebook}"
        assert chapter.solutions in measured


def test_the_table_is_rendered_from_the_record_it_is_given():
    chapters = (Chapter(0, "00_a.ipynb", "First", 15), Chapter(1, "01_b.ipynb", "Second", 30))
    record = {
        "measured_on": "2 CPU cores, OMP_NUM_THREADS=1",
        "seconds": {"00_a.ipynb": 3.4, "00_a_solutions.ipynb": 2.0, "01_b.ipynb": 61.6},
    }
    table = runtime_table.render(record, chapters)
    assert "| 0 | [First](../notebooks/00_a.ipynb) | 15 min | 3 s | 2 s |" in table
    assert "| 1 | [Second](../notebooks/01_b.ipynb) | 30 min | 62 s | not measured |" in table
    assert "**45 min** | **65 s**" in table
    assert "pinned to 2 CPU cores" in table


def test_the_table_is_replaced_between_the_markers_only():
    text = f"before\n{runtime_table.BEGIN}\nold table\n{runtime_table.END}\nafter\n"
    updated = runtime_table.replace_table(text, "new table")
    assert updated == f"before\n{runtime_table.BEGIN}\nnew table\n{runtime_table.END}\nafter\n"
    assert runtime_table.table_in(updated) == "new table"
    with pytest.raises(ValueError, match="marker"):
        runtime_table.replace_table("no markers here", "table")
    with pytest.raises(ValueError, match="marker"):
        runtime_table.table_in(f"{runtime_table.END}\n{runtime_table.BEGIN}")


def test_check_mode_fails_on_a_stale_guide_and_passes_once_updated(tmp_path):
    guide = tmp_path / "instructors.md"
    guide.write_text(f"# Guide\n{runtime_table.BEGIN}\n| stale |\n{runtime_table.END}\n")
    assert runtime_table.main(["--check", "--guide", str(guide)]) == 1
    assert runtime_table.main(["--guide", str(guide)]) == 0
    assert runtime_table.main(["--check", "--guide", str(guide)]) == 0
    assert runtime_table.render() in guide.read_text()


def test_timings_are_merged_into_the_record(tmp_path):
    record = tmp_path / "runtimes.json"
    record.write_text(json.dumps({"measured_on": "?", "seconds": {"00_a.ipynb": 1.0}}))
    execute_notebooks.record_timings({"01_b.ipynb": 12.345}, cores=2, path=record)
    written = json.loads(record.read_text())
    assert written["seconds"] == {"00_a.ipynb": 1.0, "01_b.ipynb": 12.3}
    assert written["measured_on"] == "2 CPU cores, OMP_NUM_THREADS=1"


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU pinning here")
def test_timings_pin_the_run_to_the_cores_asked_for():
    tool = str(ROOT / "tools" / "execute_notebooks.py")
    script = (
        "import importlib.util, os, sys;"
        f"spec = importlib.util.spec_from_file_location('x', {tool!r});"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m);"
        "print(m.pin_to_cores(1), len(os.sched_getaffinity(0)))"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert output.split() == ["1", "1"]
    with pytest.raises(ValueError, match="cores"):
        execute_notebooks.pin_to_cores(0)


def test_the_readme_links_the_guide():
    assert "(docs/instructors.md)" in (ROOT / "README.md").read_text()


def test_the_guide_links_lead_somewhere():
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", GUIDE_TEXT):
        if target.startswith(("http://", "https://")):
            continue
        assert (GUIDE.parent / target).exists(), f"docs/instructors.md links to missing {target}"
    headings = {
        re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in GUIDE_TEXT.splitlines()
        if line.startswith("#")
    }
    for anchor in re.findall(r"\]\(#([^)]+)\)", GUIDE_TEXT):
        assert anchor in headings, f"no heading for #{anchor}"


@pytest.mark.parametrize(
    "topic",
    [
        "git-pull?repo=",
        "keeps the learner's version",
        "never arrives",
        "Binder",
        "2 GB",
        "Colab",
        "GPU runtime",
        "LLM_FOUNDATIONS_QUICK=1",
        "Restart Kernel and Run All Cells",
        "## Resetting a notebook",
        "### Half day",
        "### Full day",
        "make slides",
    ],
)
def test_the_guide_covers(topic):
    assert topic in GUIDE_TEXT


def test_the_workshop_link_opens_the_course_from_its_repository():
    link = workshop_link.nbgitpuller_link(
        "https://hub.example.org/", branch="workshop", notebook="02_scaling_laws.ipynb"
    )
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "hub.example.org",
        "/hub/user-redirect/git-pull",
    )
    query = parse_qs(parts.query)
    assert query["repo"] == [repository_url()]
    assert query["branch"] == ["workshop"]
    folder = repository_url().rsplit("/", 1)[-1]
    assert query["urlpath"] == [f"lab/tree/{folder}/notebooks/02_scaling_laws.ipynb"]
    assert workshop_link.nbgitpuller_link("https://hub.example.org") in GUIDE_TEXT


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"hub_url": "hub.example.org"}, "hub_url"),
        ({"hub_url": "https://hub.example.org", "branch": "two words"}, "branch"),
        ({"hub_url": "https://hub.example.org", "notebook": "99_none.ipynb"}, "notebook"),
        ({"hub_url": "https://hub.example.org", "interface": "classic"}, "interface"),
    ],
)
def test_a_bad_workshop_link_request_is_a_clear_error(arguments, named):
    with pytest.raises(ValueError, match=named):
        workshop_link.nbgitpuller_link(**arguments)


def test_the_chapter_times_legend_covers_no_bar():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course_utils.course import plot_chapter_times

    ax = plot_chapter_times()
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    bars = [bar.get_window_extent(renderer) for bar in ax.patches]
    assert len(bars) == 2 * len(CHAPTERS)
    assert not any(legend.overlaps(bar) for bar in bars)
    plt.close(ax.figure)
