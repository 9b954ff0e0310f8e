"""Build the course website: every notebook with its stored outputs, as static HTML (`make site`).

The pages come from the notebooks as they are committed: nothing is executed. This script lays
out the sources in ``build/site/src`` (git-ignored), then runs Sphinx with MyST-NB and the book
theme (configured in ``site/conf.py``) into ``build/site/html``:

* ``index.md``: the landing page, with the chapter table (study and run times) generated from
  ``course_utils.course.CHAPTERS`` and ``measured_runtimes()``, which also give the navigation;
* ``notebooks/*.ipynb``: each chapter, with links to run it on Binder and Colab under its title;
* ``notebooks/solutions/*.ipynb``: the worked solutions, listed on ``solutions.md`` and left out
  of the chapter sequence (orphan pages: no sidebar entry, no previous/next link to them);
* ``docs/instructors.md``: the instructor guide.

Everything the pages load is served from the site itself (MathJax included), so the build and
the pages work without a network.

    python tools/build_site.py               # build into build/site, print time and size
    python -m http.server -d build/site/html  # then open http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
from markdown_it import MarkdownIt

from course_utils.course import CHAPTERS, measured_runtimes, repository_url

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "site"
DEFAULT_OUT = ROOT / "build" / "site"
NOTEBOOKS = ROOT / "notebooks"
GUIDE = ROOT / "docs" / "instructors.md"
README = ROOT / "README.md"
RUNTIMES = ROOT / "course_utils" / "data" / "runtimes.json"  # what measured_runtimes() reads

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# What a static page shows where the notebook displays a widget, which needs a live kernel.
WIDGET_NOTES = {
    "control": "An interactive widget shows here when the notebook runs: its controls need a "
    "live Python kernel. Run the chapter on Binder or Colab (links under the title) to use it.",
    "progress": "A progress bar shows here while the notebook runs this cell.",
}
# The widgets a progress bar (tqdm's in a notebook) is made of: label, bar, counts.
PROGRESS_BAR_MODELS = {
    "HBoxModel",
    "HTMLModel",
    "HTMLStyleModel",
    "LayoutModel",
    "FloatProgressModel",
    "IntProgressModel",
    "ProgressStyleModel",
}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}
# [text](target): the target of a markdown link (images too), without a title.
LINK_TARGET = re.compile(r"(\]\()(?P<target>[^)\s]+)(\))")


def github_repository() -> str:
    """``owner/name`` of the course's GitHub repository, from ``repository_url()``."""
    url = urlsplit(repository_url())
    if url.netloc != "github.com":
        raise ValueError(f"repository_url() must be a github.com URL, not {repository_url()!r}")
    return url.path.strip("/").removesuffix(".git")


def binder_url(path: str) -> str:
    """Binder opening ``path`` (from the repository root) in JupyterLab, as README's badge."""
    return f"https://mybinder.org/v2/gh/{github_repository()}/HEAD?urlpath=lab/tree/{path}"


def colab_url(path: str) -> str:
    """Google Colab opening the notebook at ``path`` on the main branch, as README's badges."""
    return f"https://colab.research.google.com/github/{github_repository()}/blob/main/{path}"


def source_url(path: str) -> str:
    """The file or folder at ``path`` in the repository, on GitHub."""
    return f"{repository_url()}/blob/main/{path}"


def heading_id(title: str) -> str:
    """The anchor of a heading: its text with spaces replaced by '-', as JupyterLab names it.

    The site uses JupyterLab's anchors, so ``notebook.ipynb#Some-heading`` links written for
    JupyterLab land on the same heading on the site (``site/conf.py`` sets it for MyST).
    """
    return title.replace(" ", "-")


def headings(markdown: str) -> list[str]:
    """The plain text of each heading in ``markdown``, as MyST reads it for the anchor."""
    tokens = MarkdownIt("commonmark").parse(markdown)
    return [
        "".join(c.content for c in inline.children or [] if c.type in ("text", "code_inline"))
        for opening, inline in zip(tokens, tokens[1:], strict=False)
        if opening.type == "heading_open"
    ]


def github_anchor(title: str) -> str:
    """The anchor GitHub gives a heading in a markdown file (how docs/ link inside themselves)."""
    slug = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return slug.replace(" ", "-")


def launch_links(path: str) -> str:
    """The HTML strip under a chapter's title: run it on Binder or Colab, or read its source."""
    return (
        '<div class="course-launch">\n'
        "<span>Run this notebook:</span>\n"
        f'<a class="course-launch-binder" href="{binder_url(path)}">Binder</a>\n'
        f'<a class="course-launch-colab" href="{colab_url(path)}">Colab</a>\n'
        f'<a class="course-launch-source" href="{source_url(path)}">source on GitHub</a>\n'
        "</div>"
    )


def rewrite_links(markdown: str, page: Path, sources: Path, anchors: dict[str, str]) -> str:
    """Links that leave the site go to GitHub; ``#anchors`` are renamed by ``anchors``.

    ``page`` is the page's path inside the repository (and the site's sources, which mirror it);
    a relative link to a file of the repository that is not part of the site (a script, the
    README, a folder) is pointed at that file on GitHub; an image is copied to the site instead.
    """

    def rewrite(match: re.Match) -> str:
        target = match["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            return match[0]  # http:, https:, mailto:
        path, hash_, anchor = target.partition("#")
        if not path:
            return f"{match[1]}#{anchors.get(anchor, anchor)}{match[3]}"
        repository_path = (page.parent / path).as_posix()
        resolved = Path(*normalised(repository_path))
        if (sources / resolved).exists() or not (ROOT / resolved).exists():
            return match[0]  # a page of the site, or a broken link, which the build reports
        if resolved.suffix.lower() in IMAGE_SUFFIXES and (ROOT / resolved).is_file():
            (sources / resolved).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / resolved, sources / resolved)  # shown on the page: a copy
            return match[0]
        return f"{match[1]}{source_url(resolved.as_posix())}{hash_}{anchor}{match[3]}"

    return LINK_TARGET.sub(rewrite, markdown)


def normalised(path: str) -> list[str]:
    """The parts of a relative POSIX path with ``.`` and ``..`` resolved (within the repo)."""
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if not parts:
                raise ValueError(f"path must stay inside the repository: {path!r}")
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return parts


def page_notebook(path: Path, sources: Path, orphan: bool = False) -> nbformat.NotebookNode:
    """The notebook at ``path`` as the site shows it (its stored outputs, never re-run).

    Launch links go under the title; a widget's output, which needs a running kernel, becomes a
    note saying where to use it; notebook links that leave the site point at GitHub.
    """
    notebook = nbformat.read(path, as_version=4)
    state = notebook.metadata.pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    if orphan:
        notebook.metadata["orphan"] = True
    relative = path.relative_to(ROOT)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = rewrite_links(cell.source, relative, sources, {})
        elif cell.cell_type == "code":
            cell.outputs = [widget_free(output, state) for output in cell.outputs]
    banner = launch_links(relative.as_posix())
    first = notebook.cells[0] if notebook.cells else None
    if first is not None and first.cell_type == "markdown" and first.source.startswith("# "):
        title, _, rest = first.source.partition("\n")
        first.source = f"{title}\n\n{banner}\n\n{rest}"
    else:
        notebook.cells.insert(0, nbformat.v4.new_markdown_cell(banner))
    return notebook


def widget_kind(state: dict, model_id: str) -> str:
    """``"progress"`` for a progress bar (as tqdm draws), else ``"control"``.

    ``state`` is the notebook's saved widget state (model id -> model); a widget made of
    other widgets names them as ``"IPY_MODEL_<id>"`` in its own state.
    """
    names, waiting, seen = set(), [model_id], set()
    while waiting:
        current = waiting.pop()
        if current in seen or current not in state:
            continue
        seen.add(current)
        names.add(state[current].get("model_name", ""))
        waiting += re.findall(r"IPY_MODEL_(\w+)", str(state[current].get("state", {})))
    progress = names & {"FloatProgressModel", "IntProgressModel"}
    return "progress" if progress and names <= PROGRESS_BAR_MODELS else "control"


def widget_free(output: nbformat.NotebookNode, state: dict) -> nbformat.NotebookNode:
    """``output``, or a note in its place if it displays a widget (see ``WIDGET_NOTES``)."""
    view = output.get("data", {}).get(WIDGET_VIEW)
    if view is None:
        return output
    kind = widget_kind(state, view["model_id"])
    note = f'<p class="course-widget-note course-widget-{kind}">{WIDGET_NOTES[kind]}</p>'
    return nbformat.v4.new_output("display_data", data={"text/html": note})


def readme_introduction() -> str:
    """The README's paragraphs between its title and its first section, badges left out."""
    text = README.read_text()
    body = text.split("\n## ", 1)[0]
    lines = [line for line in body.splitlines() if not line.startswith(("# ", "[![", "!["))]
    return "\n".join(lines).strip()


def duration(seconds: float | None) -> str:
    """A measured run time as the chapter tables show it."""
    return "not measured" if seconds is None else f"{seconds:.0f} s"


def landing_page() -> str:
    """``index.md``: the README's introduction, the chapter table, and the navigation."""
    runtimes = measured_runtimes()
    measured_on = json.loads(RUNTIMES.read_text())["measured_on"]
    rows = [
        "| # | chapter | study time | notebook runs in | run it |",
        "|---|---|---|---|---|",
    ]
    for chapter in CHAPTERS:
        path = f"notebooks/{chapter.notebook}"
        rows.append(
            f"| {chapter.number} | [{chapter.title}]({path}) | {chapter.study_minutes} min "
            f"| {duration(runtimes.get(chapter.notebook))} "
            f"| [Binder]({binder_url(path)}) · [Colab]({colab_url(path)}) |"
        )
    study = sum(chapter.study_minutes for chapter in CHAPTERS)
    run = sum(runtimes[c.notebook] for c in CHAPTERS if c.notebook in runtimes)
    rows.append(f"| | **all chapters** | **{study} min** | **{run:.0f} s** | |")
    chapters = "\n".join(
        f"notebooks/{chapter.notebook.removesuffix('.ipynb')}" for chapter in CHAPTERS
    )
    return f"""# LLM Foundations

{readme_introduction()}

## Chapters

Read every chapter here, with the outputs it shows when it runs; run it yourself in the cloud
(Binder, Colab) or on your own machine ([how]({repository_url()}#start-learning)).
*Study time* is what to set aside to read, think and do the exercises; the run time is the time
to execute the notebook top to bottom, measured on {measured_on}.

{chr(10).join(rows)}

Each chapter ends with exercises that check your answer; the [worked solutions](solutions.md)
are kept apart. Teaching the course? The [instructor guide](docs/instructors.md) has agendas,
set-ups for a room and the errors learners hit.

```{{toctree}}
:hidden:
:caption: Chapters

{chapters}
```

```{{toctree}}
:hidden:
:caption: For reference

solutions
docs/instructors
```
"""


def solutions_page() -> str:
    """``solutions.md``: one link per chapter's worked solutions (kept out of the chapters)."""
    rows = ["| # | chapter | worked solutions |", "|---|---|---|"]
    for chapter in CHAPTERS:
        if (NOTEBOOKS / "solutions" / chapter.solutions).exists():
            rows.append(
                f"| {chapter.number} | [{chapter.title}](notebooks/{chapter.notebook}) "
                f"| [solutions](notebooks/solutions/{chapter.solutions}) |"
            )
    return f"""# Worked solutions

Try each exercise first: its check cell tells you whether your answer is right and gives a
hint when it is not. These notebooks show a worked answer to every exercise, chapter by chapter.

{chr(10).join(rows)}
"""


def guide_page(sources: Path) -> str:
    """The instructor guide, its links made to work on the site."""
    text = GUIDE.read_text()
    anchors = {github_anchor(title): heading_id(title) for title in headings(text)}
    return rewrite_links(text, GUIDE.relative_to(ROOT), sources, anchors)


def write_sources(sources: Path) -> None:
    """Lay out the site's sources in ``sources`` (emptied first), mirroring the repository."""
    if sources.exists():
        shutil.rmtree(sources)
    chapters = [NOTEBOOKS / chapter.notebook for chapter in CHAPTERS]
    solutions = [
        NOTEBOOKS / "solutions" / c.solutions
        for c in CHAPTERS
        if (NOTEBOOKS / "solutions" / c.solutions).exists()
    ]
    # Every page's file first (empty), so that links can tell what is part of the site.
    pages = [*chapters, *solutions, GUIDE]
    for path in pages:
        (sources / path.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
        (sources / path.relative_to(ROOT)).touch()
    for path in chapters:
        nbformat.write(page_notebook(path, sources), sources / path.relative_to(ROOT))
    for path in solutions:
        nbformat.write(page_notebook(path, sources, orphan=True), sources / path.relative_to(ROOT))
    (sources / GUIDE.relative_to(ROOT)).write_text(guide_page(sources))
    (sources / "index.md").write_text(landing_page())
    (sources / "solutions.md").write_text(solutions_page())


def build(out: Path = DEFAULT_OUT, jobs: str = "1") -> Path:
    """Write the sources to ``out/src`` and the website to ``out/html``; return the latter."""
    from sphinx.cmd.build import build_main

    sources, html = out / "src", out / "html"
    write_sources(sources)
    if html.exists():
        shutil.rmtree(html)
    # -W: a broken cross-reference or link between pages fails the build; -E: no cache.
    arguments = ["-b", "html", "-c", str(CONFIG_DIR), "-W", "--keep-going", "-E", "-q"]
    status = build_main(
        [*arguments, "-j", jobs, "-d", str(out / "doctrees"), str(sources), str(html)]
    )
    if status:
        raise RuntimeError(f"Sphinx failed to build the site (exit status {status}); see above")
    # The pages' download button serves _sources/: the notebooks as committed, not as shown.
    for path in (sources / "notebooks").rglob("*.ipynb"):
        relative = path.relative_to(sources)
        shutil.copyfile(ROOT / relative, html / "_sources" / relative)
    return html


def size_of(folder: Path) -> int:
    """Bytes in all files under ``folder``."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: build/site")
    parser.add_argument(
        "--jobs", default="1", help="Sphinx's -j: 1 (the default) was faster than auto on 2 cores"
    )
    args = parser.parse_args(argv)
    began = time.monotonic()
    html = build(args.out.resolve(), args.jobs)
    seconds = time.monotonic() - began
    files = sum(1 for path in html.rglob("*") if path.is_file())
    print(
        f"site built in {seconds:.1f} s: {html} ({size_of(html) / 1e6:.1f} MB, {files} files)\n"
        f"preview: {sys.executable} -m http.server -d {html} --bind 127.0.0.1 8000"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
